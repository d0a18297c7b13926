// Issue 3: real traffic through the NPTv6 gateway — ping6 both ways, a 50 MB TCP transfer, UDP both ways,
// hairpinning (RFC 6296 §4.3), and a clean stop. Translator: npt66 (NPT66_NETNS_TRANSLATOR=kernel for the
// kernel's SNPT/DNPT, which the topology and assertions were first proven with).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Capture, type CapturedPacket } from './lib/capture';
import { ADDR, GatewayLab, INSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { ICMPV6_ECHO_REQUEST, describe as describePacket, inPrefix } from './lib/ipv6_decode';
import { nptv6Map } from './lib/nptv6_oracle';
import { ping, tcpTransfer, udpExchange } from './lib/traffic';
import { npt66Rules, type Npt66Daemon } from './lib/translator';

const IN1_OUTSIDE = GatewayLab.outsideOf(ADDR.in1);
const IN2_OUTSIDE = GatewayLab.outsideOf(ADDR.in2);

test('the tests’ own RFC 6296 oracle reproduces the RFC’s worked example (§3.6)', () => {
  assert.equal(nptv6Map('fd01:203:405:1::1234', 'fd01:203:405::/48', '2001:db8:1::/48'), '2001:db8:1:d550::1234');
  assert.equal(nptv6Map('2001:db8:1:d550::1234', '2001:db8:1::/48', 'fd01:203:405::/48'), 'fd01:203:405:1::1234');
});

describe('gateway: traffic through the translator', () => {
  const g = gatewaySuite('nt-tr-', 'traffic');

  test('ping6 inside -> outside: the outside host sees the translated source', async () => {
    const cap = await Capture.start(g.lab, 'out', 'eth0', ['icmp6']);
    let packets: CapturedPacket[] = [];
    try {
      const r = await ping(g.lab, 'in1', ADDR.out, { count: 5, intervalS: 0.01 });
      assert.equal(r.received, 5, r.output);
      await cap.waitUntil('5 echo requests', (ps) => ps.filter((p) => p.decoded.icmpType === ICMPV6_ECHO_REQUEST).length >= 5);
    } finally {
      packets = await cap.stop();
    }
    const requests = packets.filter((p) => p.decoded.icmpType === ICMPV6_ECHO_REQUEST);
    assert.deepEqual(
      requests.map((p) => `${p.decoded.src} > ${p.decoded.dst}`),
      Array(5).fill(`${IN1_OUTSIDE} > ${ADDR.out}`),
    );
    const leaked = packets.filter((p) => inPrefix(p.decoded.src, INSIDE_PREFIX) || inPrefix(p.decoded.dst, INSIDE_PREFIX));
    assert.deepEqual(leaked.map((p) => describePacket(p.decoded)), [], 'inside addresses seen on the outside');
  });

  test('ping6 outside -> the inside host’s outside address reaches the inside host', async () => {
    const cap = await Capture.start(g.lab, 'in1', 'eth0', ['icmp6']);
    let packets: CapturedPacket[] = [];
    try {
      const r = await ping(g.lab, 'out', IN1_OUTSIDE, { count: 5, intervalS: 0.01 });
      assert.equal(r.received, 5, r.output);
      assert.ok(r.output.includes(`from ${IN1_OUTSIDE}: icmp_seq=5`), `replies come from the outside address:\n${r.output}`);
      await cap.waitUntil('5 echo requests', (ps) => ps.filter((p) => p.decoded.icmpType === ICMPV6_ECHO_REQUEST).length >= 5);
    } finally {
      packets = await cap.stop();
    }
    const requests = packets.filter((p) => p.decoded.icmpType === ICMPV6_ECHO_REQUEST);
    assert.deepEqual(
      requests.map((p) => `${p.decoded.src} > ${p.decoded.dst}`),
      Array(5).fill(`${ADDR.out} > ${ADDR.in1}`),
    );
  });

  test('TCP: 50 MiB inside -> outside arrive intact (sha256 at both ends)', async () => {
    const r = await tcpTransfer(g.lab, 'in1', 'out', ADDR.out, 50 << 20);
    assert.equal(r.received.bytes, 50 << 20);
    assert.equal(r.received.sha256, r.sent.sha256);
    assert.equal(r.received.peer, IN1_OUTSIDE, 'the outside host sees the translated source');
    assert.equal(r.sent.local, ADDR.in1);
  });

  test('TCP: 8 MiB from the outside to the inside host’s outside address arrive intact', async () => {
    const r = await tcpTransfer(g.lab, 'out', 'in1', IN1_OUTSIDE, 8 << 20);
    assert.equal(r.received.bytes, 8 << 20);
    assert.equal(r.received.sha256, r.sent.sha256);
    assert.equal(r.received.peer, ADDR.out);
  });

  test('UDP inside -> outside: every exchange answered, the server sees the translated source', async () => {
    const r = await udpExchange(g.lab, 'in1', 'out', ADDR.out, 20);
    assert.deepEqual(r, { sent: 20, received: 20, replyFrom: [ADDR.out], serverSaw: [IN1_OUTSIDE] });
  });

  test('UDP outside -> inside host’s outside address: every exchange answered from that address', async () => {
    const r = await udpExchange(g.lab, 'out', 'in1', IN1_OUTSIDE, 20);
    assert.deepEqual(r, { sent: 20, received: 20, replyFrom: [IN1_OUTSIDE], serverSaw: [ADDR.out] });
  });

  test('hairpinning (RFC 6296 §4.3): an inside host reaches another by its outside address (ping6 and TCP)', async () => {
    const p = await ping(g.lab, 'in1', IN2_OUTSIDE, { count: 5, intervalS: 0.01 });
    assert.equal(p.received, 5, p.output);
    assert.ok(p.output.includes(`from ${IN2_OUTSIDE}: icmp_seq=5`), p.output);
    const t = await tcpTransfer(g.lab, 'in1', 'in2', IN2_OUTSIDE, 4 << 20);
    assert.equal(t.received.bytes, 4 << 20);
    assert.equal(t.received.sha256, t.sent.sha256);
    // Whether the gateway turns the hairpinned packet around itself or the upstream router sends it back,
    // the receiver sees the sender by one of its two addresses.
    assert.ok([ADDR.in1, IN1_OUTSIDE].includes(t.received.peer), `peer ${t.received.peer}`);
  });

  test('npt66 counts the traffic and stops cleanly on SIGTERM (rules removed)', { skip: g.kind !== 'npt66' && 'npt66 only' }, async () => {
    const daemon = g.translator as Npt66Daemon;
    assert.ok((await npt66Rules(g.lab)).length > 0, 'npt66 installed its NPT66-* chains');
    const c = await daemon.counters();
    // Every test above sent traffic both ways; nothing legitimate was dropped.
    assert.ok(c.nptv6_outbound > 0 && c.nptv6_inbound > 0, JSON.stringify(c));
    assert.equal(c.queue_verdict_drop, 0, JSON.stringify(c));
    assert.equal(c.queue_verdict_accept_mangled, c.queue_received, 'every queued packet was translated');
    await daemon.stop(); // throws unless exit 0 with no NPT66 rule left
    const p = await ping(g.lab, 'in1', ADDR.out, { count: 2, intervalS: 0.01, waitS: 1 });
    assert.equal(p.received, 0, 'without the translator nothing gets through (r1 has no route to the inside prefix)');
  });
});
