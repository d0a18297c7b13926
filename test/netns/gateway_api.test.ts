// Gateway with the real engine and real rules, in network namespaces (root): start, traffic both ways, stats,
// reload of the prefixes under a running gateway, a refused reload, stop leaving no rule behind.
//
//   in (fd00:ab:1::10) ── eth0 gw eth1 ── out (2001:db8:5::10)
//
// `out` routes only the outside prefixes to gw: a ping answered proves the translation in both directions.
// The Gateway runs in a child process inside gw's namespace (NFQUEUE is per network namespace), driven by JSON lines.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { native } from '../../src/native';
import { Topology, waitFor, type Namespace } from '../../src/netns';
import { GatewayChild } from './lib/gateway_child';
import { Translator } from '../../src/translator';

const PREFIX = 'ng-gt-';
const INSIDE = 'fd00:ab:1::/64';
const OUTSIDE_A = '2001:db8:66::/64';
const OUTSIDE_B = '2001:db8:67::/64';
const QUEUE = 41;

const isRoot = process.getuid?.() === 0;
const hasEngine = typeof (native as { Engine?: unknown }).Engine === 'function';
const skip = !isRoot ? 'needs root' : !hasEngine ? 'the addon has no queue engine' : false;

function config(outside: string, queueFirst = QUEUE) {
  return {
    nptv6: [{ inside: INSIDE, outside, interface: 'eth1' }],
    queues: { first: queueFirst, count: 1 },
    control: { socket: '/run/ng-gt-unused.sock' },
  };
}

describe('Gateway in network namespaces (real engine, real rules)', { skip }, () => {
  let topo: Topology;
  let gw: Namespace;
  let driver: GatewayChild;
  const send = (cmd: string, cfg?: unknown) => driver.send(cmd, cfg);

  const ping = (from: string, to: string) => topo.ns(from).exec(['ping', '-6', '-c', '1', '-W', '2', to], { allowFailure: true });
  const npt66Rules = async () => (await gw.exec(['ip6tables-save'])).stdout.split('\n').filter((l) => l.includes('NPT66'));

  before(async () => {
    Topology.removeStale(PREFIX);
    topo = new Topology(PREFIX);
    await topo.addNamespace('in');
    gw = await topo.addNamespace('gw', { forwarding: true });
    await topo.addNamespace('out');
    await topo.link('in', 'eth0', 'gw', 'eth0');
    await topo.link('gw', 'eth1', 'out', 'eth0');
    await topo.addAddress('in', 'eth0', 'fd00:ab:1::10/64');
    await topo.addAddress('gw', 'eth0', 'fd00:ab:1::1/64');
    await topo.addAddress('gw', 'eth1', '2001:db8:5::1/64');
    await topo.addAddress('out', 'eth0', '2001:db8:5::10/64');
    await topo.addRoute('in', 'default', 'fd00:ab:1::1');
    await topo.addRoute('gw', 'default', '2001:db8:5::10');
    await topo.addRoute('out', OUTSIDE_A, '2001:db8:5::1');
    await topo.addRoute('out', OUTSIDE_B, '2001:db8:5::1');
    driver = GatewayChild.spawn(topo, 'gw');
  });

  after(() => topo?.destroySync());

  test('without npt66 the inside host cannot reach the outside host (no route back to the inside prefix)', async () => {
    assert.notEqual((await ping('in', '2001:db8:5::10')).code, 0);
  });

  test('start binds the queue and installs the rules; ping6 works both ways and is counted per mapping', async () => {
    const r = await send('start', config(OUTSIDE_A));
    assert.deepEqual(r, { ok: true, result: 'ip6tables' });
    const rules = await npt66Rules();
    assert.ok(rules.includes('-A NPT66-INQ-1 -j NFQUEUE --queue-num 41'), rules.join('\n'));
    assert.ok(rules.includes('-A PREROUTING -j NPT66-IN-1') && rules.includes('-A POSTROUTING -j NPT66-OUT-1'));
    assert.equal((await ping('in', '2001:db8:5::10')).code, 0, 'inside -> outside (request out, reply in)');
    const outsideAddress = new Translator([{ inside: INSIDE, outside: OUTSIDE_A }]).mapAddress('fd00:ab:1::10', 'outbound').output!;
    assert.equal((await ping('out', outsideAddress)).code, 0, `outside -> ${outsideAddress} (request in, reply out)`);
    const s = (await send('stats')).result;
    assert.equal(s.mappings[0].outside, OUTSIDE_A);
    assert.equal(s.mappings[0].outbound, 2);
    assert.equal(s.mappings[0].inbound, 2);
    assert.equal(s.queues[0].queue, QUEUE);
    assert.equal(s.queues[0].kernel.copyMode, 2, 'COPY_PACKET');
    assert.equal(s.total.queue_received, 4);
    assert.equal(s.total.nptv6_outbound, 2);
    assert.equal(s.total.nptv6_inbound, 2);
  });

  test('reload to another outside prefix: new rules replace the old ones and traffic uses the new prefix', async () => {
    const r = await send('reload', config(OUTSIDE_B));
    assert.deepEqual(r, { ok: true, result: { mappingsChanged: true, rulesChanged: true } });
    const rules = await npt66Rules();
    assert.ok(rules.includes('-A NPT66-IN-2 -d 2001:db8:67::/64 -g NPT66-INQ-2'), rules.join('\n'));
    assert.ok(!rules.some((l) => l.includes('NPT66-IN-1') || l.includes('NPT66-OUT-1')), 'the old chains are gone');
    assert.equal((await ping('in', '2001:db8:5::10')).code, 0);
    const s = (await send('stats')).result;
    assert.equal(s.mappings[0].outside, OUTSIDE_B);
  });

  test('a reload that would rebind the queues is refused and the gateway keeps working', async () => {
    const r = await send('reload', config(OUTSIDE_A, QUEUE + 1));
    assert.equal(r.ok, false);
    assert.equal(r.error!.code, 'ERR_NPT66_RELOAD');
    assert.equal((await ping('in', '2001:db8:5::10')).code, 0);
    assert.equal((await send('stats')).result.mappings[0].outside, OUTSIDE_B);
  });

  test('stop removes every rule; the queue is unbound', async () => {
    assert.deepEqual(await send('stop'), { ok: true });
    await waitFor('the driver to exit', () => driver.child.exitCode !== null);
    assert.equal(driver.child.exitCode, 0);
    assert.deepEqual(await npt66Rules(), []);
    const proc = (await gw.exec(['cat', '/proc/net/netfilter/nfnetlink_queue'], { allowFailure: true })).stdout;
    assert.ok(!proc.split('\n').some((l) => l.trim().split(/\s+/)[0] === String(QUEUE)), proc);
  });
});
