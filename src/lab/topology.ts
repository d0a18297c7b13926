// The lab's network, as data: the seed story's whole path (REFERENCE s5). One list of namespaces, links, bridges,
// addresses, routes and the two npt66 daemons with their configurations.
//
//   cnt01 (container)     host (Docker host, npt66 masquerade)      router            lan (bridge)       gw (npt66 NPTv6)     isp           dns
//   eth0 1::2 ─ veth-cnt01─br_ipv6_nw 1::1, fe80::1                                    br0 ── mgmt eth0
//                         ens192 fd5a:ceb9:ed8d:fe0a:   ──── eth0 fe0a::1              │     fefc::10
//                                ed57:61d8:20eb:aba5/64     eth1 fefc::2 ── p-router ──┤                      eth1 ffff::2 ── eth0 ffff::1
//                                                                                      └─ p-gw ──── eth0 fefc::1              eth1 ──────── 2001:4860:4860::8888
//
// Docker network: fd5a:ceb9:ed8d:1::/64 on the host's bridge br_ipv6_nw (::1 and fe80::1), cnt01 at ::2 with its
// default route via ::1; the host masquerades it to its ens192 address (like `firewall-cmd --masquerade`), so
// nobody else needs a route to the Docker network.
// Inside the gateway: fd5a:ceb9:ed8d:fe0a::/64 (the Docker host's LAN) and fd5a:ceb9:ed8d:fefc::/64 (the
// router-gateway LAN, with a management host). Outside: the transit 2001:db8:ffff::/64 to an ISP router, which
// routes the two outside prefixes to the gateway, and dns.google's 2001:4860:4860::8888 beyond it.
// The gateway LAN's bridge lives in its own namespace so the gateway's netfilter never sees bridged frames; the
// Docker bridge is in the Docker host, as Docker puts it.

export interface LabNamespace {
  name: string;
  role: string; // what it stands for in the seed story
  forwarding?: boolean;
}

export interface LabLink {
  a: { ns: string; iface: string };
  b: { ns: string; iface: string };
  mtu?: number;
}

export interface LabBridge {
  ns: string;
  name: string;
  ports: string[]; // interfaces of `ns` enslaved to the bridge
}

export interface LabAddress {
  ns: string;
  iface: string;
  cidr: string;
}

export interface LabRoute {
  ns: string;
  dst: string;
  via: string;
}

export interface LabMapping {
  inside: string;
  outside: string;
  interface: string; // the gateway's outside interface
}

export interface LabMasquerade {
  source: string;
  interface: string; // the Docker host's outside interface
  ports: string;
  // no "address": npt66 takes the interface's stable global address, as the seed's firewalld masquerade does
}

export interface LabSysctl {
  ns: string;
  key: string;
  value: number;
  why: string;
}

export interface LabTopology {
  namespaces: LabNamespace[];
  links: LabLink[];
  bridges: LabBridge[];
  addresses: LabAddress[];
  routes: LabRoute[];
  sysctls: LabSysctl[];
  hosts: { ns: string; name: string; address: string }[]; // /etc/hosts entries (ip netns exec mounts /etc/netns/NS/hosts)
  gateway: { ns: string; inside: string; outside: string }; // where npt66 runs NPTv6, and its two interfaces
  nptv6: LabMapping[];
  dockerHost: { ns: string; inside: string; outside: string }; // where npt66 runs masquerade, and its two interfaces
  container: { ns: string; iface: string };
  masquerade: LabMasquerade[];
}

export const ADDRESSES = {
  cnt01: 'fd5a:ceb9:ed8d:1::2', // the seed's container
  dockerBridge: 'fd5a:ceb9:ed8d:1::1', // the Docker host's br_ipv6_nw
  host: 'fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5', // the seed's Docker host (ens192)
  routerDown: 'fd5a:ceb9:ed8d:fe0a::1',
  routerUp: 'fd5a:ceb9:ed8d:fefc::2',
  mgmt: 'fd5a:ceb9:ed8d:fefc::10',
  gwInside: 'fd5a:ceb9:ed8d:fefc::1', // the seed's gateway
  gwOutside: '2001:db8:ffff::2',
  ispDown: '2001:db8:ffff::1',
  ispUp: '2001:4860:4860::1',
  dns: '2001:4860:4860::8888', // dns.google
} as const;

// The seed maps both inside /64s to one outside /64; stateless NPTv6 cannot (see SEED_AMBIGUITY): one each.
export const NPTV6: LabMapping[] = [
  { inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' },
  { inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff67::/64', interface: 'eth1' },
];

export const SEED_NPTV6: LabMapping[] = [
  { inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' },
  { inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' },
];

export const SEED_AMBIGUITY =
  'The seed article maps BOTH inside prefixes, fd5a:ceb9:ed8d:fe0a::/64 and fd5a:ceb9:ed8d:fefc::/64, to one outside ' +
  'prefix (ROUTINGPREFIX:ff66::/64). NPTv6 (RFC 6296) is stateless: it rewrites the prefix and keeps the interface ' +
  'identifier, so an inbound packet to ROUTINGPREFIX:ff66::X could belong to fe0a::X or to fefc::X, and nothing in ' +
  'the packet says which. Replies to one of the two LANs would go to the wrong host or nowhere. The lab therefore ' +
  'gives each inside /64 its own outside /64: fe0a -> 2001:db8:ff66::/64, fefc -> 2001:db8:ff67::/64 ' +
  '(with one routed /64 only, masquerade one of the LANs instead).';

export const MASQUERADE: LabMasquerade[] = [{ source: 'fd5a:ceb9:ed8d:1::/64', interface: 'ens192', ports: '20000-29999' }];

export const SEED_LAB: LabTopology = {
  namespaces: [
    { name: 'cnt01', role: 'the container cnt01 (fd5a:ceb9:ed8d:1::2 on the Docker network br_ipv6_nw)' },
    { name: 'host', role: 'the Docker host running npt66 masquerade (seed: ens192 fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5)', forwarding: true },
    { name: 'router', role: 'the router between the Docker host LAN and the gateway', forwarding: true },
    { name: 'lan', role: 'the switch of the fd5a:ceb9:ed8d:fefc::/64 LAN' },
    { name: 'mgmt', role: 'an inside host on the gateway LAN' },
    { name: 'gw', role: 'the NPTv6 gateway running npt66', forwarding: true },
    { name: 'isp', role: 'the upstream router, which routes the outside prefixes to the gateway', forwarding: true },
    { name: 'dns', role: 'dns.google (2001:4860:4860::8888)' },
  ],
  links: [
    { a: { ns: 'cnt01', iface: 'eth0' }, b: { ns: 'host', iface: 'veth-cnt01' } },
    { a: { ns: 'host', iface: 'ens192' }, b: { ns: 'router', iface: 'eth0' } },
    { a: { ns: 'router', iface: 'eth1' }, b: { ns: 'lan', iface: 'p-router' } },
    { a: { ns: 'mgmt', iface: 'eth0' }, b: { ns: 'lan', iface: 'p-mgmt' } },
    { a: { ns: 'gw', iface: 'eth0' }, b: { ns: 'lan', iface: 'p-gw' } },
    { a: { ns: 'gw', iface: 'eth1' }, b: { ns: 'isp', iface: 'eth0' } },
    { a: { ns: 'isp', iface: 'eth1' }, b: { ns: 'dns', iface: 'eth0' } },
  ],
  bridges: [
    { ns: 'host', name: 'br_ipv6_nw', ports: ['veth-cnt01'] },
    { ns: 'lan', name: 'br0', ports: ['p-router', 'p-mgmt', 'p-gw'] },
  ],
  addresses: [
    { ns: 'host', iface: 'br_ipv6_nw', cidr: `${ADDRESSES.dockerBridge}/64` },
    { ns: 'host', iface: 'br_ipv6_nw', cidr: 'fe80::1/64' },
    { ns: 'cnt01', iface: 'eth0', cidr: `${ADDRESSES.cnt01}/64` },
    { ns: 'host', iface: 'ens192', cidr: `${ADDRESSES.host}/64` },
    { ns: 'router', iface: 'eth0', cidr: `${ADDRESSES.routerDown}/64` },
    { ns: 'router', iface: 'eth1', cidr: `${ADDRESSES.routerUp}/64` },
    { ns: 'mgmt', iface: 'eth0', cidr: `${ADDRESSES.mgmt}/64` },
    { ns: 'gw', iface: 'eth0', cidr: `${ADDRESSES.gwInside}/64` },
    { ns: 'gw', iface: 'eth1', cidr: `${ADDRESSES.gwOutside}/64` },
    { ns: 'isp', iface: 'eth0', cidr: `${ADDRESSES.ispDown}/64` },
    { ns: 'isp', iface: 'eth1', cidr: `${ADDRESSES.ispUp}/64` },
    { ns: 'dns', iface: 'eth0', cidr: `${ADDRESSES.dns}/64` },
  ],
  routes: [
    { ns: 'cnt01', dst: 'default', via: ADDRESSES.dockerBridge }, // seed: "default via fd5a:ceb9:ed8d:1::1"
    { ns: 'host', dst: 'default', via: ADDRESSES.routerDown },
    { ns: 'router', dst: 'default', via: ADDRESSES.gwInside }, // seed: "default via fd5a:ceb9:ed8d:fefc::1"
    { ns: 'mgmt', dst: 'default', via: ADDRESSES.gwInside },
    { ns: 'gw', dst: 'fd5a:ceb9:ed8d:fe0a::/64', via: ADDRESSES.routerUp },
    { ns: 'gw', dst: 'default', via: ADDRESSES.ispDown },
    ...NPTV6.map((m) => ({ ns: 'isp', dst: m.outside, via: ADDRESSES.gwOutside })),
    { ns: 'dns', dst: 'default', via: ADDRESSES.ispUp },
  ],
  sysctls: [
    // Kernel conntrack must remember a flow as long as the masquerade table keeps its mapping (npt66 warns otherwise).
    { ns: 'host', key: 'net.netfilter.nf_conntrack_udp_timeout_stream', value: 300, why: 'UDP mappings live 300 s' },
    { ns: 'host', key: 'net.netfilter.nf_conntrack_icmpv6_timeout', value: 60, why: 'ICMPv6 echo mappings live 60 s' },
  ],
  hosts: [{ ns: 'cnt01', name: 'dns.google', address: ADDRESSES.dns }],
  gateway: { ns: 'gw', inside: 'eth0', outside: 'eth1' },
  nptv6: NPTV6,
  dockerHost: { ns: 'host', inside: 'br_ipv6_nw', outside: 'ens192' },
  container: { ns: 'cnt01', iface: 'eth0' },
  masquerade: MASQUERADE,
};
