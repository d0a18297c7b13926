// Issue 8: GSO/GRO super-packets through the NPTv6 gateway, end to end. Senders on veth hand the gateway
// TCP and UDP (UDP_SEGMENT) super-packets of up to 64 KB; each must come out translated and intact: a 100 MB
// TCP transfer each way (sha256 at both ends), 8000 UDP datagrams each way checked one by one, 60 KB ICMPv6
// echoes (fragmented by the sender), and the ICMPv6 errors a router beyond the gateway sends about
// super-packets (Packet Too Big during a TCP transfer that must do Path MTU discovery, Time Exceeded about UDP
// super-datagrams). The end hosts' checksum error counters must not grow, and super-packets must leave the
// gateway whole, as the kernel's SNPT/DNPT leaves them. (gateway_icmp_errors covers the errors without GSO.)
// Translator: npt66 (NPT66_NETNS_TRANSLATOR=kernel for the kernel's SNPT/DNPT).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Capture, type CapturedPacket } from './lib/capture';
import { ADDR, GatewayLab, GW_INSIDE_IF, GW_OUTSIDE_IF, type GatewayNs } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { watchGso, type GsoWatchPlace, udpSuperDatagramsLeft } from './lib/gso_watch';
import { ICMPV6_PACKET_TOO_BIG, describe as describePacket } from './lib/ipv6_decode';
import { growth } from './lib/npt66_daemon';
import { CHECKSUM_ERRORS, nstatOf } from './lib/nstat';
import { ping, tcpTransfer } from './lib/traffic';
import type { Npt66Daemon } from './lib/translator';
import { udpGso } from './lib/udp_gso';

const IN1_OUTSIDE = GatewayLab.outsideOf(ADDR.in1);
const MB100 = 100 << 20;
const ENDS = ['in1', 'out'] as const;
const OUTBOUND: GsoWatchPlace<GatewayNs> = { translator: 'gw', inIf: GW_INSIDE_IF, outIf: GW_OUTSIDE_IF, ends: ENDS };
const INBOUND: GsoWatchPlace<GatewayNs> = { translator: 'gw', inIf: GW_OUTSIDE_IF, outIf: GW_INSIDE_IF, ends: ENDS };
// 200 writes of 40 datagrams of 1200 bytes, answered with 100 writes of 40.
const UDP = { writes: 200, segments: 40, size: 1200, reply: { writes: 100, segments: 40, size: 1200 } };
// npt66's count of super-packets its queue took whole (native/core/counters.def).
const GSO_COUNTER = 'offload_gso_packets';

describe('gateway: GSO super-packets through NPTv6', () => {
  const g = gatewaySuite('nt-gso-', 'gso');

  test('TCP: 100 MB inside -> outside in super-packets arrive intact, no checksum errors, super-packets leave whole', async (t) => {
    const w = await watchGso(g.lab, OUTBOUND, 'tcp', () => tcpTransfer(g.lab, 'in1', 'out', ADDR.out, MB100, 5101));
    assert.equal(w.result.received.bytes, MB100);
    assert.equal(w.result.received.sha256, w.result.sent.sha256);
    assert.equal(w.result.received.peer, IN1_OUTSIDE);
    t.diagnostic(`super-packets: ${w.superPacketsIn} arrived at the gateway, ${w.superPacketsOut} left it`);
    assert.deepEqual(w.counterGrowth, {}, 'checksum errors at the ends');
    assert.ok(w.superPacketsIn > 0, 'the sender’s super-packets reached the gateway whole (else this test proves nothing about GSO)');
    assert.ok(w.superPacketsOut > 0, `super-packets left the gateway whole (${w.superPacketsIn} arrived, ${w.superPacketsOut} left)`);
  });

  test('TCP: 100 MB outside -> the inside host’s outside address arrive intact, no checksum errors, super-packets leave whole', async (t) => {
    const w = await watchGso(g.lab, INBOUND, 'tcp', () => tcpTransfer(g.lab, 'out', 'in1', IN1_OUTSIDE, MB100, 5102));
    assert.equal(w.result.received.bytes, MB100);
    assert.equal(w.result.received.sha256, w.result.sent.sha256);
    assert.equal(w.result.received.peer, ADDR.out);
    t.diagnostic(`super-packets: ${w.superPacketsIn} arrived at the gateway, ${w.superPacketsOut} left it`);
    assert.deepEqual(w.counterGrowth, {}, 'checksum errors at the ends');
    assert.ok(w.superPacketsIn > 0, 'the sender’s super-packets reached the gateway whole');
    assert.ok(w.superPacketsOut > 0, `super-packets left the gateway whole (${w.superPacketsIn} arrived, ${w.superPacketsOut} left)`);
  });

  test('UDP GSO: 8000 datagrams inside -> outside and 4000 back, every one intact', async (t) => {
    const w = await watchGso(g.lab, OUTBOUND, 'udp', () => udpGso(g.lab, 'in1', 'out', ADDR.out, { port: 6101, ...UDP }));
    const { sender, receiver } = w.result;
    assert.deepEqual(
      { received: receiver.received, corrupt: receiver.corrupt, duplicate: receiver.duplicate, peer: receiver.peer },
      { received: 8000, corrupt: 0, duplicate: 0, peer: IN1_OUTSIDE },
      JSON.stringify(w.result),
    );
    assert.deepEqual(
      { received: sender.reply?.received, corrupt: sender.reply?.corrupt, duplicate: sender.reply?.duplicate, peer: sender.reply?.peer },
      { received: 4000, corrupt: 0, duplicate: 0, peer: ADDR.out },
      JSON.stringify(w.result),
    );
    t.diagnostic(`super-packets: ${w.superPacketsIn} arrived at the gateway, ${w.superPacketsOut} left it`);
    assert.deepEqual(w.counterGrowth, {}, 'checksum errors at the ends');
    assert.ok(w.superPacketsIn > 0, 'the sender’s super-datagrams reached the gateway whole');
    assert.equal(udpSuperDatagramsLeft(g.kind, w), undefined);
  });

  test('UDP GSO: 8000 datagrams outside -> the inside host’s outside address and 4000 back, every one intact', async (t) => {
    const w = await watchGso(g.lab, INBOUND, 'udp', () => udpGso(g.lab, 'out', 'in1', IN1_OUTSIDE, { port: 6102, ...UDP }));
    const { sender, receiver } = w.result;
    assert.deepEqual(
      { received: receiver.received, corrupt: receiver.corrupt, duplicate: receiver.duplicate, peer: receiver.peer },
      { received: 8000, corrupt: 0, duplicate: 0, peer: ADDR.out },
      JSON.stringify(w.result),
    );
    assert.deepEqual(
      { received: sender.reply?.received, corrupt: sender.reply?.corrupt, duplicate: sender.reply?.duplicate, peer: sender.reply?.peer },
      { received: 4000, corrupt: 0, duplicate: 0, peer: IN1_OUTSIDE },
      JSON.stringify(w.result),
    );
    t.diagnostic(`super-packets: ${w.superPacketsIn} arrived at the gateway, ${w.superPacketsOut} left it`);
    assert.deepEqual(w.counterGrowth, {}, 'checksum errors at the ends');
    assert.ok(w.superPacketsIn > 0, 'the sender’s super-datagrams reached the gateway whole');
    assert.equal(udpSuperDatagramsLeft(g.kind, w), undefined);
  });

  test('ICMPv6 echo with 60 KB payloads (fragmented by the sender) both ways, reassembled without errors', async () => {
    const counters = [...CHECKSUM_ERRORS, 'Ip6ReasmFails'];
    const before = await nstatOf(g.lab, ENDS, counters);
    const outward = await ping(g.lab, 'in1', ADDR.out, { count: 3, size: 60000, intervalS: 0.2, waitS: 3 });
    const inward = await ping(g.lab, 'out', IN1_OUTSIDE, { count: 3, size: 60000, intervalS: 0.2, waitS: 3 });
    const w = { result: { out: outward, in: inward }, counterGrowth: growth(before, await nstatOf(g.lab, ENDS, counters)) };
    assert.equal(w.result.out.received, 3, w.result.out.output);
    assert.equal(w.result.in.received, 3, w.result.in.output);
    assert.match(w.result.in.output, new RegExp(`60008 bytes from ${IN1_OUTSIDE}`), 'replies come from the outside address');
    assert.deepEqual(w.counterGrowth, {}, 'checksum errors or failed reassembly at the ends');
  });

  test('Path MTU with super-packets: Packet Too Big from r1 comes back translated, 16 MB over 1280 arrive intact', async (t) => {
    const far = [g.lab.ns('r1').exec(['ip', 'link', 'set', 'eth1', 'mtu', '1280']), g.lab.ns('r2').exec(['ip', 'link', 'set', 'eth0', 'mtu', '1280'])];
    await Promise.all(far);
    await g.lab.ns('in1').exec(['ip', '-6', 'route', 'flush', 'cache']);
    const cap = await Capture.start(g.lab, 'in1', 'eth0', ['icmp6']);
    let packets: CapturedPacket[] = [];
    try {
      const w = await watchGso(g.lab, OUTBOUND, 'tcp', () => tcpTransfer(g.lab, 'in1', 'out', ADDR.out, 16 << 20, 5103));
      t.diagnostic(`super-packets: ${w.superPacketsIn} arrived at the gateway, ${w.superPacketsOut} left it`);
      assert.equal(w.result.received.bytes, 16 << 20);
      assert.equal(w.result.received.sha256, w.result.sent.sha256);
      assert.deepEqual(w.counterGrowth, {}, 'checksum errors at the ends');
      assert.ok(w.superPacketsIn > 0 && w.superPacketsOut > 0, `super-packets through the gateway (${w.superPacketsIn} arrived, ${w.superPacketsOut} left)`);
      await cap.waitUntil('a Packet Too Big', (ps) => ps.some((p) => p.decoded.icmpType === ICMPV6_PACKET_TOO_BIG));
    } finally {
      packets = await cap.stop();
      await g.lab.ns('r1').exec(['ip', 'link', 'set', 'eth1', 'mtu', '1500']);
      await g.lab.ns('r2').exec(['ip', 'link', 'set', 'eth0', 'mtu', '1500']);
    }
    const ptb = packets.filter((p) => p.decoded.icmpType === ICMPV6_PACKET_TOO_BIG);
    assert.ok(ptb.length >= 1);
    for (const p of ptb) {
      // About a super-packet: the quoted header's payload length may be the whole super-packet's.
      assert.deepEqual([p.decoded.src, p.decoded.dst, p.decoded.mtu], [ADDR.r1Transit, ADDR.in1, 1280], describePacket(p.decoded));
      assert.deepEqual([p.decoded.embedded?.src, p.decoded.embedded?.dst], [ADDR.in1, ADDR.out], `embedded header translated back: ${describePacket(p.decoded)}`);
    }
    const route = await g.lab.ns('in1').exec(['ip', '-6', 'route', 'get', ADDR.out]);
    assert.match(route.stdout, /\bmtu 1280\b/, `in1's stack accepted the error: ${route.stdout}`);
    await g.lab.ns('in1').exec(['ip', '-6', 'route', 'flush', 'cache']);
  });

  test('Time Exceeded about UDP super-datagrams from r1 reaches the sender’s socket (its own address and port quoted)', async (t) => {
    const r = await udpGso(g.lab, 'in1', 'out', ADDR.out, { port: 6103, writes: 5, segments: 40, size: 1200, hopLimit: 2, errors: true, idleMs: 1000, gapUs: 20_000 });
    t.diagnostic(`sender: ${JSON.stringify(r.sender)}`);
    assert.equal(r.receiver.datagrams, 0, 'hop limit 2 ends at r1');
    const errors = r.sender.errors ?? [];
    // The stack queues an error on the socket only if the quoted packet is the socket's own (in1, its port).
    assert.deepEqual(
      errors.map((e) => ({ type: e.type, code: e.code, from: e.from })),
      [{ type: 3, code: 0, from: ADDR.r1Transit }],
      JSON.stringify(r.sender),
    );
    assert.ok(errors[0].count >= 1);
  });

  test('npt66 took the super-packets whole and dropped nothing', { skip: g.kind !== 'npt66' && 'npt66 only' }, async (t) => {
    const c = await (g.translator as Npt66Daemon).counters();
    t.diagnostic(JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k, v]) => v !== 0 && (k.startsWith('drop') || k.startsWith('offload') || k.startsWith('queue_verdict'))))));
    assert.equal(c.queue_verdict_drop, 0, JSON.stringify(c));
    // TODO(issue 8): `offload_gso_packets` comes with the queue engine's NFQA_CFG_F_GSO change; until a build
    // has it this check is reported as TODO (never skipped silently).
    if (!(GSO_COUNTER in c)) return t.todo(`npt66 has no ${GSO_COUNTER} counter yet`);
    assert.ok(c[GSO_COUNTER] > 0, JSON.stringify(c));
  });
});
