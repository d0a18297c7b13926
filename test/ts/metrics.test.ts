// The Prometheus exposition (src/metrics.ts) of a known stats snapshot: names, help texts (counters.def's), values,
// a second scrape showing the new snapshot (not a sum), the HTTP endpoint, and the "metrics" configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';

import { counterDescriptions, counterHelp } from '../../src/counters';
import { compileGatewayConfig } from '../../src/gateway-config';
import { systemHostFacts } from '../../src/host-facts';
import type { GatewayStats } from '../../src/gateway';
import { GatewayMetrics, MetricsServer } from '../../src/metrics';
import { isLoopbackAddress, parseMetricsListen } from '../../src/metrics-listen';
import { assertRefused } from './lib/config_refusal';

const dropName = counterDescriptions.find((d) => d.kind === 'drop')!.name;
const eventName = counterDescriptions.find((d) => d.kind === 'event')!.name;

function snapshot(scale: number): GatewayStats {
  const total: Record<string, number> = Object.fromEntries(counterDescriptions.map((d) => [d.name, 0]));
  total[dropName] = 7 * scale;
  total[eventName] = 11 * scale;
  return {
    time: '2026-12-04T20:00:00.000Z',
    startedAt: '2026-12-04T19:00:00.000Z',
    uptimeSeconds: 3600,
    state: 'running',
    rules: 'nft',
    failOpen: false,
    queues: [
      {
        queue: 3,
        counters: { queue_received: 1000 * scale, queue_receive_batches: 250 * scale },
        kernel: { portId: 1, queueTotal: 2, copyMode: 2, copyRange: 65535, queueDropped: 5 * scale, userDropped: 1 * scale, idSequence: 1000 },
      },
    ],
    mappings: [
      { index: 0, inside: 'fd00:1::/64', outside: '2001:db8:1::/64', interface: 'eth1', outbound: 100 * scale, inbound: 90 * scale, dropped: 3 * scale, outboundBytes: 12800 * scale, inboundBytes: 9000 * scale },
    ],
    masquerade: [
      {
        index: 0,
        source: ['fd00:2::/64', 'fd00:3::/64'],
        address: '2001:db8:2::1',
        keptAddresses: [],
        interface: 'eth2',
        ports: '20000-29999',
        live: 6,
        byState: { udp: 4, tcp_transitory: 0, tcp_established: 2, icmp: 0 },
        outbound: 50 * scale,
        inbound: 40 * scale,
        dropped: 2,
        outboundBytes: 5000 * scale,
        inboundBytes: 4000 * scale,
      },
    ],
    drops: { [dropName]: 7 * scale },
    total,
  };
}

const config = compileGatewayConfig(
  {
    nptv6: [{ inside: 'fd00:1::/64', outside: '2001:db8:1::/64', interface: 'eth1' }],
    masquerade: [{ source: ['fd00:2::/64', 'fd00:3::/64'], interface: 'eth2', address: '2001:db8:2::1', ports: '20000-29999', maxMappings: 5000 }],
  },
  { ...systemHostFacts, localPortRange: () => [32768, 60999] },
).config;

// "name{labels} value" lines -> value, and "# HELP name text" -> text.
function parse(text: string): { values: Map<string, number>; help: Map<string, string>; type: Map<string, string> } {
  const values = new Map<string, number>();
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  for (const line of text.split('\n')) {
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) help.set(m[1]!, m[2]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\'));
    else if ((m = /^# TYPE (\S+) (\S+)$/.exec(line))) type.set(m[1]!, m[2]!);
    else if ((m = /^(\S+?(?:\{.*\})?) (\S+)$/.exec(line))) values.set(m[1]!, Number(m[2]));
  }
  return { values, help, type };
}

test('every figure of a stats snapshot is exposed under its name, with its help, and a second scrape shows the new snapshot', async () => {
  let scale = 1;
  const metrics = new GatewayMetrics({ stats: () => snapshot(scale), config: () => config });
  const first = parse(await metrics.exposition());
  const v = first.values;

  assert.equal(v.get(`npt66_build_info{version="0.1.0",node="${process.versions.node}",napi="${process.versions.napi}"}`), 1);
  assert.equal(v.get('npt66_start_time_seconds'), Date.parse('2026-12-04T19:00:00.000Z') / 1000);
  assert.equal(v.get('npt66_state{state="running"}'), 1);

  assert.equal(v.get('npt66_nptv6_prefix_info{mapping="0",inside="fd00:1::/64",interface="eth1",outside="2001:db8:1::/64"}'), 1);
  assert.equal(v.get('npt66_nptv6_packets_total{mapping="0",inside="fd00:1::/64",interface="eth1",direction="outbound"}'), 100);
  assert.equal(v.get('npt66_nptv6_packets_total{mapping="0",inside="fd00:1::/64",interface="eth1",direction="inbound"}'), 90);
  assert.equal(v.get('npt66_nptv6_bytes_total{mapping="0",inside="fd00:1::/64",interface="eth1",direction="outbound"}'), 12800);
  assert.equal(v.get('npt66_nptv6_bytes_total{mapping="0",inside="fd00:1::/64",interface="eth1",direction="inbound"}'), 9000);
  assert.equal(v.get('npt66_nptv6_dropped_packets_total{mapping="0",inside="fd00:1::/64",interface="eth1"}'), 3);
  assert.equal(first.type.get('npt66_nptv6_packets_total'), 'counter');

  const masq = 'masquerade="0",address="2001:db8:2::1",interface="eth2"';
  assert.equal(v.get(`npt66_masquerade_info{${masq},source="fd00:2::/64,fd00:3::/64",ports="20000-29999"}`), 1);
  assert.equal(v.get(`npt66_masquerade_packets_total{${masq},direction="outbound"}`), 50);
  assert.equal(v.get(`npt66_masquerade_packets_total{${masq},direction="inbound"}`), 40);
  assert.equal(v.get(`npt66_masquerade_bytes_total{${masq},direction="outbound"}`), 5000);
  assert.equal(v.get(`npt66_masquerade_bytes_total{${masq},direction="inbound"}`), 4000);
  assert.equal(v.get(`npt66_masquerade_dropped_packets_total{${masq}}`), 2);
  assert.equal(v.get(`npt66_masquerade_mappings{${masq},state="udp"}`), 4);
  assert.equal(v.get(`npt66_masquerade_mappings{${masq},state="tcp_established"}`), 2);
  assert.equal(v.get(`npt66_masquerade_mappings_limit{${masq}}`), 5000);
  assert.equal(first.type.get('npt66_masquerade_mappings'), 'gauge');

  assert.equal(v.get('npt66_queue_packets_total{queue="3"}'), 1000);
  assert.equal(v.get('npt66_queue_batches_total{queue="3"}'), 250);
  assert.equal(v.get('npt66_queue_batch_size_mean{queue="3"}'), 4);
  assert.equal(v.get('npt66_queue_kernel_dropped_total{queue="3",cause="queue_full"}'), 5);
  assert.equal(v.get('npt66_queue_kernel_dropped_total{queue="3",cause="socket_buffer_full"}'), 1);
  assert.equal(v.get('npt66_queue_waiting_packets{queue="3"}'), 2);

  // Drops by reason, and every counter of counters.def as a family with that file's description.
  assert.equal(v.get(`npt66_drops_total{reason="${dropName}"}`), 7);
  assert.equal(v.get(`npt66_${dropName}_total`), 7);
  assert.equal(v.get(`npt66_${eventName}_total`), 11);
  assert.equal(first.help.get(`npt66_${dropName}_total`), `drop: ${counterHelp.get(dropName)}`);
  assert.equal(first.help.get(`npt66_${eventName}_total`), counterHelp.get(eventName));
  for (const d of counterDescriptions) {
    assert.equal(first.type.get(`npt66_${d.name}_total`), 'counter', d.name);
    assert.equal(v.get(`npt66_${d.name}_total`), snapshot(1).total[d.name], d.name);
  }

  // The next scrape is the next snapshot, not the two added up.
  scale = 3;
  const second = parse(await metrics.exposition()).values;
  assert.equal(second.get('npt66_nptv6_packets_total{mapping="0",inside="fd00:1::/64",interface="eth1",direction="outbound"}'), 300);
  assert.equal(second.get(`npt66_drops_total{reason="${dropName}"}`), 21);
  assert.equal(second.get('npt66_queue_kernel_dropped_total{queue="3",cause="queue_full"}'), 15);
});

test('a mapping gone from the snapshot (after a reload) leaves the exposition; one snapshot per scrape', async () => {
  let calls = 0;
  let s = snapshot(1);
  const metrics = new GatewayMetrics({
    stats: () => {
      calls++;
      return s;
    },
  });
  assert.match(await metrics.exposition(), /npt66_nptv6_packets_total\{mapping="0"/);
  assert.equal(calls, 1);
  s = { ...snapshot(1), mappings: [], masquerade: [] };
  const text = await metrics.exposition();
  assert.equal(calls, 2);
  assert.doesNotMatch(text, /npt66_nptv6_packets_total\{/);
  assert.doesNotMatch(text, /npt66_masquerade_mappings\{/);
  assert.doesNotMatch(text, /npt66_masquerade_mappings_limit\{/); // no configuration given
});

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '::1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    })
      .on('error', reject)
      .end();
  });
}

test('the endpoint serves GET /metrics on loopback, 404 elsewhere, 503 while there is no snapshot', async () => {
  let ready = false;
  const server = await MetricsServer.listen({ host: '::1', port: 0 }, {
    stats: () => {
      if (!ready) throw new Error('the gateway is still starting');
      return snapshot(1);
    },
  });
  try {
    const { port } = server.address;
    assert.equal(server.address.address, '::1');
    const starting = await get(port, '/metrics');
    assert.equal(starting.status, 503);
    assert.match(starting.body, /still starting/);
    ready = true;
    const ok = await get(port, '/metrics');
    assert.equal(ok.status, 200);
    assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
    assert.match(ok.body, /^npt66_nptv6_packets_total\{mapping="0",inside="fd00:1::\/64",interface="eth1",direction="outbound"\} 100$/m);
    assert.equal((await get(port, '/')).status, 404);
  } finally {
    await server.close();
  }
});

test('metrics.listen: a literal address and port, loopback unless allowRemote', () => {
  assert.deepEqual(parseMetricsListen('[::1]:9466'), { host: '::1', port: 9466, loopback: true });
  assert.deepEqual(parseMetricsListen('127.0.0.1:9466'), { host: '127.0.0.1', port: 9466, loopback: true });
  assert.deepEqual(parseMetricsListen('[2001:db8::1]:80'), { host: '2001:db8::1', port: 80, loopback: false });
  for (const bad of ['::1:9466', 'localhost:9466', '[::1]', '[::1]:0', '[::1]:65536', '[127.0.0.1]:1', '::1']) assert.equal(parseMetricsListen(bad), null, bad);
  for (const yes of ['::1', '0:0:0:0:0:0:0:1', '0::0001', '127.3.2.1', '::ffff:127.0.0.1']) assert.ok(isLoopbackAddress(yes), yes);
  for (const no of ['::', '::2', '1::1', '128.0.0.1', '0.0.0.0', '::ffff:10.0.0.1', 'fe80::1']) assert.ok(!isLoopbackAddress(no), no);

  const base = { nptv6: [{ inside: 'fd00:1::/64', outside: '2001:db8:1::/64', interface: 'eth1' }] };
  assert.equal(compileGatewayConfig(base).config.metrics, undefined); // off by default
  assert.deepEqual(compileGatewayConfig({ ...base, metrics: { listen: '[::1]:9466' } }).config.metrics, { listen: '[::1]:9466', allowRemote: false });
  assert.deepEqual(compileGatewayConfig({ ...base, metrics: { listen: '[::]:9466', allowRemote: true } }).config.metrics, { listen: '[::]:9466', allowRemote: true });
  const refuse = (metrics: unknown, field: string, ...p: RegExp[]) => assertRefused(() => compileGatewayConfig({ ...base, metrics }), metrics, field, ...p);
  refuse({ listen: '[::]:9466' }, 'metrics.listen', /not a loopback address/, /"\[::1\]:9466"/, /"allowRemote": true/);
  refuse({ listen: '192.0.2.1:9466', allowRemote: false }, 'metrics.listen', /not a loopback address/);
  refuse({ listen: 'localhost:9466' }, 'metrics.listen', /literal address and port/);
  refuse({ listen: '[::1]:9466', alowRemote: true }, 'metrics.alowRemote', /did you mean "allowRemote"/);
});
