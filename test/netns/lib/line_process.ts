// A process started in a namespace whose stdout is read line by line: wait for a line (readiness),
// wait for the exit, keep stderr for error messages. Killing is left to the Topology on teardown.
import type { ChildProcess } from 'node:child_process';
import { waitFor } from '../../../src/netns';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class LineProcess {
  readonly lines: string[] = [];
  stderr = '';
  exit: Exit | null = null;
  readonly exited: Promise<Exit>;

  constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    let partial = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        if (partial) this.lines.push(partial);
        partial = '';
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.label} has no pid (spawn failed: ${this.stderr})`);
    return this.child.pid;
  }

  // Waits for a stdout line matching `pred` (from index `from` on); fails early, with the output, if the
  // process exits first.
  async waitForLine(what: string, pred: (line: string) => boolean, timeoutMs = 10_000, from = 0): Promise<string> {
    let found: string | undefined;
    try {
      await waitFor(
        `${this.label}: ${what}`,
        () => {
          found = this.lines.slice(from).find(pred);
          if (found !== undefined) return true;
          if (this.exit) throw new Error(`${this.label} exited (${JSON.stringify(this.exit)}) before ${what}`);
          return false;
        },
        timeoutMs,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- ${this.label} stdout:\n${this.lines.join('\n')}\n--- stderr:\n${this.stderr}`);
    }
    return found as string;
  }

  // Waits for the process to exit on its own; SIGKILLs it after `timeoutMs` and fails.
  async waitExit(timeoutMs = 30_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`${this.label} did not exit within ${timeoutMs} ms\n--- stdout:\n${this.lines.join('\n')}\n--- stderr:\n${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  // The last stdout line parsed as JSON (the traffic tool prints its result that way).
  lastJson<T>(): T {
    const line = [...this.lines].reverse().find((l) => l.trim().startsWith('{'));
    if (!line) throw new Error(`${this.label} printed no JSON result\n--- stdout:\n${this.lines.join('\n')}\n--- stderr:\n${this.stderr}`);
    return JSON.parse(line) as T;
  }
}
