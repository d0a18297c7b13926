// The seed's Docker host in namespaces, for the masquerade tests (issue 4):
//
//   c1 (1::2) ─┐                                                                      dns.google
//   c2 (1::3) ─┤ br0 host eth0 ─────────────────────── r1 eth1 ───────────────────── out ::8888
//   c3 (1::4) ─┘ 1::1      fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5   fe0a::1 | 2001:4860:4860::1   and ::8844
//
// As on a Docker host, the containers' bridge lives in the host's namespace (`br0`, fd5a:ceb9:ed8d:1::1/64,
// bridge netfilter as Docker leaves it). The host masquerades fd5a:ceb9:ed8d:1::/64 to its own address on
// eth0. r1 is the upstream router: it has no route to the containers' prefix, so a packet that leaks with an
// inside source can never be answered. r1 forwards to ::8844 over a locked 1280-byte path MTU (Packet Too Big)
// and, being the first hop, answers hop limit 1 with Time Exceeded.
import type { Topology } from '../../../src/netns';
import { NetnsLab } from '../lib/netns_lab';

export const SOURCE_PREFIX = 'fd5a:ceb9:ed8d:1::/64';
export const HOST_OUTSIDE_IF = 'eth0';
export const HOST_BRIDGE = 'br0';

export const ADDR = {
  c1: 'fd5a:ceb9:ed8d:1::2',
  c2: 'fd5a:ceb9:ed8d:1::3',
  c3: 'fd5a:ceb9:ed8d:1::4',
  bridge: 'fd5a:ceb9:ed8d:1::1',
  host: 'fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5',
  r1Inside: 'fd5a:ceb9:ed8d:fe0a::1',
  r1Outside: '2001:4860:4860::1',
  out: '2001:4860:4860::8888',
  outSmallMtu: '2001:4860:4860::8844', // the same host, reached through r1's 1280-byte path
} as const;

export const CONTAINERS = ['c1', 'c2', 'c3'] as const;
export type Container = (typeof CONTAINERS)[number];
export type MasqNs = Container | 'host' | 'r1' | 'out';
export const SMALL_MTU = 1280;

export class MasqLab extends NetnsLab<MasqNs> {
  // `prefix` (e.g. "nx-tr-") names every namespace; a stale run's namespaces are removed first, a live run
  // of the same test is waited for.
  static create(prefix: string): Promise<MasqLab> {
    return NetnsLab.build(prefix, (t, releaseLock) => new MasqLab(t, releaseLock), layOut);
  }
}

// The lab's namespaces, bridge, links, addresses and routes (the picture above).
async function layOut(t: Topology): Promise<void> {
  await Promise.all([
    ...CONTAINERS.map((c) => t.addNamespace(c)),
    t.addNamespace('host', { forwarding: true }),
    t.addNamespace('r1', { forwarding: true }),
    t.addNamespace('out'),
  ]);
  // ICMPv6 errors are not rate-limited, so each probe gets its answer.
  await Promise.all([...t.namespaces.values()].map((n) => n.sysctl('net.ipv6.icmp.ratelimit', 0)));

  const host = t.ns('host');
  await host.exec(['ip', 'link', 'add', HOST_BRIDGE, 'type', 'bridge', 'mcast_snooping', '0']);
  await host.exec(['ip', 'link', 'set', HOST_BRIDGE, 'up']);
  for (const c of CONTAINERS) {
    await t.link(c, 'eth0', 'host', `v-${c}`);
    await host.exec(['ip', 'link', 'set', `v-${c}`, 'master', HOST_BRIDGE]);
  }
  await t.link('host', HOST_OUTSIDE_IF, 'r1', 'eth0');
  await t.link('r1', 'eth1', 'out', 'eth0');

  await Promise.all([
    ...CONTAINERS.map((c) => t.addAddress(c, 'eth0', `${ADDR[c]}/64`)),
    t.addAddress('host', HOST_BRIDGE, `${ADDR.bridge}/64`),
    t.addAddress('host', HOST_OUTSIDE_IF, `${ADDR.host}/64`),
    t.addAddress('r1', 'eth0', `${ADDR.r1Inside}/64`),
    t.addAddress('r1', 'eth1', `${ADDR.r1Outside}/64`),
    t.addAddress('out', 'eth0', `${ADDR.out}/64`),
    // Deprecated (preferred_lft 0): reachable and usable when bound, but never picked as a source, so the
    // outside host always answers from ::8888 unless asked to use ::8844.
    t.ns('out').exec(['ip', '-6', 'addr', 'add', `${ADDR.outSmallMtu}/64`, 'dev', 'eth0', 'nodad', 'preferred_lft', '0']),
  ]);
  await Promise.all([
    ...CONTAINERS.map((c) => t.addRoute(c, 'default', ADDR.bridge)),
    t.addRoute('host', 'default', ADDR.r1Inside),
    t.addRoute('out', 'default', ADDR.r1Outside),
  ]);
  // A forwarding router uses a route's MTU only when it is locked (ip6_dst_mtu_maybe_forward).
  await t.ns('r1').exec(['ip', '-6', 'route', 'add', `${ADDR.outSmallMtu}/128`, 'dev', 'eth1', 'mtu', 'lock', String(SMALL_MTU)]);
}
