// Issue 11 part 2: several uplinks (RFC 6296 s2.4). The gateway lab gets a second uplink, gw eth2 <-> r2 eth2, and
// one inside prefix has two NPTv6 entries:
//   fd5a:ceb9:ed8d:fe0a::/64 -> 2001:db8:ff66::/64 on eth1 (r1 routes it to the gateway)
//   fd5a:ceb9:ed8d:fe0a::/64 -> 2001:db8:ff77::/64 on eth2 (r2 routes it to the gateway)
// The gateway's routing picks the uplink: r1's far address by the default route (eth1), `out` by a host route
// through r2 (eth2). What must hold:
//   - traffic leaves each uplink with that uplink's prefix (the servers see the inside host under each), and
//     replies on both come back to the inside host;
//   - traffic started from outside reaches the inside host through either outside prefix;
//   - on each uplink's wire only that uplink's prefix, never an inside address, never the other uplink's prefix;
//   - per-mapping counters show both entries translating both ways.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Capture, type CapturedPacket } from './lib/capture';
import { ADDR, GW_OUTSIDE_IF, INSIDE_PREFIX, OUTSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { inPrefix } from './lib/ipv6_decode';
import { growth } from './lib/npt66_daemon';
import { nptv6Map } from './lib/nptv6_oracle';
import { udpExchange } from './lib/traffic';
import { type Npt66Daemon, translatorKindUnderTest } from './lib/translator';

const UPLINK2_IF = 'eth2';
const UPLINK2_PREFIX = '2001:db8:ff77::/64';
const GW_UPLINK2 = '2001:db8:102::2';
const R2_UPLINK2 = '2001:db8:102::1';

const shown = (ps: CapturedPacket[]) => ps.map((x) => `${x.decoded.src} -> ${x.decoded.dst}`);

describe('gateway: one inside prefix on two uplinks', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only' }, () => {
  const g = gatewaySuite('nt-up-', 'uplinks', { startTranslator: false });

  test('each uplink carries its own prefix, replies and new flows from outside map back on both', async () => {
    const t = g.lab.topology;
    await t.link('gw', UPLINK2_IF, 'r2', 'eth2');
    await t.addAddress('gw', UPLINK2_IF, `${GW_UPLINK2}/64`);
    await t.addAddress('r2', 'eth2', `${R2_UPLINK2}/64`);
    await t.addRoute('r2', UPLINK2_PREFIX, GW_UPLINK2);
    await t.addRoute('gw', `${ADDR.out}/128`, R2_UPLINK2); // `out` by the second uplink, the rest by the default (eth1)

    const daemon = g.translator as Npt66Daemon;
    await daemon.launch({
      nptv6: [
        { inside: INSIDE_PREFIX, outside: OUTSIDE_PREFIX, interface: GW_OUTSIDE_IF },
        { inside: INSIDE_PREFIX, outside: UPLINK2_PREFIX, interface: UPLINK2_IF },
      ],
      queues: { first: 0, count: 1 },
      control: { socket: daemon.socket },
    });
    const in1Via1 = nptv6Map(ADDR.in1, INSIDE_PREFIX, OUTSIDE_PREFIX);
    const in1Via2 = nptv6Map(ADDR.in1, INSIDE_PREFIX, UPLINK2_PREFIX);
    assert.notEqual(in1Via1, in1Via2);

    const wire1 = await Capture.start(g.lab, 'gw', GW_OUTSIDE_IF, ['ip6', 'and', 'not', 'icmp6']);
    const wire2 = await Capture.start(g.lab, 'gw', UPLINK2_IF, ['ip6', 'and', 'not', 'icmp6']);
    const before = await daemon.counters();
    let one: CapturedPacket[] = [];
    let two: CapturedPacket[] = [];
    try {
      // Outbound by each uplink, with the replies.
      const viaEth1 = await udpExchange(g.lab, 'in1', 'r1', ADDR.r1Far, 3, 5021);
      const viaEth2 = await udpExchange(g.lab, 'in1', 'out', ADDR.out, 3, 5022);
      assert.deepEqual([viaEth1.received, viaEth1.serverSaw], [3, [in1Via1]], 'eth1: its prefix, replies back');
      assert.deepEqual([viaEth2.received, viaEth2.serverSaw], [3, [in1Via2]], 'eth2: its prefix, replies back');
      // Started from outside, to each outside address of in1 (the answer leaves by the route's uplink: r1's by
      // eth1, out's by eth2, each with its own prefix, which is where the asker sent it).
      const fromR1 = await udpExchange(g.lab, 'r1', 'in1', in1Via1, 2, 5023);
      const fromOut = await udpExchange(g.lab, 'out', 'in1', in1Via2, 2, 5024);
      assert.deepEqual([fromR1.received, fromR1.replyFrom], [2, [in1Via1]]);
      assert.deepEqual([fromOut.received, fromOut.replyFrom], [2, [in1Via2]]);
      assert.deepEqual(fromR1.serverSaw, [ADDR.r1Transit]); // r1 asks from its address towards the gateway
      assert.deepEqual(fromOut.serverSaw, [ADDR.out]);
    } finally {
      one = await wire1.stop();
      two = await wire2.stop();
    }
    const insideOnWire = [...one, ...two].filter((x) => inPrefix(x.decoded.src, INSIDE_PREFIX) || inPrefix(x.decoded.dst, INSIDE_PREFIX));
    assert.deepEqual(shown(insideOnWire), [], 'no inside address on either uplink');
    const ours = (ps: CapturedPacket[], prefix: string) => ps.filter((x) => inPrefix(x.decoded.src, prefix) || inPrefix(x.decoded.dst, prefix));
    assert.deepEqual(shown(ours(one, UPLINK2_PREFIX)), [], "eth2's prefix never on eth1");
    assert.deepEqual(shown(ours(two, OUTSIDE_PREFIX)), [], "eth1's prefix never on eth2");
    assert.ok(ours(one, OUTSIDE_PREFIX).length >= 10, `eth1 carried its prefix: ${shown(one).join(', ')}`);
    assert.ok(ours(two, UPLINK2_PREFIX).length >= 10, `eth2 carried its prefix: ${shown(two).join(', ')}`);

    // 3 + 3 requests out and their answers in, 2 + 2 requests in and their answers out (a lost request is retried
    // by the client, so at least).
    const grown = growth(before, await daemon.counters());
    assert.ok((grown.nptv6_outbound ?? 0) >= 10 && (grown.nptv6_inbound ?? 0) >= 10, JSON.stringify(grown));
    const stats = (await daemon.stats()) as { mappings: { index: number; outside: string; interface: string; outbound: number; inbound: number }[] };
    assert.deepEqual(
      stats.mappings.map((m) => [m.outside, m.interface, m.outbound >= 5, m.inbound >= 5]),
      [
        [OUTSIDE_PREFIX, GW_OUTSIDE_IF, true, true],
        [UPLINK2_PREFIX, UPLINK2_IF, true, true],
      ],
      JSON.stringify(stats.mappings),
    );
    assert.equal(stats.mappings[0]!.outbound + stats.mappings[1]!.outbound, grown.nptv6_outbound);
    await daemon.terminate();
  });
});
