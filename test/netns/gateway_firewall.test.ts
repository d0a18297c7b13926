// Issue 3: a stateful firewall on the gateway keeps working without NOTRACK. npt66 translates inbound in raw
// PREROUTING (before conntrack) and outbound in mangle POSTROUTING (after it), so conntrack only ever sees
// inside addresses and a reply matches its flow. (The kernel's SNPT/DNPT, both in mangle, fail here: the
// reply reaches conntrack still addressed to the outside prefix and matches nothing.)
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Capture, type CapturedPacket } from './lib/capture';
import { ADDR, GW_INSIDE_IF, GW_OUTSIDE_IF, GatewayLab, OUTSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { describe as describePacket, normalizeAddress } from './lib/ipv6_decode';
import { packetsTo, ruleCounters } from './lib/rule_counters';
import { ping, tcpTransfer, udpExchange } from './lib/traffic';

const IN1_OUTSIDE = GatewayLab.outsideOf(ADDR.in1);
const CHAIN = 'NT-FW';

describe('gateway: stateful firewall (conntrack) without NOTRACK', () => {
  const g = gatewaySuite('nt-fw-', 'firewall');

  before(async () => {
    const gw = g.lab.ns('gw');
    const fw = (args: string[]) => gw.ip6tables(['-t', 'filter', ...args]);
    await fw(['-N', CHAIN]);
    await fw(['-A', CHAIN, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
    await fw(['-A', CHAIN, '-i', GW_INSIDE_IF, '-o', GW_OUTSIDE_IF, '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'ACCEPT']);
    await fw(['-A', CHAIN, '-i', GW_OUTSIDE_IF, '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP']); // NEW from outside
    await fw(['-A', CHAIN, '-j', 'DROP']); // anything else: INVALID, or NEW on a path not allowed
    await fw(['-A', 'FORWARD', '-j', CHAIN]);
  });

  async function drops(): Promise<{ newFromOutside: number; other: number }> {
    const rules = (await ruleCounters(g.lab.ns('gw'), 'filter')).filter((r) => r.chain === CHAIN && r.target === 'DROP');
    return {
      newFromOutside: packetsTo(rules, (r) => r.text.includes('NEW')),
      other: packetsTo(rules, (r) => !r.text.includes('NEW')),
    };
  }

  test('inside-initiated ping6, TCP and UDP work; replies are ESTABLISHED, nothing is dropped', async () => {
    const p = await ping(g.lab, 'in1', ADDR.out, { count: 5, intervalS: 0.01 });
    assert.equal(p.received, 5, p.output);
    const t = await tcpTransfer(g.lab, 'in1', 'out', ADDR.out, 8 << 20);
    assert.equal(t.received.sha256, t.sent.sha256);
    assert.equal(t.received.bytes, 8 << 20);
    const u = await udpExchange(g.lab, 'in1', 'out', ADDR.out, 10);
    assert.equal(u.received, 10);
    assert.deepEqual(await drops(), { newFromOutside: 0, other: 0 });
  });

  test('conntrack on the gateway sees inside addresses only, and every flow from in1 saw its replies', async () => {
    const r = await g.lab.ns('gw').exec(['conntrack', '-L', '-f', 'ipv6'], { allowFailure: true });
    const entries = r.stdout.split('\n').filter((l) => l.includes('src='));
    const fromIn1 = entries.filter((l) => l.includes(`src=${normalizeAddress(ADDR.in1)} dst=${normalizeAddress(ADDR.out)}`));
    assert.ok(fromIn1.length >= 2, `expected the TCP and UDP flows from in1:\n${r.stdout}${r.stderr}`);
    // [UNREPLIED]: the replies never matched the flow (they reached conntrack with the outside address).
    assert.deepEqual(fromIn1.filter((l) => l.includes('UNREPLIED') || !l.includes(`dst=${normalizeAddress(ADDR.in1)}`)), []);
    assert.ok(fromIn1.some((l) => l.startsWith('tcp') && l.includes('ASSURED')), `the TCP flow is ASSURED:\n${fromIn1.join('\n')}`);
    const outsidePrefix = OUTSIDE_PREFIX.split('::')[0];
    assert.deepEqual(entries.filter((l) => l.includes(outsidePrefix)), [], 'conntrack entries with outside-prefix addresses');
  });

  test('outside-initiated ping6 and TCP to the inside host’s outside address are dropped as NEW', async () => {
    const before = await drops();
    const cap = await Capture.start(g.lab, 'in1', 'eth0', ['ip6', 'src', ADDR.out]);
    let reached: CapturedPacket[] = [];
    try {
      const p = await ping(g.lab, 'out', IN1_OUTSIDE, { count: 3, intervalS: 0.1, waitS: 1 });
      assert.equal(p.received, 0, p.output);
      const c = await g.lab.ns('out').exec(['socat', '-u', 'OPEN:/dev/null', `TCP6:[${IN1_OUTSIDE}]:5001,connect-timeout=1`], { allowFailure: true });
      assert.notEqual(c.code, 0, 'the TCP connection must not be established');
    } finally {
      reached = await cap.stop();
    }
    assert.deepEqual(reached.map((p) => describePacket(p.decoded)), [], 'packets from the outside host reached the inside host');
    const after = await drops();
    assert.ok(after.newFromOutside - before.newFromOutside >= 4, `dropped as NEW from outside: ${JSON.stringify({ before, after })}`);
    assert.equal(after.other, before.other);
  });

  test('an inside-initiated flow still works after the refused ones', async () => {
    const u = await udpExchange(g.lab, 'in1', 'out', ADDR.out, 5);
    assert.equal(u.received, 5);
  });
});
