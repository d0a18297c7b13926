// Issue 3: SIGHUP reloads the configuration file under traffic without losing a packet: a steady ping
// (every 10 ms) and a numbered UDP stream run through three reloads (unchanged file, a second mapping added,
// back again) and one refused reload (an invalid file: the running configuration stays). Every echo is
// answered and every datagram arrives.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADDR, GW_OUTSIDE_IF } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { LineProcess } from './lib/line_process';
import { startServer, startTool } from './lib/traffic';
import { npt66Rules, type Npt66Config, type Npt66Daemon, translatorKindUnderTest } from './lib/translator';

const EXTRA_MAPPING = { inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff67::/64', interface: GW_OUTSIDE_IF };
const STREAM_COUNT = 2500; // one every 2 ms or so: several seconds, longer than the four reloads take
const PING_COUNT = 600; // one every 10 ms

describe('gateway: reload under traffic', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only' }, () => {
  const g = gatewaySuite('nt-rl-', 'reload');

  test('SIGHUP under traffic loses nothing, applies a new mapping, and keeps the old config on a bad file', async () => {
    const daemon = g.translator as Npt66Daemon;
    const original: Npt66Config = structuredClone(daemon.config);
    const withExtra: Npt66Config = { ...structuredClone(original), nptv6: [...original.nptv6, EXTRA_MAPPING] };

    const sink = await startServer(g.lab, 'out', ['udp-count', 5005]);
    const pinger = new LineProcess(g.lab.topology.spawn('in1', ['ping', '-6', '-n', '-i', '0.01', '-c', String(PING_COUNT), ADDR.out]), 'ping in1 -> out');
    const stream = startTool(g.lab, 'in1', ['udp-stream', ADDR.out, 5005, STREAM_COUNT, 2]);
    const replies = () => pinger.lines.filter((l) => l.includes('icmp_seq=')).length;
    // Each reload happens while echoes are flowing: wait for 40 more replies between reloads.
    const afterMoreReplies = async (n: number) => {
      const target = replies() + n;
      await pinger.waitForLine(`${target} echo replies`, () => replies() >= target, 15_000);
    };

    await afterMoreReplies(40);
    const same = await daemon.reload();
    assert.ok(same.ok, same.line);

    await afterMoreReplies(40);
    const added = await daemon.reload(withExtra);
    assert.ok(added.ok, added.line);
    assert.ok((await npt66Rules(g.lab)).some((r) => r.includes(EXTRA_MAPPING.outside)), 'the added mapping has its rules');

    await afterMoreReplies(40);
    const bad = await daemon.reload({ raw: JSON.stringify({ ...original, nptv6: [{ ...original.nptv6[0], outside: '2001:db8:ff66::1/64' }] }) });
    assert.equal(bad.ok, false, `an outside prefix with host bits set must be refused: ${bad.line}`);
    assert.ok((await npt66Rules(g.lab)).some((r) => r.includes(EXTRA_MAPPING.outside)), 'the running configuration stayed');

    await afterMoreReplies(40);
    const back = await daemon.reload(original);
    assert.ok(back.ok, back.line);
    assert.equal(pinger.exit, null, 'the traffic outlasted the reloads');
    assert.equal(stream.exit, null, 'the traffic outlasted the reloads');
    assert.ok(!(await npt66Rules(g.lab)).some((r) => r.includes(EXTRA_MAPPING.outside)), 'the removed mapping lost its rules');

    const [pingExit, streamExit] = await Promise.all([pinger.waitExit(30_000), stream.waitExit(30_000)]);
    assert.equal(streamExit.code, 0, stream.stderr);
    sink.child.kill('SIGTERM');
    await sink.waitExit(5_000);

    const summary = pinger.lines.find((l) => l.includes('packets transmitted')) ?? '';
    assert.match(summary, new RegExp(`${PING_COUNT} packets transmitted, ${PING_COUNT} received`), pinger.lines.join('\n'));
    assert.equal(pingExit.code, 0);
    const r = sink.lastJson<{ unique: number; maxSeq: number; missing: number[]; from: string[] }>();
    assert.deepEqual({ unique: r.unique, maxSeq: r.maxSeq, missing: r.missing }, { unique: STREAM_COUNT, maxSeq: STREAM_COUNT - 1, missing: [] });
    const c = await daemon.counters();
    assert.equal(c.queue_verdict_drop, 0, JSON.stringify(c));
  });
});
