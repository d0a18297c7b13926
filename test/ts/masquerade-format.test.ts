// Mapping events and listings: the "mapping" log line of `npt66 run` (conntrack -E style) and the `npt66 mappings`
// table and JSON, from given records.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Logger } from '../../src/log';
import { formatMappingsTable, mappingJson, mappingLogFields } from '../../src/mapping-format';
import type { NativeMappingRecord } from '../../src/native';
import { formatStats } from '../../src/commands/stats';
import type { GatewayStats } from '../../src/gateway';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5); // 2025-01-02T03:04:05.000Z

const udp: NativeMappingRecord = {
  masquerade: 0,
  protocol: 'udp',
  state: 'udp',
  inside: 'fd5a:ceb9:ed8d:1::2',
  insidePort: 41000,
  outside: 'fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5',
  outsidePort: 20001,
  remote: '2001:4860:4860::8888',
  remotePort: 53,
  remoteCount: 3,
  created: T0,
  lastUsed: T0 + 1500,
  expires: T0 + 301500,
  packetsOut: 2,
  packetsIn: 1,
  bytesOut: 140,
  bytesIn: 96,
};

const ping: NativeMappingRecord = {
  ...udp,
  protocol: 'icmpv6',
  state: 'icmp',
  insidePort: 7,
  outsidePort: 20000,
  remotePort: 7,
  remoteCount: 1,
  expires: T0 + 60000,
  packetsOut: 1,
  packetsIn: 1,
  bytesOut: 104,
  bytesIn: 104,
};

test('a mapping event becomes one JSON log line, conntrack -E style', () => {
  const lines: string[] = [];
  new Logger((l) => lines.push(l)).info('mapping', mappingLogFields('NEW', udp));
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.match(String(record.time), /^\d{4}-\d\d-\d\dT/);
  delete record.time;
  assert.deepEqual(record, {
    level: 'info',
    msg: 'mapping',
    event: 'NEW',
    masquerade: 0,
    protocol: 'udp',
    state: 'udp',
    inside: '[fd5a:ceb9:ed8d:1::2]:41000',
    outside: '[fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5]:20001',
    remote: '[2001:4860:4860::8888]:53',
    remoteCount: 3,
    created: '2025-01-02T03:04:05.000Z',
    lastUsed: '2025-01-02T03:04:06.500Z',
    expires: '2025-01-02T03:09:06.500Z',
    packets: { out: 2, in: 1 },
    bytes: { out: 140, in: 96 },
  });
  // The key order a reader sees: what happened first, then what it happened to.
  assert.deepEqual(Object.keys(JSON.parse(lines[0]!)).slice(0, 6), ['time', 'level', 'msg', 'event', 'masquerade', 'protocol']);
});

test('npt66 mappings --json: the same objects as the log lines, without the event', () => {
  assert.deepEqual(Object.keys(mappingJson(udp)), ['masquerade', 'protocol', 'state', 'inside', 'outside', 'remote', 'remoteCount', 'created', 'lastUsed', 'expires', 'packets', 'bytes']);
  assert.equal(mappingJson(ping).inside, '[fd5a:ceb9:ed8d:1::2]:7');
});

test('npt66 mappings --json: a mapping lists its remotes with their expiries (and a TCP connection its state)', () => {
  const listed: NativeMappingRecord = {
    ...udp,
    remotes: [
      { address: '2001:4860:4860::8888', port: 53, expires: T0 + 301500 },
      { address: '2001:4860:4860::8844', port: 53, expires: T0 + 300000 },
      { address: '2001:db8::53', port: 5353, expires: T0 + 290000 },
    ],
  };
  assert.deepEqual(mappingJson(listed).remotes, [
    { remote: '[2001:4860:4860::8888]:53', expires: '2025-01-02T03:09:06.500Z' },
    { remote: '[2001:4860:4860::8844]:53', expires: '2025-01-02T03:09:05.000Z' },
    { remote: '[2001:db8::53]:5353', expires: '2025-01-02T03:08:55.000Z' },
  ]);
  const tcp: NativeMappingRecord = { ...udp, protocol: 'tcp', state: 'tcp_established', remotes: [{ address: '2001:db8::1', port: 443, state: 'tcp_transitory', expires: T0 }] };
  assert.deepEqual(mappingJson(tcp).remotes, [{ remote: '[2001:db8::1]:443', state: 'tcp_transitory', expires: '2025-01-02T03:04:05.000Z' }]);
  // Events carry the count only.
  assert.equal(mappingJson(udp).remotes, undefined);
});

test('a REMOTE event is an info line, a LIMIT event names the refused remote', () => {
  const lines: string[] = [];
  const log = new Logger((l) => lines.push(l));
  log.info('mapping', mappingLogFields('REMOTE', { ...udp, remote: '2001:db8::7' }));
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(line.event, 'REMOTE');
  assert.equal(line.remote, '[2001:db8::7]:53');
  assert.equal(line.remoteCount, 3);
});

test('npt66 mappings: a conntrack -L like table, sorted, seconds to expiry, packets and bytes each way', () => {
  assert.equal(
    formatMappingsTable([udp, ping], T0 + 1500),
    [
      'proto   state  expires  inside                       outside                                          remote                     remotes  packets out/in  bytes out/in',
      'icmpv6  icmp   59 s     [fd5a:ceb9:ed8d:1::2]:7      [fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5]:20000  [2001:4860:4860::8888]:7   1        1/1             104/104',
      'udp     udp    300 s    [fd5a:ceb9:ed8d:1::2]:41000  [fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5]:20001  [2001:4860:4860::8888]:53  3        2/1             140/96',
      'npt66 mappings: 2 mappings listed.',
      '',
    ].join('\n'),
  );
  assert.match(formatMappingsTable([], T0), /^proto +state +expires .*\nnpt66 mappings: 0 mappings listed\.\n$/);
  assert.match(formatMappingsTable([{ ...udp, expires: T0 - 5000 }], T0), /  0 s  /, 'an expired-but-not-yet-removed mapping shows 0 s');
});

test('npt66 stats shows the table figures per masquerade entry', () => {
  const stats: GatewayStats = {
    time: '2025-01-02T03:04:05.000Z',
    startedAt: '2025-01-02T03:00:00.000Z',
    uptimeSeconds: 245,
    state: 'running',
    rules: 'ip6tables',
    failOpen: false,
    queues: [],
    mappings: [],
    masquerade: [
      {
        index: 0,
        source: ['fd5a:ceb9:ed8d:1::/64'],
        address: 'fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5',
        keptAddresses: [],
        interface: 'ens192',
        ports: '20000-29999',
        live: 3,
        byState: { udp: 1, tcp_transitory: 0, tcp_established: 1, icmp: 1 },
        outbound: 10,
        inbound: 8,
        dropped: 1,
      },
    ],
    drops: {},
    total: {},
  };
  const text = formatStats(stats, false);
  assert.match(
    text,
    /\nmasquerade:\n  \[0\] fd5a:ceb9:ed8d:1::\/64 -> fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5 ports 20000-29999 on ens192: 3 live mappings \(udp 1, tcp_established 1, icmp 1\); 10 outbound, 8 inbound, 1 dropped\n/,
  );
  assert.match(text, /^mappings:\n  \(none\)$/m);
  // A daemon from before masquerade: no section, no crash.
  const old = { ...stats, masquerade: undefined } as unknown as GatewayStats;
  assert.doesNotMatch(formatStats(old, false), /masquerade/);
});
