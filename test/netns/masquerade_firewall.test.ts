// Issue 4: a stateful firewall on the Docker host keeps working with the masquerade in place: filter FORWARD
// accepts ESTABLISHED,RELATED, lets containers open flows, drops NEW from outside. npt66 translates inbound in
// raw PREROUTING (before conntrack) and outbound in mangle POSTROUTING (after it), so conntrack sees the
// containers' flows with their replies, and an ICMPv6 error about a flow is RELATED. The masquerade runs with
// endpoint-independent filtering, so an unsolicited datagram to a mapping is translated and then it is the
// firewall that must drop it.
// Translator: npt66 (NPT66_NETNS_TRANSLATOR=kernel: the kernel's MASQUERADE).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { normalizeAddress } from './lib/ipv6_decode';
import { packetsTo, ruleCounters } from './lib/rule_counters';
import { ADDR, HOST_BRIDGE, HOST_OUTSIDE_IF, SOURCE_PREFIX } from './masq/masq_lab';
import { masqSuite } from './masq/suite';
import { jsonLines, listening, ping, startTool } from './lib/traffic';
import { startFlow, tcpTransfer } from './masq/traffic';
import { waitForMapping } from './masq/translator';

const CHAIN = 'NX-FW';

describe('masquerade: stateful firewall on the host', () => {
  const g = masqSuite('nx-fw-', 'firewall', { filtering: 'endpoint-independent' });

  before(async () => {
    const fw = (args: string[]) => g.lab.ns('host').ip6tables(['-t', 'filter', ...args]);
    await fw(['-N', CHAIN]);
    await fw(['-A', CHAIN, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
    // Container to container across the bridge (bridge netfilter hands bridged frames to FORWARD), as Docker's
    // inter-container rule does.
    await fw(['-A', CHAIN, '-i', HOST_BRIDGE, '-o', HOST_BRIDGE, '-j', 'ACCEPT']);
    await fw(['-A', CHAIN, '-i', HOST_BRIDGE, '-o', HOST_OUTSIDE_IF, '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'ACCEPT']);
    await fw(['-A', CHAIN, '-i', HOST_OUTSIDE_IF, '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP']); // NEW from outside
    await fw(['-A', CHAIN, '-j', 'DROP']); // anything else: INVALID, or NEW on a path not allowed
    await fw(['-A', 'FORWARD', '-j', CHAIN]);
  });

  async function drops(): Promise<{ newFromOutside: number; other: number }> {
    const rules = (await ruleCounters(g.lab.ns('host'), 'filter')).filter((r) => r.chain === CHAIN && r.target === 'DROP');
    return { newFromOutside: packetsTo(rules, (r) => r.text.includes('NEW')), other: packetsTo(rules, (r) => !r.text.includes('NEW')) };
  }

  test('container-initiated ping6, TCP, UDP and a Packet Too Big (RELATED) pass; nothing is dropped', async () => {
    const { lab } = g;
    const p = await ping(lab, 'c1', ADDR.out, { count: 5, intervalS: 0.02 });
    assert.equal(p.received, 5, p.output);
    const t = await tcpTransfer(lab, 'c1', 'out', ADDR.out, 8 << 20, 5800);
    assert.equal(t.received.sha256, t.sent.sha256);
    assert.equal(t.received.peer, ADDR.host);
    const echo = await listening(startTool(lab, 'out', ['udp-echo', 5801]));
    try {
      const u = startTool(lab, 'c1', ['udp-ping', ADDR.out, 5801, 10, 25800]);
      assert.equal((await u.waitExit(30_000)).code, 0, u.stderr);
      assert.equal(u.lastJson<{ received: number }>().received, 10);
    } finally {
      echo.child.kill('SIGKILL');
    }
    // Over r1's 1280-byte path: the transfer completes only if the translated Packet Too Big is let through.
    const small = await tcpTransfer(lab, 'c2', 'out', ADDR.outSmallMtu, 2 << 20, 5802);
    assert.equal(small.received.sha256, small.sent.sha256);
    const route = await lab.ns('c2').exec(['ip', '-6', 'route', 'get', ADDR.outSmallMtu]);
    assert.match(route.stdout, /\bmtu 1280\b/, route.stdout);
    assert.deepEqual(await drops(), { newFromOutside: 0, other: 0 });
  });

  test('conntrack on the host saw the replies of every container flow (none UNREPLIED)', async () => {
    const r = await g.lab.ns('host').exec(['conntrack', '-L', '-f', 'ipv6'], { allowFailure: true });
    const fromC1 = r.stdout.split('\n').filter((l) => l.includes(`src=${normalizeAddress(ADDR.c1)} dst=${normalizeAddress(ADDR.out)}`));
    assert.ok(fromC1.some((l) => l.startsWith('tcp') && l.includes('ASSURED')), `c1's TCP flow is ASSURED:\n${r.stdout}`);
    assert.ok(fromC1.some((l) => l.startsWith('udp')), `c1's UDP flow:\n${r.stdout}`);
    assert.deepEqual(fromC1.filter((l) => l.includes('UNREPLIED')), [], r.stdout);
  });

  test('NEW from outside is dropped: an unsolicited datagram to a mapping, and pings routed to a container', async () => {
    const { lab } = g;
    const before = await drops();
    const c1 = await listening(startFlow(lab, 'c1', ['udp-announce', 25810, ADDR.out, 5810]));
    try {
      const m = await waitForMapping(g.translator, 'c1’s mapping', (x) => x.protocol === 'udp' && x.inside === ADDR.c1 && x.insidePort === 25810);
      const send = async (src: string, sport: number, text: string) => {
        const p = startFlow(lab, 'out', ['udp-send-from', src, sport, ADDR.host, m.outsidePort, text]);
        assert.equal((await p.waitExit(10_000)).code, 0, p.stderr);
      };
      await send(ADDR.outSmallMtu, 5811, 'unsolicited'); // another remote: a NEW flow for the firewall
      await send(ADDR.out, 5810, 'marker'); // the remote c1 wrote to: ESTABLISHED, and last
      await c1.waitForLine('the marker', (l) => l.includes('"text":"marker"'));
      assert.deepEqual(jsonLines<{ text: string }>(c1, 'datagram').map((d) => d.text), ['marker']);
    } finally {
      c1.child.kill('SIGKILL');
    }
    // r1 learns a route to the containers: now only the firewall stands between the outside and them.
    await lab.ns('r1').exec(['ip', '-6', 'route', 'add', SOURCE_PREFIX, 'via', ADDR.host]);
    try {
      const p = await ping(lab, 'out', ADDR.c1, { count: 3, intervalS: 0.1, waitS: 1 });
      assert.equal(p.received, 0, p.output);
    } finally {
      await lab.ns('r1').exec(['ip', '-6', 'route', 'del', SOURCE_PREFIX]);
    }
    const afterDrops = await drops();
    // npt66 translated the unsolicited datagram (endpoint-independent filtering), so the firewall dropped it as
    // NEW; the kernel delivered it to the host itself, where nothing listens.
    const expected = 3 + (g.kind === 'npt66' ? 1 : 0);
    assert.equal(afterDrops.newFromOutside - before.newFromOutside, expected, JSON.stringify({ before, afterDrops }));
    assert.equal(afterDrops.other, before.other);
  });

  test('a container-initiated flow still works after the refused ones', async () => {
    const p = await ping(g.lab, 'c3', ADDR.out, { count: 3, intervalS: 0.02 });
    assert.equal(p.received, 3, p.output);
  });
});
