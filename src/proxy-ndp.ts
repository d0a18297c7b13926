// Proxy NDP (issue 11 part 3, "proxyNdp" on an nptv6 entry): when the outside prefix is on-link on the outside
// interface instead of routed to the gateway, the upstream router asks for each outside address with a Neighbor
// Solicitation (RFC 4861 s7.2.3). npt66 answers them itself (native/nfq/ndp_responder, deciding in
// native/core/ndp_proxy), not through the kernel's proxy (proxy_ndp=1 and `ip -6 neigh add proxy`), which answers
// DAD probes, knows single addresses only, and leaves its entries behind when npt66 is killed. Two modes:
//   - "neighbours" (true): the outside addresses of inside hosts that are live neighbours now. The kernel's
//     neighbour table on every other interface is read every 2 s (`ip -j -6 neigh show`); each live inside
//     neighbour's translated address (the entry's own mapping, so never an address outside the configured prefix)
//     is handed to the responder, and taken back when the neighbour goes (FAILED, INCOMPLETE, absent);
//   - "prefix": every address of the outside prefix that the entry translates (the responder decides; nothing is
//     polled).
// Nothing here touches kernel state: stopping (or dying) closes the responder's sockets and that is all.
import { execFile } from 'node:child_process';

import type { CompiledNptv6Mapping } from './config';
import type { NativeProxyNdpEntry } from './native';
import { parseAddress } from './prefix';
import { Translator } from './translator';

export type ProxyNdpMode = 'neighbours' | 'prefix';

export interface ProxyNdpEntry {
  inside: string;
  outside: string | null; // null: follows an interface that has no prefix yet (nothing to answer for)
  interface: string;
  proxyNdp?: ProxyNdpMode;
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

// The addresses answered for now in "neighbours" mode: for each such entry with an outside prefix, each live
// neighbour seen on an interface other than that entry's outside interface, translated by that entry.
export function proxyTargets(entries: readonly ProxyNdpEntry[], neighbours: readonly NeighbourRow[], outbound: OutboundMap): ProxyTarget[] {
  const out = new Map<string, ProxyTarget>();
  entries.forEach((e, index) => {
    if (e.proxyNdp !== 'neighbours' || e.outside === null) return;
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
    e.proxyNdp === 'neighbours' && e.outside !== null ? new Translator([{ inside: e.inside, outside: e.outside, interface: e.interface }]) : null,
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

// The responder's entries: each entry with proxyNdp and an outside prefix, its compiled prefixes, its mode and (in
// neighbours mode) the addresses of `targets` that belong to it.
export function nativeEntries(
  entries: readonly ProxyNdpEntry[],
  mappings: readonly CompiledNptv6Mapping[],
  targets: readonly ProxyTarget[],
): NativeProxyNdpEntry[] {
  const out: NativeProxyNdpEntry[] = [];
  entries.forEach((e, index) => {
    const m = mappings[index];
    if (!e.proxyNdp || e.outside === null || !m || m.noOutside) return;
    out.push({
      inside: m.inside,
      insideLength: m.insideLength,
      outside: m.outside,
      outsideLength: m.outsideLength,
      interface: e.interface,
      mode: e.proxyNdp,
      neighbours: targets.filter((t) => t.index === index).map((t) => parseAddress(t.address, `nptv6[${index}]`)),
    });
  });
  return out;
}

export class ProxyNdp {
  private entries: ProxyNdpEntry[] = [];
  private mappings: CompiledNptv6Mapping[] = [];
  private outbound: OutboundMap = () => null;
  private answering = new Map<string, ProxyTarget>(); // `${interface} ${address}`: neighbours mode, in force
  private prefixes = new Set<string>(); // `${interface} ${prefix}`: prefix mode, in force
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly report: Report,
    private readonly apply: (entries: NativeProxyNdpEntry[]) => void, // the engine's setProxyNdp
    private readonly intervalMs = 2000,
  ) {}

  static wanted(entries: readonly ProxyNdpEntry[]): boolean {
    return entries.some((e) => e.proxyNdp);
  }

  // The entries in force (at start, reload and outside prefix change), with their compiled prefixes (same
  // order); hands them to the responder at once.
  setEntries(entries: readonly ProxyNdpEntry[], mappings: readonly CompiledNptv6Mapping[]): Promise<void> {
    this.entries = entries.map((e) => ({ ...e }));
    this.mappings = [...mappings];
    this.outbound = translatorMap(this.entries);
    const polling = this.entries.some((e) => e.proxyNdp === 'neighbours');
    if (polling && !this.timer) {
      this.timer = setInterval(() => void this.sync(), this.intervalMs);
      this.timer.unref();
    } else if (!polling && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    return this.sync();
  }

  // Reads the neighbour table (when an entry needs it) and hands the entries to the responder (one pass at a time).
  sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.syncOnce()).catch((e: unknown) => {
      this.report('warning', { message: `proxy NDP: ${(e as Error).message}` });
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (this.stopped) return;
    let rows: NeighbourRow[] = [];
    if (this.entries.some((e) => e.proxyNdp === 'neighbours' && e.outside !== null)) {
      const r = await ip(['-j', '-6', 'neigh', 'show']);
      if (r.code !== 0) throw new Error(`cannot read the neighbour table: ${r.stderr.trim()}`);
      rows = (JSON.parse(r.stdout || '[]') as NeighbourRow[]).filter((n) => typeof n.dst === 'string' && typeof n.dev === 'string');
    }
    if (this.stopped) return;
    const targets = proxyTargets(this.entries, rows, this.outbound);
    this.apply(nativeEntries(this.entries, this.mappings, targets));
    this.reportChanges(targets);
  }

  // One state event per address (or prefix) answered from now on, and per one no longer answered.
  private reportChanges(targets: ProxyTarget[]): void {
    const wanted = new Map(targets.map((t) => [`${t.interface} ${t.address}`, t]));
    for (const [key, t] of this.answering) {
      if (!wanted.has(key)) this.report('state', { message: `proxy NDP: no longer answering for ${t.address} on ${t.interface} (inside ${t.inside} gone)`, ...t });
    }
    for (const [key, t] of wanted) {
      if (!this.answering.has(key)) this.report('state', { message: `proxy NDP: answering for ${t.address} on ${t.interface} (inside ${t.inside} is a live neighbour)`, ...t });
    }
    this.answering = wanted;
    const prefixes = new Set(this.entries.flatMap((e) => (e.proxyNdp === 'prefix' && e.outside !== null ? [`${e.interface} ${e.outside}`] : [])));
    for (const key of this.prefixes) {
      const [name, prefix] = key.split(' ');
      if (!prefixes.has(key)) this.report('state', { message: `proxy NDP: no longer answering for ${prefix} on ${name}`, interface: name, prefix });
    }
    for (const key of prefixes) {
      const [name, prefix] = key.split(' ');
      if (!this.prefixes.has(key)) this.report('state', { message: `proxy NDP: answering for every address of ${prefix} on ${name}`, interface: name, prefix });
    }
    this.prefixes = prefixes;
  }

  // Stops answering: the responder gets no entries (its sockets close).
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.syncing;
    this.apply([]);
    if (this.answering.size || this.prefixes.size) this.report('state', { message: 'proxy NDP: no longer answering (stopped)' });
    this.answering.clear();
    this.prefixes.clear();
  }
}
