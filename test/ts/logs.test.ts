// Logs (issue 11 part 7): a repeated warning once per interval with the count held back, and the mapping log file
// (NEW and DESTROY only, no destination: RFC 6888 REQ-12; reopened for log rotation); the "logs" configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { MappingRecord } from '../../src/engine-records';
import { compileGatewayConfig } from '../../src/gateway-config';
import { Logger } from '../../src/log';
import { MappingLog } from '../../src/mapping-log';
import { RepeatLimiter } from '../../src/repeat-limiter';
import { assertRefused } from './lib/config_refusal';

test('RepeatLimiter: the first of a message passes, the rest of its interval are counted and reported with the next', () => {
  let now = 1000;
  const r = new RepeatLimiter(60_000, () => now);
  assert.deepEqual(r.admit('a'), { pass: true, suppressed: 0 });
  assert.deepEqual(r.admit('a'), { pass: false, suppressed: 0 });
  assert.deepEqual(r.admit('b'), { pass: true, suppressed: 0 }); // another message has its own interval
  now += 59_999;
  assert.deepEqual(r.admit('a'), { pass: false, suppressed: 0 });
  assert.deepEqual(r.sweep(), []); // nothing is due yet
  now += 1;
  assert.deepEqual(r.admit('a'), { pass: true, suppressed: 2 });
  r.admit('a');
  r.admit('a');
  now += 60_000;
  assert.deepEqual(r.sweep(), [{ key: 'a', suppressed: 2 }]); // "b" had none held back: forgotten silently
  assert.deepEqual(r.sweep(), []);
  assert.deepEqual(r.admit('a'), { pass: true, suppressed: 0 }); // the sweep reported them already
  r.admit('a');
  assert.deepEqual(r.drain(), [{ key: 'a', suppressed: 1 }]);
  const off = new RepeatLimiter(0, () => now);
  assert.deepEqual([off.admit('x'), off.admit('x')], [{ pass: true, suppressed: 0 }, { pass: true, suppressed: 0 }]);
});

test('Logger.limitWarnings: one line per message and interval, the count held back on the next line and at shutdown', () => {
  const lines: Record<string, unknown>[] = [];
  const log = new Logger((l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  let now = 0;
  log.limitWarnings(10_000, () => now);
  for (let i = 0; i < 1000; i++) log.warning('interface eth9 does not exist', { queue: i % 2 });
  log.child({ part: 'x' }).warning('interface eth9 does not exist'); // children share the limit
  log.warning('another warning');
  for (let i = 0; i < 3; i++) log.info('mapping', { i }); // only warnings are limited
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg, l.suppressed]),
    [
      ['warning', 'interface eth9 does not exist', undefined],
      ['warning', 'another warning', undefined],
      ['info', 'mapping', undefined],
      ['info', 'mapping', undefined],
      ['info', 'mapping', undefined],
    ],
  );
  now = 10_000;
  log.warning('interface eth9 does not exist', { queue: 7 });
  assert.deepEqual([lines.at(-1)!.msg, lines.at(-1)!.suppressed, lines.at(-1)!.queue], ['interface eth9 does not exist', 1000, 7]);
  log.warning('interface eth9 does not exist');
  log.warning('interface eth9 does not exist');
  log.flushWarnings();
  assert.deepEqual([lines.at(-1)!.msg, lines.at(-1)!.suppressed, lines.at(-1)!.interval], ['interface eth9 does not exist', 2, 10]);
  const count = lines.length;
  log.warning('interface eth9 does not exist');
  log.warning('interface eth9 does not exist');
  assert.equal(lines.length, count + 2); // the limit is off after flushWarnings
});

const record = (over: Partial<MappingRecord> = {}): MappingRecord => ({
  masquerade: 0,
  protocol: 'udp',
  state: 'udp',
  inside: 'fd5a:ceb9:ed8d:1::1234',
  insidePort: 40002,
  outside: '2001:db8:ff66::1',
  outsidePort: 20417,
  remote: '2001:db8:99::7',
  remotePort: 53,
  remoteCount: 1,
  created: Date.parse('2026-12-04T19:00:00.000Z'),
  lastUsed: Date.parse('2026-12-04T19:00:30.000Z'),
  expires: Date.parse('2026-12-04T19:05:30.000Z'),
  packetsOut: 3,
  packetsIn: 2,
  bytesOut: 300,
  bytesIn: 200,
  ...over,
});

test('MappingLog: NEW and DESTROY with time, inside and outside, never the remote; reopened after rotation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'npt66-mapping-log-'));
  try {
    const path = join(dir, 'mappings.log');
    const log = new MappingLog(path);
    const t = new Date('2026-12-04T19:00:00.123Z');
    log.record('NEW', record(), t);
    log.record('UPDATE', record({ protocol: 'tcp', state: 'tcp_established' }), t);
    log.record('REMOTE', record(), t);
    log.record('LIMIT', record(), t);
    log.record('DESTROY', record(), new Date('2026-12-04T19:05:30.000Z'));
    await new Promise((r) => setImmediate(r)); // written once per event-loop turn
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines, [
      { time: '2026-12-04T19:00:00.123Z', event: 'NEW', protocol: 'udp', inside: '[fd5a:ceb9:ed8d:1::1234]:40002', outside: '[2001:db8:ff66::1]:20417', created: '2026-12-04T19:00:00.000Z' },
      {
        time: '2026-12-04T19:05:30.000Z',
        event: 'DESTROY',
        protocol: 'udp',
        inside: '[fd5a:ceb9:ed8d:1::1234]:40002',
        outside: '[2001:db8:ff66::1]:20417',
        created: '2026-12-04T19:00:00.000Z',
        lastUsed: '2026-12-04T19:00:30.000Z',
        packets: { out: 3, in: 2 },
        bytes: { out: 300, in: 200 },
      },
    ]);
    assert.doesNotMatch(readFileSync(path, 'utf8'), /2001:db8:99::7|remote/);

    // logrotate: the file is moved away, SIGHUP reopens; new lines go to a new file, the old one is complete.
    renameSync(path, `${path}.1`);
    log.record('NEW', record({ insidePort: 1 }), t);
    log.reopen();
    log.record('NEW', record({ insidePort: 2 }), t);
    log.close();
    assert.match(readFileSync(`${path}.1`, 'utf8').trimEnd().split('\n').at(-1)!, /1234\]:1"/);
    assert.equal(readFileSync(path, 'utf8').trimEnd().split('\n').length, 1);
    assert.match(readFileSync(path, 'utf8'), /1234\]:2"/);

    assert.throws(() => new MappingLog(join(dir, 'missing', 'x.log')), (e: Error & { code?: string }) => e.code === 'ERR_NPT66_CONFIG' && /logs\.mappings: cannot open/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the "logs" configuration: defaults, an absolute path, the interval range', () => {
  const base = { nptv6: [{ inside: 'fd00:1::/64', outside: '2001:db8:1::/64', interface: 'eth1' }] };
  assert.deepEqual(compileGatewayConfig(base).config.logs, { warningInterval: 60 });
  assert.deepEqual(compileGatewayConfig({ ...base, logs: { mappings: '/var/log/npt66/mappings.log', warningInterval: 0 } }).config.logs, {
    mappings: '/var/log/npt66/mappings.log',
    warningInterval: 0,
  });
  const refuse = (logs: unknown, field: string, ...p: RegExp[]) => assertRefused(() => compileGatewayConfig({ ...base, logs }), logs, field, ...p);
  refuse({ mappings: 'mappings.log' }, 'logs.mappings', /an absolute path/);
  refuse({ warningInterval: 86_401 }, 'logs.warningInterval', /from 0 to 86400/);
  refuse({ mapping: '/x' }, 'logs.mapping', /did you mean "mappings"/);
});
