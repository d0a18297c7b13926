// Issue 11 part 3: proxy NDP. r1 has no route for the outside prefix through the gateway, only an on-link route on
// its link to gw (eth0), so it asks for each outside address with a Neighbor Solicitation there. npt66 answers
// them itself (native/nfq/ndp_responder), never through the kernel's proxy. What must hold:
//   - without "proxyNdp" nobody answers: r1 cannot reach in1's outside address;
//   - "neighbours" (true): answered for the outside address of each inside host that is a live neighbour of the
//     gateway, so r1 reaches in1; not for an address outside the configured prefix, not for a DAD probe (RFC 4862
//     s5.4.3, crafted: source ::, to the solicited-node group), not any more once the inside host is gone;
//   - "prefix": answered for any address of the outside prefix that npt66 translates, inside host or not; still
//     never outside the prefix nor for a DAD probe;
//   - no kernel state at any time (no proxy entry, proxy_ndp untouched), so a `kill -9` leaves nothing: after it
//     nobody answers;
//   - the kernel's own proxy, for comparison, sends the same advertisement (flags S=1 O=0 R=0, the gateway's MAC)
//     to an ordinary solicitation but answers the DAD probe too, which is why npt66 does not use it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findPktio, PktIo } from './differential/pktio';
import { macOf, neighborSolicitation, solicitedNode } from './lib/crafted_packets';
import { ADDR, GatewayLab, GW_INSIDE_IF, GW_OUTSIDE_IF, INSIDE_PREFIX, OUTSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { Capture } from './lib/capture';
import { decodeIpv6, formatAddress, IPPROTO_ICMPV6 } from './lib/ipv6_decode';
import { growth } from './lib/npt66_daemon';
import { ping } from './lib/traffic';
import { type Npt66Daemon, translatorKindUnderTest } from './lib/translator';

const OTHER_PREFIX = '2001:db8:ff67::/64'; // also on-link for r1 on the same wire, never configured
const OTHER_ADDRESS = '2001:db8:ff67::10';
const NEIGHBOR_ADVERTISEMENT = 136;

interface Advert {
  src: string;
  dst: string;
  target: string;
  flags: { router: boolean; solicited: boolean; override: boolean };
  tlla: string | null; // Target Link-Layer Address option
}

function advertsIn(packets: Buffer[], target: string): Advert[] {
  const out: Advert[] = [];
  for (const p of packets) {
    const d = decodeIpv6(p);
    if (!d || d.protocol !== IPPROTO_ICMPV6 || d.icmpType !== NEIGHBOR_ADVERTISEMENT || p.length < 64) continue;
    const na = p.subarray(40, 40 + p.readUInt16BE(4));
    if (formatAddress(na.subarray(8, 24)) !== target) continue;
    const tlla = na.length >= 32 && na[24] === 2 ? [...na.subarray(26, 32)].map((b) => b.toString(16).padStart(2, '0')).join(':') : null;
    out.push({ src: d.src, dst: d.dst, target, flags: { router: (na[4]! & 0x80) !== 0, solicited: (na[4]! & 0x40) !== 0, override: (na[4]! & 0x20) !== 0 }, tlla });
  }
  return out;
}

describe('gateway: proxy NDP for an on-link outside prefix', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only' }, () => {
  const g = gatewaySuite('nt-pn-', 'proxyndp', { startTranslator: false });
  let wire: PktIo | null = null; // crafted solicitations from r1
  let onWire: Capture | null = null; // every ICMPv6 packet on r1's side of the link (pktio skips multicast)
  let sent = 0;
  let gwMac = '';
  let r1Mac = '';

  const in1Out = GatewayLab.outsideOf(ADDR.in1);
  const in2Out = GatewayLab.outsideOf(ADDR.in2);
  const nobodyOut = GatewayLab.outsideOf('fd5a:ceb9:ed8d:fe0a::99'); // in the prefix, no inside host
  const daemon = () => g.translator as Npt66Daemon;
  const gw = () => g.lab.topology.ns('gw');
  const r1 = () => g.lab.topology.ns('r1');
  const config = (proxyNdp?: boolean | 'neighbours' | 'prefix') => ({
    nptv6: [{ inside: INSIDE_PREFIX, outside: OUTSIDE_PREFIX, interface: GW_OUTSIDE_IF, ...(proxyNdp !== undefined ? { proxyNdp } : {}) }],
    queues: { first: 0, count: 1 },
    failOpen: false,
    control: { socket: daemon().socket },
  });
  const kernelProxies = async () => (await gw().exec(['ip', '-6', 'neigh', 'show', 'proxy'])).stdout.trim();
  const proxySysctl = async () => (await gw().exec(['sysctl', '-n', `net.ipv6.conf.${GW_OUTSIDE_IF}.proxy_ndp`])).stdout.trim();
  const forgetAtR1 = () => r1().exec(['ip', '-6', 'neigh', 'flush', 'dev', 'eth0']);
  // What r1 learnt for `address` from an answer (a lladdr), after it asked by pinging it.
  const resolvedAtR1 = async (address: string) => {
    const rows = JSON.parse((await r1().exec(['ip', '-j', '-6', 'neigh', 'show', 'to', address, 'dev', 'eth0'])).stdout || '[]') as { lladdr?: string }[];
    return rows[0]?.lladdr ?? null;
  };

  // Sends one crafted solicitation from r1 for `target` to its solicited-node group (a DAD probe when `dad`) and
  // returns the advertisements for it that reached r1 (waiting up to 3 s for one, then 1 s of quiet).
  async function solicit(target: string, dad: boolean): Promise<Advert[]> {
    const group = solicitedNode(target);
    const seen = onWire!.packets().length;
    wire!.send([
      dad
        ? neighborSolicitation({ src: '::', dst: group.address }, target)
        : neighborSolicitation({ src: ADDR.r1Transit, dst: group.address }, target, r1Mac),
    ]);
    sent += 1;
    assert.deepEqual(await wire!.sync(), { sent, failed: 0 });
    // pktio waits: up to 3 s for a unicast answer, then 1 s of quiet (the kernel's proxy waits up to
    // proxy_delay, 0.8 s); tcpdump has everything by then, multicast answers included.
    await wire!.drain(1, 3000, 1000);
    return advertsIn(onWire!.packets().slice(seen).map((p) => p.raw), target);
  }

  before(async () => {
    const t = g.lab.topology;
    await r1().exec(['ip', '-6', 'route', 'replace', OUTSIDE_PREFIX, 'dev', 'eth0']);
    await r1().exec(['ip', '-6', 'route', 'replace', OTHER_PREFIX, 'dev', 'eth0']);
    gwMac = await macOf(t, 'gw', GW_OUTSIDE_IF);
    r1Mac = await macOf(t, 'r1', 'eth0');
    onWire = await Capture.start(g.lab, 'r1', 'eth0', ['icmp6']);
  });
  after(async () => {
    wire?.close();
    onWire?.discard();
  });

  // pktio sends every crafted frame to one MAC: the solicited-node group of the target asked about.
  async function wireTo(target: string): Promise<void> {
    wire?.close();
    wire = await PktIo.start(g.lab.topology, 'r1', 'eth0', solicitedNode(target).mac, findPktio());
    sent = 0;
  }

  test('"neighbours": live inside hosts only, inside the prefix only, never DAD probes, and not once the host goes', async () => {
    await daemon().launch(config());
    // Both inside hosts are live neighbours of the gateway.
    for (const h of ['in1', 'in2'] as const) assert.equal((await ping(g.lab, h, ADDR.gwInside, { count: 1 })).received, 1, `${h} reaches gw`);
    assert.equal((await ping(g.lab, 'r1', in1Out, { count: 2, waitS: 2 })).received, 0, 'no answer without proxyNdp');

    assert.equal((await daemon().reload(config(true))).ok, true);
    await forgetAtR1();
    assert.ok((await ping(g.lab, 'r1', in1Out, { count: 3, waitS: 3 })).received >= 1, 'r1 reaches in1 by its outside address');
    assert.equal(await resolvedAtR1(in1Out), gwMac, 'answered with the gateway MAC');
    assert.ok((await ping(g.lab, 'r1', in2Out, { count: 3, waitS: 3 })).received >= 1, 'r1 reaches in2 by its outside address');
    assert.equal((await ping(g.lab, 'r1', OTHER_ADDRESS, { count: 2, waitS: 2 })).received, 0, 'no answer outside the prefix');
    assert.equal(await resolvedAtR1(OTHER_ADDRESS), null);
    assert.equal((await ping(g.lab, 'r1', nobodyOut, { count: 2, waitS: 2 })).received, 0);
    assert.equal(await resolvedAtR1(nobodyOut), null, 'no answer for an address of the prefix with no live inside host');

    // Crafted on the wire: an ordinary solicitation is answered (RFC 4861 s7.2.8 flags), a DAD probe is not.
    await wireTo(in1Out);
    const before = await daemon().counters();
    assert.deepEqual(await solicit(in1Out, false), [
      { src: (await gwLinkLocal()), dst: ADDR.r1Transit, target: in1Out, flags: { router: false, solicited: true, override: false }, tlla: gwMac },
    ]);
    assert.deepEqual(await solicit(in1Out, true), [], 'a DAD probe for a proxied address gets no advertisement');
    const grew = growth(before, await daemon().counters());
    assert.equal(grew.ndp_proxy_answered, 1, JSON.stringify(grew));
    assert.equal(grew.ndp_proxy_ignored_dad, 1, JSON.stringify(grew));
    assert.equal(grew.ndp_proxy_invalid ?? 0, 0, JSON.stringify(grew));

    // in2 goes: its address removed, and the gateway's neighbour entry with it (what FAILED and garbage
    // collection do in time). Within a poll or two (2 s each) npt66 stops answering for it.
    await g.lab.topology.ns('in2').exec(['ip', '-6', 'addr', 'del', `${ADDR.in2}/64`, 'dev', 'eth0']);
    await gw().exec(['ip', '-6', 'neigh', 'flush', 'to', ADDR.in2, 'dev', GW_INSIDE_IF]);
    await daemon().running().waitForLine('no longer answering for in2', (l) => l.includes(`no longer answering for ${in2Out}`), 15_000);
    await forgetAtR1();
    assert.equal((await ping(g.lab, 'r1', in2Out, { count: 2, waitS: 2 })).received, 0, 'no answer for a host that went');
    assert.equal(await resolvedAtR1(in2Out), null);
    assert.ok((await ping(g.lab, 'r1', in1Out, { count: 2, waitS: 3 })).received >= 1, 'in1 still answered');

    // Never any kernel state: no proxy entry, proxy_ndp as it was.
    assert.equal(await kernelProxies(), '');
    assert.equal(await proxySysctl(), '0');
    await daemon().terminate();
  });

  async function gwLinkLocal(): Promise<string> {
    const rows = JSON.parse((await gw().exec(['ip', '-j', '-6', 'addr', 'show', 'dev', GW_OUTSIDE_IF])).stdout) as {
      addr_info?: { local: string; scope: string }[];
    }[];
    return rows.flatMap((r) => r.addr_info ?? []).find((a) => a.scope === 'link')!.local;
  }

  test('"prefix": every translatable address of the prefix, never outside it nor DAD; kill -9 leaves nothing; the kernel proxy answers DAD', async () => {
    // Whatever the first test left: no daemon, in2 back.
    if (daemon().process && !daemon().process!.exit) await daemon().terminate();
    await g.lab.topology.ns('in2').exec(['ip', '-6', 'addr', 'replace', `${ADDR.in2}/64`, 'dev', 'eth0', 'nodad']);
    await daemon().launch(config('prefix'));
    await forgetAtR1();
    assert.ok((await ping(g.lab, 'r1', in1Out, { count: 3, waitS: 3 })).received >= 1, 'r1 reaches in1 by its outside address');
    // No inside host behind it, but the whole prefix is answered: r1 learns the gateway's MAC (the ping itself
    // is then refused or lost inside).
    await ping(g.lab, 'r1', nobodyOut, { count: 1, waitS: 1 });
    assert.equal(await resolvedAtR1(nobodyOut), gwMac, 'answered for an address of the prefix with no inside host');
    assert.equal((await ping(g.lab, 'r1', OTHER_ADDRESS, { count: 2, waitS: 2 })).received, 0);
    assert.equal(await resolvedAtR1(OTHER_ADDRESS), null, 'no answer outside the prefix');
    const anycast = '2001:db8:ff66::'; // subnet-router anycast (RFC 4291 s2.6.1): npt66 never translates it
    await wireTo(anycast);
    assert.deepEqual(await solicit(anycast, false), [], 'no answer for the subnet-router anycast address');
    await wireTo(nobodyOut);
    assert.equal((await solicit(nobodyOut, false)).length, 1);
    assert.deepEqual(await solicit(nobodyOut, true), [], 'no answer to a DAD probe in prefix mode either');
    assert.equal(await kernelProxies(), '');
    assert.equal(await proxySysctl(), '0');

    // kill -9: the responder's sockets die with the process, and nothing else was ever set.
    await daemon().kill9();
    assert.equal(await kernelProxies(), '');
    assert.equal(await proxySysctl(), '0');
    await forgetAtR1();
    assert.deepEqual(await solicit(nobodyOut, false), [], 'nobody answers after kill -9');
    assert.equal((await ping(g.lab, 'r1', in1Out, { count: 2, waitS: 2 })).received, 0);

    // The kernel's proxy for the same address, for comparison: the same advertisement to an ordinary
    // solicitation (its source picked by source address selection, npt66's is the link-local address), and an
    // answer to the DAD probe as well (ndisc.c, ndisc_recv_ns: the `dad` branch), to all nodes, unsolicited.
    await gw().exec(['sysctl', '-qw', `net.ipv6.conf.${GW_OUTSIDE_IF}.proxy_ndp=1`]);
    await gw().exec(['ip', '-6', 'neigh', 'add', 'proxy', nobodyOut, 'dev', GW_OUTSIDE_IF]);
    try {
      const kernel = await solicit(nobodyOut, false);
      assert.equal(kernel.length, 1, JSON.stringify(kernel));
      assert.deepEqual({ ...kernel[0]!, src: '' }, { src: '', dst: ADDR.r1Transit, target: nobodyOut, flags: { router: false, solicited: true, override: false }, tlla: gwMac });
      assert.deepEqual(
        (await solicit(nobodyOut, true)).map((a) => [a.dst, a.flags.solicited]),
        [['ff02::1', false]],
        'the kernel proxy answers a DAD probe: the node probing would give the address up (RFC 4862 s5.4.5)',
      );
    } finally {
      await gw().exec(['ip', '-6', 'neigh', 'del', 'proxy', nobodyOut, 'dev', GW_OUTSIDE_IF]);
      await gw().exec(['sysctl', '-qw', `net.ipv6.conf.${GW_OUTSIDE_IF}.proxy_ndp=0`]);
    }
  });
});
