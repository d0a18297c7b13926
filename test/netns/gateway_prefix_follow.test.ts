// Issue 11 part 1: the outside prefix follows an interface. npt66 runs with
//   "outside": {"interface": "eth1", "length": 64, "subnet": 1}
// and the gateway's eth1 gets a /60 from "the ISP" (A = 2001:db8:a0::1/60, so the outside prefix is
// 2001:db8:a0:1::/64), then is renumbered (B = 2001:db8:b0::1/60 -> 2001:db8:b0:1::/64) under a running UDP stream,
// then loses its address. r1 routes both /64s to the gateway.
//
// What must hold, on the outside wire (the gateway's eth1, everything captured):
//   - no packet with an inside-prefix address, ever (nothing untranslated, also while there is no prefix);
//   - the stream leaves with A until the change, then with B, never A again once B was seen (the table is swapped
//     at once, not packet by packet);
//   - after the change, B works both ways and a packet to the old A address no longer reaches the inside host;
//   - with no address at all, outbound traffic is dropped and counted (drop_no_outside_prefix), no inbound rule
//     is left for a prefix that is gone, and the daemon says so ('prefix' events in the log);
//   - `npt66 check -c` and `npt66 translate -c` show the prefix in force.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Capture } from './lib/capture';
import { ADDR, GW_INSIDE_IF, GW_OUTSIDE_IF, INSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { inPrefix } from './lib/ipv6_decode';
import { CLI_PATH, npt66RulesIn, parseJson } from './lib/npt66_daemon';
import { nptv6Map } from './lib/nptv6_oracle';
import { assertSwitchesOnce, sendWhileNothingToTranslate, streamOnWire, streamSources } from './lib/renumbering';
import { startTool, udpExchange } from './lib/traffic';
import { type Npt66Daemon, translatorKindUnderTest } from './lib/translator';

const ISP_A = '2001:db8:a0::1/60';
const ISP_B = '2001:db8:b0::1/60';
const PREFIX_A = '2001:db8:a0:1::/64';
const PREFIX_B = '2001:db8:b0:1::/64';
const STREAM_PORT = 5011;
const ECHO_PORT = 5012;
const OLD_PORT = 5013;

// The 'prefix' events the daemon logged (JSON lines with "event":"prefix").
function prefixEvents(lines: string[]): Record<string, unknown>[] {
  return lines.map(parseJson).filter((j): j is Record<string, unknown> => j !== null && j.event === 'prefix');
}

describe('gateway: the outside prefix follows an interface', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only' }, () => {
  const g = gatewaySuite('nt-pf-', 'prefix-follow', { startTranslator: false });
  const config = () => {
    const d = g.translator as Npt66Daemon;
    return {
      nptv6: [{ inside: INSIDE_PREFIX, outside: { interface: GW_OUTSIDE_IF, length: 64, subnet: 1 } }],
      queues: { first: 0, count: 1 },
      control: { socket: d.socket },
    };
  };
  const gw = () => g.lab.ns('gw');

  test('renumbered under traffic: the old prefix stops at once, the new one works both ways, nothing leaks', async () => {
    const daemon = g.translator as Npt66Daemon;
    await g.lab.topology.addRoute('r1', PREFIX_A, ADDR.gwOutside);
    await g.lab.topology.addRoute('r1', PREFIX_B, ADDR.gwOutside);
    await gw().exec(['ip', 'addr', 'add', ISP_A, 'dev', GW_OUTSIDE_IF, 'nodad']);
    const p = await daemon.launch(config());

    // The prefix in force, offline.
    const check = await gw().exec([process.execPath, CLI_PATH, 'check', '-c', daemon.configFile]);
    assert.match(check.stdout, new RegExp(`${INSIDE_PREFIX} <-> ${PREFIX_A} \\(subnet 1 /64 of eth1's address ${ISP_A}`));
    const translate = await gw().exec([process.execPath, CLI_PATH, 'translate', '-c', daemon.configFile, ADDR.in1]);
    const in1A = nptv6Map(ADDR.in1, INSIDE_PREFIX, PREFIX_A);
    const in1B = nptv6Map(ADDR.in1, INSIDE_PREFIX, PREFIX_B);
    assert.equal(translate.stdout, `nptv6: ${INSIDE_PREFIX} <-> ${PREFIX_A} on eth1 (following eth1)\n${ADDR.in1} -> ${in1A}\n`);

    const before = await udpExchange(g.lab, 'in1', 'out', ADDR.out, 2, ECHO_PORT);
    assert.equal(before.received, 2);
    assert.deepEqual(before.serverSaw, [in1A]);

    const stream = { from: 'in1', to: 'out', toAddr: ADDR.out, port: STREAM_PORT, at: 'gw', iface: GW_OUTSIDE_IF } as const;
    const packets = await streamOnWire(g.lab, stream, async (wire) => {
      await wire.waitUntil('the stream leaving with prefix A', (ps) => ps.some((x) => x.decoded.src === in1A && x.decoded.dstPort === STREAM_PORT));
      // The ISP renumbers: the old address goes, the new one comes (as a DHCPv6/SLAAC client would).
      const from = p.lines.length;
      await gw().exec(['ip', 'addr', 'del', ISP_A, 'dev', GW_OUTSIDE_IF]);
      await gw().exec(['ip', 'addr', 'add', ISP_B, 'dev', GW_OUTSIDE_IF, 'nodad']);
      await p.waitForLine('a prefix event for B', (l) => parseJson(l)?.event === 'prefix' && parseJson(l)?.outside === PREFIX_B, 10_000, from);
      await wire.waitUntil('the stream leaving with prefix B', (ps) => ps.some((x) => x.decoded.src === in1B && x.decoded.dstPort === STREAM_PORT));

      // B both ways; the old A address of in1 reaches nobody.
      const after = await udpExchange(g.lab, 'in1', 'out', ADDR.out, 2, ECHO_PORT);
      assert.equal(after.received, 2);
      assert.deepEqual(after.serverSaw, [in1B]);
      const inside = await Capture.start(g.lab, 'gw', GW_INSIDE_IF, ['udp', 'port', String(OLD_PORT)]);
      const old = startTool(g.lab, 'out', ['udp-send', in1A, OLD_PORT, OLD_PORT, 3]);
      await old.waitExit(5000);
      const echo = await udpExchange(g.lab, 'out', 'in1', in1B, 1, OLD_PORT + 1);
      assert.equal(echo.received, 1, 'B reaches in1 from outside');
      const insidePackets = await inside.stop();
      assert.deepEqual(insidePackets.map((x) => `${x.decoded.src} -> ${x.decoded.dst}`), [], 'nothing sent to the old A address reached the inside');
    });
    // The wire: never an inside address; the stream's sources switch from A to B once.
    const leaked = packets.filter((x) => inPrefix(x.decoded.src, INSIDE_PREFIX) || inPrefix(x.decoded.dst, INSIDE_PREFIX));
    assert.deepEqual(leaked.map((x) => `${x.decoded.src} -> ${x.decoded.dst}`), []);
    assertSwitchesOnce(streamSources(packets, STREAM_PORT), in1A, in1B);
    const events = prefixEvents(p.lines);
    // A withdrawn, then B; or A -> B in one step when both notices came before the addresses were read again.
    const steps = JSON.stringify(events.map((e) => [e.previous, e.outside]));
    assert.ok(
      steps === JSON.stringify([[PREFIX_A, null], [null, PREFIX_B]]) || steps === JSON.stringify([[PREFIX_A, PREFIX_B]]),
      steps,
    );
    const stats = (await daemon.stats()) as { mappings: { outside: string | null }[] };
    assert.equal(stats.mappings[0]!.outside, PREFIX_B);
  });

  test('address removed: fail closed, counted, no inbound rule left, and the event says so', async () => {
    const daemon = g.translator as Npt66Daemon;
    const p = daemon.running();
    const from = p.lines.length;
    await gw().exec(['ip', 'addr', 'del', ISP_B, 'dev', GW_OUTSIDE_IF]);
    await p.waitForLine('a prefix event with no prefix', (l) => parseJson(l)?.event === 'prefix' && parseJson(l)?.outside === null, 10_000, from);
    const rules = await npt66RulesIn(gw());
    assert.deepEqual(rules.filter((r) => r.includes(PREFIX_B) || r.includes(PREFIX_A)), [], 'no inbound rule for a prefix that is gone');
    assert.ok(rules.some((r) => r.includes(`-s ${INSIDE_PREFIX}`) && r.includes(`-o ${GW_OUTSIDE_IF}`)), 'outbound still queued (to be dropped)');

    // The counter grows as the engine takes them; all 20, then the wire.
    const stream = { from: 'in1', toAddr: ADDR.out, port: STREAM_PORT, at: 'gw', iface: GW_OUTSIDE_IF } as const;
    const { grown, packets } = await sendWhileNothingToTranslate(g.lab, daemon, stream, 'drop_no_outside_prefix');
    assert.equal(grown.drop_no_outside_prefix, 20, JSON.stringify(grown));
    assert.equal(grown.nptv6_outbound ?? 0, 0);
    assert.deepEqual(
      packets.filter((x) => x.decoded.dstPort === STREAM_PORT || inPrefix(x.decoded.src, INSIDE_PREFIX)).map((x) => `${x.decoded.src} -> ${x.decoded.dst}`),
      [],
      'nothing of it on the outside wire',
    );
    const stats = (await daemon.stats()) as { mappings: { outside: string | null; dropped: number }[] };
    assert.equal(stats.mappings[0]!.outside, null);
    assert.ok(stats.mappings[0]!.dropped >= 20);
    const check = await gw().exec([process.execPath, CLI_PATH, 'check', '-c', daemon.configFile]);
    // eth1 keeps its transit /64, which cannot hold subnet 1 of length 64.
    assert.match(check.stdout, /<-> no outside prefix yet: subnet 1 does not fit: a \/64 holds 1 prefixes of length \/64/);
    await daemon.terminate();
  });
});
