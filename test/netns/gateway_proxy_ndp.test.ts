// Issue 11 part 3: proxy NDP. r1 has no route for the outside prefix through the gateway, only an on-link route on
// its link to gw (eth0), so it asks for each outside address with a Neighbor Solicitation there. What must hold:
//   - without "proxyNdp" nobody answers: r1 cannot reach in1's outside address;
//   - with it (turned on by a reload) npt66 has the kernel answer for the outside address of each inside host that
//     is a live neighbour of the gateway, and r1 reaches in1;
//   - an address outside the configured prefix (on-link on the same wire) gets no answer;
//   - an inside host that is gone (its neighbour entry on the gateway gone) gets no answer any more;
//   - turning it off, and stopping, removes every proxy entry and puts proxy_ndp back.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../../src/netns';
import { ADDR, GatewayLab, GW_INSIDE_IF, GW_OUTSIDE_IF, INSIDE_PREFIX, OUTSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { ping } from './lib/traffic';
import { type Npt66Daemon, translatorKindUnderTest } from './lib/translator';

const OTHER_PREFIX = '2001:db8:ff67::/64'; // also on-link for r1 on the same wire, never configured
const OTHER_ADDRESS = '2001:db8:ff67::10';

describe('gateway: proxy NDP for an on-link outside prefix', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only' }, () => {
  const g = gatewaySuite('nt-pn-', 'proxyndp', { startTranslator: false });

  test('answers for live inside hosts only, inside the prefix only, and stops when they go', async () => {
    const t = g.lab.topology;
    const gw = t.ns('gw');
    const r1 = t.ns('r1');
    await r1.exec(['ip', '-6', 'route', 'replace', OUTSIDE_PREFIX, 'dev', 'eth0']);
    await r1.exec(['ip', '-6', 'route', 'replace', OTHER_PREFIX, 'dev', 'eth0']);
    const proxied = async () =>
      (await gw.exec(['ip', '-6', 'neigh', 'show', 'proxy', 'dev', GW_OUTSIDE_IF])).stdout
        .split('\n')
        .map((l) => l.trim().split(' ')[0]!)
        .filter(Boolean)
        .sort();
    const proxySysctl = async () => (await gw.exec(['sysctl', '-n', `net.ipv6.conf.${GW_OUTSIDE_IF}.proxy_ndp`])).stdout.trim();
    const forgetAtR1 = () => r1.exec(['ip', '-6', 'neigh', 'flush', 'dev', 'eth0']);
    const in1Out = GatewayLab.outsideOf(ADDR.in1);
    const in2Out = GatewayLab.outsideOf(ADDR.in2);

    const daemon = g.translator as Npt66Daemon;
    const config = (proxyNdp: boolean) => ({
      nptv6: [{ inside: INSIDE_PREFIX, outside: OUTSIDE_PREFIX, interface: GW_OUTSIDE_IF, ...(proxyNdp ? { proxyNdp } : {}) }],
      queues: { first: 0, count: 1 },
      failOpen: false,
      control: { socket: daemon.socket },
    });
    await daemon.launch(config(false));
    // Both inside hosts are live neighbours of the gateway.
    for (const h of ['in1', 'in2'] as const) assert.equal((await ping(g.lab, h, ADDR.gwInside, { count: 1 })).received, 1, `${h} reaches gw`);

    assert.equal((await ping(g.lab, 'r1', in1Out, { count: 2, waitS: 2 })).received, 0, 'no answer without proxyNdp');
    assert.deepEqual(await proxied(), []);

    assert.equal((await daemon.reload(config(true))).ok, true);
    await waitFor('proxy entries for in1 and in2', async () => (await proxied()).join() === [in1Out, in2Out].sort().join());
    assert.equal(await proxySysctl(), '1');
    await forgetAtR1();
    assert.ok((await ping(g.lab, 'r1', in1Out, { count: 2, waitS: 3 })).received >= 1, 'r1 reaches in1 by its outside address');
    assert.equal((await ping(g.lab, 'r1', OTHER_ADDRESS, { count: 2, waitS: 2 })).received, 0, 'no answer outside the prefix');
    const r1Neigh = (await r1.exec(['ip', '-6', 'neigh', 'show', 'dev', 'eth0'])).stdout;
    assert.doesNotMatch(r1Neigh, new RegExp(`^${OTHER_ADDRESS} .*lladdr`, 'm'), r1Neigh);

    // in2 goes: its address removed, and the gateway's neighbour entry with it (what FAILED and garbage
    // collection do in time).
    await t.ns('in2').exec(['ip', '-6', 'addr', 'del', `${ADDR.in2}/64`, 'dev', 'eth0']);
    await gw.exec(['ip', '-6', 'neigh', 'flush', 'to', ADDR.in2, 'dev', GW_INSIDE_IF]);
    await waitFor('in2 no longer proxied', async () => (await proxied()).join() === in1Out);
    await forgetAtR1();
    assert.equal((await ping(g.lab, 'r1', in2Out, { count: 2, waitS: 2 })).received, 0, 'no answer for a host that went');
    const after = (await r1.exec(['ip', '-6', 'neigh', 'show', 'dev', 'eth0'])).stdout;
    assert.doesNotMatch(after, new RegExp(`^${in2Out} .*lladdr`, 'm'), after);
    assert.ok((await ping(g.lab, 'r1', in1Out, { count: 1, waitS: 3 })).received >= 1, 'in1 still answered');

    // Off by a reload, then stop: nothing left behind.
    assert.equal((await daemon.reload(config(false))).ok, true);
    assert.deepEqual(await proxied(), []);
    assert.equal(await proxySysctl(), '0');
    assert.equal((await daemon.reload(config(true))).ok, true);
    await waitFor('in1 proxied again', async () => (await proxied()).join() === in1Out);
    await daemon.terminate();
    assert.deepEqual(await proxied(), []);
    assert.equal(await proxySysctl(), '0');
  });
});
