// The gateway topology shared by the gateway_*.test.ts files:
//
//   in1 (fe0a::10) ─┐                        transit            small-MTU link           seed's dns.google
//                   lan (bridge) ─ eth0 gw eth1 ──────── r1 ────────────────── r2 ──── out (2001:4860:4860::8888)
//   in2 (fe0a::20) ─┘  fe0a::1        2001:db8:100::2/::1   2001:db8:101::1/::2   2001:4860:4860::1
//
// gw is the NPTv6 gateway (inside fd5a:ceb9:ed8d:fe0a::/64 <-> outside 2001:db8:ff66::/64, outside interface
// eth1). r1 routes the outside prefix to gw and is the "router beyond the gateway" that sends Time Exceeded
// and Packet Too Big. r1 has no route to the inside prefix, so a leaked inside source can never get a reply.
// The inside hosts share one LAN through a bridge in its own namespace, so that the gateway's netfilter
// never sees bridged frames.
import type { Topology } from '../../../src/netns';
import { NetnsLab } from './netns_lab';
import { nptv6Map } from './nptv6_oracle';

export const INSIDE_PREFIX = 'fd5a:ceb9:ed8d:fe0a::/64';
export const OUTSIDE_PREFIX = '2001:db8:ff66::/64';
export const GW_OUTSIDE_IF = 'eth1';
export const GW_INSIDE_IF = 'eth0';

export const ADDR = {
  in1: 'fd5a:ceb9:ed8d:fe0a::10',
  in2: 'fd5a:ceb9:ed8d:fe0a::20',
  gwInside: 'fd5a:ceb9:ed8d:fe0a::1',
  gwOutside: '2001:db8:100::2',
  r1Transit: '2001:db8:100::1',
  r1Far: '2001:db8:101::1',
  r2Near: '2001:db8:101::2',
  r2Far: '2001:4860:4860::1',
  out: '2001:4860:4860::8888',
} as const;

export interface LabOptions {
  // MTU of the r1–r2 link (both ends), e.g. 1280 for the Path MTU test; every other link is 1500.
  farMtu?: number;
}

export type GatewayNs = 'in1' | 'in2' | 'lan' | 'gw' | 'r1' | 'r2' | 'out';

export class GatewayLab extends NetnsLab<GatewayNs> {
  private constructor(
    topology: Topology,
    readonly prefix: string,
    releaseLock: () => void,
  ) {
    super(topology, releaseLock);
  }

  // The outside address of an inside host (RFC 6296 §3.2), computed independently of npt66.
  static outsideOf(insideAddress: string): string {
    return nptv6Map(insideAddress, INSIDE_PREFIX, OUTSIDE_PREFIX);
  }

  // `prefix` names every namespace (e.g. "nt-tr-"); stale namespaces from a crashed run are removed first.
  // Another live run of the same lab is waited for, never torn down.
  static create(prefix: string, opts: LabOptions = {}): Promise<GatewayLab> {
    return NetnsLab.build(prefix, (t, releaseLock) => new GatewayLab(t, prefix, releaseLock), (t) => layOut(t, opts));
  }
}

// The lab's namespaces, links, addresses and routes (the picture above).
async function layOut(t: Topology, opts: LabOptions): Promise<void> {
  await Promise.all([
    t.addNamespace('in1'),
    t.addNamespace('in2'),
    t.addNamespace('lan'),
    t.addNamespace('gw', { forwarding: true }),
    t.addNamespace('r1', { forwarding: true }),
    t.addNamespace('r2', { forwarding: true }),
    t.addNamespace('out'),
  ]);
  // Deterministic packets (same bytes through any translator): no random flow labels. ICMPv6 errors
  // are not rate-limited, so one probe always gets its answer.
  await Promise.all(
    [...t.namespaces.values()].map(async (n) => {
      await n.sysctl('net.ipv6.auto_flowlabels', 0);
      await n.sysctl('net.ipv6.icmp.ratelimit', 0);
    }),
  );

  await t.ns('lan').exec(['ip', 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
  await t.ns('lan').exec(['ip', 'link', 'set', 'br0', 'up']);
  await t.link('in1', 'eth0', 'lan', 'p-in1');
  await t.link('in2', 'eth0', 'lan', 'p-in2');
  await t.link('gw', GW_INSIDE_IF, 'lan', 'p-gw');
  for (const port of ['p-in1', 'p-in2', 'p-gw']) await t.ns('lan').exec(['ip', 'link', 'set', port, 'master', 'br0']);
  await t.link('gw', GW_OUTSIDE_IF, 'r1', 'eth0');
  await t.link('r1', 'eth1', 'r2', 'eth0', { mtu: opts.farMtu });
  await t.link('r2', 'eth1', 'out', 'eth0');

  await Promise.all([
    t.addAddress('in1', 'eth0', `${ADDR.in1}/64`),
    t.addAddress('in2', 'eth0', `${ADDR.in2}/64`),
    t.addAddress('gw', GW_INSIDE_IF, `${ADDR.gwInside}/64`),
    t.addAddress('gw', GW_OUTSIDE_IF, `${ADDR.gwOutside}/64`),
    t.addAddress('r1', 'eth0', `${ADDR.r1Transit}/64`),
    t.addAddress('r1', 'eth1', `${ADDR.r1Far}/64`),
    t.addAddress('r2', 'eth0', `${ADDR.r2Near}/64`),
    t.addAddress('r2', 'eth1', `${ADDR.r2Far}/64`),
    t.addAddress('out', 'eth0', `${ADDR.out}/64`),
  ]);
  await Promise.all([
    t.addRoute('in1', 'default', ADDR.gwInside),
    t.addRoute('in2', 'default', ADDR.gwInside),
    t.addRoute('gw', 'default', ADDR.r1Transit),
    t.addRoute('r1', OUTSIDE_PREFIX, ADDR.gwOutside),
    t.addRoute('r1', 'default', ADDR.r2Near),
    t.addRoute('r2', 'default', ADDR.r1Far),
    t.addRoute('out', 'default', ADDR.r2Far),
  ]);
}
