// Proxy NDP (issue 11 part 3, "proxyNdp": true on an nptv6 entry): when the outside prefix is on-link on the
// outside interface instead of routed to the gateway, the upstream router asks for each outside address with a
// Neighbor Solicitation (RFC 4861 s7.2.3). The kernel's own proxy answers them (RFC 4861 s7.2.8, its ndisc code:
// net.ipv6.conf.IF.proxy_ndp=1 plus one `ip -6 neigh add proxy ADDRESS dev IF` per address); npt66 keeps those
// entries equal to the outside addresses of the inside hosts that are live neighbours now:
//   - the kernel's neighbour table on every other interface is read every 2 s (`ip -j -6 neigh show`);
//   - an entry is added for each live inside neighbour's translated address (the entry's own mapping, so never
//     an address outside the configured prefix), and removed when the neighbour goes (FAILED, INCOMPLETE, absent);
//   - on stop every entry npt66 added is removed and proxy_ndp put back as it was.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

import { Translator } from './translator';

export interface ProxyNdpEntry {
  inside: string;
  outside: string | null; // null: follows an interface that has no prefix yet (nothing to answer for)
  interface: string;
  proxyNdp?: boolean;
}

// One row of `ip -j -6 neigh show`.
export interface NeighbourRow {
  dst: string;
  dev: string;
  state?: string[];
}

export interface ProxyTarget {
  address: string; // the outside address answered for
  interface: string; // the outside interface it is answered on
  inside: string; // the inside neighbour it stands for
  index: number; // the nptv6 entry
}

// Neighbour states in which the host was there recently (include/uapi/linux/neighbour.h). STALE stays live: the
// kernel probes it on the next packet and it turns FAILED when the host is gone, which then removes the entry.
const LIVE_STATES = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP']);

export function isLiveNeighbour(n: NeighbourRow): boolean {
  return (n.state ?? []).some((s) => LIVE_STATES.has(s));
}

// outbound(index, address): the outside address of `address` under nptv6 entry `index`, or null (not in its inside
// prefix, or refused, e.g. RFC 6296 s3.5's 0xFFFF subnet).
export type OutboundMap = (index: number, address: string) => string | null;

// The proxy entries wanted now: for each entry with proxyNdp and an outside prefix, each live neighbour seen on an
// interface other than that entry's outside interface, translated by that entry.
export function proxyTargets(entries: readonly ProxyNdpEntry[], neighbours: readonly NeighbourRow[], outbound: OutboundMap): ProxyTarget[] {
  const out = new Map<string, ProxyTarget>();
  entries.forEach((e, index) => {
    if (!e.proxyNdp || e.outside === null) return;
    for (const n of neighbours) {
      if (n.dev === e.interface || !isLiveNeighbour(n)) continue;
      const address = outbound(index, n.dst);
      if (address === null) continue;
      const key = `${e.interface} ${address}`;
      if (!out.has(key)) out.set(key, { address, interface: e.interface, inside: n.dst, index });
    }
  });
  return [...out.values()];
}

// A Translator per entry (one entry alone, so that several uplinks each translate by their own prefix).
export function translatorMap(entries: readonly ProxyNdpEntry[]): OutboundMap {
  const translators = entries.map((e) =>
    e.proxyNdp && e.outside !== null ? new Translator([{ inside: e.inside, outside: e.outside, interface: e.interface }]) : null,
  );
  return (index, address) => {
    const t = translators[index];
    if (!t) return null;
    try {
      return t.mapAddress(address, 'outbound').output;
    } catch {
      return null; // not an address this mapping takes (e.g. a link-local with a zone)
    }
  };
}

function ip(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', args, { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, stdout, stderr: stderr || (err ? err.message : '') }),
    );
  });
}

type Report = (type: 'state' | 'warning', fields: { message: string; [k: string]: unknown }) => void;

export class ProxyNdp {
  private entries: ProxyNdpEntry[] = [];
  private outbound: OutboundMap = () => null;
  private readonly installed = new Map<string, ProxyTarget>(); // `${interface} ${address}`
  private readonly proxySysctlBefore = new Map<string, string>(); // interface -> proxy_ndp before npt66 set it
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly report: Report,
    private readonly intervalMs = 2000,
  ) {}

  static wanted(entries: readonly ProxyNdpEntry[]): boolean {
    return entries.some((e) => e.proxyNdp);
  }

  // The entries in force (at start, reload and outside prefix change); synchronises at once.
  setEntries(entries: readonly ProxyNdpEntry[]): Promise<void> {
    this.entries = entries.map((e) => ({ ...e }));
    this.outbound = translatorMap(this.entries);
    for (const e of this.entries) if (e.proxyNdp) this.enableProxySysctl(e.interface);
    if (!this.timer && ProxyNdp.wanted(entries)) {
      this.timer = setInterval(() => void this.sync(), this.intervalMs);
      this.timer.unref();
    }
    return this.sync();
  }

  // Reads the neighbour table and adds and removes proxy entries to match (one pass at a time).
  sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.syncOnce()).catch((e: unknown) => {
      this.report('warning', { message: `proxy NDP: ${(e as Error).message}` });
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (this.stopped) return;
    const r = await ip(['-j', '-6', 'neigh', 'show']);
    if (r.code !== 0) throw new Error(`cannot read the neighbour table: ${r.stderr.trim()}`);
    const rows = (JSON.parse(r.stdout || '[]') as NeighbourRow[]).filter((n) => typeof n.dst === 'string' && typeof n.dev === 'string');
    const wanted = new Map(proxyTargets(this.entries, rows, this.outbound).map((t) => [`${t.interface} ${t.address}`, t]));
    for (const [key, t] of this.installed) {
      if (wanted.has(key)) continue;
      await this.remove(t, 'inside host gone');
    }
    for (const [key, t] of wanted) {
      if (this.installed.has(key) || this.stopped) continue;
      const add = await ip(['-6', 'neigh', 'replace', 'proxy', t.address, 'dev', t.interface]);
      if (add.code !== 0) {
        this.report('warning', { message: `proxy NDP: cannot answer for ${t.address} on ${t.interface}: ${add.stderr.trim()}`, ...t });
        continue;
      }
      this.installed.set(key, t);
      this.report('state', { message: `proxy NDP: answering for ${t.address} on ${t.interface} (inside ${t.inside} is a live neighbour)`, ...t });
    }
  }

  private async remove(t: ProxyTarget, why: string): Promise<void> {
    this.installed.delete(`${t.interface} ${t.address}`);
    const del = await ip(['-6', 'neigh', 'del', 'proxy', t.address, 'dev', t.interface]);
    if (del.code !== 0) this.report('warning', { message: `proxy NDP: cannot remove ${t.address} on ${t.interface}: ${del.stderr.trim()}`, ...t });
    else this.report('state', { message: `proxy NDP: no longer answering for ${t.address} on ${t.interface} (${why})`, ...t });
  }

  // Removes every entry npt66 added and puts proxy_ndp back.
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.syncing;
    for (const t of [...this.installed.values()]) await this.remove(t, 'npt66 stopping');
    for (const [name, before] of this.proxySysctlBefore) {
      try {
        writeFileSync(sysctlPath(name), before);
      } catch {
        // the interface went away with its setting
      }
    }
    this.proxySysctlBefore.clear();
  }

  private enableProxySysctl(name: string): void {
    if (this.proxySysctlBefore.has(name)) return;
    try {
      const before = readFileSync(sysctlPath(name), 'utf8').trim();
      if (before !== '1') writeFileSync(sysctlPath(name), '1');
      this.proxySysctlBefore.set(name, before);
      this.report('state', { message: `proxy NDP on ${name} (net.ipv6.conf.${name}.proxy_ndp=1, was ${before})`, interface: name });
    } catch (e) {
      this.report('warning', { message: `proxy NDP: cannot set net.ipv6.conf.${name}.proxy_ndp: ${(e as Error).message}`, interface: name });
    }
  }
}

function sysctlPath(name: string): string {
  return `/proc/sys/net/ipv6/conf/${name}/proxy_ndp`;
}
