// Gateway's contract with a recording engine and rules backend (no root): the order of start and stop, stats,
// events, and reload's atomicity (the old configuration stays on any error).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Npt66Error } from '../../src/errors';
import { Gateway, type GatewayEvent } from '../../src/gateway';
import type { NativeEngine, NativeEngineEvent, NativeEngineOptions, NativeEngineStats, NativeMapping } from '../../src/native';
import type { RuleBackend, RuleConfig } from '../../src/rules';
import type { QueuePlacement } from '../../src/cpu-placement';
import { systemHostFacts, type HostFacts } from '../../src/host-facts';

const m0 = { inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' };
const m1 = { inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff67::/64', interface: 'eth1' };
const config = { nptv6: [m0], queues: { first: 2, count: 1 }, control: { socket: '/tmp/ng-unused.sock' } };

class FakeEngine implements NativeEngine {
  table: NativeMapping[];
  failSetMappings = false;
  constructor(
    readonly options: NativeEngineOptions,
    private readonly log: string[],
  ) {
    this.table = options.mappings;
  }
  start(): void {
    this.log.push('engine.start');
    this.options.onEvents([{ type: 'state', message: 'queue 2 bound', queue: 2, time: 1 }]);
  }
  setMappings(m: NativeMapping[]): void {
    if (this.failSetMappings) throw Object.assign(new Error('bad table'), { code: 'ERR_NPT66_CONFIG' });
    this.log.push(`engine.setMappings(${m.length})`);
    this.table = m;
  }
  mappings(): never[] {
    return [];
  }
  stats(): NativeEngineStats {
    return {
      queues: [{ queue: 2, counters: { queue_received: 5 }, kernel: null }],
      total: { queue_received: 5, nptv6_outbound: 3, drop_truncated: 1, drop_iid_all_ones: 0 },
      mappings: [{ index: 0, outbound: 3, inbound: 1, dropped: 1 }],
      masquerade: [],
    };
  }
  async stop(drainMs?: number): Promise<void> {
    this.log.push(`engine.stop(${drainMs})`);
  }
  emit(events: NativeEngineEvent[]): void {
    this.options.onEvents(events);
  }
}

class FakeRules implements RuleBackend {
  readonly name = 'ip6tables';
  failReplace = false;
  installed: RuleConfig | null = null;
  constructor(private readonly log: string[]) {}
  async removeStale(): Promise<string[]> {
    return [];
  }
  async install(c: RuleConfig): Promise<string[]> {
    this.log.push('rules.install');
    this.installed = c;
    return ['raw/NPT66-IN-1'];
  }
  async replace(c: RuleConfig): Promise<void> {
    if (this.failReplace) throw new Npt66Error('ERR_NPT66_RULES', 'ip6tables said no');
    this.log.push('rules.replace');
    this.installed = c;
  }
  async remove(): Promise<void> {
    this.log.push('rules.remove');
    this.installed = null;
  }
  removeSync(): void {}
}

// No receive CPUs can be told (as on veth with RPS off): the queue threads stay unpinned.
const unknownReceive: HostFacts = { ...systemHostFacts, allowedCpus: () => [0, 1], receiveWork: () => null, routeInterface: () => null };

async function started(cfg: unknown = config, facts: HostFacts = unknownReceive) {
  const log: string[] = [];
  const events: { type: string; e: GatewayEvent }[] = [];
  let engine: FakeEngine | null = null;
  const rules = new FakeRules(log);
  const on = Object.fromEntries(['warning', 'state', 'error'].map((t) => [t, (e: GatewayEvent) => events.push({ type: t, e })]));
  const gateway = await Gateway.start(cfg, {
    rules,
    createEngine: (o) => (engine = new FakeEngine(o, log)),
    on,
    facts,
  });
  return { gateway, log, events, engine: engine! as FakeEngine, rules };
}

test('start: validates, passes the options to the engine, binds before installing the rules', async () => {
  const { gateway, log, engine, events } = await started();
  assert.deepEqual(log, ['engine.start', 'rules.install']);
  const { onEvents, mappings, ...opts } = engine.options;
  assert.equal(typeof onEvents, 'function');
  assert.deepEqual(opts, { queueFirst: 2, queueCount: 1, queueMaxLen: 4096, socketBufferBytes: 8388608, failOpen: false, gso: true, icmpRateLimit: 100, outsideInterfaces: ['eth1'] });
  assert.equal(mappings.length, 1);
  assert.deepEqual(
    events.map((x) => `${x.type}:${x.e.message}`),
    ['state:gateway starting', 'state:queue threads: queue 2 -> any CPU (auto: not pinned: cannot tell which CPUs take the receive work of eth1 (no hardware interrupts found and RPS off, or no such interface; veth and other virtual interfaces receive on the sending CPU); set rps_cpus or queues.cpus to place the threads)', 'state:queue 2 bound', 'warning:removed rules left by an earlier npt66 run that did not stop cleanly', 'state:gateway running'],
  );
  assert.equal(gateway.currentState, 'running');
});


test('start: queues.cpus and queues.nice reach the engine as queueCpus and queueNice', async () => {
  const { gateway, engine } = await started({ ...(config as object), queues: { first: 2, count: 1, cpus: [1], nice: -10 } });
  const { onEvents: _e, mappings: _m, ...opts } = engine.options;
  assert.deepEqual(opts, { queueFirst: 2, queueCount: 1, queueCpus: [1], queueNice: -10, queueMaxLen: 4096, socketBufferBytes: 8388608, failOpen: false, gso: true, icmpRateLimit: 100, outsideInterfaces: ['eth1'] });
  assert.equal(gateway.stats().placement?.mode, 'explicit');
  await gateway.stop();
});

test('start: by default the queue threads go to the CPUs without receive work (read from the host), logged and in stats', async () => {
  const irqOnCpu0: HostFacts = {
    ...unknownReceive,
    allowedCpus: () => [0, 1, 2, 3],
    receiveWork: (name) => (name === 'eth1' ? { irqs: [{ irq: 40, name: 'eth1-TxRx-0', cpus: [0] }], rpsCpus: [[]] } : null),
  };
  const { gateway, engine, events } = await started({ ...config, queues: { first: 2, count: 2 } }, irqOnCpu0);
  assert.deepEqual(engine.options.queueCpus, [1, 2, 3]);
  const logged = events.find((x) => x.e.message.startsWith('queue threads:'))!;
  assert.equal(logged.e.message, 'queue threads: queue 2 -> CPU 1, queue 3 -> CPU 2 (auto: pinned to CPUs that take no receive work of the queued interfaces (receive work on 0))');
  assert.deepEqual((logged.e.placement as QueuePlacement).cpus, [1, 2, 3]);
  assert.deepEqual(gateway.stats().placement?.threads, [{ queue: 2, cpu: 1 }, { queue: 3, cpu: 2 }]);
  await gateway.stop();
});
test('start refuses an invalid configuration before touching the engine', async () => {
  let created = false;
  await assert.rejects(
    Gateway.start({ nptv6: [{ ...m0, interface: 'eth+' }] }, { rules: new FakeRules([]), createEngine: () => ((created = true), null as never) }),
    (e: Npt66Error) => e.code === 'ERR_NPT66_CONFIG' && e.field === 'nptv6[0].interface',
  );
  assert.equal(created, false);
});

test('failOpen: true is announced as a warning', async () => {
  const { events } = await started({ ...config, failOpen: true });
  assert.ok(events.some((x) => x.type === 'warning' && /leaks inside addresses/.test(x.e.message)));
});

test('engine events become gateway events; an unheard error becomes a warning instead of throwing', async () => {
  const { gateway, engine, events } = await started();
  engine.emit([{ type: 'warning', message: 'ENOBUFS on queue 2', queue: 2, time: 5 }]);
  assert.deepEqual(events.at(-1), { type: 'warning', e: { time: events.at(-1)!.e.time, message: 'ENOBUFS on queue 2', queue: 2, engineTime: 5 } });
  gateway.removeAllListeners('error');
  assert.doesNotThrow(() => engine.emit([{ type: 'error', message: 'thread died', time: 6 }]));
  assert.equal(events.at(-1)!.e.message, 'thread died');
  assert.equal(events.at(-1)!.e.severity, 'error');
});

test('stats: per mapping with the configured prefixes, drops by reason, totals, queues', async () => {
  const { gateway } = await started();
  const s = gateway.stats();
  assert.deepEqual(s.mappings, [{ index: 0, inside: m0.inside, outside: m0.outside, interface: 'eth1', outbound: 3, inbound: 1, dropped: 1 }]);
  assert.deepEqual(s.drops, { drop_truncated: 1, drop_iid_all_ones: 0 });
  assert.equal(s.total.queue_received, 5);
  assert.equal(s.queues[0]!.queue, 2);
  assert.equal(s.rules, 'ip6tables');
  assert.equal(s.state, 'running');
});

test('reload: new mappings swapped in, rules replaced; unchanged config touches nothing', async () => {
  const { gateway, log, engine, rules } = await started();
  log.length = 0;
  assert.deepEqual(await gateway.reload({ ...config, nptv6: [m0, m1] }), { mappingsChanged: true, rulesChanged: true });
  assert.deepEqual(log, ['engine.setMappings(2)', 'rules.replace']);
  assert.equal(engine.table.length, 2);
  assert.equal(rules.installed!.nptv6.length, 2);
  assert.equal(gateway.config.nptv6.length, 2);
  log.length = 0;
  assert.deepEqual(await gateway.reload({ ...config, nptv6: [m0, m1] }), { mappingsChanged: false, rulesChanged: false });
  assert.deepEqual(log, []);
});

test('reload keeps the old configuration on a validation error, a table error, a rules error, or a restart-only change', async () => {
  const { gateway, engine, rules, log } = await started();
  log.length = 0;
  await assert.rejects(gateway.reload({ nptv6: [{ ...m0, inside: 'nonsense' }] }), (e: Npt66Error) => e.code === 'ERR_NPT66_CONFIG' && e.field === 'nptv6[0].inside');
  await assert.rejects(gateway.reload({ ...config, queues: { first: 3, count: 1 } }), (e: Npt66Error) => {
    assert.equal(e.code, 'ERR_NPT66_RELOAD');
    assert.equal(e.field, 'queues');
    assert.match(e.message, /^queues: changed from \{"first":2,"count":1,"cpus":"auto","gso":true\} to \{"first":3,"count":1,"cpus":"auto","gso":true\}.*restart npt66.*running configuration is unchanged/);
    return true;
  });
  await assert.rejects(gateway.reload({ ...config, failOpen: true }), /^Npt66Error: failOpen: changed from false to true/);
  engine.failSetMappings = true;
  await assert.rejects(gateway.reload({ ...config, nptv6: [m1] }), (e: Npt66Error) => e.code === 'ERR_NPT66_CONFIG' && /bad table/.test(e.message));
  engine.failSetMappings = false;
  rules.failReplace = true;
  await assert.rejects(gateway.reload({ ...config, nptv6: [m1] }), /ip6tables said no/);
  // The table was swapped and swapped back; the rules were never changed.
  assert.deepEqual(log, ['engine.setMappings(1)', 'engine.setMappings(1)']);
  assert.deepEqual(engine.table[0]!.outside, Buffer.from('20010db8ff6600000000000000000000', 'hex'));
  assert.deepEqual(gateway.config.nptv6, [m0]);
  assert.deepEqual(rules.installed!.nptv6, [m0]);
  assert.equal(gateway.currentState, 'running');
});

test('stop: rules removed first, then the engine drains; a second stop does nothing; reload after stop is refused', async () => {
  const { gateway, log, events } = await started();
  log.length = 0;
  await gateway.stop();
  await gateway.stop();
  assert.deepEqual(log, ['rules.remove', 'engine.stop(200)']);
  assert.deepEqual(events.slice(-2).map((x) => x.e.message), ['gateway stopping', 'gateway stopped']);
  await assert.rejects(gateway.reload(config), (e: Npt66Error) => e.code === 'ERR_NPT66_STATE');
});

test('a failed rule install removes what it installed, then unbinds the queues again', async () => {
  const log: string[] = [];
  const rules = new FakeRules(log);
  rules.install = async () => {
    throw new Npt66Error('ERR_NPT66_RULES', 'no NFQUEUE target');
  };
  await assert.rejects(Gateway.start(config, { rules, createEngine: (o) => new FakeEngine(o, log) }), /no NFQUEUE target/);
  // A rule install can fail half way: whatever it added is removed before the queues go.
  assert.deepEqual(log, ['engine.start', 'rules.remove', 'engine.stop(0)']);
});
