// One source for defaults: the zod schema (src/gateway-config.ts) owns the configuration's defaults; the native
// engine keeps its own for callers without the schema (C++ tests, benchmarks: nfq::Options in
// native/nfq/queue_engine.h, Nat66Config in native/core/nat66_config.h). They must be equal, or the same
// option would mean two things depending on who leaves it out. The addon exports the native ones as
// engineDefaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { FIELD_HELP, gatewayConfigSchema } from '../../src/gateway-config';
import { native } from '../../src/native';

interface EngineDefaults {
  queueFirst: number;
  queueCount: number;
  queueMaxLen: number;
  socketBufferBytes: number;
  failOpen: boolean;
  gso: boolean;
  icmpRateLimit: number;
  queueNice: number;
  queueFifoPriority: number;
  masquerade: {
    portMin: number;
    portMax: number;
    filtering: string;
    timeouts: { udpMs: number; tcpEstablishedMs: number; tcpTransitoryMs: number; icmpMs: number };
    maxMappings: number;
    maxPerHost64: number;
    maxRemotesPerMapping: number;
    inboundRefresh: boolean;
    privilegedPorts: boolean;
  };
}

const engineDefaults = (native as unknown as { engineDefaults?: EngineDefaults }).engineDefaults;
const skip = engineDefaults ? false : 'the addon predates engineDefaults: rebuild it (npm run build)';

test('the engine options the schema fills in equal the native engine defaults', { skip }, () => {
  const d = engineDefaults!;
  const c = gatewayConfigSchema.parse({ nptv6: [{ inside: 'fd00::/64', outside: '2001:db8::/64', interface: 'eth1' }] });
  assert.deepEqual(
    { queueFirst: c.queues.first, queueCount: c.queues.count, queueMaxLen: c.queueMaxLen, socketBufferBytes: c.socketBufferBytes, failOpen: c.failOpen, gso: c.queues.gso, icmpRateLimit: c.icmpRateLimit },
    { queueFirst: d.queueFirst, queueCount: d.queueCount, queueMaxLen: d.queueMaxLen, socketBufferBytes: d.socketBufferBytes, failOpen: d.failOpen, gso: d.gso, icmpRateLimit: d.icmpRateLimit },
  );
  // queues.nice has no schema default (left out, the engine's applies): its help must name the engine's.
  assert.equal(c.queues.nice, undefined);
  assert.match(FIELD_HELP['queues.nice']!, new RegExp(`default ${d.queueNice}\\b`));
  assert.equal(d.queueFifoPriority, 0, 'SCHED_FIFO stays off unless asked for (the schema has no such option)');
});

test('a masquerade entry the schema fills in equals the native Nat66Config defaults (privilegedPorts: false on both)', { skip }, () => {
  const m = engineDefaults!.masquerade;
  const e = gatewayConfigSchema.parse({ masquerade: [{ source: 'fd00:1::/64', interface: 'eth1' }] }).masquerade[0]!;
  assert.equal(e.ports, `${m.portMin}-${m.portMax}`);
  assert.equal(e.filtering, m.filtering);
  assert.deepEqual(
    { udpMs: e.timeouts.udp * 1000, tcpEstablishedMs: e.timeouts.tcpEstablished * 1000, tcpTransitoryMs: e.timeouts.tcpTransitory * 1000, icmpMs: e.timeouts.icmp * 1000 },
    m.timeouts,
  );
  assert.equal(e.maxMappings, m.maxMappings);
  assert.equal(e.maxPerHost64, m.maxPerHost64);
  assert.equal(e.maxRemotesPerMapping, m.maxRemotesPerMapping);
  assert.equal(e.inboundRefresh, m.inboundRefresh);
  // The copies disagreed once (schema false, native true); the schema's value is the one.
  assert.equal(e.privilegedPorts, false);
  assert.equal(m.privilegedPorts, false);
});

test('the help text states the default the schema applies', () => {
  const c = gatewayConfigSchema.parse({ nptv6: [{ inside: 'fd00::/64', outside: '2001:db8::/64', interface: 'eth1' }] });
  for (const key of ['queueMaxLen', 'socketBufferBytes', 'icmpRateLimit', 'failOpen', 'hairpinMark'] as const) {
    assert.match(FIELD_HELP[key]!, new RegExp(`default ${c[key]}\\b`), key);
  }
});
