// Issue 4: mapping timers with shortened timeouts. An ICMPv6 echo mapping lives while outbound echoes refresh
// it and is destroyed once they stop (RFC 5508 REQ-1 with a test value); a TCP mapping falls to the transitory
// timer after FIN both ways or a RST (RFC 5382 REQ-5, RFC 7857 §2.2), long before the established one.
// "Destroyed" = a DESTROY event and gone from the live list. UDP keeps its RFC minimum of 120 s (RFC 4787
// REQ-5), too long for a test. No test asserts how long anything took.
// Translator: npt66 (NPT66_NETNS_TRANSLATOR=kernel: the kernel's MASQUERADE with the same conntrack timeouts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../../src/netns';
import { ADDR } from './masq/masq_lab';
import { describeMapping, type Mapping, type MappingEvent } from './masq/mapping';
import { masqSuite } from './masq/suite';
import { listening, ping } from './lib/traffic';
import { startFlow } from './masq/traffic';
import { npt66Counters, waitForEvent, type MasqTranslator } from './masq/translator';

const TIMEOUTS = { icmp: 2, tcpTransitory: 5, udp: 120, tcpEstablished: 7440 };

const sameMapping = (a: Mapping) => (b: Mapping) =>
  b.protocol === a.protocol && b.inside === a.inside && b.insidePort === a.insidePort && b.outside === a.outside && b.outsidePort === a.outsidePort;

// Waits (generously: the timer plus a busy machine) until `m` is gone from the live list and a DESTROY for it
// arrived; returns that event.
async function waitDestroyed(t: MasqTranslator, m: Mapping, timeoutMs = 30_000): Promise<MappingEvent> {
  let destroy: MappingEvent | undefined;
  let live: Mapping[] = [];
  try {
    await waitFor(
      `${describeMapping(m)} to be destroyed`,
      async () => {
        live = await t.mappings(); // also what makes the kernel reap an expired conntrack entry now
        destroy = t.events.find((e) => e.event === 'DESTROY' && sameMapping(m)(e));
        return destroy !== undefined && !live.some(sameMapping(m));
      },
      timeoutMs,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlive:\n${live.map(describeMapping).join('\n')}\nevents:\n${t.events.map((x) => `${x.event} ${describeMapping(x)}`).join('\n')}`);
  }
  return destroy as MappingEvent;
}

describe('masquerade: timers with shortened timeouts', () => {
  const g = masqSuite('nx-ti-', 'timers', { timeouts: TIMEOUTS });

  test('ICMPv6 echo: outbound echoes keep the mapping; once they stop it is destroyed after its timeout', async () => {
    const t = g.translator;
    // 8 echoes 0.5 s apart span twice the 2 s timeout: only refreshing keeps one mapping for all of them.
    const p = await ping(g.lab, 'c1', ADDR.out, { count: 8, intervalS: 0.5 });
    assert.equal(p.received, 8, p.output);
    const created = t.events.filter((e) => e.event === 'NEW' && e.protocol === 'icmpv6' && e.inside === ADDR.c1);
    assert.equal(created.length, 1, `one mapping for the whole ping run:\n${t.events.map((x) => `${x.event} ${describeMapping(x)}`).join('\n')}`);
    const m = created[0];
    assert.equal(m.outside, ADDR.host);
    const destroyed = await waitDestroyed(t, m);
    assert.equal(destroyed.outsidePort, m.outsidePort);
    assert.equal(t.events.filter((e) => e.event === 'DESTROY' && sameMapping(m)(e)).length, 1, 'destroyed once');
  });

  test('TCP: after FIN both ways, and after a RST, the mapping falls to the transitory timer', async () => {
    const t = g.translator;
    const server = await listening(startFlow(g.lab, 'out', ['tcp-echo', 5500]));
    try {
      const fin = startFlow(g.lab, 'c1', ['tcp-once', ADDR.out, 5500, 100_000, 'fin']);
      const rst = startFlow(g.lab, 'c2', ['tcp-once', ADDR.out, 5500, 100_000, 'rst']);
      const port = async (p: typeof fin) => (JSON.parse(await p.waitForLine('connected', (l) => l.includes('"connected"'), 20_000)) as { localPort: number }).localPort;
      const [finPort, rstPort] = await Promise.all([port(fin), port(rst)]);
      for (const p of [fin, rst]) assert.equal((await p.waitExit(30_000)).code, 0, p.stderr);

      const mappings: Record<'fin' | 'rst', Mapping> = {
        fin: await waitForEvent(t, 'NEW for the FIN connection', (e) => e.event === 'NEW' && e.protocol === 'tcp' && e.inside === ADDR.c1 && e.insidePort === finPort),
        rst: await waitForEvent(t, 'NEW for the RST connection', (e) => e.event === 'NEW' && e.protocol === 'tcp' && e.inside === ADDR.c2 && e.insidePort === rstPort),
      };
      // tcpEstablished is 7440 s: a DESTROY now can only come from the transitory timer.
      const [dFin, dRst] = await Promise.all([waitDestroyed(t, mappings.fin), waitDestroyed(t, mappings.rst)]);
      assert.equal(dFin.outside, ADDR.host);
      assert.equal(dRst.outside, ADDR.host);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  test('npt66 counted the expiries', { skip: g.kind !== 'npt66' && 'npt66 only' }, async () => {
    const c = await npt66Counters(g.translator);
    assert.ok(c && c.nat66_mapping_expired >= 3, `the echo mapping and both TCP mappings: ${JSON.stringify(c)}`);
  });
});
