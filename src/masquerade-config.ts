// NAT66 masquerade configuration, beyond what the schema checks: the prefixes and addresses parsed, the address
// taken from the interface when not given, the port range checked against the host's own sockets, and every
// overlap that would make a packet ambiguous refused, with messages naming the field and the fix.
import { configError } from './errors';
import type { HostFacts, InterfaceAddress } from './host-facts';
import { compileForwards, type ForwardInput } from './masquerade-forwards';
import type { NativeMasquerade } from './native';
import { formatAddress, maskBytes, parseAddress, parsePrefix, type ParsedPrefix } from './prefix';

// The schema's output for one entry (gateway-config.ts), before the address is resolved.
export interface MasqueradeInput {
  source: string | string[];
  interface: string;
  address?: string | undefined;
  ports: string;
  filtering: 'address-dependent' | 'endpoint-independent';
  timeouts: { udp: number; tcpEstablished: number; tcpTransitory: number; icmp: number };
  maxMappings: number;
  maxPerHost64: number;
  maxRemotesPerMapping: number;
  inboundRefresh: boolean;
  privilegedPorts: boolean;
  forwards?: ForwardInput[] | undefined; // published ports (src/masquerade-forwards.ts)
}

// addressFrom "interface": "address" was left out, so it is the interface's stable global address, followed while
// npt66 runs (gateway.ts); compiling such an entry again reads the address anew (gateway-config.ts followAgain).
export type MasqueradeEntry = Omit<MasqueradeInput, 'address'> & { address: string; addressFrom?: 'interface' };

// The source word that stands for every IPv6 subnet of the local Docker Engine's bridge networks (followed by the
// gateway, src/docker-networks.ts; the native table starts without them).
export const DOCKER_SOURCE = 'docker';

export function namesDocker(entry: Pick<MasqueradeInput, 'source'>): boolean {
  return (Array.isArray(entry.source) ? entry.source : [entry.source]).includes(DOCKER_SOURCE);
}

// A masquerade entry's outside addresses in force (its table's and its rules'): new flows take `use` (null: there
// is none now, so new flows are dropped, drop_nat66_no_address), mappings on `keep` live on (addresses the
// interface still has, e.g. deprecated ones). As configured ({use: address, keep: []}) until the address changes.
export interface MasqueradeOutside {
  use: string | null;
  keep: string[];
}

export interface CompiledMasquerade {
  entries: MasqueradeEntry[]; // address always filled in
  native: NativeMasquerade[]; // same order
  warnings: { field: string; message: string }[]; // valid but outside an RFC's recommendation
}

export const DEFAULT_PORTS = '20000-29999';
// RFC 6888 REQ-4 asks for a per-subscriber limit without a figure; an IPv6 subscriber is a /64. 2000 mappings
// per /64 is a fifth of the default 10,000-port range, so one host (or one /64 full of hosts) leaves at least
// four fifths of every protocol's ports and echo identifiers to the others, and is still far more than one
// host's normal use (a browser opens a few hundred flows; carrier-grade NATs commonly give 1000-2000 ports per
// subscriber). A fixed figure rather than a fraction of "ports", so the limit does not move when the range
// does; compileMasquerade warns when it reaches the range's size. The schema (gateway-config.ts) applies it;
// Nat66Config (native/core/nat66_config.h) defaults to the same for native callers.
export const DEFAULT_MAX_PER_HOST64 = 2000;
// Remote addresses (TCP: remote endpoints) one mapping lets in at once (RFC 4787 REQ-8, RFC 5382 REQ-3). What
// one socket really talks to within a UDP timeout: a resolver a handful of upstreams, WebRTC a few dozen
// candidates, a busy BitTorrent DHT node some hundreds; 1024 leaves room for those. A packet to one more is
// refused (drop_nat66_remote_limit, answered "administratively prohibited"), never a live one forgotten.
// Memory: 32 bytes a remote, about 64 in the per-mapping set beyond the first four, so one mapping at the
// limit holds about 64 KB. Nat66Config (native/core/nat66_config.h) has the same figure for native callers.
export const DEFAULT_MAX_REMOTES_PER_MAPPING = 1024;

// RFC 5382 REQ-5 (TCP established >= 2 h 4 min), RFC 5382/7857 (transitory 4 min), RFC 5508 REQ-1 (ICMP >= 60 s).
// UDP's floor (RFC 4787 REQ-5, 120 s) is enforced by the schema; these are warnings so tests can shorten them.
const RFC_MINIMUM_SECONDS = [
  { key: 'tcpEstablished', min: 7440, rfc: 'RFC 5382 REQ-5 (2 h 4 min)' },
  { key: 'tcpTransitory', min: 240, rfc: 'RFC 5382 REQ-5 and RFC 7857 s2.2 (4 min)' },
  { key: 'icmp', min: 60, rfc: 'RFC 5508 REQ-1 (60 s)' },
] as const;

export function parsePortRange(text: string): { min: number; max: number } {
  const [min, max] = text.split('-').map(Number) as [number, number];
  return { min, max };
}

function overlaps(a: ParsedPrefix, b: ParsedPrefix): boolean {
  const l = Math.min(a.length, b.length);
  return maskBytes(a.bytes, l).equals(maskBytes(b.bytes, l));
}

function contains(p: ParsedPrefix, address: Buffer): boolean {
  return maskBytes(address, p.length).equals(p.bytes);
}

function isMulticast(b: Buffer): boolean {
  return b[0] === 0xff;
}

function isLinkLocal(b: Buffer): boolean {
  return b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
}

const LOOPBACK = Buffer.from('00000000000000000000000000000001', 'hex');
const UNSPECIFIED = Buffer.alloc(16);

function checkSource(p: ParsedPrefix, field: string): void {
  const why = isMulticast(p.bytes)
    ? 'is multicast; only unicast sources have replies to map back'
    : isLinkLocal(p.bytes) && p.length >= 10
      ? 'is link-local; link-local packets never leave their link (RFC 4291 s2.5.6)'
      : p.length === 128 && p.bytes.equals(LOOPBACK)
        ? 'is the loopback address, which never crosses a gateway'
        : null;
  if (why) throw configError(field, `"${p.text}" ${why}; give the prefix of the inside hosts, e.g. "fd5a:ceb9:ed8d:1::/64"`);
}

function checkAddressKind(bytes: Buffer, text: string, field: string): void {
  const why = isMulticast(bytes)
    ? 'is multicast'
    : isLinkLocal(bytes)
      ? 'is link-local, which remote hosts cannot reach'
      : bytes.equals(UNSPECIFIED)
        ? 'is the unspecified address'
        : bytes.equals(LOOPBACK)
          ? 'is the loopback address'
          : null;
  if (why) throw configError(field, `"${text}" ${why}; give this host's global (or unique-local) address on the outside interface`);
}

// The address a masquerade entry without "address" uses: the interface's first stable global address
// (temporary addresses change, deprecated ones are on their way out, tentative ones are not usable yet).
export function stableAddress(addresses: InterfaceAddress[]): string | null {
  const unstable = ['temporary', 'deprecated', 'tentative', 'dadfailed'];
  return addresses.find((a) => !a.flags.some((f) => unstable.includes(f)))?.address ?? null;
}

function resolveAddress(entry: Pick<MasqueradeInput, 'interface'>, field: string, facts: HostFacts): string {
  const addresses = facts.interfaceAddresses(entry.interface);
  if (addresses === null) {
    throw configError(
      field,
      `is not given and interface "${entry.interface}" does not exist here, so there is no address to take from it; create the interface first, or give "address" explicitly`,
    );
  }
  const stable = stableAddress(addresses);
  if (stable === null) {
    const seen = addresses.length
      ? `it has only ${addresses.map((a) => `${a.address} (${a.flags.filter((f) => f !== 'nodad').join(', ') || 'unusable'})`).join(', ')}`
      : 'it has no global IPv6 address';
    throw configError(
      field,
      `is not given and interface "${entry.interface}" has no stable global IPv6 address to default to (${seen}; temporary, deprecated and tentative addresses are skipped); add one (ip -6 addr add ADDRESS/64 dev ${entry.interface}) or give "address" explicitly`,
    );
  }
  return stable;
}

function checkPortRange(entry: MasqueradeInput, field: string, facts: HostFacts): { min: number; max: number } {
  const { min, max } = parsePortRange(entry.ports);
  if (min < 1024 || max > 65535 || min > max) {
    throw configError(
      field,
      `"${entry.ports}" must be MIN-MAX with 1024 <= MIN <= MAX <= 65535 (inside ports below 1024 are kept below 1024 automatically), e.g. "${DEFAULT_PORTS}"`,
    );
  }
  const local = facts.localPortRange();
  if (local && min <= local[1] && local[0] <= max) {
    const [lo, hi] = local;
    const size = max - min + 1;
    const below = lo - 1 >= 1024 + size - 1 ? `"${lo - size}-${lo - 1}"` : null;
    const above = hi + size <= 65535 ? `"${hi + 1}-${hi + size}"` : null;
    const pick = below ?? above;
    const sysctl =
      max < hi ? `${max + 1} ${hi}` : min > lo ? `${lo} ${min - 1}` : null;
    throw configError(
      field,
      `${min}-${max} overlaps net.ipv4.ip_local_port_range (${lo}-${hi}), the ports this host's own sockets (IPv6 ones too) pick from: ` +
        `a reply to a local socket could be taken for a masquerade mapping, and a mapping could take a port a local socket uses. ` +
        `Pick a range outside ${lo}-${hi}${pick ? `, e.g. ${pick}` : ''}` +
        (sysctl ? `, or move the local range: sysctl -w net.ipv4.ip_local_port_range="${sysctl}" (and make it permanent in /etc/sysctl.d/)` : ''),
    );
  }
  return { min, max };
}

export interface Nptv6Prefixes {
  inside: ParsedPrefix;
  outside: ParsedPrefix;
}

// `text` as an outside address of an entry with these sources: parsed, and refused when remote hosts cannot
// reach it or a packet to it would be ambiguous (inside a source prefix, inside an NPTv6 outside prefix).
function checkedAddress(text: string, field: string, sources: readonly ParsedPrefix[], nptv6: readonly Nptv6Prefixes[]): Buffer {
  const address = parseAddress(text, field, configError);
  const shown = formatAddress(address);
  checkAddressKind(address, text, field);
  sources.forEach((p) => {
    if (contains(p, address)) {
      throw configError(field, `${shown} lies inside the source prefix ${p.text}: replies to it would be masqueraded again; use the host's address on the outside interface`);
    }
  });
  nptv6.forEach((m, j) => {
    if (contains(m.outside, address)) {
      throw configError(
        field,
        `${shown} lies inside nptv6[${j}].outside (${m.outside.text}): an inbound packet to it could be a reply to NPTv6 or to masquerade, and nothing in it says which; use an address outside every NPTv6 outside prefix`,
      );
    }
  });
  return address;
}

// The address an entry without "address" uses now (issue 10: it follows the interface while npt66 runs), with
// the same checks as at start; throws a config error saying why there is none.
export function followedAddress(
  entry: Pick<MasqueradeInput, 'interface'>,
  field: string,
  sources: readonly ParsedPrefix[],
  nptv6: readonly Nptv6Prefixes[],
  facts: HostFacts,
): string {
  return formatAddress(checkedAddress(resolveAddress(entry, field, facts), field, sources, nptv6));
}

// Validates the masquerade entries against each other, the NPTv6 mappings and the host. `nptv6` holds the
// already validated NPTv6 prefixes, in config order.
export function compileMasquerade(
  entries: readonly MasqueradeInput[],
  nptv6: readonly Nptv6Prefixes[],
  facts: HostFacts,
  base = 'masquerade',
): CompiledMasquerade {
  const out: CompiledMasquerade = { entries: [], native: [], warnings: [] };
  const seenSources: { prefix: ParsedPrefix; field: string }[] = [];
  const seenAddresses: { bytes: Buffer; field: string }[] = [];

  entries.forEach((entry, i) => {
    const here = `${base}[${i}]`;
    const sourceTexts = Array.isArray(entry.source) ? entry.source : [entry.source];
    const docker = sourceTexts.includes(DOCKER_SOURCE);
    if (docker && entries.some((e, j) => j < i && namesDocker(e))) {
      throw configError(`${here}.source`, `names "${DOCKER_SOURCE}" as an earlier entry does: Docker's networks can be masqueraded by one entry only`);
    }
    const sources = sourceTexts.flatMap((text, k) => {
      if (text === DOCKER_SOURCE) return []; // followed live (src/docker-networks.ts)
      const field = Array.isArray(entry.source) ? `${here}.source[${k}]` : `${here}.source`;
      const p = parsePrefix(text, field, configError);
      checkSource(p, field);
      nptv6.forEach((m, j) => {
        if (overlaps(p, m.inside)) {
          throw configError(
            field,
            `${p.text} overlaps nptv6[${j}].inside (${m.inside.text}): an outbound packet from the common addresses could be NPTv6-translated or masqueraded, and npt66 will not guess which; masquerade only prefixes outside the NPTv6 inside prefixes (or remove the NPTv6 mapping)`,
          );
        }
      });
      for (const s of seenSources) {
        if (overlaps(p, s.prefix)) {
          throw configError(
            field,
            `${p.text} overlaps ${s.field} (${s.prefix.text}): a packet from the common addresses would match two masquerade sources; remove the overlap`,
          );
        }
      }
      seenSources.push({ prefix: p, field });
      return p;
    });

    const addressField = `${here}.address`;
    const fromConfig = entry.address !== undefined;
    const addressText = fromConfig ? entry.address! : resolveAddress(entry, addressField, facts);
    const address = checkedAddress(addressText, addressField, sources, nptv6);
    const shown = formatAddress(address);
    for (const a of seenAddresses) {
      if (a.bytes.equals(address)) {
        throw configError(
          addressField,
          `${shown} is already the address of ${a.field.replace(/\.address$/, '')}: two entries on one address would share its ports; give both sources in one entry ("source": ["PREFIX1", "PREFIX2"])`,
        );
      }
    }
    seenAddresses.push({ bytes: address, field: addressField });

    const ports = checkPortRange(entry, `${here}.ports`, facts);
    const forwards = compileForwards(
      entry.forwards ?? [],
      { field: here, address, ports, privilegedPorts: entry.privilegedPorts, sources, docker },
      facts,
    );
    const rangeSize = ports.max - ports.min + 1;
    if (entry.maxPerHost64 >= rangeSize) {
      out.warnings.push({
        field: `${here}.maxPerHost64`,
        message: `${entry.maxPerHost64} is not below the ${rangeSize} ports of "${entry.ports}": one inside host (one /64) can take every outside port and ICMPv6 echo identifier and lock every other host out (RFC 6888 REQ-4); lower it well below ${rangeSize} (the default is ${DEFAULT_MAX_PER_HOST64}) or widen "ports"`,
      });
    }
    for (const r of RFC_MINIMUM_SECONDS) {
      const value = entry.timeouts[r.key];
      if (value < r.min) {
        out.warnings.push({
          field: `${here}.timeouts.${r.key}`,
          message: `${value} s is below the ${r.min} s of ${r.rfc}: mappings may expire while the flow is still alive`,
        });
      }
    }

    out.entries.push({ ...entry, address: shown, ...(fromConfig ? {} : { addressFrom: 'interface' as const }) });
    out.native.push({
      sources: sources.map((p) => ({ prefix: p.bytes, length: p.length })),
      addresses: [address],
      portMin: ports.min,
      portMax: ports.max,
      filtering: entry.filtering,
      timeouts: {
        udpMs: entry.timeouts.udp * 1000,
        tcpEstablishedMs: entry.timeouts.tcpEstablished * 1000,
        tcpTransitoryMs: entry.timeouts.tcpTransitory * 1000,
        icmpMs: entry.timeouts.icmp * 1000,
      },
      maxMappings: entry.maxMappings,
      maxPerHost64: entry.maxPerHost64,
      maxRemotesPerMapping: entry.maxRemotesPerMapping,
      inboundRefresh: entry.inboundRefresh,
      // Replies to ports below 1024 are queued only with privilegedPorts; without it, keep no mapping there.
      privilegedPorts: entry.privilegedPorts,
      ...(forwards.length ? { forwards } : {}),
    });
  });
  return out;
}

// Kernel conntrack must remember a flow at least as long as the table keeps its mapping: inbound packets are
// translated before conntrack sees them (raw PREROUTING), so conntrack tracks inside addresses, and once it
// forgets a flow a stateful firewall treats the next reply as NEW. Returns one warning per short timeout.
export function conntrackWarnings(entries: readonly MasqueradeEntry[], facts: HostFacts): { message: string; sysctl: string; kernelSeconds: number; tableSeconds: number }[] {
  if (entries.length === 0) return [];
  const kernel = facts.conntrackTimeouts();
  const longest = (key: keyof MasqueradeEntry['timeouts']) => Math.max(...entries.map((e) => e.timeouts[key]));
  const checks = [
    { sysctl: 'net.netfilter.nf_conntrack_udp_timeout_stream', kernel: kernel.udpStream, table: longest('udp'), what: 'UDP', key: 'udp' },
    { sysctl: 'net.netfilter.nf_conntrack_tcp_timeout_established', kernel: kernel.tcpEstablished, table: longest('tcpEstablished'), what: 'established TCP', key: 'tcpEstablished' },
    { sysctl: 'net.netfilter.nf_conntrack_icmpv6_timeout', kernel: kernel.icmpv6, table: longest('icmp'), what: 'ICMPv6 echo', key: 'icmp' },
  ];
  return checks
    .filter((c) => c.kernel !== null && c.kernel < c.table)
    .map((c) => ({
      message:
        `kernel conntrack forgets ${c.what} flows after ${c.kernel} s (${c.sysctl}) but masquerade keeps their mappings ${c.table} s: ` +
        `a stateful firewall would drop replies to a mapping idle for longer; raise it: sysctl -w ${c.sysctl}=${c.table} ` +
        `(or lower "timeouts.${c.key}")`,
      sysctl: c.sysctl,
      kernelSeconds: c.kernel!,
      tableSeconds: c.table,
    }));
}

// Which of Docker's IPv6 subnets masquerade entry `index` can take: not one that overlaps a configured source
// (of any entry) or an NPTv6 inside prefix (a packet would match twice), nor one holding the entry's address.
export function acceptDockerSubnets(
  subnets: readonly string[],
  index: number,
  entries: readonly MasqueradeEntry[],
  nptv6Inside: readonly string[],
): { accepted: ParsedPrefix[]; refused: { subnet: string; why: string }[] } {
  const out: { accepted: ParsedPrefix[]; refused: { subnet: string; why: string }[] } = { accepted: [], refused: [] };
  const configured = entries.flatMap((e, j) =>
    (Array.isArray(e.source) ? e.source : [e.source]).filter((t) => t !== DOCKER_SOURCE).map((t) => ({ p: parsePrefix(t, 'source'), field: `masquerade[${j}].source` })),
  );
  const inside = nptv6Inside.map((t, j) => ({ p: parsePrefix(t, 'inside'), field: `nptv6[${j}].inside` }));
  const address = parseAddress(entries[index]!.address, 'address');
  for (const subnet of subnets) {
    let p: ParsedPrefix;
    try {
      p = parsePrefix(subnet, 'subnet');
    } catch (e) {
      out.refused.push({ subnet, why: (e as Error).message });
      continue;
    }
    const clash = [...configured, ...inside].find((c) => overlaps(c.p, p));
    if (clash) out.refused.push({ subnet, why: `overlaps ${clash.field} (${clash.p.text})` });
    else if (contains(p, address)) out.refused.push({ subnet, why: `holds the masquerade address ${entries[index]!.address}` });
    else out.accepted.push(p);
  }
  return out;
}
