// Issue 3: ICMPv6 errors from routers beyond the gateway reach the inside host with their embedded header
// translated back (rfc6296-bis §3.8): traceroute's Time Exceeded, and Path MTU discovery's Packet Too Big
// over a 1280-byte link between r1 and r2, with a TCP transfer that must complete across it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Capture, type CapturedPacket } from './lib/capture';
import { ADDR, OUTSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { ICMPV6_PACKET_TOO_BIG, ICMPV6_TIME_EXCEEDED, describe as describePacket, inPrefix } from './lib/ipv6_decode';
import { tcpTransfer } from './lib/traffic';
import type { Npt66Daemon } from './lib/translator';

// Anything on the inside wire still carrying the outside prefix, in the outer or the embedded header.
function untranslated(packets: CapturedPacket[]): string[] {
  return packets
    .filter((p) => {
      const d = p.decoded;
      const addrs = [d.src, d.dst, ...(d.embedded ? [d.embedded.src, d.embedded.dst] : [])];
      return addrs.some((a) => inPrefix(a, OUTSIDE_PREFIX));
    })
    .map((p) => describePacket(p.decoded));
}

describe('gateway: ICMPv6 errors from beyond the gateway', () => {
  const g = gatewaySuite('nt-ie-', 'icmp-errors', { farMtu: 1280 });

  test('traceroute: Time Exceeded from r1 reaches the inside host with its embedded source translated', async () => {
    const cap = await Capture.start(g.lab, 'in1', 'eth0', ['icmp6']);
    let packets: CapturedPacket[] = [];
    let output = '';
    try {
      const r = await g.lab.ns('in1').exec(['traceroute', '-6', '-n', '-q', '1', '-w', '2', '-m', '6', ADDR.out], { allowFailure: true });
      output = r.stdout + r.stderr;
      // The kernel hands an ICMPv6 error to traceroute's socket only if the embedded header matches it:
      // every hop answering means every embedded header came back translated.
      const hops = [...output.matchAll(/^\s*(\d+)\s+(\S+)/gm)].map((m) => m[2]);
      assert.deepEqual(hops, [ADDR.gwInside, ADDR.r1Transit, ADDR.r2Near, ADDR.out], output);
      await cap.waitUntil('the Time Exceeded from r1', (ps) => ps.some((p) => p.decoded.src === ADDR.r1Transit && p.decoded.icmpType === ICMPV6_TIME_EXCEEDED));
    } finally {
      packets = await cap.stop();
    }
    const fromR1 = packets.filter((p) => p.decoded.src === ADDR.r1Transit && p.decoded.icmpType === ICMPV6_TIME_EXCEEDED);
    assert.ok(fromR1.length >= 1, `no Time Exceeded from r1 on the inside wire\n${output}`);
    for (const p of fromR1) {
      assert.equal(p.decoded.dst, ADDR.in1);
      assert.equal(p.decoded.embedded?.src, ADDR.in1, `embedded source translated: ${describePacket(p.decoded)}`);
      assert.equal(p.decoded.embedded?.dst, ADDR.out);
    }
    assert.deepEqual(untranslated(packets), [], 'outside-prefix addresses on the inside wire');
  });

  test('Path MTU: Packet Too Big from r1 reaches the inside host translated, and a TCP transfer completes', async () => {
    const cap = await Capture.start(g.lab, 'in1', 'eth0', ['icmp6']);
    let packets: CapturedPacket[] = [];
    try {
      const r = await tcpTransfer(g.lab, 'in1', 'out', ADDR.out, 4 << 20);
      assert.equal(r.received.bytes, 4 << 20);
      assert.equal(r.received.sha256, r.sent.sha256);
      await cap.waitUntil('a Packet Too Big', (ps) => ps.some((p) => p.decoded.icmpType === ICMPV6_PACKET_TOO_BIG));
    } finally {
      packets = await cap.stop();
    }
    const ptb = packets.filter((p) => p.decoded.icmpType === ICMPV6_PACKET_TOO_BIG);
    assert.ok(ptb.length >= 1, 'no Packet Too Big on the inside wire');
    for (const p of ptb) {
      assert.equal(p.decoded.src, ADDR.r1Transit);
      assert.equal(p.decoded.dst, ADDR.in1);
      assert.equal(p.decoded.mtu, 1280);
      assert.equal(p.decoded.embedded?.src, ADDR.in1, `embedded source translated: ${describePacket(p.decoded)}`);
      assert.equal(p.decoded.embedded?.dst, ADDR.out);
    }
    assert.deepEqual(untranslated(packets), [], 'outside-prefix addresses on the inside wire');
    // The inside host's stack accepted the error: it now routes to the outside host with the smaller MTU.
    const route = await g.lab.ns('in1').exec(['ip', '-6', 'route', 'get', ADDR.out]);
    assert.match(route.stdout, /\bmtu 1280\b/, route.stdout);
  });

  test('npt66 counted the ICMPv6 errors it translated and dropped none', { skip: g.kind !== 'npt66' && 'npt66 only' }, async () => {
    const c = await (g.translator as Npt66Daemon).counters();
    // traceroute: Time Exceeded from r1 and r2 and the final Port Unreachable; then at least one Packet Too Big.
    assert.ok(c.nptv6_icmp_error_inbound >= 4, JSON.stringify(c));
    assert.equal(c.queue_verdict_drop, 0, JSON.stringify(c));
  });
});
