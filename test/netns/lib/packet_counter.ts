// Counts the packets on one interface of a lab's namespace that match a tcpdump filter, in one direction,
// without keeping them (-w /dev/null, 96-byte snapshots): cheap enough to run beside a 100 MB transfer. The
// tests use it to see GSO/GRO super-packets ("greater 1600" on a 1500-byte link): a packet socket sees a
// super-packet whole, as one packet longer than the link MTU, wherever no one has cut it into segments.
import { waitFor } from '../../../src/netns';
import { LineProcess } from './line_process';
import type { NetnsLab } from './netns_lab';

export class PacketCounter {
  private constructor(private readonly proc: LineProcess) {}

  // `direction`: 'in' (received by the interface) or 'out' (sent by it); `filter` as separate words.
  static async start<N extends string>(lab: NetnsLab<N>, ns: N, iface: string, direction: 'in' | 'out', filter: string[]): Promise<PacketCounter> {
    const argv = ['tcpdump', '-i', iface, '-Q', direction, '-n', '-s', '96', '-B', '16384', '--immediate-mode', '-Z', 'root', '-w', '/dev/null', ...filter];
    const proc = new LineProcess(lab.topology.spawn(ns, argv), `tcpdump -Q ${direction} on ${ns}/${iface}`);
    try {
      await waitFor(`${proc.label} to listen`, () => {
        if (proc.exit) throw new Error(`tcpdump exited: ${proc.stderr}`);
        return proc.stderr.includes('listening on');
      });
    } catch (e) {
      proc.child.kill('SIGKILL');
      throw e;
    }
    return new PacketCounter(proc);
  }

  // Stops tcpdump; the packets it saw (tcpdump's "N packets captured").
  async stop(): Promise<number> {
    this.proc.child.kill('SIGINT');
    await this.proc.waitExit(10_000);
    const m = /(\d+) packets? captured/.exec(this.proc.stderr);
    if (!m) throw new Error(`${this.proc.label} printed no count:\n${this.proc.stderr}`);
    return Number(m[1]);
  }

  // Best effort, for finally blocks after a failure.
  discard(): void {
    if (!this.proc.exit) this.proc.child.kill('SIGKILL');
  }
}
