// Proxy NDP's entry computation (src/proxy-ndp.ts): which outside addresses the native responder answers for.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { validateNptv6 } from '../../src/config';
import { formatAddress } from '../../src/prefix';
import type { NativeProxyNdpEntry } from '../../src/native';
import { isLiveNeighbour, nativeEntries, ProxyNdp, proxyTargets, translatorMap, type NeighbourRow, type ProxyNdpEntry } from '../../src/proxy-ndp';
import { Translator } from '../../src/translator';

const INSIDE = 'fd5a:ceb9:ed8d:fe0a::/64';
const OUTSIDE = '2001:db8:ff66::/64';
const outsideOf = (a: string, outside = OUTSIDE) => new Translator([{ inside: INSIDE, outside, interface: 'eth1' }]).mapAddress(a, 'outbound').output!;

const neigh = (dst: string, dev: string, state: string): NeighbourRow => ({ dst, dev, state: [state] });

test('live states: REACHABLE, STALE, DELAY, PROBE, PERMANENT; not FAILED, INCOMPLETE or none', () => {
  for (const s of ['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT']) assert.equal(isLiveNeighbour(neigh('fd5a::1', 'eth0', s)), true, s);
  for (const s of ['FAILED', 'INCOMPLETE', 'NONE']) assert.equal(isLiveNeighbour(neigh('fd5a::1', 'eth0', s)), false, s);
  assert.equal(isLiveNeighbour({ dst: 'fd5a::1', dev: 'eth0' }), false);
});

test('one entry per live inside neighbour, its translated address on the outside interface', () => {
  const entries: ProxyNdpEntry[] = [{ inside: INSIDE, outside: OUTSIDE, interface: 'eth1', proxyNdp: 'neighbours' }];
  const rows = [
    neigh('fd5a:ceb9:ed8d:fe0a::10', 'eth0', 'REACHABLE'),
    neigh('fd5a:ceb9:ed8d:fe0a::20', 'eth0', 'FAILED'), // gone
    neigh('fd5a:ceb9:ed8d:fe0b::30', 'eth0', 'REACHABLE'), // outside the inside prefix
    neigh('fe80::1', 'eth0', 'REACHABLE'), // link-local
    neigh('2001:db8:100::1', 'eth1', 'REACHABLE'), // the upstream router, on the outside interface
    neigh('fd5a:ceb9:ed8d:fe0a::40', 'eth1', 'REACHABLE'), // an inside address seen outside: forged, never proxied
  ];
  const targets = proxyTargets(entries, rows, translatorMap(entries));
  assert.deepEqual(targets, [{ address: outsideOf('fd5a:ceb9:ed8d:fe0a::10'), interface: 'eth1', inside: 'fd5a:ceb9:ed8d:fe0a::10', index: 0 }]);
  assert.ok(targets[0]!.address.startsWith('2001:db8:ff66:'), targets[0]!.address);
});

test('nothing without proxyNdp or without an outside prefix; each uplink by its own prefix', () => {
  const rows = [neigh('fd5a:ceb9:ed8d:fe0a::10', 'eth0', 'STALE')];
  const off: ProxyNdpEntry[] = [
    { inside: INSIDE, outside: OUTSIDE, interface: 'eth1' },
    { inside: INSIDE, outside: null, interface: 'eth2', proxyNdp: 'neighbours' },
  ];
  assert.deepEqual(proxyTargets(off, rows, translatorMap(off)), []);
  const two: ProxyNdpEntry[] = [
    { inside: INSIDE, outside: OUTSIDE, interface: 'eth1', proxyNdp: 'neighbours' },
    { inside: INSIDE, outside: '2001:db8:ff77::/64', interface: 'eth2', proxyNdp: 'neighbours' },
  ];
  assert.deepEqual(
    proxyTargets(two, rows, translatorMap(two)).map((t) => [t.interface, t.address]),
    [
      ['eth1', outsideOf('fd5a:ceb9:ed8d:fe0a::10')],
      ['eth2', outsideOf('fd5a:ceb9:ed8d:fe0a::10', '2001:db8:ff77::/64')],
    ],
  );
});

test('the responder gets each proxied entry: its prefixes and mode, in neighbours mode its live addresses only', () => {
  const entries: ProxyNdpEntry[] = [
    { inside: INSIDE, outside: OUTSIDE, interface: 'eth1', proxyNdp: 'neighbours' },
    { inside: INSIDE, outside: '2001:db8:ff77::/64', interface: 'eth2', proxyNdp: 'prefix' },
    { inside: INSIDE, outside: '2001:db8:ff88::/64', interface: 'eth3' }, // no proxy NDP
    { inside: INSIDE, outside: null, interface: 'eth4', proxyNdp: 'prefix' }, // no prefix yet
  ];
  const mappings = validateNptv6(entries.map((e) => ({ inside: e.inside, outside: e.outside ?? '2001:db8:ff99::/64', interface: e.interface })));
  const rows = [neigh('fd5a:ceb9:ed8d:fe0a::10', 'eth0', 'REACHABLE'), neigh('fd5a:ceb9:ed8d:fe0a::20', 'eth0', 'FAILED')];
  const native = nativeEntries(entries, mappings, proxyTargets(entries, rows, translatorMap(entries)));
  assert.deepEqual(
    native.map((n) => [n.interface, n.mode, formatAddress(n.outside), n.outsideLength, n.neighbours.map((b) => formatAddress(b))]),
    [
      ['eth1', 'neighbours', '2001:db8:ff66::', 64, [outsideOf('fd5a:ceb9:ed8d:fe0a::10')]],
      ['eth2', 'prefix', '2001:db8:ff77::', 64, []],
    ],
  );
  assert.equal(formatAddress(native[0]!.inside), 'fd5a:ceb9:ed8d:fe0a::');
});

test('ProxyNdp hands "prefix" entries to the responder at once, says so once, and hands it nothing on stop', async () => {
  const applied: NativeProxyNdpEntry[][] = [];
  const said: string[] = [];
  const p = new ProxyNdp((_type, f) => said.push(f.message), (entries) => applied.push(entries));
  const entries: ProxyNdpEntry[] = [{ inside: INSIDE, outside: OUTSIDE, interface: 'eth1', proxyNdp: 'prefix' }];
  const mappings = validateNptv6([{ inside: INSIDE, outside: OUTSIDE, interface: 'eth1' }]);
  await p.setEntries(entries, mappings);
  await p.setEntries(entries, mappings); // unchanged: handed again (atomic swap), not announced again
  assert.deepEqual(applied.map((a) => a.map((e) => [e.interface, e.mode, e.neighbours.length])), [[['eth1', 'prefix', 0]], [['eth1', 'prefix', 0]]]);
  assert.deepEqual(said, ['proxy NDP: answering for every address of 2001:db8:ff66::/64 on eth1']);
  await p.stop();
  assert.deepEqual(applied.at(-1), []);
  assert.equal(said.at(-1), 'proxy NDP: no longer answering (stopped)');
});
