// tcpdump on one interface of a lab namespace, read as text lines (-l line-buffered, -n numeric, -t no time).
import type { ChildProcess } from 'node:child_process';

import { waitFor } from '../netns';
import type { LabNetwork } from './build';
import { collectLines } from './lines';

export interface EchoLine {
  src: string;
  dst: string;
  kind: 'request' | 'reply';
  id: number; // the echo identifier (masquerade rewrites it like a port)
}

export class TextCapture {
  readonly lines: string[] = [];
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly where: string,
  ) {
    collectLines(child.stdout, this.lines);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => (this.stderr += chunk));
  }

  // Resolves once tcpdump is listening (from then on nothing is missed).
  static async start(net: LabNetwork, ns: string, iface: string, filter: string, where: string): Promise<TextCapture> {
    const child = net.spawn(ns, ['tcpdump', '-l', '-n', '-t', '-i', iface, filter]);
    const cap = new TextCapture(child, where);
    await waitFor(`tcpdump on ${ns}/${iface}`, () => {
      if (child.exitCode !== null) throw new Error(`tcpdump on ${ns}/${iface} exited: ${cap.stderr}`);
      return cap.stderr.includes('listening on');
    });
    return cap;
  }

  echoes(): EchoLine[] {
    const out: EchoLine[] = [];
    for (const l of this.lines) {
      const m = /IP6 (\S+) > (\S+): ICMP6, echo (request|reply), id (\d+)/.exec(l);
      if (m) out.push({ src: m[1]!, dst: m[2]!.replace(/:$/, ''), kind: m[3] as EchoLine['kind'], id: Number(m[4]) });
    }
    return out;
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}
