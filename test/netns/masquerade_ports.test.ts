// Issue 4: outside port choice (port preservation and collision, ports below 1024 stay below 1024; REFERENCE
// §4, as Linux nf_nat_core does it) and the per-host limit (RFC 6888 REQ-4): beyond it new flows are refused
// with administratively prohibited while the live ones keep working (never evicted).
// Translator: npt66 (NPT66_NETNS_TRANSLATOR=kernel: the kernel's MASQUERADE, with a connlimit per /64 for the
// limit).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ICMPV6_DEST_UNREACHABLE, describe as describePacket } from './lib/ipv6_decode';
import { Capture } from './lib/capture';
import { ADDR, SOURCE_PREFIX, type Container } from './masq/masq_lab';
import { describeMapping, type Mapping } from './masq/mapping';
import { masqSuite } from './masq/suite';
import { jsonLines, listening, ping, startTool } from './lib/traffic';
import { startFlow } from './masq/traffic';
import { growth } from './lib/npt66_daemon';
import { PORT_RANGE, npt66Counters, waitForEvent, waitForMapping } from './masq/translator';
import { inPrefix } from './lib/ipv6_decode';

const ADMINISTRATIVELY_PROHIBITED = 1; // RFC 4443 §3.1, Destination Unreachable code 1
const inRange = (p: number) => p >= PORT_RANGE.min && p <= PORT_RANGE.max;

// Both containers talk to the same remote endpoint: then even an endpoint-dependent mapping (the kernel's)
// cannot give them the same outside port, and an endpoint-independent one (npt66's) never could.
describe('masquerade: outside ports and per-host limits', () => {
  const g = masqSuite('nx-po-', 'ports');

  // One UDP datagram from `c`:`sport` to the echo server; returns the source the server saw.
  async function udpFrom(c: Container, sport: number, port: number): Promise<{ from: string; port: number }> {
    const echo = await listening(startTool(g.lab, 'out', ['udp-echo', port]));
    try {
      const client = startTool(g.lab, c, ['udp-ping', ADDR.out, port, 1, sport]);
      await client.waitExit(10_000);
      assert.equal(client.lastJson<{ received: number }>().received, 1, `${c}: the answer came back`);
      const seen = jsonLines<{ from: string; port: number }>(echo, 'datagram');
      assert.equal(seen.length >= 1, true);
      return { from: seen[0].from, port: seen[0].port };
    } finally {
      echo.child.kill('SIGKILL');
      await echo.exited;
    }
  }

  // A TCP connection from `c`:`sport` (socat binds it), opened and closed; returns the source the server saw.
  async function tcpFrom(c: Container, sport: number, port: number): Promise<{ from: string; port: number }> {
    const echo = await listening(startFlow(g.lab, 'out', ['tcp-echo', port]));
    try {
      const r = await g.lab.ns(c).exec(['socat', '-u', 'OPEN:/dev/null', `TCP6:[${ADDR.out}]:${port},sourceport=${sport},connect-timeout=5`], { allowFailure: true });
      assert.equal(r.code, 0, `${c}: TCP connect from port ${sport}: ${r.stderr}`);
      const line = await echo.waitForLine('the connection', (l) => l.includes('"connection"'));
      const seen = JSON.parse(line) as { from: string; port: number };
      return { from: seen.from, port: seen.port };
    } finally {
      echo.child.kill('SIGKILL');
      await echo.exited;
    }
  }

  test('UDP: the first container keeps its source port, the second gets another one in the range', async () => {
    const sport = 25300;
    const first = await udpFrom('c1', sport, 5300);
    const second = await udpFrom('c2', sport, 5300);
    assert.deepEqual(first, { from: ADDR.host, port: sport }, 'port preserved');
    assert.equal(second.from, ADDR.host);
    assert.notEqual(second.port, sport, 'the second container cannot have the same outside port');
    assert.ok(inRange(second.port), `${second.port} in ${PORT_RANGE.min}-${PORT_RANGE.max}`);

    // The translator's view agrees with the wire, and announced both as NEW.
    const m1 = await waitForMapping(g.translator, 'c1’s mapping', (m) => m.protocol === 'udp' && m.inside === ADDR.c1 && m.insidePort === sport);
    const m2 = await waitForMapping(g.translator, 'c2’s mapping', (m) => m.protocol === 'udp' && m.inside === ADDR.c2 && m.insidePort === sport);
    assert.deepEqual([m1.outside, m1.outsidePort, m2.outside, m2.outsidePort], [ADDR.host, sport, ADDR.host, second.port], `${describeMapping(m1)}\n${describeMapping(m2)}`);
    for (const [c, port] of [[ADDR.c1, sport], [ADDR.c2, second.port]] as const) {
      await waitForEvent(g.translator, `NEW for ${c}`, (e) => e.event === 'NEW' && e.protocol === 'udp' && e.inside === c && e.insidePort === sport && e.outsidePort === port);
    }
  });

  test('TCP: the first container keeps its source port, the second gets another one in the range', async () => {
    const sport = 25310;
    const first = await tcpFrom('c1', sport, 5310);
    const second = await tcpFrom('c2', sport, 5310);
    assert.deepEqual(first, { from: ADDR.host, port: sport }, 'port preserved');
    assert.equal(second.from, ADDR.host);
    assert.notEqual(second.port, sport);
    assert.ok(inRange(second.port), `${second.port} in ${PORT_RANGE.min}-${PORT_RANGE.max}`);
  });

  test('a source port below 1024 stays below 1024, also for the second container (privilegedPorts)', async () => {
    await g.restart({ privilegedPorts: true });
    const sport = 500;
    const first = await udpFrom('c1', sport, 5320);
    const second = await udpFrom('c2', sport, 5320);
    assert.deepEqual(first, { from: ADDR.host, port: sport }, 'port preserved');
    assert.equal(second.from, ADDR.host);
    assert.notEqual(second.port, sport);
    assert.ok(second.port > 0 && second.port < 1024, `second container's outside port ${second.port} below 1024`);
  });

  test('without privilegedPorts, a source port below 1024 takes a port in the range and its answer comes back', async () => {
    // Replies to ports 1-1023 are not queued then (the host's own services keep them), so a mapping kept below
    // 1024 would lose every answer: the port comes from the range like any other.
    await g.restart({ privilegedPorts: false });
    const seen = await udpFrom('c1', 501, 5330);
    assert.equal(seen.from, ADDR.host);
    assert.ok(inRange(seen.port), `outside port ${seen.port} in ${PORT_RANGE.min}-${PORT_RANGE.max}`);
  });

  test('per-host limit (5 per /64): new flows refused with administratively prohibited, live ones keep working', async () => {
    const { lab } = g;
    const limit = 5;
    await g.restart({ maxPerHost64: limit });
    const server = await listening(startFlow(lab, 'out', ['tcp-echo', 5400]));
    const holder = startFlow(lab, 'c1', ['tcp-hold', ADDR.out, 5400, limit]);
    try {
      await holder.waitForLine('all connections tried', (l) => l.includes('"opened"'), 30_000);
      assert.deepEqual(jsonLines<{ ok: boolean }>(holder, 'connect').map((c) => c.ok), Array(limit).fill(true), holder.lines.join('\n'));
      const live = (await g.translator.mappings()).filter((m) => inPrefix(m.inside, SOURCE_PREFIX));
      assert.equal(live.length, limit, live.map(describeMapping).join('\n'));

      const countersBefore = await npt66Counters(g.translator);
      // Containers share the /64: c2's TCP, c3's UDP and ping6 are all beyond the limit.
      const caps = { c2: await Capture.start(lab, 'c2', 'eth0', ['icmp6']), c3: await Capture.start(lab, 'c3', 'eth0', ['icmp6']) };
      let refusals: Record<'c2' | 'c3', string[]> = { c2: [], c3: [] };
      try {
        const extra = startFlow(lab, 'c2', ['tcp-hold', ADDR.out, 5400, 1]);
        await extra.waitForLine('the connection tried', (l) => l.includes('"opened"'), 30_000);
        const [attempt] = jsonLines<{ ok: boolean; error?: string }>(extra, 'connect');
        assert.equal(attempt.ok, false, `c2's connection beyond the limit must fail: ${JSON.stringify(attempt)}`);
        extra.child.kill('SIGTERM');
        const udp = startTool(lab, 'c3', ['udp-send', ADDR.out, 5401, 25400, 1]);
        assert.equal((await udp.waitExit(10_000)).code, 0, udp.stderr);
        const p = await ping(lab, 'c3', ADDR.out, { count: 1, waitS: 1 });
        assert.equal(p.received, 0, p.output);
        const prohibited = (c: 'c2' | 'c3') => (ps: ReturnType<Capture['packets']>) =>
          ps.filter((x) => x.decoded.icmpType === ICMPV6_DEST_UNREACHABLE && x.decoded.icmpCode === ADMINISTRATIVELY_PROHIBITED && x.decoded.embedded?.src === ADDR[c]);
        await caps.c2.waitUntil('administratively prohibited for c2', (ps) => prohibited('c2')(ps).length >= 1);
        await caps.c3.waitUntil('administratively prohibited for c3 (UDP)', (ps) => prohibited('c3')(ps).some((x) => x.decoded.embedded?.dstPort === 5401));
        refusals = { c2: prohibited('c2')(await caps.c2.stop()).map((x) => describePacket(x.decoded)), c3: prohibited('c3')(await caps.c3.stop()).map((x) => describePacket(x.decoded)) };
      } finally {
        caps.c2.discard();
        caps.c3.discard();
      }
      assert.ok(refusals.c2.length >= 1 && refusals.c3.length >= 1, JSON.stringify(refusals));
      if (countersBefore) {
        const grew = growth(countersBefore, (await npt66Counters(g.translator)) ?? {});
        assert.ok((grew.drop_nat66_host_limit ?? 0) >= 3, `a TCP SYN, a UDP datagram and an echo request refused: ${JSON.stringify(grew)}`);
        assert.ok((grew.icmp_admin_prohibited_built ?? 0) >= 2, JSON.stringify(grew));
        assert.equal(grew.nat66_mapping_created ?? 0, 0, 'no mapping created beyond the limit');
      }

      // Nothing was evicted: the five live connections still carry data both ways.
      const from = holder.lines.length;
      holder.child.kill('SIGUSR1');
      const round = JSON.parse(await holder.waitForLine('an echo round', (l) => l.includes('"round"'), 20_000, from)) as { echoed: number[]; failed: number[] };
      assert.deepEqual(round, { event: 'round', echoed: [0, 1, 2, 3, 4], failed: [] });
      const after: Mapping[] = (await g.translator.mappings()).filter((m) => inPrefix(m.inside, SOURCE_PREFIX));
      assert.deepEqual(after.map((m) => `${m.protocol} ${m.inside}`), Array(limit).fill(`tcp ${ADDR.c1}`), after.map(describeMapping).join('\n'));
    } finally {
      holder.child.kill('SIGTERM');
      server.child.kill('SIGKILL');
    }
  });
});
