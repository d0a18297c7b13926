// Gateway with masquerade, against a recording engine and rules backend (no root): what the engine is given,
// refusal of an engine without masquerade, warnings (RFC timers, kernel conntrack), mapping events, table
// figures in stats, the live mappings, and reload refusing masquerade changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Npt66Error } from '../../src/errors';
import { Gateway, type GatewayEvent, type GatewayMappingEvent } from '../../src/gateway';
import type { HostFacts } from '../../src/host-facts';
import type { NativeEngine, NativeEngineOptions, NativeEngineStats, NativeMapping, NativeMappingRecord, NativeMasquerade } from '../../src/native';
import { formatAddress } from '../../src/prefix';
import type { RuleBackend, RuleConfig } from '../../src/rules';

const HOST = 'fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5';
const entry = { source: 'fd5a:ceb9:ed8d:1::/64', interface: 'ens192', ports: '20000-29999' };
const config = { masquerade: [entry], queues: { first: 0, count: 1 }, control: { socket: '/tmp/nm2-unused.sock' } };

const facts = (conntrack = { udpStream: 120, tcpEstablished: 432000, icmpv6: 30 } as ReturnType<HostFacts['conntrackTimeouts']>): HostFacts => ({
  localPortRange: () => [32768, 60999],
  interfaceAddresses: (name) => (name === 'ens192' ? [{ address: HOST, prefixLength: 64, flags: [] }] : null),
  conntrackTimeouts: () => conntrack,
});

const record: NativeMappingRecord = {
  masquerade: 0,
  protocol: 'icmpv6',
  state: 'icmp',
  inside: 'fd5a:ceb9:ed8d:1::2',
  insidePort: 7,
  outside: HOST,
  outsidePort: 20000,
  remote: '2001:4860:4860::8888',
  remotePort: 7,
  remoteCount: 1,
  created: 1000,
  lastUsed: 1000,
  expires: 61000,
  packetsOut: 1,
  packetsIn: 0,
  bytesOut: 104,
  bytesIn: 0,
};

class MasqueradeFakeEngine implements NativeEngine {
  addressCalls: string[] = []; // "i use=[..] keep=[..]" per setMasqueradeAddresses
  calls: string[] = []; // "tunables i ..." per setMasqueradeTunables, "forwards i .." per setMasqueradeForwards
  held = new Set<number>(); // outside ports a mapping holds (masqueradeHoldsPorts)
  refuseTunables = false;
  constructor(readonly options: NativeEngineOptions) {}
  setMasqueradeTunables(i: number, m: NativeMasquerade): void {
    if (this.refuseTunables) throw Object.assign(new Error(`masquerade[${i}]: refused`), { code: 'ERR_NPT66_CONFIG' });
    const t = m.timeouts;
    this.calls.push(
      `tunables ${i} ${m.portMin}-${m.portMax} priv=${m.privilegedPorts} ${m.filtering} udp=${t.udpMs} max=${m.maxMappings}/${m.maxPerHost64}/${m.maxRemotesPerMapping} refresh=${m.inboundRefresh} forwards=${(m.forwards ?? []).map((f) => `${f.protocol}/${f.port}`).join(',')}`,
    );
  }
  setMasqueradeForwards(i: number, forwards: NonNullable<NativeMasquerade['forwards']>): void {
    this.calls.push(`forwards ${i} ${forwards.map((f) => `${f.protocol}/${f.port}`).join(',')}`);
  }
  masqueradeHoldsPorts(_i: number, min: number, max: number): boolean {
    return [...this.held].some((p) => p >= min && p <= max);
  }
  start(): void {}
  watchAddresses(): void {}
  setMasqueradeAddresses(i: number, use: Buffer[], keep: Buffer[]): void {
    const show = (l: Buffer[]) => l.map((b) => formatAddress(b)).join(',');
    this.addressCalls.push(`${i} use=[${show(use)}] keep=[${show(keep)}]`);
  }
  setMappings(_m: NativeMapping[]): void {}
  stats(): NativeEngineStats {
    return {
      queues: [],
      total: { nat66_outbound: 4, drop_nat66_filtered: 2 },
      mappings: [],
      masquerade: [{ index: 0, live: 2, byState: { udp: 1, tcp_transitory: 0, tcp_established: 0, icmp: 1 }, outbound: 4, inbound: 3, dropped: 2 }],
    };
  }
  mappings(): NativeMappingRecord[] {
    return [record];
  }
  async stop(): Promise<void> {}
}

class Rules implements RuleBackend {
  readonly name = 'ip6tables';
  installed: RuleConfig | null = null;
  onReplace?: () => void; // e.g. to log the order of calls
  async removeStale(): Promise<string[]> {
    return [];
  }
  async install(c: RuleConfig): Promise<string[]> {
    this.installed = c;
    return [];
  }
  async replace(c: RuleConfig): Promise<void> {
    this.onReplace?.();
    this.installed = c;
  }
  async remove(): Promise<void> {}
  removeSync(): void {}
}

async function start(cfg: unknown = config, f: HostFacts = facts()) {
  const events: { type: string; e: GatewayEvent | GatewayMappingEvent }[] = [];
  let engine: MasqueradeFakeEngine | null = null;
  const rules = new Rules();
  const on = Object.fromEntries(['warning', 'state', 'error', 'mapping', 'address'].map((t) => [t, (e: GatewayEvent) => events.push({ type: t, e })]));
  const gateway = await Gateway.start(cfg, { rules, facts: f, createEngine: (o: NativeEngineOptions) => (engine = new MasqueradeFakeEngine(o)), on });
  return { gateway, events, engine: engine! as MasqueradeFakeEngine, rules };
}

test('start: the engine gets the compiled masquerade (address from the interface), the rules get the resolved address', async () => {
  const { engine, rules } = await start();
  assert.deepEqual(engine.options.mappings, []);
  const m = engine.options.masquerade!;
  assert.equal(m.length, 1);
  assert.deepEqual(m[0]!.addresses, [Buffer.from('fd5aceb9ed8dfe0aed5761d820ebaba5', 'hex')]);
  assert.deepEqual([m[0]!.portMin, m[0]!.portMax, m[0]!.timeouts.udpMs], [20000, 29999, 300000]);
  assert.equal(rules.installed!.masquerade![0]!.address, HOST);
});

test('start: IPv6 reassembly (conntrack here) is logged when present, refused with ERR_NPT66_REASSEMBLY when not', async () => {
  const present = await start(config, { ...facts(), conntrackPresent: () => true });
  const logged = present.events.filter((x) => x.type === 'state' && (x.e as GatewayEvent).reassembly !== undefined);
  assert.deepEqual(
    logged.map((x) => [(x.e as GatewayEvent).message, (x.e as GatewayEvent).how]),
    [['IPv6 reassembly on for masquerade', 'conntrack match in raw chain NPT66-DEFRAG-*']],
  );
  let stopped = false;
  let removed = false;
  const rules = new Rules();
  rules.remove = async () => void (removed = true);
  await assert.rejects(
    Gateway.start(config, {
      rules,
      facts: { ...facts(), conntrackPresent: () => false },
      createEngine: (o: NativeEngineOptions) => Object.assign(new MasqueradeFakeEngine(o), { stop: async () => void (stopped = true) }),
    }),
    (e: Npt66Error) => e.code === 'ERR_NPT66_REASSEMBLY' && /nf_defrag_ipv6/.test(e.message) && /modprobe nf_conntrack/.test(e.message),
  );
  assert.ok(removed && stopped, 'nothing left running: rules removed, engine stopped');
  // NPTv6 alone is stateless and needs no reassembly: no check, no refusal.
  const nptv6 = await start({ nptv6: [{ inside: 'fd00:1::/64', outside: '2001:db8:1::/64', interface: 'eth1' }] }, { ...facts(), conntrackPresent: () => false });
  assert.ok(!nptv6.events.some((x) => (x.e as GatewayEvent).reassembly !== undefined));
});

test('an NPTv6-only configuration passes no masquerade option (engines without it keep working)', async () => {
  const { engine } = await start({ nptv6: [{ inside: 'fd00:1::/64', outside: '2001:db8:1::/64', interface: 'eth1' }] });
  assert.equal('masquerade' in engine.options, false);
});

test('an engine without masquerade is refused before it starts: never accept inside sources untranslated', async () => {
  let started = false;
  const bare = {
    start: () => void (started = true),
    setMappings: () => undefined,
    stats: () => ({ queues: [], total: {}, mappings: [] }),
    stop: async () => undefined,
  };
  await assert.rejects(
    Gateway.start(config, { rules: new Rules(), facts: facts(), createEngine: () => bare as unknown as NativeEngine }),
    (e: Npt66Error) => e.code === 'ERR_NPT66_ENGINE_UNAVAILABLE' && /has no NAT66 masquerade/.test(e.message),
  );
  assert.equal(started, false);
});

test('warnings: short kernel conntrack timeouts and below-RFC timers, each a warning event', async () => {
  const { events } = await start({ ...config, masquerade: [{ ...entry, timeouts: { icmp: 10 } }] });
  const warnings = events.filter((x) => x.type === 'warning').map((x) => x.e as GatewayEvent);
  assert.deepEqual(
    warnings.map((w) => w.message.split(':')[0]),
    ['masquerade[0].timeouts.icmp', 'kernel conntrack forgets UDP flows after 120 s (net.netfilter.nf_conntrack_udp_timeout_stream) but masquerade keeps their mappings 300 s'],
  );
  assert.equal(warnings[1]!.sysctl, 'net.netfilter.nf_conntrack_udp_timeout_stream');
  assert.equal(warnings[1]!.tableSeconds, 300);
  // icmp 10 s <= conntrack's 30 s: no conntrack warning for ICMPv6.
  const quiet = await start(config, facts({ udpStream: 300, tcpEstablished: 7440, icmpv6: 60 }));
  assert.equal(quiet.events.filter((x) => x.type === 'warning').length, 0);
});

test("mapping events: one 'mapping' event per record of the engine's batch, other events unchanged", async () => {
  const { engine, events } = await start();
  events.length = 0;
  engine.options.onEvents([
    { type: 'mapping', event: 'NEW', mapping: record, message: 'NEW icmpv6', time: 4 },
    { type: 'warning', message: 'ENOBUFS', time: 5 },
    { type: 'mapping', event: 'DESTROY', mapping: { ...record, packetsIn: 1 }, message: 'DESTROY icmpv6', time: 6 },
  ]);
  assert.deepEqual(events.map((x) => `${x.type}:${(x.e as GatewayMappingEvent).event ?? (x.e as GatewayEvent).message}`), ['mapping:NEW', 'warning:ENOBUFS', 'mapping:DESTROY']);
  assert.equal((events[2]!.e as GatewayMappingEvent).mapping.packetsIn, 1);
});

test('stats: table figures per masquerade entry; mappings(): the live records', async () => {
  const { gateway } = await start();
  const s = gateway.stats();
  assert.deepEqual(s.masquerade, [
    { index: 0, source: ['fd5a:ceb9:ed8d:1::/64'], address: HOST, keptAddresses: [], interface: 'ens192', ports: '20000-29999', live: 2, byState: { udp: 1, tcp_transitory: 0, tcp_established: 0, icmp: 1 }, outbound: 4, inbound: 3, dropped: 2 },
  ]);
  assert.deepEqual(gateway.mappings(), [record]);
});

// Issue 10 part 3: a reload changes an entry's port range, timeouts, filtering, limits and privilegedPorts in its
// running table; adding or removing an entry needs a restart.
test('reload: tunables go to the table (with the forwards) before the rules; an entry added or removed needs a restart', async () => {
  const { gateway, engine, rules } = await start();
  const order: string[] = [];
  rules.onReplace = () => order.push(`rules ${JSON.stringify(rules.installed === null)}`);
  const next = {
    ...config,
    masquerade: [
      { ...entry, ports: '21000-21999', privilegedPorts: true, filtering: 'endpoint-independent', timeouts: { udp: 200 }, maxMappings: 5000, maxPerHost64: 100, maxRemotesPerMapping: 8, inboundRefresh: false, forwards: [{ protocol: 'tcp', port: 8080, to: '[fd5a:ceb9:ed8d:1::2]:80' }] },
    ],
  };
  engine.held.add(25000); // a mapping of the old range
  const result = await gateway.reload(next);
  assert.deepEqual(result, { mappingsChanged: false, rulesChanged: true });
  assert.deepEqual(engine.calls, ['tunables 0 21000-21999 priv=true endpoint-independent udp=200000 max=5000/100/8 refresh=false forwards=tcp/8080']);
  assert.equal(order.length, 1, 'the rules replaced once, after the table');
  // The rules queue the new range, 1-1023, the forward, and the old range's ports still held (the rest of it too:
  // the check is per range).
  const m = rules.installed!.masquerade![0]!;
  assert.equal(m.ports, '21000-21999');
  assert.deepEqual(m.keptPorts, [
    { min: 20000, max: 20999 },
    { min: 22000, max: 29999 },
  ]);
  assert.deepEqual(gateway.stats().masquerade[0]!.keptPorts, ['20000-20999', '22000-29999']);
  assert.equal(gateway.config.masquerade[0]!.ports, '21000-21999');

  // A reload checks the kept ports: once no mapping holds one, they leave the rules.
  engine.calls.length = 0;
  engine.held.clear();
  engine.held.add(21500); // in the new range: not a kept port
  assert.deepEqual(await gateway.reload(next), { mappingsChanged: false, rulesChanged: true });
  assert.deepEqual(engine.calls, [], 'the table is not touched');
  assert.equal(rules.installed!.masquerade![0]!.keptPorts, undefined);
  assert.equal(gateway.stats().masquerade[0]!.keptPorts, undefined);

  // Refused by the table: nothing changes (rules, configuration, kept ports).
  engine.refuseTunables = true;
  const before = rules.installed;
  await assert.rejects(gateway.reload(config), /refused/);
  assert.equal(rules.installed, before);
  assert.equal(gateway.config.masquerade[0]!.ports, '21000-21999');
  engine.refuseTunables = false;

  // A range overlapping the host's own ports is refused as at start.
  await assert.rejects(gateway.reload({ ...config, masquerade: [{ ...entry, ports: '40000-40999' }] }), /ip_local_port_range/);

  // An entry added or removed needs a restart.
  const two = { ...config, masquerade: [entry, { source: 'fd5a:ceb9:ed8d:2::/64', interface: 'ens192', address: '2001:db8:1::8' }] };
  await assert.rejects(gateway.reload(two), (e: Npt66Error) => {
    assert.equal(e.code, 'ERR_NPT66_RELOAD');
    assert.equal(e.field, 'masquerade');
    assert.match(e.message, /adding or removing a masquerade entry needs a restart of npt66 .*the running configuration is unchanged$/);
    return true;
  });
  const nptv6 = [{ inside: 'fd00:1::/64', outside: '2001:db8:1::/64', interface: 'eth1' }];
  await assert.rejects(gateway.reload({ ...config, nptv6, masquerade: [] }), /adding or removing a masquerade entry needs a restart/);
  assert.equal(gateway.config.masquerade.length, 1);
  // The same file again is no change.
  engine.calls.length = 0;
  assert.deepEqual(await gateway.reload(next), { mappingsChanged: false, rulesChanged: false });
  assert.deepEqual(engine.calls, []);
  await gateway.stop();
});

test('reload: the interface may change; the rules and outside interfaces follow', async () => {
  const f: HostFacts = { ...facts(), interfaceAddresses: (name) => (name === 'ens192' || name === 'ens224' ? [{ address: HOST, prefixLength: 64, flags: [] }] : null) };
  let outside: string[] = [];
  const { gateway, engine, rules } = await start(config, f);
  Object.assign(engine, { setOutsideInterfaces: (names: string[]) => void (outside = names) });
  assert.deepEqual(await gateway.reload({ ...config, masquerade: [{ ...entry, interface: 'ens224' }] }), { mappingsChanged: false, rulesChanged: true });
  assert.equal(rules.installed!.masquerade![0]!.interface, 'ens224');
  assert.deepEqual(outside, ['ens224']);
  assert.deepEqual(engine.calls, [], 'the table is not touched');
  await gateway.stop();
});

// Issue 10 part 3: "address" left out follows the interface's stable global address while npt66 runs.
test('address from the interface: followed on the kernel\'s notice; the old one kept while on the interface, then gone; none: new flows dropped', async () => {
  const NEXT = 'fd5a:ceb9:ed8d:fe0a::2';
  let addresses: { address: string; prefixLength: number; flags: string[] }[] = [{ address: HOST, prefixLength: 64, flags: [] }];
  const f: HostFacts = { ...facts(), interfaceAddresses: (name) => (name === 'ens192' ? addresses : null) };
  const { gateway, engine, rules, events } = await start(config, f);
  assert.equal(gateway.config.masquerade[0]!.addressFrom, 'interface');
  const notice = async () => {
    engine.options.onEvents([{ type: 'address', interface: 'ens192', time: 1 } as never]);
    await gateway.reload(config).catch(() => undefined); // serialized behind the refresh: waits for it
  };
  // A notice for another interface, or with nothing changed: no call.
  engine.options.onEvents([{ type: 'address', interface: 'eth9', time: 1 } as never]);
  await notice();
  assert.deepEqual(engine.addressCalls, []);

  // The old address deprecated, a new one stable: new flows take the new one, the old one's mappings live on.
  addresses = [{ address: HOST, prefixLength: 64, flags: ['deprecated'] }, { address: NEXT, prefixLength: 64, flags: [] }];
  await notice();
  assert.deepEqual(engine.addressCalls, [`0 use=[${NEXT}] keep=[${HOST}]`]);
  assert.deepEqual(rules.installed!.masquerade![0]!.addresses, [NEXT, HOST]);
  assert.deepEqual([gateway.stats().masquerade[0]!.address, gateway.stats().masquerade[0]!.keptAddresses], [NEXT, [HOST]]);
  const changed = events.filter((x) => x.type === 'address').map((x) => (x.e as GatewayEvent).message);
  assert.deepEqual(changed, [`masquerade[0]: outside address ${HOST} -> ${NEXT} (from ens192); kept while on ens192: ${HOST}`]);

  // The old address removed: its mappings go.
  addresses = [{ address: NEXT, prefixLength: 64, flags: [] }];
  await notice();
  assert.equal(engine.addressCalls.at(-1), `0 use=[${NEXT}] keep=[]`);
  assert.deepEqual(rules.installed!.masquerade![0]!.addresses, [NEXT]);

  // No address at all: none in use (new flows dropped natively), nothing queued inbound, a warning.
  addresses = [];
  await notice();
  assert.equal(engine.addressCalls.at(-1), '0 use=[] keep=[]');
  assert.deepEqual(rules.installed!.masquerade![0]!.addresses, []);
  assert.equal(gateway.stats().masquerade[0]!.address, null);
  assert.ok(events.some((x) => x.type === 'warning' && /no outside address now .*new flows from fd5a:ceb9:ed8d:1::\/64 are dropped until ens192 has one/.test((x.e as GatewayEvent).message)));

  // An address inside the source prefix is refused like at start: none in use rather than a looping one.
  addresses = [{ address: 'fd5a:ceb9:ed8d:1::99', prefixLength: 64, flags: [] }];
  await notice();
  assert.equal(engine.addressCalls.length, 3);
  addresses = [{ address: NEXT, prefixLength: 64, flags: [] }];
  await notice();
  assert.equal(engine.addressCalls.at(-1), `0 use=[${NEXT}] keep=[]`);
});

test('reload: a given address replaces the followed one (mappings on one still on the interface live on), and back', async () => {
  const OTHER = 'fd5a:ceb9:ed8d:fe0a::7';
  const f: HostFacts = { ...facts(), interfaceAddresses: (name) => (name === 'ens192' ? [{ address: HOST, prefixLength: 64, flags: [] }, { address: OTHER, prefixLength: 64, flags: [] }] : null) };
  const { gateway, engine, rules } = await start(config, f);
  const given = { ...config, masquerade: [{ ...entry, address: OTHER }] };
  assert.deepEqual(await gateway.reload(given), { mappingsChanged: false, rulesChanged: true });
  assert.deepEqual(engine.addressCalls, [`0 use=[${OTHER}] keep=[${HOST}]`]);
  assert.deepEqual(rules.installed!.masquerade![0]!.addresses, [OTHER, HOST]);
  assert.equal(gateway.config.masquerade[0]!.addressFrom, undefined);
  await gateway.reload(config);
  assert.equal(engine.addressCalls.at(-1), `0 use=[${HOST}] keep=[${OTHER}]`);
  assert.equal(gateway.config.masquerade[0]!.addressFrom, 'interface');
});
