// Issue 4: hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8): a container reaches another container through the
// host's outside address and the other's outside port, and sees it by its outside address and port (not its
// inside one). With endpoint-independent filtering the listening container's mapping accepts the first
// datagram; its outside port is learnt from the translator's mapping list after it sent one datagram out.
// The kernel's MASQUERADE has no hairpinning for dynamic mappings (the datagram is for the host itself, where
// nothing listens): against it the test asserts that nothing arrives, which is what "the same test fails
// without hairpinning" looks like.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADDR } from './masq/masq_lab';
import { describeMapping } from './masq/mapping';
import { masqSuite } from './masq/suite';
import { jsonLines, listening, startFlow, startTool } from './masq/traffic';
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
});
