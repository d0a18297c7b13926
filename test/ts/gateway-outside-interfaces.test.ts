// The outside interfaces handed to the engine (issue 9 item 1): every interface an NPTv6 or masquerade entry
// names, once each, at start and again on every reload; and the addon's conversion of the option.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Gateway, outsideInterfaces } from '../../src/gateway';
import { native, type NativeEngine, type NativeEngineOptions, type NativeEngineStats, type NativeMapping } from '../../src/native';
import type { RuleBackend } from '../../src/rules';
import { systemHostFacts, type HostFacts } from '../../src/host-facts';

const facts: HostFacts = { ...systemHostFacts, allowedCpus: () => [0, 1], receiveWork: () => null, routeInterface: () => null };
const m0 = { inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' };
const m1 = { inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff67::/64', interface: 'eth2' };
const masq = { source: 'fd5a:ceb9:ed8d:1::/64', interface: 'ens192', address: '2001:db8:5::1', ports: '20000-29999' };

class RecordingEngine implements NativeEngine {
  interfaces: string[][] = [];
  constructor(readonly options: NativeEngineOptions) {}
  start(): void {}
  setMappings(_m: NativeMapping[]): void {}
  setOutsideInterfaces(names: string[]): void {
    this.interfaces.push(names);
  }
  mappings(): never[] {
    return [];
  }
  stats(): NativeEngineStats {
    return { queues: [], total: {}, mappings: [], masquerade: [] };
  }
  async stop(): Promise<void> {}
}

const rules: RuleBackend = {
  name: 'ip6tables',
  removeStale: async () => [],
  install: async () => [],
  replace: async () => undefined,
  remove: async () => undefined,
  removeSync: () => undefined,
};

test('outsideInterfaces: every entry\'s interface, NPTv6 and masquerade, once each', () => {
  assert.deepEqual(outsideInterfaces({ nptv6: [m0, { ...m1, interface: 'eth1' }, m1], masquerade: [] }), ['eth1', 'eth2']);
  assert.deepEqual(outsideInterfaces({ nptv6: [m0], masquerade: [{ ...masq, interface: 'eth1' }, masq] as never }), ['eth1', 'ens192']);
});

test('the engine gets the outside interfaces at start, and resolves them again on reload', async () => {
  let engine: RecordingEngine | null = null;
  const config = { nptv6: [m0], masquerade: [masq], queues: { first: 2, count: 1 }, control: { socket: '/tmp/ng-unused.sock' } };
  const gateway = await Gateway.start(config, { rules, facts, createEngine: (o) => (engine = new RecordingEngine(o)) });
  assert.deepEqual(engine!.options.outsideInterfaces, ['eth1', 'ens192']);
  await gateway.reload({ ...config, nptv6: [m0, m1] });
  await gateway.reload({ ...config, nptv6: [m0, m1] }); // unchanged: resolved again all the same
  assert.deepEqual(engine!.interfaces, [['eth1', 'eth2', 'ens192'], ['eth1', 'eth2', 'ens192']]);
  await gateway.stop();
});

test('the addon converts outsideInterfaces: an array of names, anything else is ERR_NPT66_CONFIG', () => {
  const make = (outsideInterfaces: unknown) =>
    new native.Engine({ queueFirst: 0, queueCount: 1, mappings: [], onEvents: () => undefined, outsideInterfaces } as unknown as NativeEngineOptions);
  for (const bad of ['eth1', [1], [''], [{}]]) assert.throws(() => make(bad), { code: 'ERR_NPT66_CONFIG' }, JSON.stringify(bad));
  const e = make(['lo', 'npt66-nosuch0']) as NativeEngine; // a missing one is a warning event, not an error
  assert.equal(typeof e.setOutsideInterfaces, 'function');
  assert.throws(() => e.setOutsideInterfaces!([7] as never), { code: 'ERR_NPT66_CONFIG' });
  e.setOutsideInterfaces!(['lo']);
});
