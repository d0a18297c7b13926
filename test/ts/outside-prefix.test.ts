// Issue 11, parts 1 and 2 without root: an outside prefix that follows an interface (the configuration, the
// arithmetic of "subnet N of length L", the rules while no prefix is known, the gateway swapping table and rules
// when the kernel reports an address change) and several uplinks for one inside prefix (RFC 6296 s2.4).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { compileGatewayConfig } from '../../src/gateway-config';
import { Gateway, type GatewayEvent } from '../../src/gateway';
import { systemHostFacts, type HostFacts, type InterfaceAddress } from '../../src/host-facts';
import type { NativeEngine, NativeEngineEvent, NativeEngineOptions, NativeEngineStats, NativeMapping } from '../../src/native';
import { followedPrefix, subnetOf } from '../../src/outside-prefix';
import { parseAddress } from '../../src/prefix';
import { installArgv, nftRuleset, planRules, type RuleBackend, type RuleConfig } from '../../src/rules';
import { Translator } from '../../src/translator';
import { Npt66Error } from '../../src/errors';

const INSIDE = 'fd5a:ceb9:ed8d:fe0a::/64';

// A host whose interfaces have the given global addresses (mutable, to change them under a running gateway).
function hostWith(addresses: Record<string, InterfaceAddress[] | null>): HostFacts {
  return {
    ...systemHostFacts,
    interfaceAddresses: (name) => (name in addresses ? addresses[name]! : null),
    allowedCpus: () => [0, 1],
    receiveWork: () => null,
    routeInterface: () => null,
    localPortRange: () => [32768, 60999],
  };
}

const stable = (address: string, prefixLength = 64, flags: string[] = []): InterfaceAddress => ({ address, prefixLength, flags });

test('subnet N of length L inside the interface prefix', () => {
  const a = parseAddress('2001:db8:aa00:5::1', 'a');
  assert.deepEqual(subnetOf(a, 56, { length: 64, subnet: 0 }), { prefix: '2001:db8:aa00::/64' });
  assert.deepEqual(subnetOf(a, 56, { length: 64, subnet: 255 }), { prefix: '2001:db8:aa00:ff::/64' });
  assert.deepEqual(subnetOf(a, 48, { length: 56, subnet: 3 }), { prefix: '2001:db8:aa00:300::/56' });
  assert.deepEqual(subnetOf(a, 64, { length: 64, subnet: 0 }), { prefix: '2001:db8:aa00:5::/64' });
  assert.match(subnetOf(a, 56, { length: 64, subnet: 256 }).reason!, /subnet 256 does not fit: a \/56 holds 256 prefixes of length \/64/);
  assert.match(subnetOf(a, 64, { length: 56, subnet: 0 }).reason!, /prefix is a \/64, longer than the configured \/56/);
});

test('the stable global address is used: temporary, deprecated, tentative and failed ones are skipped', () => {
  const facts = hostWith({
    wan0: [
      stable('2001:db8:1:0:1111:2222:3333:4444', 64, ['temporary']),
      stable('2001:db8:2::5', 64, ['deprecated']),
      stable('2001:db8:3::5', 64, ['tentative']),
      stable('2001:db8:4::5', 64, ['dadfailed', 'tentative']),
      stable('2001:db8:5::5', 60, ['mngtmpaddr', 'noprefixroute']),
    ],
  });
  assert.deepEqual(followedPrefix({ interface: 'wan0', length: 64, subnet: 2 }, facts), { prefix: '2001:db8:5:2::/64', address: '2001:db8:5::5/60' });
  assert.match(followedPrefix({ interface: 'wan1', length: 64, subnet: 0 }, facts).reason!, /"wan1" does not exist/);
  // The first stable address whose prefix holds the subnet: a transit /64 listed first does not hide a /56.
  const two = hostWith({ wan0: [stable('2001:db8:100::2', 64), stable('2001:db8:aa00::1', 56)] });
  assert.deepEqual(followedPrefix({ interface: 'wan0', length: 64, subnet: 3 }, two), { prefix: '2001:db8:aa00:3::/64', address: '2001:db8:aa00::1/56' });
  assert.deepEqual(followedPrefix({ interface: 'wan0', length: 64, subnet: 0 }, two), { prefix: '2001:db8:100::/64', address: '2001:db8:100::2/64' });
  assert.match(followedPrefix({ interface: 'wan0', length: 64, subnet: 256 }, two).reason!, /subnet 256 does not fit: a \/64/);
  const none = hostWith({ wan0: [stable('2001:db8:1::9', 64, ['temporary'])] });
  assert.match(followedPrefix({ interface: 'wan0', length: 64, subnet: 0 }, none).reason!, /no stable global IPv6 address/);
});

test('config: "outside" as {interface, length, subnet}; the entry interface defaults to it; the prefix in force is compiled', () => {
  const facts = hostWith({ wan0: [stable('2001:db8:77::5')] });
  const c = compileGatewayConfig({ nptv6: [{ inside: INSIDE, outside: { interface: 'wan0', length: 64 } }] }, facts);
  assert.deepEqual(c.config.nptv6, [{ inside: INSIDE, outside: '2001:db8:77::/64', interface: 'wan0', outsideFrom: { interface: 'wan0', length: 64, subnet: 0 } }]);
  assert.deepEqual(c.mappings[0]!.outside, Buffer.from('20010db8007700000000000000000000', 'hex'));
  assert.equal(c.mappings[0]!.noOutside, undefined);
  assert.deepEqual(c.warnings, []);
  assert.equal(c.followed[0]!.address, '2001:db8:77::5/64');
  // A followed prefix on another interface than the one traffic leaves by.
  const other = compileGatewayConfig({ nptv6: [{ inside: INSIDE, outside: { interface: 'wan0', length: 64 }, interface: 'ppp0' }] }, facts);
  assert.equal(other.config.nptv6[0]!.interface, 'ppp0');
});

test('config: a compiled configuration compiles again, the followed prefix read anew (npt66 run and reload pass it back)', () => {
  const addresses: Record<string, InterfaceAddress[] | null> = { wan0: [stable('2001:db8:77::5')] };
  const facts = hostWith(addresses);
  const first = compileGatewayConfig({ nptv6: [{ inside: INSIDE, outside: { interface: 'wan0', length: 64 } }] }, facts);
  assert.deepEqual(compileGatewayConfig(first.config, facts).config, first.config);
  addresses.wan0 = [];
  const gone = compileGatewayConfig(first.config, facts);
  assert.equal(gone.config.nptv6[0]!.outside, null);
  assert.deepEqual(compileGatewayConfig(gone.config, hostWith({ wan0: [stable('2001:db8:78::5')] })).config.nptv6[0]!.outside, '2001:db8:78::/64');
});

test('config: with no usable address the entry has no outside prefix, with a warning; never a guess', () => {
  const facts = hostWith({ wan0: [] });
  const c = compileGatewayConfig({ nptv6: [{ inside: INSIDE, outside: { interface: 'wan0', length: 64, subnet: 0 } }] }, facts);
  assert.equal(c.config.nptv6[0]!.outside, null);
  assert.equal(c.mappings[0]!.noOutside, true);
  assert.equal(c.warnings.length, 1);
  assert.equal(c.warnings[0]!.field, 'nptv6[0].outside');
  assert.match(c.warnings[0]!.message, /no outside prefix yet .*outbound traffic from fd5a:ceb9:ed8d:fe0a::\/64 is dropped \(drop_no_outside_prefix\)/);
});

test('config refusals: bad length, negative subnet, unknown key, missing interface with a literal prefix', () => {
  const facts = hostWith({ wan0: [stable('2001:db8:77::5')] });
  const refuses = (nptv6: unknown, field: string, pattern: RegExp) =>
    assert.throws(() => compileGatewayConfig({ nptv6 }, facts), (e: Npt66Error) => {
      assert.equal(e.code, 'ERR_NPT66_CONFIG');
      assert.ok(e.field?.startsWith(field), `${e.field}: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    });
  refuses([{ inside: INSIDE, outside: { interface: 'wan0', length: 65 } }], 'nptv6[0].outside', /must be/);
  refuses([{ inside: INSIDE, outside: { interface: 'wan0', length: 64, subnet: -1 } }], 'nptv6[0].outside', /must be/);
  refuses([{ inside: INSIDE, outside: '2001:db8:ff66::/64' }], 'nptv6[0].interface', /is missing/);
});

test('config: one inside prefix on two uplinks is accepted with different interfaces, refused with the same one', () => {
  const facts = hostWith({});
  const up = (outside: string, iface: string) => ({ inside: INSIDE, outside, interface: iface });
  const c = compileGatewayConfig({ nptv6: [up('2001:db8:a::/64', 'wan0'), up('2001:db8:b::/64', 'wan1')] }, facts);
  assert.deepEqual(c.mappings.map((m) => m.interface), ['wan0', 'wan1']);
  assert.throws(
    () => compileGatewayConfig({ nptv6: [up('2001:db8:a::/64', 'wan0'), up('2001:db8:b::/64', 'wan0')] }, facts),
    /nptv6\[1\]\.inside|already mapped by nptv6\[0\] on interface "wan0"/,
  );
  assert.throws(
    () => compileGatewayConfig({ nptv6: [up('2001:db8:a::/64', 'wan0'), { inside: 'fd5a:ceb9:ed8d::/48', outside: '2001:db8:c::/48', interface: 'wan1' }] }, facts),
    /overlaps nptv6\[0\]\.inside/,
  );
  assert.throws(() => compileGatewayConfig({ nptv6: [up('2001:db8:a::/64', 'wan0'), up('2001:db8:a::/64', 'wan1')] }, facts), /already the outside prefix/);
});

test('rules: no inbound rule for an entry with no outside prefix, its outbound still queued (the engine drops it)', () => {
  const cfg: RuleConfig = {
    nptv6: [
      { inside: INSIDE, outside: null, interface: 'wan0' },
      { inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff67::/64', interface: 'wan1' },
    ],
    queues: { first: 0, count: 1 },
    hairpinMark: 0,
  };
  const argv = installArgv(planRules(cfg, 1)).map((a) => a.join(' '));
  assert.deepEqual(argv.filter((a) => a.includes('-A NPT66-IN-1 -d')), ['ip6tables -w -t raw -A NPT66-IN-1 -d 2001:db8:ff67::/64 -g NPT66-INQ-1']);
  assert.ok(argv.includes(`ip6tables -w -t mangle -A NPT66-OUT-1 -o wan0 -s ${INSIDE} -g NPT66-OUTQ-1`));
  assert.ok(!argv.some((a) => a.includes('null')));
  const nft = nftRuleset(cfg);
  assert.ok(!nft.includes('null'));
  assert.match(nft, /oifname "wan0" ip6 saddr fd5a:ceb9:ed8d:fe0a::\/64 goto outbound_queue/);
});

test('rules: two uplinks, one outbound rule per interface and one inbound rule per outside prefix', () => {
  const cfg: RuleConfig = {
    nptv6: [
      { inside: INSIDE, outside: '2001:db8:a::/64', interface: 'wan0' },
      { inside: INSIDE, outside: '2001:db8:b::/64', interface: 'wan1' },
    ],
    queues: { first: 0, count: 1 },
    hairpinMark: 0,
  };
  const argv = installArgv(planRules(cfg, 1)).map((a) => a.join(' '));
  assert.deepEqual(argv.filter((a) => a.includes('-A NPT66-OUT-1 -o')), [
    `ip6tables -w -t mangle -A NPT66-OUT-1 -o wan0 -s ${INSIDE} -g NPT66-OUTQ-1`,
    `ip6tables -w -t mangle -A NPT66-OUT-1 -o wan1 -s ${INSIDE} -g NPT66-OUTQ-1`,
  ]);
  assert.deepEqual(argv.filter((a) => a.includes('-A NPT66-IN-1 -d')), [
    'ip6tables -w -t raw -A NPT66-IN-1 -d 2001:db8:a::/64 -g NPT66-INQ-1',
    'ip6tables -w -t raw -A NPT66-IN-1 -d 2001:db8:b::/64 -g NPT66-INQ-1',
  ]);
});

test('translator: an entry with no outside prefix refuses with drop_no_outside_prefix; uplinks map back each', () => {
  const pending = new Translator([{ inside: INSIDE, outside: null, interface: 'wan0' }]);
  assert.deepEqual(pending.mapAddress('fd5a:ceb9:ed8d:fe0a::10', 'outbound'), { input: 'fd5a:ceb9:ed8d:fe0a::10', output: null, reason: 'drop_no_outside_prefix' });
  assert.equal(pending.mapAddress('::10', 'inbound').reason, 'not_ours');
  const two = new Translator([
    { inside: INSIDE, outside: '2001:db8:a::/64', interface: 'wan0' },
    { inside: INSIDE, outside: '2001:db8:b::/64', interface: 'wan1' },
  ]);
  const out = two.mapAddress('fd5a:ceb9:ed8d:fe0a::10', 'outbound').output!;
  assert.ok(out.startsWith('2001:db8:a:'), out); // no output interface offline: the first entry
  for (const o of [out, out.replace('2001:db8:a:', '2001:db8:b:')]) {
    // Different prefix sums: the checksum-neutral word differs too, so map what each uplink would produce.
    const back = two.mapAddress(o, 'inbound');
    assert.equal(back.reason === null || back.reason === 'drop_outside_mapped_range' ? 'ok' : back.reason, 'ok');
  }
});

// --- the gateway follows the kernel's address notices ---

class FakeEngine implements NativeEngine {
  table: NativeMapping[];
  watching = false;
  constructor(
    readonly options: NativeEngineOptions,
    private readonly log: string[],
  ) {
    this.table = options.mappings;
  }
  start(): void {
    this.log.push('engine.start');
  }
  watchAddresses(): void {
    this.log.push('engine.watchAddresses');
    this.watching = true;
  }
  setMappings(m: NativeMapping[]): void {
    this.log.push(`engine.setMappings(${m.map((x) => (x.noOutside ? 'none' : x.outside.toString('hex').slice(0, 12))).join(',')})`);
    this.table = m;
  }
  mappings(): never[] {
    return [];
  }
  stats(): NativeEngineStats {
    return { queues: [], total: {}, mappings: [], masquerade: [] };
  }
  async stop(): Promise<void> {
    this.log.push('engine.stop');
  }
  emit(events: NativeEngineEvent[]): void {
    this.options.onEvents(events);
  }
}

class FakeRules implements RuleBackend {
  readonly name = 'ip6tables';
  installed: RuleConfig | null = null;
  constructor(private readonly log: string[]) {}
  async removeStale(): Promise<string[]> {
    return [];
  }
  async install(c: RuleConfig): Promise<string[]> {
    this.log.push(`rules.install(${c.nptv6.map((m) => m.outside).join(',')})`);
    this.installed = c;
    return [];
  }
  async replace(c: RuleConfig): Promise<void> {
    this.log.push(`rules.replace(${c.nptv6.map((m) => m.outside).join(',')})`);
    this.installed = c;
  }
  async remove(): Promise<void> {
    this.log.push('rules.remove');
  }
  removeSync(): void {}
}

async function settled(gateway: Gateway): Promise<void> {
  // followAddresses runs in the gateway's serialized queue: a reload of nothing waits behind it.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await (gateway as unknown as { queue: Promise<unknown> }).queue;
}

test('gateway: watches before installing rules; a change swaps the table first, then the rules, and says so', async () => {
  const addresses: Record<string, InterfaceAddress[] | null> = { wan0: [stable('2001:db8:a::5')] };
  const facts = hostWith(addresses);
  const log: string[] = [];
  const events: { type: string; e: GatewayEvent }[] = [];
  let engine: FakeEngine | null = null;
  const on = Object.fromEntries(['warning', 'state', 'error', 'prefix'].map((t) => [t, (e: GatewayEvent) => events.push({ type: t, e })]));
  const gateway = await Gateway.start(
    { nptv6: [{ inside: INSIDE, outside: { interface: 'wan0', length: 64 } }], control: { socket: '/tmp/op-unused.sock' } },
    { rules: new FakeRules(log), createEngine: (o) => (engine = new FakeEngine(o, log)), on, facts },
  );
  await settled(gateway);
  assert.deepEqual(log, ['engine.start', 'engine.watchAddresses', 'rules.install(2001:db8:a::/64)']);
  log.length = 0;

  // An address change elsewhere: nothing to do.
  addresses.wan0 = [stable('2001:db8:b::5')];
  engine!.emit([{ type: 'address', interface: 'eth9', message: 'x', time: 1 }]);
  await settled(gateway);
  assert.deepEqual(log, []);

  // The ISP renumbers wan0: table first (the old prefix stops at once), then the rules (new before old).
  engine!.emit([{ type: 'address', interface: 'wan0', message: 'x', time: 1 }]);
  await settled(gateway);
  assert.deepEqual(log, ['engine.setMappings(20010db8000b)', 'rules.replace(2001:db8:b::/64)']);
  const prefix = events.filter((x) => x.type === 'prefix');
  assert.equal(prefix.length, 1);
  assert.equal(prefix[0]!.e.outside, '2001:db8:b::/64');
  assert.equal(prefix[0]!.e.previous, '2001:db8:a::/64');
  assert.equal(prefix[0]!.e.address, '2001:db8:b::5/64');
  assert.match(prefix[0]!.e.message, /nptv6\[0\]: outside prefix 2001:db8:a::\/64 -> 2001:db8:b::\/64 \(from 2001:db8:b::5\/64 on wan0\)/);
  assert.equal(gateway.stats().mappings[0]!.outside, '2001:db8:b::/64');
  log.length = 0;

  // The address goes: no outside prefix (outbound dropped natively), no inbound rule, a warning and an event.
  addresses.wan0 = [];
  engine!.emit([{ type: 'address', interface: '', message: 'lost', time: 1 }]);
  await settled(gateway);
  assert.deepEqual(log, ['engine.setMappings(none)', 'rules.replace()']);
  assert.equal(gateway.stats().mappings[0]!.outside, null);
  assert.ok(events.some((x) => x.type === 'warning' && /outside prefix 2001:db8:b::\/64 withdrawn/.test(x.e.message)));
  assert.equal(events.filter((x) => x.type === 'prefix').at(-1)!.e.outside, null);
  await gateway.stop();
});
