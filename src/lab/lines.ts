// A child's output read as whole lines, as they arrive (a line is added once its newline has come).
import type { Readable } from 'node:stream';

export function collectLines(stream: Readable | null, into: string[]): void {
  let partial = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    into.push(...parts);
  });
}
