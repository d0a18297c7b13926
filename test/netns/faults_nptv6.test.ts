// Issue 9, faults with a live `npt66 run` (NPTv6 gateway lab), what gateway_fail_closed and gateway_reload do not
// already cover:
// - queue overflow: queueMaxLen 16 and a burst of 2000 forwarded UDP packets (pktio, AF_PACKET): the kernel's
//   queue drops show in `stats --json` (queues[].kernel.queueDropped: NFQUEUE drops a packet when its queue is full,
//   there is no --queue-bypass), nothing untranslated reaches the outside wire, and traffic works afterwards;
// - SIGHUP with a broken file (truncated JSON, then a missing file) under a running stream: "reload failed" with
//   the reason in the log line, the same rules (same generation), the stream keeps leaving translated;
// - the outside interface going down and up under a running stream: the daemon keeps running and answering, and
//   both directions work again once the link is back (its address and default route restored, as a network
//   manager would: IPv6 drops them with the link).
// Every check looks at the outside wire (r1's side of the transit link): no inside-prefix address, ever.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { waitFor } from '../../src/netns';
import { parseAddress } from '../../src/prefix';
import { findPktio, PktIo } from './differential/pktio';
import { Capture, type CapturedPacket } from './lib/capture';
import { ADDR, GW_INSIDE_IF, GW_OUTSIDE_IF, GatewayLab, INSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { pseudoHeaderSum } from './lib/inet_checksum';
import { ICMPV6_ECHO_REQUEST, IPPROTO_UDP, describe as describePacket, inPrefix } from './lib/ipv6_decode';
import type { LineProcess } from './lib/line_process';
import { growth, jsonMsg, parseJson } from './lib/npt66_daemon';
import { backlogDrops } from './lib/machine_drops';
import { ping, startServer, startTool, udpExchange } from './lib/traffic';
import { npt66Rules, type Npt66Config, type Npt66Daemon, translatorKindUnderTest } from './lib/translator';

const IN1_OUTSIDE = GatewayLab.outsideOf(ADDR.in1);
const QUEUE_MAX_LEN = 16;
const BURST = 2000;
const BURST_PORT = 6100;
const MARKER = '6661756c74'; // "fault": the gateway's own ping that closes a capture

function udpPacket(src: string, dst: string, sport: number, dport: number, seq: number): Buffer {
  const s = parseAddress(src, 'src');
  const d = parseAddress(dst, 'dst');
  const udp = Buffer.alloc(8 + 8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(udp.length, 4);
  udp.writeUInt32BE(seq, 8);
  udp.writeUInt16BE(0xffff - pseudoHeaderSum(s, d, IPPROTO_UDP, udp) || 0xffff, 6);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(udp.length, 4);
  ip[6] = IPPROTO_UDP;
  ip[7] = 64;
  s.copy(ip, 8);
  d.copy(ip, 24);
  return Buffer.concat([ip, udp]);
}

// Packets on the wire with an inside-prefix address anywhere (source, destination, or quoted in an ICMPv6 error).
function leaks(packets: CapturedPacket[]): string[] {
  return packets
    .filter((p) => [p.decoded.src, p.decoded.dst, p.decoded.embedded?.src ?? '::', p.decoded.embedded?.dst ?? '::'].some((a) => inPrefix(a, INSIDE_PREFIX)))
    .map((p) => describePacket(p.decoded));
}

// Datagrams of a stream to `port` that left translated (source: in1's outside address).
function translated(packets: CapturedPacket[], port: number): number {
  return packets.filter((p) => p.decoded.protocol === IPPROTO_UDP && p.decoded.dstPort === port && p.decoded.src === IN1_OUTSIDE).length;
}

function sentSoFar(stream: LineProcess): number {
  const last = [...stream.lines].reverse().find((l) => l.includes('"sent"'));
  return last ? (JSON.parse(last) as { sent: number }).sent : 0;
}

async function macOf(g: { lab: GatewayLab }, ns: 'gw', iface: string): Promise<string> {
  const r = await g.lab.ns(ns).exec(['ip', '-j', 'link', 'show', iface]);
  return (JSON.parse(r.stdout) as { address: string }[])[0]!.address;
}

describe('faults: NPTv6 gateway under a live daemon', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only' }, () => {
  const g = gatewaySuite('nt-fa-', 'faults', { startTranslator: false });
  let daemon: Npt66Daemon;

  before(async () => {
    daemon = g.translator as Npt66Daemon;
    daemon.config = { ...daemon.config, queueMaxLen: QUEUE_MAX_LEN } as Npt66Config;
    await daemon.start();
  });

  // A capture on the outside wire, closed by a marker ping from the gateway itself: whatever the gateway sent
  // before the marker is in it.
  async function closeWire(wire: Capture): Promise<CapturedPacket[]> {
    await g.lab.ns('gw').exec(['ping', '-6', '-n', '-c', '1', '-s', '8', '-p', MARKER, ADDR.r1Transit], { allowFailure: true });
    await wire.waitUntil('the marker ping', (ps) => ps.some((p) => p.decoded.src === ADDR.gwOutside && p.decoded.icmpType === ICMPV6_ECHO_REQUEST), 5_000).catch(() => undefined);
    return wire.stop();
  }

  test(`queue overflow: a ${BURST}-packet burst into a ${QUEUE_MAX_LEN}-packet queue is dropped by the kernel and counted, nothing leaves untranslated, traffic recovers`, async (t) => {
    // A listener on the burst's port, so that no port-unreachable errors come back through the same queue.
    const sink = await startServer(g.lab, 'out', ['udp-count', BURST_PORT]);
    const wire = await Capture.start(g.lab, 'r1', 'eth0', ['ip6']);
    const io = await PktIo.start(g.lab.topology, 'in1', 'eth0', await macOf(g, 'gw', GW_INSIDE_IF), findPktio());
    let packets: CapturedPacket[] = [];
    const before = await daemon.stats();
    const machineDropsBefore = backlogDrops();
    // The daemon is paused for the burst, so the queue overflows however fast npt66 drains it on this machine (on a
    // quiet one it kept up with 2000 packets); once continued it serves the queued packets.
    const daemonProcess = daemon.running().child;
    try {
      daemonProcess.kill('SIGSTOP');
      try {
        io.send(Array.from({ length: BURST }, (_, i) => udpPacket(ADDR.in1, ADDR.out, 40000, BURST_PORT, i)));
        assert.deepEqual(await io.sync(), { sent: BURST, failed: 0 });
      } finally {
        daemonProcess.kill('SIGCONT');
      }
      // The queue drains once the burst is over: wait until the daemon has nothing waiting.
      await waitFor('the queue to drain', async () => ((await daemon.stats()).queues as { kernel: { queueTotal: number } }[])[0].kernel.queueTotal === 0, 10_000);
    } finally {
      io.close();
      sink.child.kill('SIGTERM');
      await sink.waitExit(5_000).catch(() => undefined);
      packets = await closeWire(wire);
    }
    const after = await daemon.stats();
    const machineDrops = backlogDrops() - machineDropsBefore;
    type Kernel = { queueDropped: number; userDropped: number };
    const k0 = (before.queues as { kernel: Kernel }[])[0].kernel;
    const k1 = (after.queues as { kernel: Kernel }[])[0].kernel;
    const queueDropped = k1.queueDropped - k0.queueDropped;
    const userDropped = k1.userDropped - k0.userDropped;
    const counters = growth(before.total as Record<string, number>, after.total as Record<string, number>);
    const left = translated(packets, BURST_PORT);
    const arrived = sink.lastJson<{ unique: number; from: string[] }>();
    const figures = JSON.stringify({ queueDropped, userDropped, leftTranslated: left, arrived: arrived.unique, machineDrops, missedByCapture: wire.droppedByCapture, counters });
    t.diagnostic(figures);

    assert.deepEqual(leaks(packets).slice(0, 10), [], 'no inside address on the outside wire');
    assert.equal(daemon.running().exit, null, 'the daemon kept running');
    assert.ok(queueDropped > 0, `the kernel dropped packets at the full queue and stats --json counts them: ${figures}`);
    assert.ok(left > 0, `some of the burst was translated and left: ${figures}`);
    // Whatever the kernel queued and npt66 did not see, it dropped: what left is at most what npt66 accepted.
    assert.ok(left <= (counters.queue_verdict_accept_mangled ?? 0), `no packet left without npt66's verdict: ${figures}`);
    assert.ok(left + queueDropped + userDropped <= BURST, figures);
    // The sink is a second leak check that a busy capture cannot miss: an untranslated datagram arrives from in1.
    assert.deepEqual(arrived.from, [IN1_OUTSIDE], `what arrived came translated: ${figures}`);
    assert.ok(arrived.unique <= (counters.queue_verdict_accept_mangled ?? 0), `nothing arrived without npt66's verdict: ${figures}`);
    // Every packet of the burst either reached npt66 or was dropped at the full queue (unless the machine's input
    // backlog lost some on the way to the gateway).
    const accounted = (counters.queue_received ?? 0) + queueDropped + userDropped;
    if (machineDrops === 0) assert.equal(accounted, BURST, `queued + dropped at the queue = the burst: ${figures}`);
    else t.diagnostic(`the machine's input backlog dropped ${machineDrops} packets: the burst's accounting not asserted`);

    // Recovery: both directions work again.
    const p = await ping(g.lab, 'in1', ADDR.out, { count: 5, intervalS: 0.02 });
    assert.equal(p.received, 5, p.output);
    const u = await udpExchange(g.lab, 'out', 'in1', IN1_OUTSIDE, 5);
    assert.deepEqual(u, { sent: 5, received: 5, replyFrom: [IN1_OUTSIDE], serverSaw: [ADDR.out] });
  });

  test('SIGHUP with a broken file under traffic: reload failed with the reason logged, the same rules, traffic keeps flowing', async () => {
    const port = 6200;
    const rulesBefore = await npt66Rules(g.lab);
    const wire = await Capture.start(g.lab, 'r1', 'eth0', ['ip6']);
    const stream = startTool(g.lab, 'in1', ['udp-stream', ADDR.out, port, 0, 2]);
    let packets: CapturedPacket[] = [];
    const failures: Record<string, unknown>[] = [];
    try {
      await wire.waitUntil('the stream leaving translated', (ps) => translated(ps, port) >= 50);
      const valid = JSON.stringify(daemon.config);
      // Truncated JSON (an editor's half-written save), then a file that is not there.
      for (const broken of [{ raw: valid.slice(0, valid.length / 2) }, null]) {
        if (broken) {
          const r = await daemon.reload(broken);
          assert.equal(r.ok, false, r.line);
          failures.push(parseJson(r.line)!);
        } else {
          rmSync(daemon.configFile);
          const r = await daemon.reload();
          assert.equal(r.ok, false, r.line);
          failures.push(parseJson(r.line)!);
        }
        // The stream keeps leaving translated after each refused reload: 100 more datagrams on the wire.
        const seen = translated(wire.packets(), port);
        await wire.waitUntil(`100 more datagrams after the refused reload (had ${seen})`, (ps) => translated(ps, port) >= seen + 100);
      }
      daemon.writeConfig(); // put the good file back for whatever comes next
    } finally {
      stream.child.kill('SIGTERM');
      await stream.waitExit(10_000).catch(() => undefined);
      packets = await closeWire(wire);
    }
    // The log says why: the parse error, then the missing file; and names the file.
    const why = failures.map((f) => JSON.stringify(f));
    assert.match(why[0], /JSON|Unexpected end|Unterminated|position/i, why[0]);
    assert.match(why[1], /ENOENT|no such file/i, why[1]);
    for (const f of failures) {
      assert.equal(jsonMsg(JSON.stringify(f)), 'reload failed; the running configuration is unchanged');
      assert.equal(f.config, daemon.configFile);
    }
    assert.deepEqual(await npt66Rules(g.lab), rulesBefore, 'the running rules stayed, same generation');
    assert.ok(sentSoFar(stream) >= 200, 'the stream ran through both reloads');
    assert.deepEqual(leaks(packets).slice(0, 10), [], 'no inside address on the outside wire');
    // The daemon still translates inbound too.
    const u = await udpExchange(g.lab, 'out', 'in1', IN1_OUTSIDE, 3);
    assert.deepEqual(u, { sent: 3, received: 3, replyFrom: [IN1_OUTSIDE], serverSaw: [ADDR.out] });
  });

  test('the outside interface goes down and up under traffic: the daemon keeps running, traffic resumes', async () => {
    const port = 6300;
    const gw = g.lab.ns('gw');
    const wire = await Capture.start(g.lab, 'r1', 'eth0', ['ip6']);
    const stream = startTool(g.lab, 'in1', ['udp-stream', ADDR.out, port, 0, 2]);
    let packets: CapturedPacket[] = [];
    let down = false;
    try {
      await wire.waitUntil('the stream leaving translated', (ps) => translated(ps, port) >= 50);
      await gw.exec(['ip', 'link', 'set', GW_OUTSIDE_IF, 'down']);
      down = true;
      // Keep it down while the stream sends 300 more datagrams into it.
      const atDown = sentSoFar(stream);
      await stream.waitForLine('300 datagrams sent while the link is down', () => sentSoFar(stream) >= atDown + 300, 15_000);
      assert.equal(daemon.running().exit, null, 'the daemon runs while its outside interface is down');
      const whileDown = await daemon.counters(); // and answers on its control socket
      assert.equal(typeof whileDown.queue_received, 'number');

      await gw.exec(['ip', 'link', 'set', GW_OUTSIDE_IF, 'up']);
      down = false;
      // IPv6 removes the link's global address and routes when it goes down; restore them.
      await gw.exec(['ip', '-6', 'addr', 'replace', `${ADDR.gwOutside}/64`, 'dev', GW_OUTSIDE_IF, 'nodad']);
      await gw.exec(['ip', '-6', 'route', 'replace', 'default', 'via', ADDR.r1Transit, 'dev', GW_OUTSIDE_IF]);
      const seen = translated(wire.packets(), port);
      await wire.waitUntil(`the stream leaving translated again (had ${seen})`, (ps) => translated(ps, port) >= seen + 100, 15_000);
    } finally {
      if (down) await gw.exec(['ip', 'link', 'set', GW_OUTSIDE_IF, 'up'], { allowFailure: true });
      stream.child.kill('SIGTERM');
      await stream.waitExit(10_000).catch(() => undefined);
      packets = await closeWire(wire);
    }
    assert.equal(daemon.running().exit, null, 'the daemon kept running');
    assert.deepEqual(leaks(packets).slice(0, 10), [], 'no inside address on the outside wire');
    // Both directions, and the gateway's outside interface is still known to it (inbound is translated).
    const p = await ping(g.lab, 'in1', ADDR.out, { count: 5, intervalS: 0.02 });
    assert.equal(p.received, 5, p.output);
    const u = await udpExchange(g.lab, 'out', 'in1', IN1_OUTSIDE, 3);
    assert.deepEqual(u, { sent: 3, received: 3, replyFrom: [IN1_OUTSIDE], serverSaw: [ADDR.out] });
    await daemon.stop(); // exit 0, no NPT66 rule left
  });
});
