// Gateway with masquerade, the real engine and real rules, in network namespaces (root): the address taken from
// the outside interface, TCP/UDP/ping6 from an inside host that the outside host cannot route back to, mapping
// events and the live mappings, table figures, the gateway's own traffic left alone, a refused reload (an entry
// added; test/netns/masquerade_reload_live.test.ts changes one under traffic), a clean stop.
//
//   in (fd00:ab:9::10) ── eth0 gw eth1 (2001:db8:9::1) ── out (2001:db8:9::10)
//
// `out` has no route to fd00:ab:9::/64: an answer proves the masquerade in both directions.
// The Gateway runs in a child process inside gw's namespace (NFQUEUE is per network namespace), driven by JSON lines.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';

import { native } from '../../src/native';
import { Topology, waitFor, type Namespace } from '../../src/netns';
import { GatewayChild } from './lib/gateway_child';

const PREFIX = 'nm2-mq-';
const INSIDE = 'fd00:ab:9::/64';
const INSIDE_HOST = 'fd00:ab:9::10';
const GW_OUT = '2001:db8:9::1';
const OUT_HOST = '2001:db8:9::10';
const QUEUE = 43;
const PEER = path.resolve(__dirname, '../../src/lab/peer.js');

const isRoot = process.getuid?.() === 0;
const Engine = (native as { Engine?: { prototype: Record<string, unknown> } }).Engine;
const hasMasquerade = typeof Engine?.prototype?.mappings === 'function';
const skip = !isRoot ? 'needs root' : !hasMasquerade ? 'the addon has no NAT66 masquerade engine' : false;

function config(ports = '20000-20999') {
  return {
    masquerade: [{ source: INSIDE, interface: 'eth1', ports }],
    queues: { first: QUEUE, count: 1 },
    control: { socket: '/run/nm2-mq-unused.sock' },
  };
}

describe('Gateway with masquerade in network namespaces (real engine, real rules)', { skip }, () => {
  let topo: Topology;
  let gw: Namespace;
  let driver: GatewayChild;
  const send = (cmd: string, cfg?: unknown) => driver.send(cmd, cfg);

  const ping = (from: string, to: string) => topo.ns(from).exec(['ping', '-6', '-c', '1', '-W', '2', to], { allowFailure: true });
  const npt66Rules = async () => (await gw.exec(['ip6tables-save'])).stdout.split('\n').filter((l) => l.includes('NPT66'));
  const client = (from: string, proto: string, port: number) =>
    topo.ns(from).exec([process.execPath, PEER, `${proto}-client`, OUT_HOST, String(port)], { allowFailure: true, timeoutMs: 20_000 });

  before(async () => {
    Topology.removeStale(PREFIX);
    topo = new Topology(PREFIX);
    await topo.addNamespace('in');
    gw = await topo.addNamespace('gw', { forwarding: true });
    await topo.addNamespace('out');
    await topo.link('in', 'eth0', 'gw', 'eth0');
    await topo.link('gw', 'eth1', 'out', 'eth0');
    await topo.addAddress('in', 'eth0', `${INSIDE_HOST}/64`);
    await topo.addAddress('gw', 'eth0', 'fd00:ab:9::1/64');
    await topo.addAddress('gw', 'eth1', `${GW_OUT}/64`);
    await topo.addAddress('out', 'eth0', `${OUT_HOST}/64`);
    await topo.addRoute('in', 'default', 'fd00:ab:9::1');
    for (const proto of ['tcp', 'udp']) {
      const server = topo.spawn('out', [process.execPath, PEER, `${proto}-server`, '5301']);
      let text = '';
      server.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
      await waitFor(`${proto} server`, () => text.includes('listening'));
    }
    driver = GatewayChild.spawn(topo, 'gw');
  });

  after(() => topo?.destroySync());

  test('without npt66 the inside host cannot reach the outside host (no route back)', async () => {
    assert.notEqual((await ping('in', OUT_HOST)).code, 0);
  });

  test("start: the address is eth1's global address; the masquerade rules are installed", async () => {
    const r = await send('start', config());
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal((await send('config')).result.masquerade[0].address, GW_OUT);
    const rules = await npt66Rules();
    for (const expected of [
      `-A NPT66-IN-1 -d ${GW_OUT}/128 -p tcp -m tcp --dport 20000:20999 -j NPT66-INQ-1`,
      `-A NPT66-IN-1 -d ${GW_OUT}/128 -p udp -m udp --dport 20000:20999 -j NPT66-INQ-1`,
      `-A NPT66-IN-1 -d ${GW_OUT}/128 -p ipv6-icmp -m icmp6 --icmpv6-type 129 -j NPT66-INQ-1`,
      `-A NPT66-OUT-1 -s ${INSIDE} -o eth1 -j NPT66-OUTQ-1`,
    ]) {
      assert.ok(rules.some((l) => l.replace(' -g ', ' -j ') === expected), `${expected} not in:\n${rules.join('\n')}`);
    }
  });

  test('ping6, UDP and TCP from the inside host arrive from the masquerade address and a port in the range', async () => {
    assert.equal((await ping('in', OUT_HOST)).code, 0, 'ping6 in -> out');
    for (const proto of ['udp', 'tcp']) {
      const r = await client('in', proto, 5301);
      assert.equal(r.code, 0, r.stderr);
      const m = /seen-from (\S+) port (\d+)/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.equal(m[1], GW_OUT);
      assert.ok(Number(m[2]) >= 20000 && Number(m[2]) <= 20999, `${proto} port ${m[2]}`);
    }
  });

  test('the gateway\'s own traffic is left alone (its sockets use ports outside the range)', async () => {
    assert.equal((await ping('gw', OUT_HOST)).code, 0, 'ping6 from gw itself (its echo reply is queued, matches no mapping, accepted)');
    const r = await client('gw', 'tcp', 5301);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`seen-from ${GW_OUT} port (3[2-9]\\d{3}|[4-6]\\d{4})`), 'an ephemeral port of the local range');
  });

  test('mapping events, the live mappings and the table figures', async () => {
    await waitFor('NEW events for icmpv6, udp and tcp', async () => {
      const events = (await send('events')).result as { type: string; e: any }[];
      const news = events.filter((x) => x.type === 'mapping' && x.e.event === 'NEW').map((x) => x.e.mapping.protocol);
      return ['icmpv6', 'udp', 'tcp'].every((p) => news.includes(p));
    }, 5000);
    const events = (await send('events')).result as { type: string; e: any }[];
    const udpNew = events.find((x) => x.type === 'mapping' && x.e.event === 'NEW' && x.e.mapping.protocol === 'udp')!.e;
    assert.equal(udpNew.mapping.inside, INSIDE_HOST);
    assert.equal(udpNew.mapping.outside, GW_OUT);
    assert.equal(udpNew.mapping.remote, OUT_HOST);
    assert.equal(udpNew.mapping.remotePort, 5301);
    assert.match(udpNew.time, /^\d{4}-/);

    const mappings = (await send('mappings')).result as any[];
    const protocols = mappings.filter((m) => m.inside === INSIDE_HOST).map((m) => m.protocol).sort();
    assert.deepEqual(protocols, ['icmpv6', 'tcp', 'udp']);
    const udp = mappings.find((m) => m.protocol === 'udp');
    assert.equal(udp.packetsOut, 1);
    assert.equal(udp.packetsIn, 1);

    const s = (await send('stats')).result;
    assert.equal(s.masquerade.length, 1);
    assert.equal(s.masquerade[0].address, GW_OUT);
    assert.equal(s.masquerade[0].live, 3);
    assert.ok(s.total.nat66_outbound >= 3 && s.total.nat66_inbound >= 3, JSON.stringify(s.total));
    assert.ok(s.total.nat66_inbound_unmapped >= 1, "the gateway's own echo reply was queued and accepted");
  });

  test('a reload that adds a masquerade entry is refused and traffic keeps flowing', async () => {
    const one = config();
    const two = { ...one, masquerade: [...one.masquerade, { source: 'fd00:ab:8::/64', interface: 'eth1', address: '2001:db8:9::99', ports: '22000-22999' }] };
    const r = await send('reload', two);
    assert.equal(r.ok, false);
    assert.equal(r.error!.code, 'ERR_NPT66_RELOAD');
    assert.match(r.error!.message, /adding or removing a masquerade entry needs a restart/);
    assert.equal((await client('in', 'udp', 5301)).code, 0);
  });

  test('stop removes every rule', async () => {
    assert.deepEqual(await send('stop'), { ok: true });
    await waitFor('the driver to exit', () => driver.child.exitCode !== null);
    assert.equal(driver.child.exitCode, 0);
    assert.deepEqual(await npt66Rules(), []);
  });
});
