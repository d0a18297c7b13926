// Issue 10 part 3: the masquerade's outside address follows its interface. npt66 masquerades the inside prefix
// with "address" left out, so it takes eth1's stable global address (A = the lab's 2001:db8:100::2); then, under a
// running UDP stream, eth1 is renumbered within its /64 (the way SLAAC or DHCPv6 would), deprecated, and emptied.
//
// What must hold, on the outside wire (the gateway's eth1, everything captured):
//   - never a packet with an inside address (nothing untranslated, also while there is no address);
//   - replaced (B added, A removed): the stream leaves with A until the change, then with B, never A again once B
//     was seen; new flows take B; A's mappings are removed and counted (nat66_mapping_address_gone);
//   - deprecated (B deprecated, C added): B's flow lives on with B (kept), a new flow takes C;
//   - no address: new flows are dropped and counted (drop_nat66_no_address), the daemon warns; back: it works.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CapturedPacket } from './lib/capture';
import { ADDR, GW_OUTSIDE_IF, INSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { inPrefix } from './lib/ipv6_decode';
import { growth, parseJson } from './lib/npt66_daemon';
import { assertSwitchesOnce, sendWhileNothingToTranslate, streamOnWire, streamSources } from './lib/renumbering';
import { udpExchange } from './lib/traffic';
import { type Npt66Daemon, translatorKindUnderTest } from './lib/translator';

const A = ADDR.gwOutside;
const B = '2001:db8:100::b';
const C = '2001:db8:100::c';
const STREAM_PORT = 5021;
const ECHO_PORT = 5022;

// The 'address' events the daemon logged (JSON lines with "event":"address").
function addressEvents(lines: string[], from = 0): Record<string, unknown>[] {
  return lines.slice(from).map(parseJson).filter((j): j is Record<string, unknown> => j !== null && j.event === 'address');
}

describe('masquerade: the outside address follows its interface', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only' }, () => {
  const g = gatewaySuite('nt-mf-', 'masq-follow', { startTranslator: false });
  const gw = () => g.lab.ns('gw');
  const daemon = () => g.translator as Npt66Daemon;
  const config = () => ({
    masquerade: [{ source: INSIDE_PREFIX, interface: GW_OUTSIDE_IF, ports: '20000-29999' }],
    queues: { first: 0, count: 1 },
    control: { socket: daemon().socket },
  });
  const leaks = (packets: CapturedPacket[]) =>
    packets.filter((x) => inPrefix(x.decoded.src, INSIDE_PREFIX) || inPrefix(x.decoded.dst, INSIDE_PREFIX)).map((x) => `${x.decoded.src} -> ${x.decoded.dst}`);
  const waitForAddress = (what: string, from: number, ok: (e: Record<string, unknown>) => boolean) =>
    daemon().running().waitForLine(what, (l) => { const j = parseJson(l); return j?.event === 'address' && ok(j); }, 10_000, from);

  const stream = { from: 'in1', to: 'out', toAddr: ADDR.out, port: STREAM_PORT, at: 'gw', iface: GW_OUTSIDE_IF } as const;
  const leaving = (address: string) => (ps: CapturedPacket[]) => ps.some((x) => x.decoded.src === address && x.decoded.dstPort === STREAM_PORT);

  test('replaced under traffic: new flows and the stream take the new address at once, the old one\'s mappings go, nothing leaks', async () => {
    const p = await daemon().launch(config());
    const before = await udpExchange(g.lab, 'in1', 'out', ADDR.out, 2, ECHO_PORT, 40001);
    assert.deepEqual([before.received, before.serverSaw], [2, [A]]);
    const counters0 = await daemon().counters();

    const packets = await streamOnWire(g.lab, stream, async (wire) => {
      await wire.waitUntil('the stream leaving with A', leaving(A));
      const from = p.lines.length;
      await gw().exec(['ip', 'addr', 'add', `${B}/64`, 'dev', GW_OUTSIDE_IF, 'nodad']);
      await gw().exec(['ip', 'addr', 'del', `${A}/64`, 'dev', GW_OUTSIDE_IF]);
      await waitForAddress('B in use, A gone', from, (e) => e.address === B && (e.kept as string[]).length === 0);
      await wire.waitUntil('the stream leaving with B', leaving(B));
      const after = await udpExchange(g.lab, 'in1', 'out', ADDR.out, 2, ECHO_PORT, 40002);
      assert.deepEqual([after.received, after.serverSaw], [2, [B]], 'a new flow takes B, both ways');
    });
    assert.deepEqual(leaks(packets), [], 'no inside address on the outside wire');
    assertSwitchesOnce(streamSources(packets, STREAM_PORT), A, B);
    // The mappings on A (the first exchange's and the stream's) were removed, counted.
    const grown = growth(counters0, await daemon().counters());
    assert.ok((grown.nat66_mapping_address_gone ?? 0) >= 2, JSON.stringify(grown));
    const stats = (await daemon().stats()) as { masquerade: { address: string | null; keptAddresses: string[] }[] };
    assert.deepEqual([stats.masquerade[0]!.address, stats.masquerade[0]!.keptAddresses], [B, []]);
  });

  test('deprecated: its live flow keeps it while it is on the interface, new flows take the new stable address', async () => {
    const p = daemon().running();
    const packets = await streamOnWire(g.lab, stream, async (wire) => {
      await wire.waitUntil('the stream leaving with B', leaving(B));
      const from = p.lines.length;
      await gw().exec(['ip', 'addr', 'add', `${C}/64`, 'dev', GW_OUTSIDE_IF, 'nodad']);
      await gw().exec(['ip', 'addr', 'change', `${B}/64`, 'dev', GW_OUTSIDE_IF, 'preferred_lft', '0']);
      await waitForAddress('C in use, B kept', from, (e) => e.address === C && JSON.stringify(e.kept) === JSON.stringify([B]));
      const fresh = await udpExchange(g.lab, 'in1', 'out', ADDR.out, 2, ECHO_PORT, 40003);
      assert.deepEqual([fresh.received, fresh.serverSaw], [2, [C]], 'a new flow takes C');
      const mark = wire.packets().length;
      await wire.waitUntil('more of the stream', (ps) => ps.slice(mark).filter((x) => x.decoded.dstPort === STREAM_PORT).length >= 20);
      // B goes for good: the stream moves to C.
      const gone = p.lines.length;
      await gw().exec(['ip', 'addr', 'del', `${B}/64`, 'dev', GW_OUTSIDE_IF]);
      await waitForAddress('B gone', gone, (e) => e.address === C && (e.kept as string[]).length === 0);
      await wire.waitUntil('the stream leaving with C', leaving(C));
    });
    assert.deepEqual(leaks(packets), []);
    const firstC = assertSwitchesOnce(streamSources(packets, STREAM_PORT), B, C);
    assert.ok(firstC > 20, `the stream kept B while B was on the interface (first C at ${firstC})`);
  });

  test('no address: new flows dropped and counted, nothing on the wire, a warning; an address back: it works', async () => {
    const p = daemon().running();
    const from = p.lines.length;
    await gw().exec(['ip', 'addr', 'del', `${C}/64`, 'dev', GW_OUTSIDE_IF]);
    await waitForAddress('no address', from, (e) => e.address === null);
    assert.ok(
      p.lines.slice(from).some((l) => parseJson(l)?.level === 'warning' && /no outside address now/.test(String(parseJson(l)?.msg))),
      'the daemon warns',
    );
    const { grown, packets } = await sendWhileNothingToTranslate(g.lab, daemon(), stream, 'drop_nat66_no_address');
    assert.equal(grown.drop_nat66_no_address, 20, JSON.stringify(grown));
    assert.deepEqual(packets.filter((x) => x.decoded.dstPort === STREAM_PORT).map((x) => `${x.decoded.src} -> ${x.decoded.dst}`), [], 'nothing of it on the outside wire');

    const back = p.lines.length;
    await gw().exec(['ip', 'addr', 'add', `${A}/64`, 'dev', GW_OUTSIDE_IF, 'nodad']);
    await waitForAddress('A back', back, (e) => e.address === A);
    const again = await udpExchange(g.lab, 'in1', 'out', ADDR.out, 2, ECHO_PORT, 40004);
    assert.deepEqual([again.received, again.serverSaw], [2, [A]]);
    await daemon().terminate();
  });
});
