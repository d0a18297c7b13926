// Packet capture on an interface of a lab's namespace with tcpdump -w, read back as decoded IPv6 packets (the
// gateway and the masquerade tests alike). Packets are written as they arrive (-U), so a test can wait for a
// marker packet instead of sleeping before it stops the capture. A 16 MiB capture buffer (-B) keeps a busy
// machine from making tcpdump miss packets; what it missed anyway is counted (droppedByCapture).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../../src/netns';
import { decodeIpv6, type DecodedIpv6 } from './ipv6_decode';
import { LineProcess } from './line_process';
import type { NetnsLab } from './netns_lab';
import { readPcapIpv6 } from './pcap';

export interface CapturedPacket {
  raw: Buffer; // the IPv6 packet
  decoded: DecodedIpv6;
}

export class Capture {
  private constructor(
    private readonly proc: LineProcess,
    private readonly dir: string,
    readonly file: string,
  ) {}

  // `filter` is a tcpdump filter expression as separate words (e.g. ['ip6']); default: everything.
  static async start<N extends string>(lab: NetnsLab<N>, ns: N, iface: string, filter: string[] = []): Promise<Capture> {
    const dir = mkdtempSync(join(tmpdir(), `npt66-${lab.topology.prefix}cap-`));
    const file = join(dir, `${ns}-${iface}.pcap`);
    const child = lab.topology.spawn(ns, ['tcpdump', '-i', iface, '-n', '-s', '0', '-B', '16384', '-U', '--immediate-mode', '-Z', 'root', '-w', file, ...filter]);
    const proc = new LineProcess(child, `tcpdump on ${ns}/${iface}`);
    const cap = new Capture(proc, dir, file);
    try {
      // tcpdump says "listening on ..." once the socket is open: from then on nothing is missed.
      await waitFor(`tcpdump on ${ns}/${iface} to listen`, () => {
        if (proc.exit) throw new Error(`tcpdump exited: ${proc.stderr}`);
        return proc.stderr.includes('listening on');
      });
    } catch (e) {
      cap.discard();
      throw e;
    }
    return cap;
  }

  // What has been written so far.
  packets(): CapturedPacket[] {
    if (!existsSync(this.file)) return [];
    const out: CapturedPacket[] = [];
    for (const f of readPcapIpv6(readFileSync(this.file))) {
      const decoded = decodeIpv6(f.ipv6);
      if (decoded) out.push({ raw: f.ipv6, decoded });
    }
    return out;
  }

  // Waits until what has been written satisfies `check` (e.g. holds the traffic's last packet, or a marker).
  async waitUntil(what: string, check: (packets: CapturedPacket[]) => boolean, timeoutMs = 10_000): Promise<void> {
    await waitFor(`capture to contain ${what}`, () => check(this.packets()), timeoutMs);
  }

  // Packets the capture itself missed (tcpdump's "N packets dropped by kernel"), known after stop().
  droppedByCapture = 0;

  // Stops tcpdump and returns everything it wrote.
  async stop(): Promise<CapturedPacket[]> {
    this.proc.child.kill('SIGINT');
    await this.proc.waitExit(10_000);
    this.droppedByCapture = Number(/(\d+) packets? dropped by kernel/.exec(this.proc.stderr)?.[1] ?? 0);
    const packets = this.packets();
    this.discard();
    return packets;
  }

  discard(): void {
    if (!this.proc.exit) this.proc.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
