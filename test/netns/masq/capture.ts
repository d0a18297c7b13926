// tcpdump -w on an interface of a masquerade-lab namespace, read back as decoded IPv6 packets (lib/capture.ts
// does the same for the NPTv6 gateway lab). Written as they arrive (-U), so a test waits for the packet it
// expects instead of sleeping.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../../src/netns';
import { decodeIpv6, type DecodedIpv6 } from '../lib/ipv6_decode';
import { LineProcess } from '../lib/line_process';
import { readPcapIpv6 } from '../lib/pcap';
import type { MasqLab, MasqNs } from './masq_lab';

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

  // `filter`: a tcpdump expression as separate words; default everything.
  static async start(lab: MasqLab, ns: MasqNs, iface: string, filter: string[] = []): Promise<Capture> {
    const dir = mkdtempSync(join(tmpdir(), 'npt66-nx-cap-'));
    const file = join(dir, `${ns}-${iface}.pcap`);
    const child = lab.topology.spawn(ns, ['tcpdump', '-i', iface, '-n', '-s', '0', '-U', '--immediate-mode', '-Z', 'root', '-w', file, ...filter]);
    const proc = new LineProcess(child, `tcpdump on ${ns}/${iface}`);
    const cap = new Capture(proc, dir, file);
    try {
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

  packets(): CapturedPacket[] {
    if (!existsSync(this.file)) return [];
    const out: CapturedPacket[] = [];
    for (const f of readPcapIpv6(readFileSync(this.file))) {
      const decoded = decodeIpv6(f.ipv6);
      if (decoded) out.push({ raw: f.ipv6, decoded });
    }
    return out;
  }

  async waitUntil(what: string, check: (packets: CapturedPacket[]) => boolean, timeoutMs = 10_000): Promise<void> {
    await waitFor(`capture to contain ${what}`, () => check(this.packets()), timeoutMs);
  }

  async stop(): Promise<CapturedPacket[]> {
    this.proc.child.kill('SIGINT');
    await this.proc.waitExit(10_000);
    const packets = this.packets();
    this.discard();
    return packets;
  }

  discard(): void {
    if (!this.proc.exit) this.proc.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
