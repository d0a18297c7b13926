// One masquerade mapping, as both translators report it: npt66 (`mappings --json` and its "mapping" event
// lines) and the kernel (conntrack entries and `conntrack -E` lines). The tests compare these, so both are
// brought to the same shape here, with addresses in RFC 5952 form.
import { inPrefix, normalizeAddress } from '../lib/ipv6_decode';

export type MasqProtocol = 'tcp' | 'udp' | 'icmpv6';
// REMOTE (a mapping gained a remote) and LIMIT (one more refused): npt66 only; conntrack has an entry per flow.
export type MappingEventKind = 'NEW' | 'UPDATE' | 'DESTROY' | 'REMOTE' | 'LIMIT';

export interface Mapping {
  protocol: MasqProtocol;
  inside: string;
  insidePort: number; // ICMPv6 echo: the identifier
  outside: string;
  outsidePort: number;
  remote: string | null; // null where the translator does not report one
  remotePort: number | null;
  state: string | null;
  raw: unknown; // what the translator printed, for failure messages
}

export interface MappingEvent extends Mapping {
  event: MappingEventKind;
}

export function normalizeProtocol(p: unknown): MasqProtocol {
  const s = String(p).toLowerCase();
  if (s === 'tcp' || s === '6') return 'tcp';
  if (s === 'udp' || s === '17') return 'udp';
  if (s === 'icmpv6' || s === 'icmp6' || s === 'icmp' || s === 'ipv6-icmp' || s === '58') return 'icmpv6';
  throw new Error(`unknown protocol in a mapping: ${JSON.stringify(p)}`);
}

function addressOrNull(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? normalizeAddress(v) : null;
}

function portOrNull(v: unknown): number | null {
  return typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null;
}

// An endpoint written as "[address]:port" (npt66's JSON), flat ({inside, insidePort}) or nested
// ({inside: {address, port}}).
function endpoint(o: Record<string, unknown>, key: string): { address: string | null; port: number | null } {
  const v = o[key];
  const bracketed = typeof v === 'string' ? /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(v) : null;
  if (bracketed) return { address: normalizeAddress(bracketed[1]), port: Number(bracketed[2]) };
  if (v && typeof v === 'object') {
    const e = v as Record<string, unknown>;
    return { address: addressOrNull(e.address ?? e.addr), port: portOrNull(e.port ?? e.id) };
  }
  return { address: addressOrNull(v), port: portOrNull(o[`${key}Port`] ?? o[`${key}Id`]) };
}

// A mapping object from npt66's JSON (list entry or event line).
export function mappingFromNpt66(o: Record<string, unknown>): Mapping {
  const inside = endpoint(o, 'inside');
  const outside = endpoint(o, 'outside');
  const remote = endpoint(o, 'remote');
  if (!inside.address || inside.port === null || !outside.address || outside.port === null) {
    throw new Error(`npt66 mapping without inside/outside address and port: ${JSON.stringify(o)}`);
  }
  return {
    protocol: normalizeProtocol(o.protocol ?? o.proto),
    inside: inside.address,
    insidePort: inside.port,
    outside: outside.address,
    outsidePort: outside.port,
    remote: remote.address,
    remotePort: remote.port,
    state: typeof o.state === 'string' ? o.state : null,
    raw: o,
  };
}

export function mappingEventFromNpt66(o: Record<string, unknown>): MappingEvent {
  const event = String(o.event ?? o.type).toUpperCase();
  if (event !== 'NEW' && event !== 'UPDATE' && event !== 'DESTROY' && event !== 'REMOTE' && event !== 'LIMIT') throw new Error(`unknown mapping event: ${JSON.stringify(o)}`);
  return { ...mappingFromNpt66(o), event };
}

// A conntrack entry (`conntrack -L -f ipv6`) or event (`conntrack -E -f ipv6`) line, as a mapping if it is
// one: the original source is inside `sourcePrefix` and the reply goes to `outsideAddress`. Example:
//   [NEW] udp 17 30 src=fd5a:ceb9:ed8d:1::2 dst=2001:4860:4860::8888 sport=25000 dport=5002 [UNREPLIED]
//         src=2001:4860:4860::8888 dst=fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5 sport=5002 dport=25000
export function mappingEventFromConntrack(line: string, sourcePrefix: string, outsideAddress: string): MappingEvent | null {
  const head = /^\s*(?:\[(NEW|UPDATE|DESTROY)\]\s+)?(tcp|udp|icmpv6)\s+\d+\s+(?:\d+\s+)?([A-Z_]+\s+)?/.exec(line);
  if (!head) return null;
  // Two tuples: the original direction's fields first, then the reply's (each key appears twice).
  const fields: Record<string, string[]> = {};
  for (const m of line.matchAll(/\b(src|dst|sport|dport|id)=(\S+)/g)) (fields[m[1]] ??= []).push(m[2]);
  const [origSrc, replySrc] = fields.src ?? [];
  const [origDst, replyDst] = fields.dst ?? [];
  if (!origSrc || !replyDst || !origDst || !replySrc) return null;
  if (!inPrefix(origSrc, sourcePrefix) || normalizeAddress(replyDst) !== normalizeAddress(outsideAddress)) return null;
  const protocol = normalizeProtocol(head[2]);
  const icmp = protocol === 'icmpv6';
  const origPort = Number(icmp ? fields.id?.[0] : fields.sport?.[0]);
  const replyPort = Number(icmp ? fields.id?.[1] : fields.dport?.[1]);
  return {
    event: (head[1] ?? 'NEW') as MappingEventKind,
    protocol,
    inside: normalizeAddress(origSrc),
    insidePort: origPort,
    outside: normalizeAddress(replyDst),
    outsidePort: replyPort,
    remote: normalizeAddress(origDst),
    remotePort: icmp ? null : Number(fields.dport?.[0]),
    state: head[3]?.trim() || null,
    raw: line.trim(),
  };
}

export function describeMapping(m: Mapping): string {
  return `${m.protocol} [${m.inside}]:${m.insidePort} -> [${m.outside}]:${m.outsidePort} remote ${m.remote ?? '?'}${m.remotePort === null ? '' : `:${m.remotePort}`}${m.state ? ` ${m.state}` : ''}`;
}
