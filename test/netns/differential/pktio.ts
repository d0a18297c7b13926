// Drives test/tools/pktio (one process per interface): send thousands of crafted IPv6 packets with AF_PACKET
// and read back every IPv6 packet that arrived, in a handful of round trips.
import * as readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { Topology } from '../../../src/netns';
import { findBuiltTool } from '../lib/built_tool';

// NPT66_PKTIO overrides where the build put it (lib/built_tool.ts).
export function findPktio(): string {
  return findBuiltTool('pktio', 'NPT66_PKTIO');
}

export class PktIo {
  private readonly lines: string[] = [];
  private wake: (() => void) | null = null;
  private exited: string | null = null;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.wake?.();
    });
    child.stderr!.on('data', (d) => (this.stderr += String(d)));
    child.once('exit', (code, signal) => {
      this.exited = `pktio exited (${code ?? signal}): ${this.stderr.trim()}`;
      this.wake?.();
    });
  }

  // Starts pktio on `iface` in namespace `ns`, sending to `nextHopMac`; resolves once it captures.
  static async start(topo: Topology, ns: string, iface: string, nextHopMac: string, binary: string): Promise<PktIo> {
    const child = topo.spawn(ns, [binary, iface, nextHopMac], { stdio: ['pipe', 'pipe', 'pipe'] });
    const io = new PktIo(child);
    const first = await io.line(5000);
    if (first !== 'ready') throw new Error(`pktio did not start: ${first}`);
    return io;
  }

  private async line(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.exited) throw new Error(this.exited);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`pktio: no answer within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    return this.lines.shift()!;
  }

  send(packets: Buffer[]): void {
    this.child.stdin!.write(packets.map((p) => `s ${p.toString('hex')}\n`).join(''));
  }

  // Resolves when every packet written so far has been handed to the kernel.
  async sync(): Promise<{ sent: number; failed: number }> {
    this.child.stdin!.write('sync\n');
    const l = await this.line(30_000);
    const m = /^sent (\d+) (\d+)$/.exec(l);
    if (!m) throw new Error(`pktio: unexpected answer ${l}`);
    return { sent: Number(m[1]), failed: Number(m[2]) };
  }

  // Everything captured since the last drain: waits for `expected` packets (at most `timeoutMs`), then until
  // nothing more arrives for `quietMs`, so unexpected packets are seen too.
  async drain(expected: number, timeoutMs: number, quietMs: number): Promise<Buffer[]> {
    this.child.stdin!.write(`drain ${expected} ${timeoutMs} ${quietMs}\n`);
    const out: Buffer[] = [];
    for (;;) {
      const l = await this.line(timeoutMs + 30_000);
      if (l.startsWith('r ')) out.push(Buffer.from(l.slice(2), 'hex'));
      else if (l.startsWith('drained ')) return out;
      else throw new Error(`pktio: unexpected line ${l.slice(0, 80)}`);
    }
  }

  close(): void {
    this.child.stdin!.end();
  }
}
