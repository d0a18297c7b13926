// The kernel side of the differential test: nd-a (inside wire) -- nd-r (the kernel's SNPT/DNPT) -- nd-b
// (outside wire). The end namespaces only inject and capture (IPv6 disabled on their interfaces, so they never
// answer or solicit anything); the router has static neighbors, so no Neighbor Discovery is ever needed.
import { Topology, type Namespace } from '../../../src/netns';
import { formatPrefix, type PrefixPair } from './prefixes';

export const PREFIX = 'nd-';

export interface Lab {
  topo: Topology;
  router: Namespace;
  mac: { a0: string; ra: string; rb: string; b0: string };
  routerAddresses: string[]; // sources of the router's own ICMPv6 errors
}

async function macOf(ns: Namespace, iface: string): Promise<string> {
  const out = await ns.exec(['ip', '-j', 'link', 'show', 'dev', iface]);
  return (JSON.parse(out.stdout) as Array<{ address: string }>)[0].address;
}

export async function buildLab(): Promise<Lab> {
  Topology.removeStale(PREFIX);
  const topo = new Topology(PREFIX);
  try {
    const a = await topo.addNamespace('a');
    const router = await topo.addNamespace('r', { forwarding: true });
    const b = await topo.addNamespace('b');
    await topo.link('a', 'a0', 'r', 'ra');
    await topo.link('r', 'rb', 'b', 'b0');
    await a.sysctl('net.ipv6.conf.a0.disable_ipv6', 1);
    await b.sysctl('net.ipv6.conf.b0.disable_ipv6', 1);
    const mac = { a0: await macOf(a, 'a0'), ra: await macOf(router, 'ra'), rb: await macOf(router, 'rb'), b0: await macOf(b, 'b0') };

    // Every Parameter Problem the kernel's SNPT/DNPT sends must be seen: no ICMPv6 rate limit in the router.
    await router.sysctl('net.ipv6.icmp.ratelimit', 0);
    await router.exec(['sysctl', '-qw', 'net.ipv4.icmp_msgs_per_sec=100000', 'net.ipv4.icmp_msgs_burst=100000'], { allowFailure: true });
    const routerAddresses = ['2001:db8:ffff:a::1', '2001:db8:ffff:b::1'];
    await topo.addAddress('r', 'ra', `${routerAddresses[0]}/64`);
    await topo.addAddress('r', 'rb', `${routerAddresses[1]}/64`);
    await router.exec(['ip', '-6', 'neigh', 'replace', 'fe80::a', 'lladdr', mac.a0, 'dev', 'ra', 'nud', 'permanent']);
    await router.exec(['ip', '-6', 'neigh', 'replace', 'fe80::b', 'lladdr', mac.b0, 'dev', 'rb', 'nud', 'permanent']);
    // Inside prefixes are all in fc00::/7 (see prefixes.ts); everything else is the outside world.
    await topo.addRoute('r', 'fc00::/7', 'fe80::a', 'ra');
    await topo.addRoute('r', 'default', 'fe80::b', 'rb');
    return { topo, router, mac, routerAddresses };
  } catch (e) {
    topo.destroySync();
    throw e;
  }
}

// The kernel's NPTv6 for every pair, scoped so that each rule sees only its own prefix: the kernel does not
// check that an address is inside --src-pfx, it overwrites the first L bits of whatever it is given.
// ip6t_NPT registers for the mangle table only, SNPT in POSTROUTING/INPUT and DNPT in PREROUTING/OUTPUT.
export async function installNpt(router: Namespace, pairs: PrefixPair[]): Promise<void> {
  const lines = ['*mangle'];
  for (const { inside, outside } of pairs) {
    const i = formatPrefix(inside);
    const o = formatPrefix(outside);
    lines.push(`-A PREROUTING -i rb -d ${o} -j DNPT --src-pfx ${o} --dst-pfx ${i}`);
    lines.push(`-A POSTROUTING -o rb -s ${i} -j SNPT --src-pfx ${i} --dst-pfx ${o}`);
  }
  lines.push('COMMIT', '');
  await router.exec(['ip6tables-restore', '-w'], { input: lines.join('\n') });
}
