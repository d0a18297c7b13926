// Masquerade mappings for people and programs, in the manner of conntrack: one JSON object per mapping (the
// `npt66 run` log's "mapping" lines, `npt66 mappings --json`) and a `conntrack -L`-like table.
import type { MappingEventType, MappingRecord } from './engine-records';

export interface MappingJson {
  masquerade: number; // which masquerade entry
  protocol: MappingRecord['protocol'];
  state: MappingRecord['state'];
  inside: string; // "[address]:port" (for ICMPv6 echo the port is the identifier)
  outside: string;
  remote: string; // the last remote sent to (REMOTE/LIMIT events: the one added or refused)
  remoteCount: number; // live remotes: the addresses (TCP: connections) filtering lets in
  // `npt66 mappings --json` only: each live remote, "[address]:port" (UDP: the last port sent to), when it
  // expires unless refreshed, and for TCP the connection's state
  remotes?: { remote: string; state?: string; expires: string }[];
  created: string; // ISO 8601
  lastUsed: string;
  expires: string;
  packets: { out: number; in: number }; // out: inside -> outside
  bytes: { out: number; in: number };
}

export function endpoint(address: string, port: number): string {
  return `[${address}]:${port}`;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function mappingJson(m: MappingRecord): MappingJson {
  return {
    masquerade: m.masquerade,
    protocol: m.protocol,
    state: m.state,
    inside: endpoint(m.inside, m.insidePort),
    outside: endpoint(m.outside, m.outsidePort),
    remote: endpoint(m.remote, m.remotePort),
    remoteCount: m.remoteCount,
    ...(m.remotes && {
      remotes: m.remotes.map((r) => ({ remote: endpoint(r.address, r.port), ...(r.state && { state: r.state }), expires: iso(r.expires) })),
    }),
    created: iso(m.created),
    lastUsed: iso(m.lastUsed),
    expires: iso(m.expires),
    packets: { out: m.packetsOut, in: m.packetsIn },
    bytes: { out: m.bytesOut, in: m.bytesIn },
  };
}

// The fields of a "mapping" log line after time/level/msg: the event first, as `conntrack -E` prints [NEW].
export function mappingLogFields(event: MappingEventType, m: MappingRecord): Record<string, unknown> {
  return { event, ...mappingJson(m) };
}

// A table like `conntrack -L`: one line per mapping, seconds until expiry, its last remote and how many remotes
// it lets in, packets and bytes each way.
// Sorted by protocol, then inside endpoint, so repeated listings are easy to compare.
export function formatMappingsTable(records: readonly MappingRecord[], now: number): string {
  const sorted = [...records].sort(
    (a, b) => a.protocol.localeCompare(b.protocol) || a.inside.localeCompare(b.inside) || a.insidePort - b.insidePort || a.remote.localeCompare(b.remote),
  );
  const header = ['proto', 'state', 'expires', 'inside', 'outside', 'remote', 'remotes', 'packets out/in', 'bytes out/in'];
  const rows = sorted.map((m) => [
    m.protocol,
    m.state,
    `${Math.max(0, Math.round((m.expires - now) / 1000))} s`,
    endpoint(m.inside, m.insidePort),
    endpoint(m.outside, m.outsidePort),
    endpoint(m.remote, m.remotePort),
    String(m.remoteCount),
    `${m.packetsOut}/${m.packetsIn}`,
    `${m.bytesOut}/${m.bytesIn}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const n = records.length;
  return `${[line(header), ...rows.map(line)].join('\n')}\nnpt66 mappings: ${n} mapping${n === 1 ? '' : 's'} listed.\n`;
}
