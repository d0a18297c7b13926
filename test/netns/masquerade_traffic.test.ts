// Issue 4: real traffic from several containers at once through the Docker host's masquerade — TCP (50 MiB
// and two more streams, sha256 at both ends), UDP and ping6 together — in both filtering modes, and what the
// outside host sees: the host's address only. Then what each filtering mode lets in (RFC 4787 §5).
// Translator: npt66 (NPT66_NETNS_TRANSLATOR=kernel runs the same tests against the kernel's MASQUERADE).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ICMPV6_ECHO_REQUEST, describe as describePacket } from './lib/ipv6_decode';
import { Capture, type CapturedPacket } from './lib/capture';
import { ADDR, CONTAINERS, type Container } from './masq/masq_lab';
import { describeMapping } from './masq/mapping';
import { masqSuite } from './masq/suite';
import { jsonLines, listening, ping, startTool } from './lib/traffic';
import { startFlow, tcpTransfer } from './masq/traffic';
import { growth } from './lib/npt66_daemon';
import { PORT_RANGE, npt66Counters, waitForMapping, type Filtering } from './masq/translator';

const MIB = 1 << 20;
const inRange = (p: number) => p >= PORT_RANGE.min && p <= PORT_RANGE.max;

// Every source the outside host may see: the Docker host, the outside host itself, the router, link-local ND.
const EXPECTED_SOURCES = ['not', 'src', 'host', ADDR.host, 'and', 'not', 'src', 'host', ADDR.out, 'and', 'not', 'src', 'host', ADDR.outSmallMtu, 'and', 'not', 'src', 'host', ADDR.r1Outside, 'and', 'not', 'src', 'net', 'fe80::/10'];

describe('masquerade: traffic from several containers at once', () => {
  const g = masqSuite('nx-tr-', 'traffic');

  // All three containers at once: TCP streams, UDP exchanges from the same source port, ping6.
  async function everyoneAtOnce(tcpBytes: Record<Container, number>, basePort: number): Promise<void> {
    const { lab } = g;
    const unexpected = await Capture.start(lab, 'out', 'eth0', ['ip6', 'and', ...EXPECTED_SOURCES]);
    const echoes = await Capture.start(lab, 'out', 'eth0', ['icmp6', 'and', 'ip6[40]', '==', String(ICMPV6_ECHO_REQUEST)]);
    const udpEcho = await listening(startTool(lab, 'out', ['udp-echo', basePort]));
    let leaked: CapturedPacket[] = [];
    let requests: CapturedPacket[] = [];
    const sameSourcePort = 25000;
    try {
      const [tcp, udp, pings] = await Promise.all([
        Promise.all(CONTAINERS.map((c, i) => tcpTransfer(lab, c, 'out', ADDR.out, tcpBytes[c], basePort + 1 + i))),
        Promise.all(
          CONTAINERS.map(async (c) => {
            const client = startTool(lab, c, ['udp-ping', ADDR.out, basePort, 20, sameSourcePort]);
            const exit = await client.waitExit(60_000);
            assert.equal(exit.code, 0, client.stderr);
            return client.lastJson<{ sent: number; received: number; from: string[] }>();
          }),
        ),
        Promise.all(CONTAINERS.map((c) => ping(lab, c, ADDR.out, { count: 10, intervalS: 0.02 }))),
      ]);
      for (const [i, c] of CONTAINERS.entries()) {
        assert.equal(tcp[i].received.bytes, tcpBytes[c], `${c}: TCP bytes`);
        assert.equal(tcp[i].received.sha256, tcp[i].sent.sha256, `${c}: TCP content`);
        assert.equal(tcp[i].sent.local, ADDR[c], `${c} sends from its own address`);
        assert.equal(tcp[i].received.peer, ADDR.host, `${c}: the outside host sees the host's address`);
        assert.deepEqual({ sent: udp[i].sent, received: udp[i].received, from: udp[i].from }, { sent: 20, received: 20, from: [ADDR.out] }, `${c}: UDP`);
        assert.equal(pings[i].received, 10, `${c}: ping6\n${pings[i].output}`);
      }
      // Three containers, one source port: the server sees the host's address with three different ports.
      const udpSources = [...new Set(jsonLines<{ from: string; port: number }>(udpEcho, 'datagram').map((d) => `${d.from} ${d.port}`))];
      assert.equal(udpSources.length, 3, `UDP sources seen outside: ${udpSources.join(', ')}`);
      for (const s of udpSources) {
        const [addr, port] = s.split(' ');
        assert.equal(addr, ADDR.host);
        assert.ok(inRange(Number(port)), `outside port ${port} in ${PORT_RANGE.min}-${PORT_RANGE.max}`);
      }
      assert.ok(udpSources.some((s) => s.endsWith(` ${sameSourcePort}`)), `one container kept port ${sameSourcePort}: ${udpSources.join(', ')}`);
      await echoes.waitUntil('30 echo requests', (ps) => ps.length >= 30);
    } finally {
      udpEcho.child.kill('SIGKILL');
      leaked = await unexpected.stop();
      requests = await echoes.stop();
    }
    assert.deepEqual(leaked.map((p) => describePacket(p.decoded)), [], 'packets on the outside wire from a source other than the host');
    assert.deepEqual([...new Set(requests.map((p) => `${p.decoded.src} > ${p.decoded.dst}`))], [`${ADDR.host} > ${ADDR.out}`]);
    assert.equal(requests.length, 30, 'every echo request crossed the outside wire once');

    // The translator's own view: one UDP mapping per container, all to the host's address, all ports distinct.
    const udpMappings = (await g.translator.mappings()).filter((m) => m.protocol === 'udp' && m.insidePort === sameSourcePort && m.remotePort !== null);
    assert.deepEqual(udpMappings.map((m) => m.inside).sort(), CONTAINERS.map((c) => ADDR[c]).sort(), udpMappings.map(describeMapping).join('\n'));
    assert.ok(udpMappings.every((m) => m.outside === ADDR.host && inRange(m.outsidePort)), udpMappings.map(describeMapping).join('\n'));
    assert.equal(new Set(udpMappings.map((m) => m.outsidePort)).size, 3, udpMappings.map(describeMapping).join('\n'));
  }

  test('address-dependent filtering: 50 MiB + 2 x 8 MiB TCP, UDP and ping6 from three containers at once', async () => {
    await g.restart({ filtering: 'address-dependent' });
    await everyoneAtOnce({ c1: 50 * MIB, c2: 8 * MIB, c3: 8 * MIB }, 5100);
  });

  test('endpoint-independent filtering: 3 x 8 MiB TCP, UDP and ping6 from three containers at once', async () => {
    await g.restart({ filtering: 'endpoint-independent' });
    await everyoneAtOnce({ c1: 8 * MIB, c2: 8 * MIB, c3: 8 * MIB }, 5200);
  });

  // Which unsolicited datagrams reach a mapping (RFC 4787 §5): from the remote's address but another port, and
  // from another address. The kernel's conntrack is address-and-port-dependent: neither gets in.
  for (const filtering of ['address-dependent', 'endpoint-independent'] as Filtering[]) {
    test(`${filtering} filtering: which unsolicited datagrams reach a container’s mapping`, async () => {
      const { lab } = g;
      await g.restart({ filtering });
      const insidePort = 25100;
      const remotePort = 5009; // nothing listens there: only the mapping matters
      const c1 = await listening(startFlow(lab, 'c1', ['udp-announce', insidePort, ADDR.out, remotePort]));
      try {
        const m = await waitForMapping(g.translator, 'the UDP mapping of c1', (x) => x.protocol === 'udp' && x.inside === ADDR.c1 && x.insidePort === insidePort);
        assert.equal(m.outside, ADDR.host);
        const countersBefore = await npt66Counters(g.translator);
        const send = async (src: string, sport: number, text: string) => {
          const p = startFlow(lab, 'out', ['udp-send-from', src, sport, ADDR.host, m.outsidePort, text]);
          assert.equal((await p.waitExit(10_000)).code, 0, p.stderr);
        };
        await send(ADDR.out, remotePort + 1, 'same-address-other-port');
        await send(ADDR.outSmallMtu, remotePort, 'other-address');
        await send(ADDR.out, remotePort, 'marker'); // the exact remote endpoint: always let in, and last
        await c1.waitForLine('the marker', (l) => l.includes('"text":"marker"'));
        const arrived = jsonLines<{ text: string; from: string }>(c1, 'datagram');
        const got = { sameAddressOtherPort: arrived.some((d) => d.text === 'same-address-other-port'), otherAddress: arrived.some((d) => d.text === 'other-address') };
        const expected =
          g.kind === 'kernel'
            ? { sameAddressOtherPort: false, otherAddress: false }
            : { sameAddressOtherPort: true, otherAddress: filtering === 'endpoint-independent' };
        assert.deepEqual(got, expected, `arrived at c1: ${JSON.stringify(arrived)}`);
        for (const d of arrived) assert.ok(([ADDR.out, ADDR.outSmallMtu] as string[]).includes(d.from), `c1 sees the real remote address, got ${d.from}`);
        if (countersBefore) {
          // The datagram from the other address is the one address-dependent filtering refuses, and counts.
          const grew = growth(countersBefore, (await npt66Counters(g.translator)) ?? {});
          assert.equal(grew.drop_nat66_filtered ?? 0, filtering === 'address-dependent' ? 1 : 0, JSON.stringify(grew));
          assert.equal(grew.nat66_inbound, filtering === 'address-dependent' ? 2 : 3, JSON.stringify(grew));
        }
      } finally {
        c1.child.kill('SIGKILL');
      }
    });
  }

  test('npt66 translated the traffic both ways and dropped nothing it should have translated', { skip: g.kind !== 'npt66' && 'npt66 only' }, async () => {
    const c = await npt66Counters(g.translator);
    assert.ok(c && c.nat66_outbound > 0 && c.nat66_inbound > 0, JSON.stringify(c));
    const drops = Object.entries(c).filter(([k, v]) => k.startsWith('drop_') && v > 0);
    assert.deepEqual(drops, [], 'drops since the last restart (endpoint-independent filtering: none expected)');
  });

  test('the translator stops cleanly (npt66: exit 0, rules removed); then nothing gets out', async () => {
    await g.translator.stop();
    const p = await ping(g.lab, 'c1', ADDR.out, { count: 2, intervalS: 0.05, waitS: 1 });
    assert.equal(p.received, 0, 'without masquerading the outside host cannot answer (r1 has no route to the containers)');
  });
});
