// Issue 9 item 4: the ICMPv6 errors the gateway itself sends about packets it translated inbound (REFERENCE s6).
// The inside link's MTU is 1280 (the outside is 1500), so a large packet translated in raw PREROUTING cannot be
// forwarded and the gateway's kernel answers Packet Too Big; hop limit 1 gets Time Exceeded. The kernel quotes
// the packet after translation (the inside destination): npt66 queues these errors in mangle OUTPUT and puts the
// quote back as the sender sent it. Checked on the sender's wire (the error quotes its own packet), in the
// sender's route cache (PMTUD learned 1280), by a TCP transfer that completes, and on the outside wire (no
// inside address anywhere, quoted packets included).
// NPT66_NETNS_TRANSLATOR=kernel runs the same lab with the kernel's SNPT/DNPT and MASQUERADE, and asserts what
// they do: SNPT/DNPT leaks the inside address (and PMTUD fails); MASQUERADE's conntrack translates the quote.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Capture, type CapturedPacket } from './lib/capture';
import { ADDR, GW_INSIDE_IF, GW_OUTSIDE_IF, GatewayLab, INSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { ICMPV6_PACKET_TOO_BIG, ICMPV6_TIME_EXCEEDED, IPPROTO_TCP, IPPROTO_UDP, describe as describePacket, inPrefix } from './lib/ipv6_decode';
import { ping, tcpDownload, tcpTransfer } from './lib/traffic';
import type { Npt66Daemon } from './lib/translator';
import { VALID, residual } from './masq/checksum';
import { ADDR as MASQ, HOST_BRIDGE, HOST_OUTSIDE_IF, SOURCE_PREFIX } from './masq/masq_lab';
import { masqSuite } from './masq/suite';
import { startFlow } from './masq/traffic';
import { npt66Counters, waitForMapping } from './masq/translator';

const INSIDE_MTU = 1280;
const PING_PAYLOAD = 1400 - 40 - 8; // a 1400-byte packet

// Every inside-prefix address in a packet, outer or quoted.
function insideAddresses(packets: CapturedPacket[], prefix: string): string[] {
  return packets
    .filter((p) => {
      const d = p.decoded;
      return [d.src, d.dst, ...(d.embedded ? [d.embedded.src, d.embedded.dst] : [])].some((a) => inPrefix(a, prefix));
    })
    .map((p) => describePacket(p.decoded));
}

const errorsOfType = (packets: CapturedPacket[], type: number) => packets.filter((p) => p.decoded.icmpType === type);

describe('NPTv6: the gateway\'s own ICMPv6 errors quote the outside address', () => {
  const g = gatewaySuite('nt-oe-', 'own-errors');
  const kernel = () => g.kind === 'kernel';
  const in1Outside = GatewayLab.outsideOf(ADDR.in1);

  before(async () => {
    // Only the gateway's end of the inside link: in1 keeps 1500 and advertises a TCP MSS of 1440, so a sender
    // outside needs Path MTU discovery (in1 itself sends only ACKs, which fit).
    await g.lab.ns('gw').exec(['ip', 'link', 'set', GW_INSIDE_IF, 'mtu', String(INSIDE_MTU)]);
  });

  test('(a) a 1400-byte ping from outside: the Packet Too Big quotes the sender\'s packet and PMTUD learns 1280', async () => {
    const atSender = await Capture.start(g.lab, 'out', 'eth0', ['icmp6']);
    const wire = await Capture.start(g.lab, 'gw', GW_OUTSIDE_IF, ['ip6']);
    let sender: CapturedPacket[] = [];
    let outside: CapturedPacket[] = [];
    let output = '';
    try {
      output = (await ping(g.lab, 'out', in1Outside, { count: 1, size: PING_PAYLOAD, mtuDiscovery: 'do', waitS: 2 })).output;
      await atSender.waitUntil('the Packet Too Big', (ps) => errorsOfType(ps, ICMPV6_PACKET_TOO_BIG).length > 0);
    } finally {
      sender = await atSender.stop();
      outside = await wire.stop();
    }
    const ptb = errorsOfType(sender, ICMPV6_PACKET_TOO_BIG);
    assert.equal(ptb.length, 1, sender.map((p) => describePacket(p.decoded)).join('\n'));
    const d = ptb[0]!.decoded;
    assert.equal(d.src, ADDR.gwOutside, 'sent by the gateway itself');
    assert.equal(d.dst, ADDR.out);
    assert.equal(d.mtu, INSIDE_MTU);
    assert.equal(d.embedded?.src, ADDR.out);
    assert.equal(residual(ptb[0]!.raw), VALID, 'ICMPv6 checksum');
    const route = (await g.lab.ns('out').exec(['ip', '-6', 'route', 'get', in1Outside])).stdout;
    if (kernel()) {
      // The kernel's SNPT/DNPT: the quote names the inside address; the sender learns nothing about in1's path.
      assert.equal(d.embedded?.dst, ADDR.in1, `DNPT left the quote translated: ${describePacket(d)}`);
      assert.doesNotMatch(route, /\bmtu 1280\b/, route);
      assert.notDeepEqual(insideAddresses(outside, INSIDE_PREFIX), [], 'the kernel leaks the inside address');
    } else {
      assert.equal(d.embedded?.dst, in1Outside, `the quote is the sender's own packet: ${describePacket(d)}`);
      assert.match(route, /\bmtu 1280\b/, route);
      assert.match(output, /Packet too big: mtu=1280/i, `ping matched the error to its socket:\n${output}`);
      assert.deepEqual(insideAddresses(outside, INSIDE_PREFIX), [], 'inside addresses on the outside wire');
    }
  });

  test('(b) a TCP transfer from outside to the inside host completes across the 1280-byte link (PMTUD works)', { skip: kernel() && 'the kernel\'s PTB quotes the inside address (a): the sender black-holes' }, async () => {
    const wire = await Capture.start(g.lab, 'gw', GW_OUTSIDE_IF, ['icmp6']);
    let outside: CapturedPacket[] = [];
    try {
      // A fresh route for the in2 address: (a) already taught `out` the MTU towards in1.
      const r = await tcpTransfer(g.lab, 'out', 'in2', GatewayLab.outsideOf(ADDR.in2), 2 << 20, 5011, 60_000);
      assert.equal(r.received.bytes, 2 << 20);
      assert.equal(r.received.sha256, r.sent.sha256);
    } finally {
      outside = await wire.stop();
    }
    const ptb = errorsOfType(outside, ICMPV6_PACKET_TOO_BIG).filter((p) => p.decoded.embedded?.protocol === IPPROTO_TCP);
    assert.ok(ptb.length >= 1, 'the transfer needed a Packet Too Big');
    for (const p of ptb) assert.equal(p.decoded.embedded?.dst, GatewayLab.outsideOf(ADDR.in2), describePacket(p.decoded));
    assert.deepEqual(insideAddresses(outside, INSIDE_PREFIX), [], 'inside addresses on the outside wire');
  });

  test('(c) hop limit 1 to an outside address: the Time Exceeded quotes the outside address', async () => {
    const wire = await Capture.start(g.lab, 'gw', GW_OUTSIDE_IF, ['ip6']);
    let outside: CapturedPacket[] = [];
    let output = '';
    try {
      // r1 is the gateway's neighbour: hop limit 1 reaches the gateway, which cannot forward it.
      output = (await ping(g.lab, 'r1', in1Outside, { count: 1, hopLimit: 1, size: 16, waitS: 2 })).output;
      await wire.waitUntil('the Time Exceeded', (ps) => errorsOfType(ps, ICMPV6_TIME_EXCEEDED).length > 0);
    } finally {
      outside = await wire.stop();
    }
    const te = errorsOfType(outside, ICMPV6_TIME_EXCEEDED);
    assert.equal(te.length, 1, outside.map((p) => describePacket(p.decoded)).join('\n'));
    const d = te[0]!.decoded;
    assert.equal(d.src, ADDR.gwOutside);
    assert.equal(d.dst, ADDR.r1Transit);
    assert.equal(residual(te[0]!.raw), VALID, 'ICMPv6 checksum');
    if (kernel()) {
      assert.equal(d.embedded?.dst, ADDR.in1, `the kernel's Time Exceeded names the inside address: ${describePacket(d)}`);
    } else {
      assert.equal(d.embedded?.dst, in1Outside, describePacket(d));
      assert.doesNotMatch(output, /fd5a/i, output);
      assert.match(output, /Time exceeded/i, `ping matched the error to its socket:\n${output}`);
      assert.deepEqual(insideAddresses(outside, INSIDE_PREFIX), [], 'inside addresses on the outside wire');
    }
  });

  test('npt66 counted the errors it translated back, and dropped none', { skip: kernel() && 'npt66 only' }, async () => {
    const c = await (g.translator as Npt66Daemon).counters();
    // (a) one Packet Too Big, (b) at least one, (c) one Time Exceeded.
    assert.ok(c.own_icmp_error_translated >= 3, JSON.stringify(c));
    assert.equal(c.drop_own_icmp_error_unmapped, 0);
    assert.equal(c.queue_verdict_drop, 0, JSON.stringify(c));
  });
});

describe('masquerade: the host\'s own ICMPv6 errors quote the outside address and port', () => {
  const g = masqSuite('nx-oe-', 'own-errors');
  const kernel = () => g.kind === 'kernel';

  before(async () => {
    // The containers' bridge: what the host forwards to them must fit 1280 bytes; c1 keeps 1500 (MSS 1440).
    await g.lab.ns('host').exec(['ip', 'link', 'set', HOST_BRIDGE, 'mtu', String(INSIDE_MTU)]);
  });

  test('UDP: an oversize datagram to a mapped port gets a Packet Too Big quoting the outside address and port', async () => {
    const flow = startFlow(g.lab, 'c1', ['udp-announce', 41000, MASQ.out, 7001]);
    const atSender = await Capture.start(g.lab, 'out', 'eth0', ['icmp6']);
    const wire = await Capture.start(g.lab, 'host', HOST_OUTSIDE_IF, ['ip6']);
    let sender: CapturedPacket[] = [];
    let outside: CapturedPacket[] = [];
    let port = 0;
    try {
      await flow.waitForLine('the announce', (l) => l.includes('"listening"'));
      const m = await waitForMapping(g.translator, 'c1’s UDP mapping', (x) => x.protocol === 'udp' && x.inside === MASQ.c1 && x.insidePort === 41000);
      port = m.outsidePort;
      const send = startFlow(g.lab, 'out', ['udp-send-from', MASQ.out, 7001, MASQ.host, port, 'x'.repeat(PING_PAYLOAD)]);
      await send.waitExit(10_000);
      await atSender.waitUntil('the Packet Too Big', (ps) => errorsOfType(ps, ICMPV6_PACKET_TOO_BIG).length > 0);
    } finally {
      flow.child.kill('SIGTERM');
      sender = await atSender.stop();
      outside = await wire.stop();
    }
    const ptb = errorsOfType(sender, ICMPV6_PACKET_TOO_BIG);
    assert.equal(ptb.length, 1, sender.map((p) => describePacket(p.decoded)).join('\n'));
    const d = ptb[0]!.decoded;
    assert.equal(d.src, MASQ.host, 'sent by the host itself');
    assert.equal(d.mtu, INSIDE_MTU);
    assert.equal(d.embedded?.protocol, IPPROTO_UDP);
    assert.deepEqual([d.embedded?.src, d.embedded?.srcPort], [MASQ.out, 7001]);
    assert.deepEqual([d.embedded?.dst, d.embedded?.dstPort], [MASQ.host, port], `the quote is the sender's own datagram: ${describePacket(d)}`);
    assert.equal(residual(ptb[0]!.raw), VALID, 'ICMPv6 checksum');
    const route = (await g.lab.ns('out').exec(['ip', '-6', 'route', 'get', MASQ.host])).stdout;
    assert.match(route, /\bmtu 1280\b/, route);
    assert.deepEqual(insideAddresses(outside, SOURCE_PREFIX), [], 'container addresses on the outside wire');
  });

  test('TCP: a download by a container across the 1280-byte bridge completes (PMTUD through the mapping)', async () => {
    // Forget what the UDP test taught `out` about the path to the host's address: this transfer must learn it.
    await g.lab.ns('out').exec(['ip', '-6', 'route', 'flush', 'cache']);
    const atSender = await Capture.start(g.lab, 'out', 'eth0', ['icmp6']);
    let sender: CapturedPacket[] = [];
    try {
      const r = await tcpDownload(g.lab, 'out', 'c2', MASQ.out, 2 << 20, 5012, 60_000);
      assert.equal(r.received.bytes, 2 << 20);
      assert.equal(r.received.sha256, r.sent.sha256);
      assert.equal(r.sent.peer, MASQ.host);
    } finally {
      sender = await atSender.stop();
    }
    const ptb = errorsOfType(sender, ICMPV6_PACKET_TOO_BIG).filter((p) => p.decoded.embedded?.protocol === IPPROTO_TCP);
    assert.ok(ptb.length >= 1, 'the transfer needed a Packet Too Big');
    for (const p of ptb) {
      assert.equal(p.decoded.embedded?.dst, MASQ.host, describePacket(p.decoded));
      assert.equal(p.decoded.embedded?.srcPort, 5012, describePacket(p.decoded));
    }
    assert.deepEqual(insideAddresses(sender, SOURCE_PREFIX), []);
  });

  test('npt66 counted the errors it translated back, and dropped none', { skip: kernel() && 'npt66 only' }, async () => {
    const c = await npt66Counters(g.translator);
    assert.ok(c && c.own_icmp_error_translated >= 1, JSON.stringify(c));
    assert.equal(c.drop_own_icmp_error_unmapped, 0);
  });
});
