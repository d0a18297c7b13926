// Issue 3: fail-closed. npt66's NFQUEUE rules have no --queue-bypass, so when the daemon dies (kill -9: no
// chance to clean up) the kernel drops what reaches its queue instead of forwarding it untranslated: the
// outside wire must carry zero packets with an inside-prefix source. A new daemon then starts with the dead
// one's NPT66-* chains still present, replaces them, and traffic flows again.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../../src/netns';
import { Capture, type CapturedPacket } from './lib/capture';
import { ADDR, GatewayLab, INSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { ICMPV6_ECHO_REQUEST, IPPROTO_UDP, describe as describePacket, inPrefix } from './lib/ipv6_decode';
import { LineProcess } from './lib/line_process';
import { packetsTo, ruleCounters } from './lib/rule_counters';
import { ping, startServer, startTool, udpExchange } from './lib/traffic';
import { npt66Rules, type Npt66Daemon, translatorKindUnderTest } from './lib/translator';

const IN1_OUTSIDE = GatewayLab.outsideOf(ADDR.in1);
const MARKER = '6e742d6d61726b65'; // "nt-marke": the gateway's own ping that closes the capture

// npt66's rules with the generation number taken out of the chain names, to compare two runs' rule sets.
function ruleShape(rules: string[]): string[] {
  return rules.map((r) => r.replace(/(NPT66-[A-Z]+)-\d+/g, '$1-N')).sort();
}

function generations(rules: string[]): string[] {
  return [...new Set(rules.flatMap((r) => [...r.matchAll(/NPT66-[A-Z]+-(\d+)/g)].map((m) => m[1])))];
}

async function queuedPackets(g: { lab: GatewayLab }): Promise<number> {
  const rules = [...(await ruleCounters(g.lab.ns('gw'), 'mangle')), ...(await ruleCounters(g.lab.ns('gw'), 'raw'))];
  return packetsTo(rules, (r) => r.chain.startsWith('NPT66-') && r.target === 'NFQUEUE');
}

describe('gateway: fail-closed when the daemon is killed', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only: the kernel translator cannot crash' }, () => {
  const g = gatewaySuite('nt-fc-', 'fail-closed');

  test('kill -9 under traffic: no inside-prefix source on the outside wire; restart cleans stale rules and traffic resumes', async () => {
    const daemon = g.translator as Npt66Daemon;
    const firstRules = await npt66Rules(g.lab);
    assert.ok(firstRules.length > 0, 'npt66 installed rules');

    const sink = await startServer(g.lab, 'out', ['udp-count', 5004]);
    const cap = await Capture.start(g.lab, 'r1', 'eth0', ['ip6']);
    const traffic: LineProcess[] = [];
    let packets: CapturedPacket[] = [];
    try {
      // Steady traffic both ways: echo from in1 every 10 ms, a numbered UDP stream, echo from out.
      traffic.push(new LineProcess(g.lab.topology.spawn('in1', ['ping', '-6', '-n', '-i', '0.01', ADDR.out]), 'ping in1 -> out'));
      traffic.push(new LineProcess(g.lab.topology.spawn('out', ['ping', '-6', '-n', '-i', '0.01', IN1_OUTSIDE]), 'ping out -> in1'));
      traffic.push(startTool(g.lab, 'in1', ['udp-stream', ADDR.out, 5004, 1_000_000, 2]));
      await cap.waitUntil('translated traffic from in1', (ps) => ps.filter((p) => p.decoded.src === IN1_OUTSIDE && p.decoded.protocol === IPPROTO_UDP).length >= 20);

      await daemon.kill9();
      // The dead daemon's rules stay and keep sending packets to the unbound queue: wait until a good number
      // of them (from both pings and the stream) have met it.
      const atKill = await queuedPackets(g);
      await waitFor('150 packets to reach the dead queue', async () => (await queuedPackets(g)) >= atKill + 150, 15_000);
      // Whatever left the gateway before this ping from the gateway itself is in the capture once it is.
      await g.lab.ns('gw').exec(['ping', '-6', '-n', '-c', '1', '-s', '8', '-p', MARKER, ADDR.r1Transit]);
      await cap.waitUntil('the marker ping', (ps) => ps.some((p) => p.decoded.src === ADDR.gwOutside && p.decoded.icmpType === ICMPV6_ECHO_REQUEST));
    } finally {
      packets = await cap.stop();
      for (const t of traffic) t.child.kill('SIGINT');
      await Promise.all(traffic.map((t) => t.waitExit(5_000)));
      sink.child.kill('SIGTERM');
      await sink.waitExit(5_000);
    }

    const leaked = packets.filter((p) => inPrefix(p.decoded.src, INSIDE_PREFIX) || inPrefix(p.decoded.embedded?.dst ?? '::', INSIDE_PREFIX));
    assert.deepEqual(leaked.slice(0, 10).map((p) => describePacket(p.decoded)), [], `${leaked.length} packets leaked an inside address`);
    assert.ok(packets.filter((p) => p.decoded.src === IN1_OUTSIDE).length >= 20, 'translated traffic was captured before the kill');

    // The dead daemon's chains are still there; a new daemon starts anyway and leaves one generation.
    const stale = await npt66Rules(g.lab);
    assert.deepEqual(ruleShape(stale), ruleShape(firstRules), 'the killed daemon could not remove its rules');
    await daemon.start();
    const restarted = await npt66Rules(g.lab);
    assert.deepEqual(ruleShape(restarted), ruleShape(firstRules), 'the same rules as the first run, once');
    assert.equal(generations(restarted).length, 1, `stale chains left beside the new ones:\n${restarted.join('\n')}`);
    assert.notDeepEqual(generations(restarted), generations(stale), 'the stale chains were replaced');

    // Traffic resumes, both ways.
    const p = await ping(g.lab, 'in1', ADDR.out, { count: 5, intervalS: 0.01 });
    assert.equal(p.received, 5, p.output);
    const u = await udpExchange(g.lab, 'out', 'in1', IN1_OUTSIDE, 5);
    assert.deepEqual(u, { sent: 5, received: 5, replyFrom: [IN1_OUTSIDE], serverSaw: [ADDR.out] });
    await daemon.stop(); // exit 0, no NPT66 rule left
  });
});
