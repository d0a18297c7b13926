// Issue 4: hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8), UDP and TCP: a container reaches another container
// through the host's outside address and the other's outside port, and sees it by its outside address and port
// (not its inside one). With endpoint-independent filtering the listening container's mapping accepts the
// first packet; its outside port is learnt from the translator's mapping list after it sent something out.
// The kernel's MASQUERADE has no hairpinning for dynamic mappings (the packet is for the host itself, where
// nothing listens): against it the tests assert that nothing gets through, which is what "the same test fails
// without hairpinning" looks like.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../../src/netns';
import { ADDR } from './masq/masq_lab';
import { describeMapping } from './masq/mapping';
import { masqSuite } from './masq/suite';
import { jsonLines, listening, startTool } from './lib/traffic';
import { startFlow } from './masq/traffic';
import { PORT_RANGE, npt66Counters, waitForMapping } from './masq/translator';

describe('masquerade: hairpinning between containers', () => {
  const g = masqSuite('nx-hp-', 'hairpin', { filtering: 'endpoint-independent' });

  test('UDP: c1 reaches c2 at [host]:c2’s outside port and each sees the other’s outside endpoint', async () => {
    const { lab, translator: t } = g;
    const c2Port = 25700;
    const c1Port = 25701;
    const count = g.kind === 'kernel' ? 2 : 10; // against the kernel every exchange waits out its retries
    const c2 = await listening(startFlow(lab, 'c2', ['udp-announce', c2Port, ADDR.out, 5709]));
    try {
      const m2 = await waitForMapping(t, 'c2’s mapping', (m) => m.protocol === 'udp' && m.inside === ADDR.c2 && m.insidePort === c2Port);
      assert.equal(m2.outside, ADDR.host);
      const c1 = startTool(lab, 'c1', ['udp-ping', ADDR.host, m2.outsidePort, count, c1Port]);
      assert.equal((await c1.waitExit(60_000)).code, 0, c1.stderr);
      const r = c1.lastJson<{ sent: number; received: number; from: string[] }>();
      const arrived = jsonLines<{ from: string; port: number; text: string }>(c2, 'datagram').filter((d) => d.text.startsWith('npt66-nt udp exchange'));
      if (g.kind === 'kernel') {
        assert.deepEqual({ received: r.received, arrived: arrived.length }, { received: 0, arrived: 0 }, 'the kernel’s MASQUERADE does not hairpin');
        return;
      }
      assert.deepEqual({ sent: r.sent, received: r.received, from: r.from }, { sent: count, received: count, from: [ADDR.host] }, 'c1 hears back from [host]:port');
      const m1 = await waitForMapping(t, 'c1’s mapping', (m) => m.protocol === 'udp' && m.inside === ADDR.c1 && m.insidePort === c1Port);
      assert.equal(m1.outside, ADDR.host);
      assert.ok(m1.outsidePort >= PORT_RANGE.min && m1.outsidePort <= PORT_RANGE.max, describeMapping(m1));
      // c2 sees c1 by its outside endpoint, never by its inside address.
      assert.deepEqual([...new Set(arrived.map((d) => `[${d.from}]:${d.port}`))], [`[${ADDR.host}]:${m1.outsidePort}`]);
      const c = await npt66Counters(t);
      assert.ok(c && c.nat66_hairpin >= 2 * count, `every request and answer turned around at the host: ${JSON.stringify(c)}`);
    } finally {
      c2.child.kill('SIGKILL');
    }
  });

  // c2 listens and also connects out from the same port (SO_REUSEPORT, as a peer-to-peer program does), which
  // gives the port a mapping; c1 then connects to [host]:that outside port. socat tells c1 who c2 saw.
  test('TCP: c1 connects to c2’s listening port through [host]:its outside port and gets its data echoed', async () => {
    const { lab, translator: t } = g;
    const c2Port = 25720;
    const listener = lab.topology.spawn('c2', ['socat', `TCP6-LISTEN:${c2Port},reuseport,reuseaddr,fork`, 'SYSTEM:echo "peer $SOCAT_PEERADDR $SOCAT_PEERPORT"; cat']);
    const server = await listening(startFlow(lab, 'out', ['tcp-echo', 5720]));
    try {
      await waitFor('c2 to listen', async () => (await lab.ns('c2').exec(['ss', '-ltnH', `sport = :${c2Port}`])).stdout.includes(`:${c2Port}`));
      const out = await lab.ns('c2').exec(['socat', '-u', 'OPEN:/dev/null', `TCP6:[${ADDR.out}]:5720,sourceport=${c2Port},reuseport,reuseaddr,connect-timeout=5`], { allowFailure: true });
      assert.equal(out.code, 0, `c2's outbound connection from its listening port: ${out.stderr}`);
      const m2 = await waitForMapping(t, 'c2’s TCP mapping', (m) => m.protocol === 'tcp' && m.inside === ADDR.c2 && m.insidePort === c2Port);
      const c1 = await lab.ns('c1').exec(['socat', '-t', '2', '-', `TCP6:[${ADDR.host}]:${m2.outsidePort},connect-timeout=3`], { input: 'hairpin over tcp\n', allowFailure: true, timeoutMs: 20_000 });
      if (g.kind === 'kernel') {
        assert.notEqual(c1.code, 0, `the kernel’s MASQUERADE does not hairpin: ${c1.stdout}`);
        return;
      }
      assert.equal(c1.code, 0, c1.stderr);
      const [peerLine, echoed] = c1.stdout.split('\n');
      const m1 = await waitForMapping(t, 'c1’s TCP mapping', (m) => m.protocol === 'tcp' && m.inside === ADDR.c1 && m.remotePort === m2.outsidePort);
      assert.equal(peerLine, `peer [${ADDR.host}] ${m1.outsidePort}`, 'c2 sees c1 by its outside endpoint');
      assert.equal(echoed, 'hairpin over tcp');
    } finally {
      listener.kill('SIGKILL');
      server.child.kill('SIGKILL');
    }
  });
});
