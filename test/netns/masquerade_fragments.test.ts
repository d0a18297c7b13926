// Issue 9 item 5: masquerade maps ports, and a later fragment has none, so it relies on the kernel reassembling
// (nf_defrag_ipv6) before the queue rules. The kernel registers those hooks in a network namespace only while a
// rule there uses conntrack; npt66's own rules carry one (src/rules/plan.ts, NPT66-DEFRAG-*). Here the host namespace has
// no other rule at all: 6000-byte UDP datagrams (MTU 1500: five fragments each way) and a 60 KB ping6 (41
// fragments each way) cross the masquerade and arrive intact, and the daemon logged what it did.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADDR } from './masq/masq_lab';
import { masqSuite } from './masq/suite';
import { npt66Counters, Npt66Masquerade } from './masq/translator';
import { jsonLines, ping, startServer, startTool } from './lib/traffic';

const isRoot = process.getuid?.() === 0;

describe('masquerade: fragmented datagrams both ways', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  const suite = masqSuite('nx-frag-', 'frag');

  test('the reassembly rule is installed and the daemon says so', { skip: suite.kind === 'kernel' && 'npt66 only' }, async () => {
    const rules = await suite.lab.ns('host').ip6tables(['-t', 'raw', '-S']);
    assert.match(rules.stdout, /^-A NPT66-DEFRAG-\d+ -m conntrack --ctstate INVALID$/m);
    assert.doesNotMatch(rules.stdout, /-j NPT66-DEFRAG-/, 'never jumped to');
    const t = suite.translator as Npt66Masquerade;
    const logged = t.running().lines.filter((l) => l.includes('IPv6 reassembly on for masquerade'));
    assert.equal(logged.length, 1, t.running().lines.join('\n'));
    assert.match(logged[0]!, /conntrack match in raw chain NPT66-DEFRAG-\*/);
  });

  test('6000-byte UDP datagrams out and back, byte for byte', async () => {
    const echo = await startServer(suite.lab, 'out', ['udp-echo', 5301]);
    try {
      const before = await npt66Counters(suite.translator);
      const client = startTool(suite.lab, 'c1', ['udp-ping', ADDR.out, 5301, 5, 41301, 6000]);
      const exit = await client.waitExit(30_000);
      assert.equal(exit.code, 0, client.stderr);
      const r = client.lastJson<{ sent: number; received: number; from: string[] }>();
      assert.deepEqual([r.received, r.sent, r.from], [5, 5, [ADDR.out]], 'every 6000-byte echo came back identical');
      const seen = jsonLines<{ from: string; bytes: number }>(echo, 'datagram');
      assert.ok(seen.length >= 5 && seen.every((d) => d.bytes === 6000 && d.from === ADDR.host), JSON.stringify(seen));
      const after = await npt66Counters(suite.translator);
      if (before && after) assert.equal(after.drop_nat66_fragment! - before.drop_nat66_fragment!, 0, 'no fragment reached the engine');
    } finally {
      echo.child.kill('SIGKILL');
      await echo.exited;
    }
  });

  test('a 60 KB ping6 through the masquerade', async () => {
    const r = await ping(suite.lab, 'c1', ADDR.out, { count: 2, size: 60_000, waitS: 5 });
    assert.equal(r.received, 2, r.output);
    assert.match(r.output, /60008 bytes from 2001:4860:4860::8888/, r.output);
  });
});
