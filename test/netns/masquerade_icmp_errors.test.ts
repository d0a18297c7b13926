// Issue 4: ICMPv6 errors about a masqueraded flow reach the container translated back (RFC 5508 §4): the
// embedded packet carries the container's address and port (or echo id) again, the ICMPv6 checksum is right,
// and the embedded packet's own checksum is as right as it was when the router embedded it. Time Exceeded
// comes from r1 (the first router past the host), Packet Too Big from r1's 1280-byte path to ::8844.
// Every check is made on packets captured on the container's wire and parsed here.
// Translator: npt66 (NPT66_NETNS_TRANSLATOR=kernel: the kernel's MASQUERADE).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ICMPV6_ECHO_REQUEST, ICMPV6_PACKET_TOO_BIG, ICMPV6_TIME_EXCEEDED, IPPROTO_TCP, IPPROTO_UDP, describe as describePacket } from './lib/ipv6_decode';
import { Capture, type CapturedPacket } from './lib/capture';
import { VALID, echoId, embeddedPacket, residual } from './masq/checksum';
import { ADDR, HOST_OUTSIDE_IF, SMALL_MTU } from './masq/masq_lab';
import { masqSuite } from './masq/suite';
import { ping } from './lib/traffic';
import { tcpTransfer } from './masq/traffic';
import { npt66Counters } from './masq/translator';

const hex = (n: number | null) => (n === null ? 'null' : `0x${n.toString(16)}`);

// What every translated error on the container's wire must satisfy.
function assertTranslatedError(p: CapturedPacket, inside: string, remote: string, what: string): void {
  const d = p.decoded;
  assert.equal(d.src, ADDR.r1Inside, `${what}: from r1: ${describePacket(d)}`);
  assert.equal(d.dst, inside, `${what}: to the container: ${describePacket(d)}`);
  assert.equal(d.embedded?.src, inside, `${what}: embedded source is the container again: ${describePacket(d)}`);
  assert.equal(d.embedded?.dst, remote, `${what}: embedded destination untouched: ${describePacket(d)}`);
  assert.equal(residual(p.raw), VALID, `${what}: ICMPv6 checksum (residual ${hex(residual(p.raw))}): ${describePacket(d)}`);
}

describe('masquerade: ICMPv6 errors about masqueraded flows', () => {
  const g = masqSuite('nx-ie-', 'icmp-errors');

  test('Time Exceeded about an echo request: embedded source and id restored, both checksums valid', async () => {
    const cap = await Capture.start(g.lab, 'c1', 'eth0', ['icmp6']);
    let packets: CapturedPacket[] = [];
    try {
      // Hop limit 2: the host forwards it with 1, r1 must answer Time Exceeded.
      const p = await ping(g.lab, 'c1', ADDR.out, { count: 1, hopLimit: 2, size: 16, waitS: 2 });
      assert.match(p.output, new RegExp(`From ${ADDR.r1Inside}.*Time exceeded`, 'i'), `ping's socket got the error, so the kernel matched it to the ping:\n${p.output}`);
      await cap.waitUntil('the Time Exceeded', (ps) => ps.some((x) => x.decoded.icmpType === ICMPV6_TIME_EXCEEDED));
    } finally {
      packets = await cap.stop();
    }
    const request = packets.find((x) => x.decoded.icmpType === ICMPV6_ECHO_REQUEST && x.decoded.src === ADDR.c1);
    assert.ok(request, 'the echo request on c1’s wire');
    const errors = packets.filter((x) => x.decoded.icmpType === ICMPV6_TIME_EXCEEDED);
    assert.equal(errors.length, 1, errors.map((x) => describePacket(x.decoded)).join('\n'));
    const te = errors[0];
    assertTranslatedError(te, ADDR.c1, ADDR.out, 'Time Exceeded');
    assert.ok(te.decoded.embedded);
    assert.equal(te.decoded.embedded.icmpType, ICMPV6_ECHO_REQUEST);
    assert.equal(echoId(te.decoded.embedded), echoId(request.decoded), 'embedded echo id is the container’s again');
    // The whole echo request fits in the error: its checksum (the sender's, complete) must be valid again.
    assert.equal(residual(embeddedPacket(te.decoded)), VALID, 'embedded ICMPv6 checksum');
  });

  test('Time Exceeded about UDP (traceroute): embedded source and port restored, checksums consistent', async () => {
    const inside = await Capture.start(g.lab, 'c1', 'eth0', ['icmp6', 'or', 'udp']);
    const outside = await Capture.start(g.lab, 'host', HOST_OUTSIDE_IF, ['icmp6']);
    let packetsIn: CapturedPacket[] = [];
    let packetsOut: CapturedPacket[] = [];
    let output = '';
    try {
      const r = await g.lab.ns('c1').exec(['traceroute', '-6', '-n', '-q', '1', '-w', '2', '-m', '2', ADDR.out], { allowFailure: true });
      output = r.stdout + r.stderr;
      // traceroute only shows a hop whose error it matched to its own probe: r1's must come back translated.
      const hops = [...output.matchAll(/^\s*(\d+)\s+(\S+)/gm)].map((m) => m[2]);
      assert.deepEqual(hops, [ADDR.bridge, ADDR.r1Inside], output);
      await inside.waitUntil('r1’s Time Exceeded', (ps) => ps.some((x) => x.decoded.src === ADDR.r1Inside));
    } finally {
      packetsIn = await inside.stop();
      packetsOut = await outside.stop();
    }
    const probes = packetsIn.filter((x) => x.decoded.protocol === IPPROTO_UDP && x.decoded.src === ADDR.c1 && x.decoded.hopLimit === 2);
    assert.ok(probes.length >= 1, 'traceroute’s hop-2 probe on c1’s wire');
    const errors = packetsIn.filter((x) => x.decoded.icmpType === ICMPV6_TIME_EXCEEDED && x.decoded.src === ADDR.r1Inside);
    assert.equal(errors.length, 1, output);
    const te = errors[0];
    assertTranslatedError(te, ADDR.c1, ADDR.out, 'Time Exceeded');
    const inner = te.decoded.embedded;
    assert.ok(inner && inner.protocol === IPPROTO_UDP);
    assert.deepEqual([inner.srcPort, inner.dstPort], [probes[0].decoded.srcPort, probes[0].decoded.dstPort], 'embedded ports are the probe’s');
    // The same error as r1 sent it, before translation: its embedded packet has the host's address.
    const asSent = packetsOut.filter((x) => x.decoded.icmpType === ICMPV6_TIME_EXCEEDED && x.decoded.src === ADDR.r1Inside && x.decoded.embedded?.dstPort === inner.dstPort);
    assert.equal(asSent.length, 1, packetsOut.map((x) => describePacket(x.decoded)).join('\n'));
    assert.equal(asSent[0].decoded.embedded?.src, ADDR.host, 'r1 saw the host’s address');
    // A sender on a veth may leave its UDP checksum for the hardware to finish, and r1 embeds it as it came;
    // whatever it was, the translation must keep it exactly as right (RFC 1624 keeps the residual).
    assert.equal(hex(residual(embeddedPacket(te.decoded))), hex(residual(embeddedPacket(asSent[0].decoded))), 'embedded UDP checksum updated with the address and port');
  });

  test('Packet Too Big about an echo request: embedded source and id restored, ping learns the MTU', async () => {
    const cap = await Capture.start(g.lab, 'c1', 'eth0', ['icmp6']);
    let packets: CapturedPacket[] = [];
    try {
      const p = await ping(g.lab, 'c1', ADDR.outSmallMtu, { count: 1, size: 1400, mtuDiscovery: 'do', waitS: 2 });
      assert.match(p.output, /Packet too big: mtu=1280/i, p.output);
      await cap.waitUntil('the Packet Too Big', (ps) => ps.some((x) => x.decoded.icmpType === ICMPV6_PACKET_TOO_BIG));
    } finally {
      packets = await cap.stop();
    }
    const request = packets.find((x) => x.decoded.icmpType === ICMPV6_ECHO_REQUEST && x.decoded.src === ADDR.c1);
    assert.ok(request);
    const ptb = packets.filter((x) => x.decoded.icmpType === ICMPV6_PACKET_TOO_BIG);
    assert.equal(ptb.length, 1);
    assertTranslatedError(ptb[0], ADDR.c1, ADDR.outSmallMtu, 'Packet Too Big');
    assert.equal(ptb[0].decoded.mtu, SMALL_MTU);
    assert.ok(ptb[0].decoded.embedded);
    assert.equal(echoId(ptb[0].decoded.embedded), echoId(request.decoded), 'embedded echo id is the container’s again');
    assert.equal(ptb[0].raw.length, SMALL_MTU, 'r1 filled the error up to the minimum MTU (RFC 4443 §3.2), so the inner packet is truncated');
  });

  test('Packet Too Big about a TCP flow: embedded source and port restored, the transfer completes at 1280', async () => {
    const cap = await Capture.start(g.lab, 'c2', 'eth0', ['icmp6', 'or', '(tcp', 'and', 'ip6[53]', '&', '2', '!=', '0)']); // + SYNs
    let packets: CapturedPacket[] = [];
    const port = 5600;
    try {
      const r = await tcpTransfer(g.lab, 'c2', 'out', ADDR.outSmallMtu, 4 << 20, port);
      assert.equal(r.received.bytes, 4 << 20);
      assert.equal(r.received.sha256, r.sent.sha256);
      assert.equal(r.received.peer, ADDR.host);
      await cap.waitUntil('a Packet Too Big', (ps) => ps.some((x) => x.decoded.icmpType === ICMPV6_PACKET_TOO_BIG));
    } finally {
      packets = await cap.stop();
    }
    const syn = packets.find((x) => x.decoded.protocol === IPPROTO_TCP && x.decoded.src === ADDR.c2 && x.decoded.dstPort === port);
    assert.ok(syn, 'c2’s SYN');
    const ptb = packets.filter((x) => x.decoded.icmpType === ICMPV6_PACKET_TOO_BIG);
    assert.ok(ptb.length >= 1);
    for (const p of ptb) {
      assertTranslatedError(p, ADDR.c2, ADDR.outSmallMtu, 'Packet Too Big');
      assert.equal(p.decoded.mtu, SMALL_MTU);
      assert.equal(p.decoded.embedded?.protocol, IPPROTO_TCP);
      assert.deepEqual([p.decoded.embedded?.srcPort, p.decoded.embedded?.dstPort], [syn.decoded.srcPort, port], 'embedded ports are the container’s connection');
    }
    const route = await g.lab.ns('c2').exec(['ip', '-6', 'route', 'get', ADDR.outSmallMtu]);
    assert.match(route.stdout, /\bmtu 1280\b/, `c2's stack accepted the error: ${route.stdout}`);
  });

  test('npt66 counted the errors it translated back, and refused none', { skip: g.kind !== 'npt66' && 'npt66 only' }, async () => {
    const c = await npt66Counters(g.translator);
    // Two Time Exceeded, one Packet Too Big about the echo, at least one about the TCP flow.
    assert.ok(c && c.nat66_icmp_error_inbound >= 4, JSON.stringify(c));
    for (const k of ['drop_nat66_no_mapping', 'drop_nat66_inner_truncated', 'drop_nat66_icmp_bad_checksum']) assert.equal(c[k], 0, k);
  });
});
