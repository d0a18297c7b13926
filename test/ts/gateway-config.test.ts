// The gateway's JSON configuration: defaults, every refusal with the field it names and the fix it offers,
// and the committed JSON Schema being what the zod schema generates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Npt66Error } from '../../src/errors';
import { compileGatewayConfig, gatewayJsonSchemaText, loadGatewayConfig, schemaFile } from '../../src/gateway-config';
import { assertRefused } from './lib/config_refusal';

const mapping = { inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' };
const minimal = { nptv6: [mapping] };

// Asserts the config is refused with ERR_NPT66_CONFIG, the first problem on `field`, the message matching every pattern.
function refuses(config: unknown, field: string, ...patterns: RegExp[]): string {
  return assertRefused(() => compileGatewayConfig(config), config, field, ...patterns);
}

const withTop = (extra: Record<string, unknown>) => ({ ...minimal, ...extra });
const withMapping = (extra: Record<string, unknown>) => ({ nptv6: [{ ...mapping, ...extra }] });

test('the issue example is valid, and every default is filled in', () => {
  const { config, mappings } = compileGatewayConfig({ ...minimal, queues: { first: 0, count: 1 }, failOpen: false });
  assert.deepEqual(config, {
    nptv6: [mapping],
    queues: { first: 0, count: 1, cpus: 'auto', gso: true },
    queueMaxLen: 4096,
    socketBufferBytes: 8388608,
    failOpen: false,
    icmpRateLimit: 100,
    hairpinMark: 0x10000000,
    control: { socket: '/run/npt66/npt66.sock' },
    masquerade: [],
    logs: { warningInterval: 60 },
  });
  assert.equal(mappings.length, 1);
  assert.equal(mappings[0]!.insideLength, 64);
  assert.deepEqual(mappings[0]!.outside, Buffer.from('20010db8ff6600000000000000000000', 'hex'));
});

test('explicit values are kept; "$schema" is allowed for editors', () => {
  const { config } = compileGatewayConfig({
    $schema: './schema/npt66.schema.json',
    ...minimal,
    queues: { first: 7, count: 4 },
    queueMaxLen: 16,
    socketBufferBytes: 65536,
    failOpen: true,
    icmpRateLimit: 0,
    hairpinMark: 0,
    control: { socket: '/tmp/x.sock' },
  });
  assert.deepEqual(config.queues, { first: 7, count: 4, cpus: 'auto', gso: true });
  assert.equal(config.failOpen, true);
  assert.equal(config.hairpinMark, 0);
  assert.equal(config.icmpRateLimit, 0);
  assert.equal(config.control.socket, '/tmp/x.sock');
});

test('unknown keys are errors, with the closest allowed key suggested', () => {
  refuses(withTop({ queus: {} }), 'queus', /unknown key; did you mean "queues"\?/, /"nptv6", "queues", "queueMaxLen"/);
  refuses(withMapping({ interfce: 'eth1' }), 'nptv6[0].interfce', /did you mean "interface"\?/, /"inside", "outside", "interface"/);
  refuses(withTop({ queues: { first: 0, count: 1, frist: 1 } }), 'queues.frist', /did you mean "first"\?/);
  refuses(withTop({ control: { sockt: '/run/x.sock' } }), 'control.sockt', /did you mean "socket"\?/);
  const far = refuses(withTop({ verbose: true }), 'verbose', /unknown key; the keys allowed here are/);
  assert.doesNotMatch(far, /did you mean/);
});

test('nptv6: missing or empty without masquerade, or not an array', () => {
  refuses({}, 'nptv6', /is missing and there is no "masquerade" either, so npt66 would have nothing to do/, /"nptv6": \[\{"inside"/, /"masquerade": \[\{"source"/);
  refuses({ nptv6: [] }, 'nptv6', /is empty and there is no "masquerade" either/);
  refuses({ nptv6: [], masquerade: [] }, 'nptv6', /is empty and there is no "masquerade" either/);
  refuses({ nptv6: {} }, 'nptv6', /must be an array of NPTv6 mappings/, /got an object/);
  refuses({ nptv6: ['x'] }, 'nptv6[0]', /must be an object \{"inside"/);
});

test('the whole configuration must be an object', () => {
  assert.throws(() => compileGatewayConfig('x'), (e: Npt66Error) => e.code === 'ERR_NPT66_CONFIG' && /must be a JSON object like/.test(e.message));
  assert.throws(() => compileGatewayConfig(null), /got null/);
});

test('interface names: IFNAMSIZ and the allowed characters', () => {
  refuses(withMapping({ interface: undefined }), 'nptv6[0].interface', /is missing; it must be the name of the outside interface/);
  for (const bad of ['eth1-is-too-long', '-eth1', 'eth+', 'eth 1', 'eth/1', 'eth:1', '..', '.', '']) {
    refuses(withMapping({ interface: bad }), 'nptv6[0].interface', /1 to 15 characters of letters, digits/, new RegExp(`got ${JSON.stringify(JSON.stringify(bad)).slice(1, -1).replace(/[.+/]/g, '\\$&')}`));
  }
  refuses(withMapping({ interface: 1 }), 'nptv6[0].interface', /got 1$/);
  for (const good of ['eth1', 'ens192', 'br-lan.10', 'wg_0', 'a234567890abcde']) {
    assert.equal(compileGatewayConfig(withMapping({ interface: good })).config.nptv6[0]!.interface, good);
  }
});

test('prefix problems come from the NPTv6 validation, naming nptv6[i].inside/outside', () => {
  refuses(withMapping({ inside: 'fd5a:ceb9:ed8d:fe0a::1/64' }), 'nptv6[0].inside', /host bits set; did you mean fd5a:ceb9:ed8d:fe0a::\/64\?/);
  refuses(withMapping({ outside: 'fe80::/64' }), 'nptv6[0].outside', /link-local/);
  refuses(withMapping({ inside: 42 }), 'nptv6[0].inside', /must be the prefix the inside hosts use, a string like/, /got 42/);
});

test("the seed's two inside /64s on one outside /64 is refused, saying why and what to do", () => {
  refuses(
    { nptv6: [mapping, { ...mapping, inside: 'fd5a:ceb9:ed8d:fefc::/64' }] },
    'nptv6[1].outside',
    /NPTv6 is stateless/,
    /Give each inside prefix its own outside prefix/,
  );
});

test('queues: ranges, and the last queue within 65535', () => {
  refuses(withTop({ queues: { first: -1, count: 1 } }), 'queues.first', /an integer from 0 to 65535/, /got -1/);
  refuses(withTop({ queues: { first: 65536, count: 1 } }), 'queues.first', /got 65536/);
  refuses(withTop({ queues: { first: 0, count: 0 } }), 'queues.count', /an integer from 1 to 64/, /got 0/);
  refuses(withTop({ queues: { first: 0, count: 65 } }), 'queues.count', /got 65/);
  refuses(withTop({ queues: { first: 0.5, count: 1 } }), 'queues.first', /got 0\.5/);
  refuses(withTop({ queues: { first: 0 } }), 'queues.count', /is missing/);
  refuses(withTop({ queues: { first: 65535, count: 2 } }), 'queues.count', /queues 65535\.\.65536 go past 65535/, /lower "first" or "count"/);
  assert.equal(compileGatewayConfig(withTop({ queues: { first: 65534, count: 2 } })).config.queues.first, 65534);
});

test('queues: thread placement (cpus "auto" by default or a list, nice) is optional and range-checked', () => {
  assert.deepEqual(compileGatewayConfig(withTop({ queues: { first: 0, count: 2, cpus: [0, 1], nice: -5 } })).config.queues, { first: 0, count: 2, cpus: [0, 1], nice: -5, gso: true });
  assert.equal(compileGatewayConfig(withTop({ queues: { first: 0, count: 2 } })).config.queues.cpus, 'auto');
  assert.equal(compileGatewayConfig(withTop({ queues: { first: 0, count: 2, cpus: 'auto' } })).config.queues.cpus, 'auto');
  refuses(withTop({ queues: { first: 0, count: 1, cpus: 'all' } }), 'queues.cpus', /"auto" \(default\) or a list of CPU numbers/, /got "all"/);
  refuses(withTop({ queues: { first: 0, count: 1, cpus: [] } }), 'queues.cpus', /./);
  refuses(withTop({ queues: { first: 0, count: 1, cpus: [-1] } }), 'queues.cpus[0]', /a CPU number from 0 to 1023/, /got -1/);
  refuses(withTop({ queues: { first: 0, count: 1, nice: -21 } }), 'queues.nice', /an integer from -20 to 19/, /got -21/);
});

test('queue sizes, failOpen, icmpRateLimit: types and ranges', () => {
  refuses(withTop({ queueMaxLen: 15 }), 'queueMaxLen', /an integer from 16 to 1048576/, /default 4096/, /got 15/);
  refuses(withTop({ queueMaxLen: 1.5 }), 'queueMaxLen', /got 1\.5/);
  refuses(withTop({ socketBufferBytes: 1024 }), 'socketBufferBytes', /from 65536 to 1073741824/, /got 1024/);
  refuses(withTop({ failOpen: 'no' }), 'failOpen', /true or false/, /leaks inside addresses/, /got "no"/);
  refuses(withTop({ icmpRateLimit: -1 }), 'icmpRateLimit', /0 sends none/, /got -1/);
  refuses(withTop({ icmpRateLimit: 100_001 }), 'icmpRateLimit', /got 100001/);
});

test('hairpinMark: one bit, or 0 for off', () => {
  refuses(withTop({ hairpinMark: 3 }), 'hairpinMark', /exactly one bit set/, /0 to turn hairpinning off/, /got 3/);
  refuses(withTop({ hairpinMark: -8 }), 'hairpinMark', /got -8/);
  refuses(withTop({ hairpinMark: '0x10' }), 'hairpinMark', /got "0x10"/);
  assert.equal(compileGatewayConfig(withTop({ hairpinMark: 0x80000000 })).config.hairpinMark, 0x80000000);
  assert.equal(compileGatewayConfig(withTop({ hairpinMark: 1 })).config.hairpinMark, 1);
});

test('control.socket: absolute and short enough for sun_path', () => {
  refuses(withTop({ control: { socket: 'npt66.sock' } }), 'control.socket', /an absolute path of at most 107 bytes/, /got "npt66\.sock"/);
  refuses(withTop({ control: { socket: `/${'x'.repeat(107)}` } }), 'control.socket', /at most 107 bytes/);
  refuses(withTop({ control: { socket: '/run/npt66/' } }), 'control.socket', /absolute path/);
  assert.equal(compileGatewayConfig(withTop({ control: {} })).config.control.socket, '/run/npt66/npt66.sock');
});

test('several problems are reported together, the first naming the field', () => {
  try {
    compileGatewayConfig({ nptv6: [{ ...mapping, interface: '-x' }], failOpen: 1, extra: true });
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof Npt66Error);
    assert.equal(e.field, 'nptv6[0].interface');
    const lines = e.message.split('\n');
    assert.equal(lines.length, 3, e.message);
    assert.match(lines[1]!, /^failOpen: must be true or false/);
    assert.match(lines[2]!, /^extra: unknown key/);
  }
});

test('loadGatewayConfig: file errors and JSON syntax errors with line and column', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ng-config-'));
  try {
    const file = join(dir, 'npt66.json');
    writeFileSync(file, '{\n  "nptv6": [\n    {"inside": "fd00::/64",}\n  ]\n}\n');
    assert.throws(() => loadGatewayConfig(file), (e: Npt66Error) => e.code === 'ERR_NPT66_CONFIG' && /is not valid JSON at line 3, column \d+/.test(e.message));
    assert.throws(() => loadGatewayConfig(join(dir, 'missing.json')), (e: Npt66Error) => e.code === 'ERR_NPT66_CONFIG' && /cannot read .*missing\.json/.test(e.message));
    writeFileSync(file, JSON.stringify(minimal));
    assert.equal(loadGatewayConfig(file).config.queueMaxLen, 4096);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('schema/npt66.schema.json is what the zod schema generates (run `npm run schema` after changing it)', () => {
  assert.equal(readFileSync(schemaFile(), 'utf8'), gatewayJsonSchemaText());
});

test('the JSON Schema refuses unknown keys and documents every field', () => {
  const schema = JSON.parse(gatewayJsonSchemaText()) as {
    additionalProperties: boolean;
    required: string[];
    properties: Record<string, { description?: string; default?: unknown }>;
  };
  assert.equal(schema.additionalProperties, false);
  assert.equal(schema.required, undefined); // "nptv6" or "masquerade", checked when compiling
  for (const [name, p] of Object.entries(schema.properties)) assert.ok(p.description, `${name} has no description`);
  assert.equal(schema.properties.queueMaxLen!.default, 4096);
});

test('nptv6[].proxyNdp: true is "neighbours", "prefix" is kept, false or absent is none, anything else refused', () => {
  const entry = (proxyNdp?: unknown) => withMapping(proxyNdp !== undefined ? { proxyNdp } : {});
  assert.equal(compileGatewayConfig(entry(true)).config.nptv6[0]!.proxyNdp, 'neighbours');
  assert.equal(compileGatewayConfig(entry('neighbours')).config.nptv6[0]!.proxyNdp, 'neighbours');
  assert.equal(compileGatewayConfig(entry('prefix')).config.nptv6[0]!.proxyNdp, 'prefix');
  assert.equal('proxyNdp' in compileGatewayConfig(entry(false)).config.nptv6[0]!, false);
  assert.equal('proxyNdp' in compileGatewayConfig(entry()).config.nptv6[0]!, false);
  refuses(entry('all'), 'nptv6[0].proxyNdp');
});
