// Issue 3: SIGHUP reloads the configuration file under traffic without losing a packet. Two numbered UDP
// streams (inside -> outside, and outside -> the inside host's outside address, one datagram every 2 ms
// each) run through three reloads (unchanged file, a second mapping added, back again) and one refused
// reload (an invalid file: the running configuration stays). Every datagram must arrive.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADDR, GW_OUTSIDE_IF, GatewayLab } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import type { LineProcess } from './lib/line_process';
import { startServer, startTool } from './lib/traffic';
import { npt66Rules, type Npt66Config, type Npt66Daemon, translatorKindUnderTest } from './lib/translator';

const IN1_OUTSIDE = GatewayLab.outsideOf(ADDR.in1);
const EXTRA_MAPPING = { inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff67::/64', interface: GW_OUTSIDE_IF };

interface CountResult {
  unique: number;
  announced: number | null;
  missing: number[];
  from: string[];
}

function sent(stream: LineProcess): number {
  const last = [...stream.lines].reverse().find((l) => l.includes('"sent"'));
  return last ? (JSON.parse(last) as { sent: number }).sent : 0;
}

describe('gateway: reload under traffic', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only' }, () => {
  const g = gatewaySuite('nt-rl-', 'reload');

  test('SIGHUP under traffic loses nothing, applies a new mapping, and keeps the old config on a bad file', async () => {
    const daemon = g.translator as Npt66Daemon;
    const original: Npt66Config = structuredClone(daemon.config);
    const withExtra: Npt66Config = { ...structuredClone(original), nptv6: [...original.nptv6, EXTRA_MAPPING] };

    const sinkOut = await startServer(g.lab, 'out', ['udp-count', 5005]);
    const sinkIn = await startServer(g.lab, 'in1', ['udp-count', 5006]);
    const outbound = startTool(g.lab, 'in1', ['udp-stream', ADDR.out, 5005, 0, 2]);
    const inbound = startTool(g.lab, 'out', ['udp-stream', IN1_OUTSIDE, 5006, 0, 2]);
    // Each reload happens with both streams flowing: 100 more datagrams each between reloads.
    const flowing = async () => {
      const targets = [sent(outbound) + 100, sent(inbound) + 100];
      await outbound.waitForLine(`${targets[0]} datagrams sent`, () => sent(outbound) >= targets[0], 15_000);
      await inbound.waitForLine(`${targets[1]} datagrams sent`, () => sent(inbound) >= targets[1], 15_000);
    };

    await flowing();
    const same = await daemon.reload();
    assert.ok(same.ok, same.line);

    await flowing();
    const added = await daemon.reload(withExtra);
    assert.ok(added.ok, added.line);
    assert.ok((await npt66Rules(g.lab)).some((r) => r.includes(EXTRA_MAPPING.outside)), 'the added mapping has its rules');

    await flowing();
    const bad = await daemon.reload({ raw: JSON.stringify({ ...original, nptv6: [{ ...original.nptv6[0], outside: '2001:db8:ff66::1/64' }] }) });
    assert.equal(bad.ok, false, `an outside prefix with host bits set must be refused: ${bad.line}`);
    assert.ok((await npt66Rules(g.lab)).some((r) => r.includes(EXTRA_MAPPING.outside)), 'the running configuration stayed');

    await flowing();
    const back = await daemon.reload(original);
    assert.ok(back.ok, back.line);
    assert.ok(!(await npt66Rules(g.lab)).some((r) => r.includes(EXTRA_MAPPING.outside)), 'the removed mapping lost its rules');

    await flowing();
    // Stop the streams; each sends an end marker with its count, and its counter exits when that arrives.
    for (const s of [outbound, inbound]) s.child.kill('SIGTERM');
    for (const p of [outbound, inbound, sinkOut, sinkIn]) assert.equal((await p.waitExit(15_000)).code, 0, `${p.label}: ${p.stderr}`);

    const out = sinkOut.lastJson<CountResult>();
    const inn = sinkIn.lastJson<CountResult>();
    assert.ok((out.announced ?? 0) >= 500 && (inn.announced ?? 0) >= 500, 'both streams ran through all the reloads');
    assert.deepEqual({ unique: out.unique, missing: out.missing, from: out.from }, { unique: out.announced, missing: [], from: [IN1_OUTSIDE] }, 'inside -> outside');
    assert.deepEqual({ unique: inn.unique, missing: inn.missing, from: inn.from }, { unique: inn.announced, missing: [], from: [ADDR.out] }, 'outside -> inside');
    const c = await daemon.counters();
    assert.equal(c.queue_verdict_drop, 0, JSON.stringify(c));
  });
});
