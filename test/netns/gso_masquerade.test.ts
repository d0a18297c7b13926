// Issue 8: GSO/GRO super-packets through the masquerade, end to end (containers on a Docker-like host, every
// connection opened from inside). Each must come out translated (address and port) and intact: a 100 MB TCP
// upload and a 100 MB download (sha256 at both ends), 8000 UDP datagrams out as UDP_SEGMENT super-datagrams
// and 4000 back, checked one by one, 60 KB ICMPv6 echoes (fragmented by the sender; the masquerade relies on
// the kernel's reassembly), and the ICMPv6 errors r1 sends about super-packets (Packet Too Big during a TCP
// transfer that must do Path MTU discovery, Time Exceeded about UDP super-datagrams). The end hosts' checksum
// error counters must not grow, and super-packets must leave the host whole, as the kernel's MASQUERADE leaves
// them. (masquerade_icmp_errors covers the errors without GSO.)
// Translator: npt66 (NPT66_NETNS_TRANSLATOR=kernel for the kernel's MASQUERADE).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Capture, type CapturedPacket } from './lib/capture';
import { watchGso, type GsoWatchPlace, udpSuperDatagramsLeft } from './lib/gso_watch';
import { ICMPV6_PACKET_TOO_BIG, IPPROTO_TCP, describe as describePacket } from './lib/ipv6_decode';
import { growth } from './lib/npt66_daemon';
import { CHECKSUM_ERRORS, nstatOf } from './lib/nstat';
import { ping, tcpDownload, tcpTransfer } from './lib/traffic';
import { udpGso } from './lib/udp_gso';
import { ADDR, HOST_BRIDGE, HOST_OUTSIDE_IF, SMALL_MTU, type MasqNs } from './masq/masq_lab';
import { masqSuite } from './masq/suite';
import { npt66Counters } from './masq/translator';

const MB100 = 100 << 20;
const ENDS = ['c1', 'c2', 'out'] as const;
const OUTBOUND: GsoWatchPlace<MasqNs> = { translator: 'host', inIf: HOST_BRIDGE, outIf: HOST_OUTSIDE_IF, ends: ENDS };
const INBOUND: GsoWatchPlace<MasqNs> = { translator: 'host', inIf: HOST_OUTSIDE_IF, outIf: HOST_BRIDGE, ends: ENDS };
// npt66's count of super-packets its queue took whole (native/core/counters.def).
const GSO_COUNTER = 'offload_gso_packets';

describe('masquerade: GSO super-packets through NAT66', () => {
  const g = masqSuite('nx-gso-', 'gso');

  test('TCP: 100 MB uploaded from a container arrive intact, no checksum errors, super-packets leave whole', async (t) => {
    const w = await watchGso(g.lab, OUTBOUND, 'tcp', () => tcpTransfer(g.lab, 'c1', 'out', ADDR.out, MB100, 5201, 120_000));
    t.diagnostic(`super-packets: ${w.superPacketsIn} arrived at the host, ${w.superPacketsOut} left it`);
    assert.equal(w.result.received.bytes, MB100);
    assert.equal(w.result.received.sha256, w.result.sent.sha256);
    assert.equal(w.result.received.peer, ADDR.host);
    assert.deepEqual(w.counterGrowth, {}, 'checksum errors at the ends');
    assert.ok(w.superPacketsIn > 0, 'the container’s super-packets reached the host whole (else this test proves nothing about GSO)');
    assert.ok(w.superPacketsOut > 0, `super-packets left the host whole (${w.superPacketsIn} arrived, ${w.superPacketsOut} left)`);
  });

  test('TCP: 100 MB downloaded by a container (its connection) arrive intact, no checksum errors, super-packets leave whole', async (t) => {
    const w = await watchGso(g.lab, INBOUND, 'tcp', () => tcpDownload(g.lab, 'out', 'c1', ADDR.out, MB100, 5202, 120_000));
    t.diagnostic(`super-packets: ${w.superPacketsIn} arrived at the host, ${w.superPacketsOut} left it`);
    assert.equal(w.result.received.bytes, MB100);
    assert.equal(w.result.received.sha256, w.result.sent.sha256);
    assert.equal(w.result.sent.peer, ADDR.host, 'the server saw the masquerade address');
    assert.equal(w.result.received.local, ADDR.c1);
    assert.deepEqual(w.counterGrowth, {}, 'checksum errors at the ends');
    assert.ok(w.superPacketsIn > 0, 'the server’s super-packets reached the host whole');
    assert.ok(w.superPacketsOut > 0, `super-packets left the host whole (${w.superPacketsIn} arrived, ${w.superPacketsOut} left)`);
  });

  test('UDP GSO: 8000 datagrams from a container and 4000 back to its mapping, every one intact', async (t) => {
    const opts = { port: 6201, writes: 200, segments: 40, size: 1200, reply: { writes: 100, segments: 40, size: 1200 } };
    // Both directions through the host: out on the bridge -> eth0, the answer on eth0 -> bridge.
    let back = { superPacketsIn: 0, superPacketsOut: 0 };
    const w = await watchGso(g.lab, OUTBOUND, 'udp', async () => {
      const r = await watchGso(g.lab, INBOUND, 'udp', () => udpGso(g.lab, 'c1', 'out', ADDR.out, opts));
      back = r;
      return r.result;
    });
    t.diagnostic(`super-datagrams out: ${w.superPacketsIn} arrived at the host, ${w.superPacketsOut} left it; back: ${back.superPacketsIn} arrived, ${back.superPacketsOut} left`);
    const { sender, receiver } = w.result;
    assert.deepEqual(
      { received: receiver.received, corrupt: receiver.corrupt, duplicate: receiver.duplicate, peer: receiver.peer },
      { received: 8000, corrupt: 0, duplicate: 0, peer: ADDR.host },
      JSON.stringify(w.result),
    );
    assert.deepEqual(
      { received: sender.reply?.received, corrupt: sender.reply?.corrupt, duplicate: sender.reply?.duplicate, peer: sender.reply?.peer },
      { received: 4000, corrupt: 0, duplicate: 0, peer: ADDR.out },
      JSON.stringify(w.result),
    );
    assert.deepEqual(w.counterGrowth, {}, 'checksum errors at the ends');
    assert.ok(w.superPacketsIn > 0 && back.superPacketsIn > 0, 'super-datagrams reached the host whole both ways');
    assert.equal(udpSuperDatagramsLeft(g.kind, w), undefined, 'outbound');
    assert.equal(udpSuperDatagramsLeft(g.kind, back), undefined, 'inbound');
  });

  test('ICMPv6 echo with 60 KB payloads from a container (fragmented both ways), reassembled without errors', async () => {
    const counters = [...CHECKSUM_ERRORS, 'Ip6ReasmFails'];
    const before = await nstatOf(g.lab, ENDS, counters);
    const p = await ping(g.lab, 'c1', ADDR.out, { count: 3, size: 60000, intervalS: 0.2, waitS: 3 });
    const grew = growth(before, await nstatOf(g.lab, ENDS, counters));
    // issue 9 item 5: the masquerade relies on the kernel's reassembly (nf_defrag_ipv6) for fragments.
    assert.equal(p.received, 3, `60 KB echoes through the masquerade:\n${p.output}`);
    assert.match(p.output, new RegExp(`60008 bytes from ${ADDR.out}`));
    assert.deepEqual(grew, {}, 'checksum errors or failed reassembly at the ends');
  });

  test('Path MTU with super-packets: Packet Too Big from r1 comes back translated, 16 MB over 1280 arrive intact', async (t) => {
    await g.lab.ns('c2').exec(['ip', '-6', 'route', 'flush', 'cache']);
    const port = 5203;
    const cap = await Capture.start(g.lab, 'c2', 'eth0', ['icmp6', 'or', '(tcp', 'and', 'ip6[53]', '&', '2', '!=', '0)']); // + SYNs
    let packets: CapturedPacket[] = [];
    try {
      const w = await watchGso(g.lab, OUTBOUND, 'tcp', () => tcpTransfer(g.lab, 'c2', 'out', ADDR.outSmallMtu, 16 << 20, port));
      t.diagnostic(`super-packets: ${w.superPacketsIn} arrived at the host, ${w.superPacketsOut} left it`);
      assert.equal(w.result.received.bytes, 16 << 20);
      assert.equal(w.result.received.sha256, w.result.sent.sha256);
      assert.deepEqual(w.counterGrowth, {}, 'checksum errors at the ends');
      assert.ok(w.superPacketsIn > 0 && w.superPacketsOut > 0, `super-packets through the host (${w.superPacketsIn} arrived, ${w.superPacketsOut} left)`);
      await cap.waitUntil('a Packet Too Big', (ps) => ps.some((p) => p.decoded.icmpType === ICMPV6_PACKET_TOO_BIG));
    } finally {
      packets = await cap.stop();
    }
    const syn = packets.find((x) => x.decoded.protocol === IPPROTO_TCP && x.decoded.src === ADDR.c2 && x.decoded.dstPort === port);
    assert.ok(syn, 'c2’s SYN');
    const ptb = packets.filter((p) => p.decoded.icmpType === ICMPV6_PACKET_TOO_BIG);
    assert.ok(ptb.length >= 1);
    for (const p of ptb) {
      // About a super-packet: r1 quotes its start, whose payload length is the whole super-packet's.
      assert.deepEqual([p.decoded.src, p.decoded.dst, p.decoded.mtu], [ADDR.r1Inside, ADDR.c2, SMALL_MTU], describePacket(p.decoded));
      assert.deepEqual(
        [p.decoded.embedded?.src, p.decoded.embedded?.dst, p.decoded.embedded?.srcPort, p.decoded.embedded?.dstPort],
        [ADDR.c2, ADDR.outSmallMtu, syn.decoded.srcPort, port],
        `embedded packet translated back: ${describePacket(p.decoded)}`,
      );
    }
    const route = await g.lab.ns('c2').exec(['ip', '-6', 'route', 'get', ADDR.outSmallMtu]);
    assert.match(route.stdout, /\bmtu 1280\b/, `c2's stack accepted the error: ${route.stdout}`);
    await g.lab.ns('c2').exec(['ip', '-6', 'route', 'flush', 'cache']);
  });

  test('Time Exceeded about UDP super-datagrams from r1 reaches the container’s socket (its own address and port quoted)', async (t) => {
    const r = await udpGso(g.lab, 'c1', 'out', ADDR.out, { port: 6203, writes: 5, segments: 40, size: 1200, hopLimit: 2, errors: true, idleMs: 1000, gapUs: 20_000 });
    t.diagnostic(`sender: ${JSON.stringify(r.sender)}`);
    assert.equal(r.receiver.datagrams, 0, 'hop limit 2 ends at r1');
    const errors = r.sender.errors ?? [];
    // The stack queues an error on the socket only if the quoted packet is the socket's own (c1, its port).
    assert.deepEqual(
      errors.map((e) => ({ type: e.type, code: e.code, from: e.from })),
      [{ type: 3, code: 0, from: ADDR.r1Inside }],
      JSON.stringify(r.sender),
    );
    assert.ok(errors[0].count >= 1);
  });

  test('npt66 took the super-packets whole and refused nothing', { skip: g.kind !== 'npt66' && 'npt66 only' }, async (t) => {
    const c = await npt66Counters(g.translator);
    assert.ok(c);
    t.diagnostic(JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k, v]) => v !== 0 && (k.startsWith('drop') || k.startsWith('offload') || k.startsWith('queue_verdict'))))));
    assert.equal(c.queue_verdict_drop, 0, JSON.stringify(c));
    // TODO(issue 8): `offload_gso_packets` comes with the queue engine's NFQA_CFG_F_GSO change; until a build
    // has it this check is reported as TODO (never skipped silently).
    if (!(GSO_COUNTER in c)) return t.todo(`npt66 has no ${GSO_COUNTER} counter yet`);
    assert.ok(c[GSO_COUNTER] > 0, JSON.stringify(c));
  });
});
