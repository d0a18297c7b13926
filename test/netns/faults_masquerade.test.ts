// Issue 9, faults with a live `npt66 run` masquerading (the Docker-host lab):
// - kill -9 under traffic (a numbered UDP stream and a 10 ms ping from two containers): while the daemon is dead
//   nothing of either leaves (fail-closed: its rules stay, the queue has no listener, the kernel drops), and no
//   container address reaches the outside wire; a new daemon replaces the stale rules and the stream leaves again;
// - SIGHUP with a broken (truncated) file under the stream: "reload failed" with the reason, the mapping table is
//   kept (the stream keeps its outside port on the wire), traffic keeps flowing;
// - the table filled to maxMappings (50, ICMPv6 timeout 2 s): new flows are refused (drop_nat66_table_full), the
//   existing TCP, UDP and echo flows keep working, the daemon stays up, and once the echo mappings expire new
//   flows work again.
// Every check looks at the outside wire (r1's side of the host's uplink): no container address, ever.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { waitFor } from '../../src/netns';
import { Capture, type CapturedPacket } from './lib/capture';
import { ICMPV6_ECHO_REQUEST, IPPROTO_UDP, describe as describePacket, inPrefix } from './lib/ipv6_decode';
import { LineProcess } from './lib/line_process';
import { growth, jsonMsg, npt66RulesIn, parseJson } from './lib/npt66_daemon';
import { listening, ping, startServer, startTool } from './lib/traffic';
import { ADDR, SOURCE_PREFIX } from './masq/masq_lab';
import { describeMapping } from './masq/mapping';
import { masqSuite } from './masq/suite';
import { startFlow } from './masq/traffic';
import { npt66Counters, translatorKindUnderTest, waitForMapping, type Npt66Masquerade } from './masq/translator';

const MARKER = '6661756c74'; // "fault": the host's own ping that closes a capture
const MAX_MAPPINGS = 50;
const TABLE_TIMEOUTS = { icmp: 2 };

// Packets on the wire with a container address anywhere (source, destination, or quoted in an ICMPv6 error).
function leaks(packets: CapturedPacket[]): string[] {
  return packets
    .filter((p) => [p.decoded.src, p.decoded.dst, p.decoded.embedded?.src ?? '::', p.decoded.embedded?.dst ?? '::'].some((a) => inPrefix(a, SOURCE_PREFIX)))
    .map((p) => describePacket(p.decoded));
}

// Datagrams of a stream to `port` that left masqueraded.
function masqueraded(packets: CapturedPacket[], port: number): CapturedPacket[] {
  return packets.filter((p) => p.decoded.protocol === IPPROTO_UDP && p.decoded.dstPort === port && p.decoded.src === ADDR.host);
}

function sentSoFar(stream: LineProcess): number {
  const last = [...stream.lines].reverse().find((l) => l.includes('"sent"'));
  return last ? (JSON.parse(last) as { sent: number }).sent : 0;
}

describe('faults: masquerade under a live daemon', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only: the kernel translator cannot crash or reload' }, () => {
  const g = masqSuite('nx-fa-', 'faults');
  const daemon = (): Npt66Masquerade => g.translator as Npt66Masquerade;

  // A capture on the outside wire, closed by a marker ping from the host itself: whatever the host sent before
  // the marker is in it.
  async function closeWire(wire: Capture): Promise<CapturedPacket[]> {
    await g.lab.ns('host').exec(['ping', '-6', '-n', '-c', '1', '-s', '8', '-p', MARKER, ADDR.r1Inside], { allowFailure: true });
    await wire.waitUntil('the marker ping', (ps) => ps.some((p) => p.decoded.src === ADDR.host && p.decoded.icmpType === ICMPV6_ECHO_REQUEST && p.decoded.dst === ADDR.r1Inside), 5_000).catch(() => undefined);
    return wire.stop();
  }

  test('kill -9 under traffic: nothing leaves while dead, no container address on the wire; a restart carries the stream again', async () => {
    const port = 6400;
    const sink = await startServer(g.lab, 'out', ['udp-count', port]);
    const wire = await Capture.start(g.lab, 'r1', 'eth0', ['ip6']);
    const stream = startTool(g.lab, 'c1', ['udp-stream', ADDR.out, port, 0, 2]);
    const flood = new LineProcess(g.lab.topology.spawn('c2', ['ping', '-6', '-n', '-i', '0.01', ADDR.out]), 'ping c2 -> out');
    let packets: CapturedPacket[] = [];
    let restartedRules: string[] = [];
    let whileDead = { atKill: 0, beforeRestart: 0, sentWhileDead: 0 };
    try {
      await wire.waitUntil('the stream leaving masqueraded', (ps) => masqueraded(ps, port).length >= 50);
      await daemon().kill9();
      // Let what was already past the queue leave, then count while the stream sends 300 more into the dead queue.
      const atKill = sentSoFar(stream);
      await stream.waitForLine('20 datagrams sent after the kill', () => sentSoFar(stream) >= atKill + 20, 10_000);
      const countAtKill = masqueraded(wire.packets(), port).length;
      const from = sentSoFar(stream);
      await stream.waitForLine('300 datagrams sent into the dead queue', () => sentSoFar(stream) >= from + 300, 15_000);
      whileDead = { atKill: countAtKill, beforeRestart: masqueraded(wire.packets(), port).length, sentWhileDead: sentSoFar(stream) - from };

      await daemon().start();
      restartedRules = await npt66RulesIn(g.lab.ns('host'));
      const seen = masqueraded(wire.packets(), port).length;
      await wire.waitUntil(`the stream leaving masqueraded again (had ${seen})`, (ps) => masqueraded(ps, port).length >= seen + 100, 15_000);
    } finally {
      stream.child.kill('SIGTERM');
      flood.child.kill('SIGINT');
      await Promise.all([stream.waitExit(10_000).catch(() => undefined), flood.waitExit(5_000).catch(() => undefined)]);
      await sink.waitExit(5_000).catch(() => sink.child.kill('SIGKILL'));
      packets = await closeWire(wire);
    }
    assert.equal(whileDead.beforeRestart, whileDead.atKill, `no datagram left while the daemon was dead: ${JSON.stringify(whileDead)}`);
    assert.deepEqual(leaks(packets).slice(0, 10), [], 'no container address on the outside wire');
    const generations = new Set(restartedRules.flatMap((r) => [...r.matchAll(/NPT66-[A-Z]+-(\d+)/g)].map((m) => m[1])));
    assert.ok(restartedRules.length > 0 && generations.size === 1, `the new daemon replaced the killed one's rules:\n${restartedRules.join('\n')}`);
    const flood6 = packets.filter((p) => p.decoded.src === ADDR.host && p.decoded.dst === ADDR.out && p.decoded.icmpType === ICMPV6_ECHO_REQUEST);
    assert.ok(flood6.length >= 10, `the echo flood was masqueraded too (${flood6.length} echo requests on the wire)`);
    const got = sink.lastJson<{ unique: number; from: string[] }>();
    assert.deepEqual(got.from, [ADDR.host], 'the sink saw the host address only');
    assert.ok(got.unique >= 150, `datagrams arrived before and after the restart: ${JSON.stringify(got).slice(0, 200)}`);
    // And a new flow through the new daemon.
    const p = await ping(g.lab, 'c3', ADDR.out, { count: 3, intervalS: 0.02 });
    assert.equal(p.received, 3, p.output);
  });

  test('SIGHUP with a truncated file under traffic: reload failed with the reason logged, mappings kept, traffic keeps flowing', async () => {
    const port = 6500;
    const t = daemon();
    const proc = t.running();
    const wire = await Capture.start(g.lab, 'r1', 'eth0', ['ip6']);
    const stream = startTool(g.lab, 'c1', ['udp-stream', ADDR.out, port, 0, 2]);
    let packets: CapturedPacket[] = [];
    let line = '';
    let mappingsBefore: string[] = [];
    try {
      await wire.waitUntil('the stream leaving masqueraded', (ps) => masqueraded(ps, port).length >= 50);
      await waitForMapping(t, 'the stream’s mapping', (m) => m.protocol === 'udp' && m.inside === ADDR.c1 && m.remotePort === port);
      mappingsBefore = (await t.mappings()).map(describeMapping).sort();
      const valid = JSON.stringify(t.config());
      writeFileSync(t.configFile, valid.slice(0, valid.length / 2));
      const from = proc.lines.length;
      proc.child.kill('SIGHUP');
      line = await proc.waitForLine('the reload outcome', (l) => /^reloaded$|^reload failed/.test(jsonMsg(l) ?? ''), 20_000, from);
      const seen = masqueraded(wire.packets(), port).length;
      await wire.waitUntil(`100 more datagrams after the refused reload (had ${seen})`, (ps) => masqueraded(ps, port).length >= seen + 100);
    } finally {
      stream.child.kill('SIGTERM');
      await stream.waitExit(10_000).catch(() => undefined);
      t.writeConfigFile(t.config()); // the good file back
      packets = await closeWire(wire);
    }
    assert.equal(jsonMsg(line), 'reload failed; the running configuration is unchanged', line);
    assert.match(line, /JSON|Unexpected end|Unterminated|position/i, 'the log line says why');
    assert.equal(parseJson(line)?.config, t.configFile, 'and names the file');
    // The table survived the refused reload: the same mappings, and the stream kept one outside port throughout.
    const mappingsAfter = (await t.mappings()).map(describeMapping).sort();
    const streamMapping = (l: string[]) => l.filter((d) => d.startsWith(`udp [${ADDR.c1}]`) && d.includes(`:${port}`));
    assert.deepEqual(streamMapping(mappingsAfter), streamMapping(mappingsBefore));
    const ports = [...new Set(masqueraded(packets, port).map((p) => p.decoded.srcPort))];
    assert.equal(ports.length, 1, `one outside port for the stream before and after the reload: ${ports.join(', ')}`);
    assert.deepEqual(leaks(packets).slice(0, 10), [], 'no container address on the outside wire');
    assert.equal(t.running().exit, null, 'the daemon kept running');
  });

  test(`the table full at maxMappings ${MAX_MAPPINGS}: new flows refused and counted, existing ones keep working, new flows work once mappings expire`, async () => {
    await g.restart({ maxMappings: MAX_MAPPINGS, timeouts: TABLE_TIMEOUTS });
    const t = daemon();
    const { lab } = g;
    const udpPort = 5909;
    const c2Port = 25900;
    const tcpPort = 5910;
    const echoIds = Array.from({ length: MAX_MAPPINGS - 2 }, (_, i) => 1000 + i);
    const c2 = await listening(startFlow(lab, 'c2', ['udp-announce', c2Port, ADDR.out, udpPort]));
    const tcpServer = await listening(startFlow(lab, 'out', ['tcp-echo', tcpPort]));
    const holder = startFlow(lab, 'c3', ['tcp-hold', ADDR.out, tcpPort, 1]);
    const udpEcho = await listening(startTool(lab, 'out', ['udp-echo', 5911]));
    const wire = await Capture.start(lab, 'r1', 'eth0', ['ip6']);
    let packets: CapturedPacket[] = [];
    const refreshers: LineProcess[] = [];
    const newUdpFlow = async (sport: number): Promise<number> => {
      const c = startTool(lab, 'c1', ['udp-ping', ADDR.out, 5911, 1, sport]);
      await c.waitExit(15_000);
      return c.lastJson<{ received: number }>().received;
    };
    try {
      // One UDP mapping (c2), one TCP connection (c3), and echo mappings (c1, one per identifier) to fill the rest.
      const udpMapping = await waitForMapping(t, 'c2’s UDP mapping', (m) => m.protocol === 'udp' && m.inside === ADDR.c2 && m.insidePort === c2Port);
      const opened = JSON.parse(await holder.waitForLine('the TCP connection', (l) => l.includes('"opened"'), 15_000)) as { ok: number };
      assert.equal(opened.ok, 1, holder.lines.join('\n'));
      // Each echo identifier is refreshed every 0.5 s while its ping runs: the table stays full until they stop.
      for (const id of echoIds) refreshers.push(new LineProcess(lab.topology.spawn('c1', ['ping', '-6', '-n', '-i', '0.5', '-e', String(id), ADDR.out]), `ping -e ${id}`));
      await waitFor('every filling echo answered', () => refreshers.every((r) => r.lines.some((l) => l.includes('bytes from'))), 20_000);
      const full = await t.mappings();
      assert.equal(full.length, MAX_MAPPINGS, `the table is full:\n${full.map(describeMapping).join('\n')}`);

      // New flows are refused, and counted.
      const before = (await npt66Counters(t))!;
      const refusedEcho = await ping(lab, 'c1', ADDR.out, { count: 2, intervalS: 0.1, id: 3000, waitS: 1 });
      assert.equal(refusedEcho.received, 0, `a new echo identifier is refused: ${refusedEcho.output}`);
      assert.equal(await newUdpFlow(25920), 0, 'a new UDP flow is refused');
      const refused = growth(before, (await npt66Counters(t))!);
      assert.ok((refused.drop_nat66_table_full ?? 0) >= 3, `two echo requests and a UDP datagram (or its retries) refused: ${JSON.stringify(refused)}`);
      const stillFull = await t.mappings();
      assert.equal(stillFull.length, MAX_MAPPINGS, 'no mapping was evicted for them');
      assert.deepEqual(stillFull.filter((m) => m.protocol === 'icmpv6' && m.insidePort === 3000).map(describeMapping), [], 'none for the refused identifier');

      // Existing flows keep working: the TCP connection echoes, c2's mapping takes an inbound datagram, and an
      // existing echo identifier is answered.
      const from = holder.lines.length;
      holder.child.kill('SIGUSR1');
      const round = JSON.parse(await holder.waitForLine('an echo round', (l) => l.includes('"round"'), 15_000, from)) as { echoed: number[]; failed: number[] };
      assert.deepEqual(round, { event: 'round', echoed: [0], failed: [] }, 'the TCP connection still works');
      const sender = startFlow(lab, 'out', ['udp-send-from', ADDR.out, udpPort, ADDR.host, udpMapping.outsidePort, 'still-mapped']);
      assert.equal((await sender.waitExit(5_000)).code, 0, sender.stderr);
      await c2.waitForLine('the inbound datagram on c2’s mapping', (l) => l.includes('still-mapped'), 10_000);
      const existingEcho = await ping(lab, 'c1', ADDR.out, { count: 1, id: echoIds[0], waitS: 2 });
      assert.equal(existingEcho.received, 1, `an existing echo identifier still works: ${existingEcho.output}`);
      assert.equal(t.running().exit, null, 'the daemon stays up');

      // The echo mappings expire (2 s) once nothing refreshes them; then new flows get mappings again.
      for (const r of refreshers) r.child.kill('SIGINT');
      await Promise.all(refreshers.map((r) => r.waitExit(5_000)));
      let live = full;
      await waitFor('the echo mappings to expire', async () => !(live = await t.mappings()).some((m) => m.protocol === 'icmpv6'), 30_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${live.map(describeMapping).join('\n')}`);
      });
      const again = await ping(lab, 'c1', ADDR.out, { count: 2, intervalS: 0.1, id: 3000, waitS: 2 });
      assert.equal(again.received, 2, again.output);
      assert.equal(await newUdpFlow(25921), 1, 'a new UDP flow works again');
      const remaining = (await t.mappings()).map(describeMapping).join('\n');
      assert.ok(remaining.includes(`udp [${ADDR.c2}]:${c2Port}`) && remaining.includes(`tcp [${ADDR.c3}]`), `the UDP and TCP mappings outlived the echo ones:\n${remaining}`);
      const c = (await npt66Counters(t))!;
      assert.ok(c.nat66_mapping_expired >= echoIds.length, `every echo mapping expired: ${c.nat66_mapping_expired}`);
    } finally {
      for (const p of [c2, tcpServer, udpEcho, ...refreshers]) p.child.kill('SIGKILL');
      holder.child.kill('SIGTERM');
      await Promise.all([c2, tcpServer, udpEcho, holder].map((p) => p.waitExit(5_000).catch(() => undefined)));
      packets = await closeWire(wire);
    }
    assert.deepEqual(leaks(packets).slice(0, 10), [], 'no container address on the outside wire');
  });
});

