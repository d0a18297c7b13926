// The lab's network, as data: the seed story's gateway side (REFERENCE s5). One list of namespaces, links,
// bridges, addresses and routes, so a later part (the Docker host's masquerade) can extend it by adding entries.
//
//   host (Docker host)                 router                     lan (bridge)           gw (npt66)            isp            dns
//   ens192 fd5a:ceb9:ed8d:fe0a:        eth0 fe0a::1               br0 ── mgmt eth0       eth0 fefc::1          eth0 ffff::1   eth0
//          ed57:61d8:20eb:aba5/64 ──── eth1 fefc::2 ──── p-router  │     fefc::10          eth1 2001:db8:ffff::2 ─ eth1 ──────── 2001:4860:4860::8888
//                                                                  └─ p-gw ─────────────  eth0                    2001:4860:4860::1
//
// Inside: fd5a:ceb9:ed8d:fe0a::/64 (the Docker host's LAN) and fd5a:ceb9:ed8d:fefc::/64 (the router-gateway LAN,
// with a management host). Outside: the transit 2001:db8:ffff::/64 to an ISP router, which routes the two
// outside prefixes to the gateway, and dns.google's 2001:4860:4860::8888 beyond it.
// The bridge lives in its own namespace so the gateway's netfilter never sees bridged frames.

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

export interface LabTopology {
  namespaces: LabNamespace[];
  links: LabLink[];
  bridges: LabBridge[];
  addresses: LabAddress[];
  routes: LabRoute[];
  gateway: { ns: string; inside: string; outside: string }; // where npt66 runs and its two interfaces
  nptv6: LabMapping[];
}

export const ADDRESSES = {
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

export const SEED_GATEWAY_SIDE: LabTopology = {
  namespaces: [
    { name: 'host', role: 'the Docker host (seed: ens192 fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5)' },
    { name: 'router', role: 'the router between the Docker host LAN and the gateway', forwarding: true },
    { name: 'lan', role: 'the switch of the fd5a:ceb9:ed8d:fefc::/64 LAN' },
    { name: 'mgmt', role: 'an inside host on the gateway LAN' },
    { name: 'gw', role: 'the NPTv6 gateway running npt66', forwarding: true },
    { name: 'isp', role: 'the upstream router, which routes the outside prefixes to the gateway', forwarding: true },
    { name: 'dns', role: 'dns.google (2001:4860:4860::8888)' },
  ],
  links: [
    { a: { ns: 'host', iface: 'ens192' }, b: { ns: 'router', iface: 'eth0' } },
    { a: { ns: 'router', iface: 'eth1' }, b: { ns: 'lan', iface: 'p-router' } },
    { a: { ns: 'mgmt', iface: 'eth0' }, b: { ns: 'lan', iface: 'p-mgmt' } },
    { a: { ns: 'gw', iface: 'eth0' }, b: { ns: 'lan', iface: 'p-gw' } },
    { a: { ns: 'gw', iface: 'eth1' }, b: { ns: 'isp', iface: 'eth0' } },
    { a: { ns: 'isp', iface: 'eth1' }, b: { ns: 'dns', iface: 'eth0' } },
  ],
  bridges: [{ ns: 'lan', name: 'br0', ports: ['p-router', 'p-mgmt', 'p-gw'] }],
  addresses: [
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
    { ns: 'host', dst: 'default', via: ADDRESSES.routerDown },
    { ns: 'router', dst: 'default', via: ADDRESSES.gwInside }, // seed: "default via fd5a:ceb9:ed8d:fefc::1"
    { ns: 'mgmt', dst: 'default', via: ADDRESSES.gwInside },
    { ns: 'gw', dst: 'fd5a:ceb9:ed8d:fe0a::/64', via: ADDRESSES.routerUp },
    { ns: 'gw', dst: 'default', via: ADDRESSES.ispDown },
    ...NPTV6.map((m) => ({ ns: 'isp', dst: m.outside, via: ADDRESSES.gwOutside })),
    { ns: 'dns', dst: 'default', via: ADDRESSES.ispUp },
  ],
  gateway: { ns: 'gw', inside: 'eth0', outside: 'eth1' },
  nptv6: NPTV6,
};
