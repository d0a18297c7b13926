// The netfilter policy that sends packets to npt66's queues, as one backend-neutral plan (REFERENCE s3). The
// ip6tables renderer (ip6tables.ts) and the nft renderer (nft.ts) only spell it; every decision is made here.
//
// Where:   inbound in raw PREROUTING (priority -300: before conntrack and routing, so conntrack and the stateful
//          firewall see only inside addresses and the rewritten destination is routed normally);
//          outbound in mangle POSTROUTING (-150, after routing: the out interface is known).
// What:    outbound: by out interface and inside source; inbound: by outside destination on any interface, so
//          that packets from inside hosts to an outside address are translated too (hairpinning, RFC 6296 s4.3,
//          see below).
//          Masquerade (NAT66): outbound by interface and source; inbound only what can belong to a mapping, since
//          the address is also the host's own: TCP/UDP to the address and the masquerade port range (1-1023 too
//          with "privilegedPorts"), ICMPv6 echo replies (129) and ICMPv6 errors (1-4). The host's own sockets use
//          net.ipv4.ip_local_port_range, which the configuration keeps apart from the masquerade range, so their
//          replies are never queued; packets queued but matching no mapping are accepted for the host.
//          Neighbor Discovery (ICMPv6 133-137) and MLD (130-132, 143): never queued inbound (returned first: ND to
//          an outside address is the gateway's own business). Outbound only the link-scoped ones are returned
//          (source fe80::/10 or ::, or destination ff00::/8 or fe80::/10, RFC 4861 s6.1/s7.1); one from an inside
//          source to a routable destination is not ND that belongs on the link, and leaving untranslated it would
//          carry the inside address out: it is queued, and the engine drops it (drop_nd_mld_off_link).
//          Masquerade needs whole packets (a later fragment has no ports): a conntrack match in a chain nothing
//          jumps to (keepDefrag) makes the kernel register its conntrack and IPv6 reassembly hooks
//          (nf_defrag_ipv6, priority -400, before raw) in this network namespace for as long as the rule exists;
//          nothing else guarantees they are there (the kernel registers them per namespace only when a rule uses
//          conntrack: nf_ct_netns_get -> nf_defrag_ipv6_enable).
//          Queued without a bypass flag: with no program bound the kernel drops (fail-closed).
// Hairpin: an inside host A reaching inside host B by B's outside address: raw PREROUTING translates the
//          destination (B_out -> B_in) and, because the source is inside too, sets `hairpinMark`; mangle
//          POSTROUTING queues marked packets whatever their out interface, and the engine translates the source
//          (A_in -> A_out). B sees A_out and answers to it; the answer takes the same path. Conntrack sees
//          A_in <-> B_in both ways, so a stateful firewall works. `hairpinMark: 0` turns this off.
//          Masquerade hairpinning (RFC 4787 REQ-9) needs no mark: a packet from a masquerade source to the address
//          and a mapped port is queued by the inbound rules (no in interface) and the engine rewrites both of its
//          addresses there, in raw PREROUTING.
// Forged:  hairpin comes from inside. A packet arriving on an outside interface (any interface an entry names) is
//          queued without the mark (hairpin.notFrom), so the kernel never treats one with a forged inside source as
//          hairpin. The inbound rules still name no interface and queue it, so that the engine drops and counts it
//          (drop_spoofed_inside_source, RFC 2827 ingress filtering): one place for NPTv6 and masquerade, the check
//          that also keeps it from being masquerade hairpin.
// Own errors: a packet translated inbound that the gateway cannot forward (hop limit, inside link MTU, no route)
//          gets an ICMPv6 error from the gateway's own kernel, quoting the packet after translation (the inside
//          destination): its source is the gateway's, so no inside-source rule sees it. mangle OUTPUT (LOCAL_OUT)
//          queues ICMPv6 errors (1-4) leaving by an outside interface; the engine maps the quoted destination back
//          to the outside address (and port), or drops the error when nothing can (REFERENCE s6,
//          native/core/own_icmp_error.h). Errors about the gateway's own traffic pass untouched.
// Loopback: what the host sends to its own masquerade address arrives on lo and is returned before anything is
//          queued (inbound.loopback). Translated, a connection to a published port would go to the inside host,
//          whose answer to the host's own address is delivered locally, never through POSTROUTING, so never
//          translated back: the connection would hang. Returned, the host's own socket on the port answers (for
//          Docker's published ports, docker-proxy), or the kernel refuses it. Nothing of a mapping comes from lo
//          (the host's own sockets use ports outside the masquerade range).
import type { GatewayConfig } from '../gateway-config';
import { DOCKER_SOURCE, parsePortRange, type MasqueradeEntry } from '../masquerade-config';

// Neighbor Discovery (RFC 4861: 133 RS, 134 RA, 135 NS, 136 NA, 137 Redirect) and MLD (RFC 2710/3810: 130, 131,
// 132, 143) are link-local business: translating them would break the link.
export const NEVER_QUEUED_ICMPV6_TYPES = [130, 131, 132, 133, 134, 135, 136, 137, 143] as const;

// RFC 4861 s6.1/s7.1 (ND: hop limit 255, link-local or unspecified source, link-local or multicast destination)
// and RFC 3810 s5 (MLD: link-local source): outbound ND/MLD with one of these addresses stays on its link and is
// returned untranslated; any other is queued and dropped by the engine.
export const LINK_SCOPED_SOURCES = ['fe80::/10', '::/128'] as const;
export const LINK_SCOPED_DESTINATIONS = ['ff00::/8', 'fe80::/10'] as const;

// ICMPv6 messages that can concern a masquerade mapping: errors (RFC 4443 s3: 1 Destination Unreachable,
// 2 Packet Too Big, 3 Time Exceeded, 4 Parameter Problem) quoting a mapped packet, and echo replies (129).
export const MASQUERADE_ICMPV6_TYPES = [1, 2, 3, 4, 129] as const;

// ICMPv6 error types (RFC 4443 s3): the gateway's own errors of these types leaving by an outside interface are queued.
export const ICMPV6_ERROR_TYPES = [1, 2, 3, 4] as const;

// Which netfilter hook each part of the plan runs in, at the priority of which iptables table.
export type Table = 'raw' | 'mangle';
export type HookName = 'prerouting' | 'postrouting' | 'output';
export const PLACEMENT = {
  inbound: { hook: 'prerouting', table: 'raw' },
  outbound: { hook: 'postrouting', table: 'mangle' },
  ownErrors: { hook: 'output', table: 'mangle' },
} as const satisfies Record<string, { hook: HookName; table: Table }>;

// dockerSources: for an entry whose source names "docker", the Docker subnets in force (withLiveMasquerade).
export type RuleMasquerade = Pick<MasqueradeEntry, 'source' | 'interface' | 'address' | 'ports'> & {
  privilegedPorts?: boolean;
  dockerSources?: readonly string[];
  forwards?: readonly { port: number }[] | undefined; // published ports: queued inbound too (outside "ports")
  // The outside addresses in force when they differ from "address" (it follows its interface, or there is none
  // now): the one in use, then those kept; inbound to each is queued (withLiveMasquerade).
  addresses?: readonly string[];
  // Ports mappings made under an earlier port range (or "privilegedPorts") may still hold: queued inbound too
  // until none is held (src/masquerade-kept-ports.ts).
  keptPorts?: readonly PortRange[];
};

// The configuration fields the rules depend on (a reload that changes none of them keeps the rules).
export type RuleConfig = Pick<GatewayConfig, 'nptv6' | 'hairpinMark'> & {
  queues: Pick<GatewayConfig['queues'], 'first' | 'count'>;
  masquerade?: RuleMasquerade[];
};

export interface PortRange {
  min: number;
  max: number;
}

// What to queue, mark and return, part by part (PLACEMENT says where). Lists are in rule order; a renderer may
// spell a list as one rule with a set or as one rule per item, never reorder or drop.
export interface RulePlan {
  // Queued packets spread over queues first..first+count-1 by a symmetric hash of the addresses, so both
  // directions of a flow share a queue (REFERENCE s2). Never a bypass flag: fail-closed.
  queues: { first: number; count: number };
  inbound: {
    destinations: string[]; // NPTv6 outside prefixes: anything to them is queued
    masquerade: { address: string; ports: PortRange[]; icmpv6Types: readonly number[] }[]; // TCP and UDP to the ports, and those ICMPv6 types
    neverQueuedIcmpv6Types: readonly number[]; // of what the above selected: returned before anything is queued
    // Of the rest, packets from these sources get the mark unless they arrived on a notFrom interface; all queued.
    hairpin: { mark: number; sources: string[]; notFrom: string[] } | null;
    // Arriving on this interface to these addresses (the masquerade addresses): returned before all of the above.
    loopback: { interface: string; destinations: string[] } | null;
  };
  outbound: {
    sources: { interface: string; source: string }[]; // leaving by the interface from the source: selected
    hairpinMark: number | null; // packets carrying this mark are selected whatever their interface
    // Of what was selected, these ICMPv6 types are returned when link-scoped (either address), the rest queued.
    linkScoped: { icmpv6Types: readonly number[]; sources: readonly string[]; destinations: readonly string[] };
  };
  ownErrors: { interfaces: string[]; icmpv6Types: readonly number[] }; // leaving by the interface: queued
  keepDefrag: boolean; // a conntrack match in a chain nothing jumps to (masquerade needs reassembly)
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

// The NPTv6 outside prefixes in force. An entry whose prefix follows an interface with no usable address yet has
// none: nothing is queued inbound for it, and its outbound packets (queued by inside prefix) are dropped.
function outsidePrefixesOf(config: RuleConfig): string[] {
  return unique(config.nptv6.flatMap((m) => (m.outside === null ? [] : [m.outside])));
}

// Every interface an entry names is an outside one (NPTv6 and masquerade alike).
function outsideInterfacesOf(config: RuleConfig): string[] {
  return unique([...config.nptv6.map((m) => m.interface), ...(config.masquerade ?? []).map((m) => m.interface)]);
}

// The prefixes in force: the configured ones, and for "docker" the Docker subnets the gateway set (none yet: none).
function sourcesOf(m: RuleMasquerade): string[] {
  const configured = (Array.isArray(m.source) ? m.source : [m.source]).filter((s) => s !== DOCKER_SOURCE);
  return [...configured, ...(m.dockerSources ?? [])];
}

function addressesOf(m: RuleMasquerade): readonly string[] {
  return m.addresses ?? [m.address];
}

// The destination port ranges of inbound TCP/UDP that can belong to a mapping or a published port.
function masqueradePorts(m: RuleMasquerade): PortRange[] {
  const published = (m.forwards ?? []).map((f) => ({ min: f.port, max: f.port }));
  return [...(m.privilegedPorts ? [{ min: 1, max: 1023 }] : []), parsePortRange(m.ports), ...(m.keptPorts ?? []), ...published];
}

export function ruleKey(config: RuleConfig): string {
  const masquerade = (config.masquerade ?? []).map((m) => [sourcesOf(m), m.interface, addressesOf(m), m.ports, m.privilegedPorts ?? false, masqueradePorts(m)]);
  return JSON.stringify([config.nptv6, config.queues, config.hairpinMark, masquerade]);
}

// The plan for a configuration. Pure.
export function buildRulePlan(config: RuleConfig): RulePlan {
  const masquerade = config.masquerade ?? [];
  const mark = config.hairpinMark || null;
  return {
    queues: { first: config.queues.first, count: config.queues.count },
    inbound: {
      destinations: outsidePrefixesOf(config),
      masquerade: masquerade.flatMap((m) => addressesOf(m).map((address) => ({ address, ports: masqueradePorts(m), icmpv6Types: MASQUERADE_ICMPV6_TYPES }))),
      neverQueuedIcmpv6Types: NEVER_QUEUED_ICMPV6_TYPES,
      // Hairpin is NPTv6's: masquerade hairpinning is done in one pass inbound (see "Hairpin" above).
      hairpin:
        mark && config.nptv6.length
          ? { mark, sources: unique(config.nptv6.map((m) => m.inside)), notFrom: outsideInterfacesOf(config) }
          : null,
      loopback: masquerade.length ? { interface: 'lo', destinations: unique(masquerade.flatMap((m) => [...addressesOf(m)])) } : null,
    },
    outbound: {
      sources: [
        ...config.nptv6.map((m) => ({ interface: m.interface, source: m.inside })),
        ...masquerade.flatMap((m) => sourcesOf(m).map((source) => ({ interface: m.interface, source }))),
      ],
      hairpinMark: mark,
      linkScoped: { icmpv6Types: NEVER_QUEUED_ICMPV6_TYPES, sources: LINK_SCOPED_SOURCES, destinations: LINK_SCOPED_DESTINATIONS },
    },
    ownErrors: { interfaces: outsideInterfacesOf(config), icmpv6Types: ICMPV6_ERROR_TYPES },
    keepDefrag: masquerade.length > 0,
  };
}
