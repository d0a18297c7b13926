// The npt66 CLI, run as a user would: `node dist/src/cli.js ...`, checking stdout, stderr and the exit code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// dist/test/ts/ -> dist/src/cli.js (the same layout in any --outDir)
const cli = path.resolve(__dirname, '..', '..', 'src', 'cli.js');

function npt66(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: process.env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const RFC_MAP = ['--map', 'fd01:203:405::/48=2001:db8:1::/48'];

test('translate prints the translation and exits 0 when all are translated', () => {
  const r = npt66('translate', ...RFC_MAP, 'fd01:203:405:1::1234', 'fd01:203:405:12::1');
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'fd01:203:405:1::1234 -> 2001:db8:1:d550::1234\nfd01:203:405:12::1 -> 2001:db8:1:d561::1\n');
  assert.equal(r.status, 0);
});

test('translate --inbound maps outside to inside', () => {
  const r = npt66('translate', '--inbound', ...RFC_MAP, '2001:db8:1:d550::1234');
  assert.equal(r.stdout, '2001:db8:1:d550::1234 -> fd01:203:405:1::1234\n');
  assert.equal(r.status, 0);
});

test('translate prints refusals with the counter and its description, and exits 1', () => {
  const r = npt66('translate', ...RFC_MAP, 'fd01:203:405:1::1234', 'fd01:203:405:ffff::1', 'fd99::1');
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[0], 'fd01:203:405:1::1234 -> 2001:db8:1:d550::1234');
  assert.match(lines[1]!, /^fd01:203:405:ffff::1 -> not translated: drop_subnet_ffff - \/48 subnet 0xFFFF collides with subnet 0/);
  assert.match(lines[2]!, /^fd99::1 -> not translated: not_ours - packets matching no mapping/);
  assert.equal(r.status, 1);
});

test('translate --json prints an array of {input, output, reason}', () => {
  const ok = npt66('translate', '--json', '--map', 'fd00:1:2:3::/64=2001:db8:a:b::/64', 'fd00:1:2:3::1', 'fd00:1:2:3:ffff::1');
  assert.deepEqual(JSON.parse(ok.stdout), [
    { input: 'fd00:1:2:3::1', output: '2001:db8:a:b:cf38::1', reason: null },
    { input: 'fd00:1:2:3:ffff::1', output: '2001:db8:a:b:ffff:cf38:0:1', reason: null },
  ]);
  assert.equal(ok.status, 0);

  const refused = npt66('translate', '--json', '--inbound', ...RFC_MAP, '2001:db8:1:d550::1234', 'fd01:203:405:1::1234');
  assert.deepEqual(JSON.parse(refused.stdout), [
    { input: '2001:db8:1:d550::1234', output: 'fd01:203:405:1::1234', reason: null },
    { input: 'fd01:203:405:1::1234', output: null, reason: 'not_ours' },
  ]);
  assert.equal(refused.status, 1);
});

test('several --map options, mixed lengths', () => {
  const r = npt66('translate', ...RFC_MAP, '--map', 'fd00:aaaa:bbbb:cc00::/56=2001:db8:1234:5600::/56', 'fd00:aaaa:bbbb:cc01::1', 'fd01:203:405:1::1234');
  assert.equal(r.stdout, 'fd00:aaaa:bbbb:cc01::1 -> 2001:db8:1234:5601:997a::1\nfd01:203:405:1::1234 -> 2001:db8:1:d550::1234\n');
  assert.equal(r.status, 0);
});

test("bad configuration exits 2 with the validator's message on stderr and nothing on stdout", () => {
  const seed = npt66(
    'translate',
    '--map', 'fd5a:ceb9:ed8d:fe0a::/64=2001:db8:ff66::/64',
    '--map', 'fd5a:ceb9:ed8d:fefc::/64=2001:db8:ff66::/64',
    'fd5a:ceb9:ed8d:fe0a::1',
  );
  assert.equal(seed.status, 2);
  assert.equal(seed.stdout, '');
  assert.match(seed.stderr, /^npt66 translate: --map\[1\]\.outside: 2001:db8:ff66::\/64 is already the outside prefix/);
  assert.match(seed.stderr, /NPTv6 is stateless/);

  const hostBits = npt66('translate', '--map', 'fd00::1/64=2001:db8::/64', 'fd00::1');
  assert.equal(hostBits.status, 2);
  assert.equal(hostBits.stderr, 'npt66 translate: --map[0].inside: "fd00::1/64" has host bits set; did you mean fd00::/64?\n');
});

test('bad usage exits 2 with a message on stderr', () => {
  const cases: [string[], RegExp][] = [
    [['translate', 'fd00::1'], /give at least one --map INSIDE=OUTSIDE/],
    [['translate', ...RFC_MAP], /give at least one ADDRESS/],
    [['translate', '--map', 'fd00::/64', 'fd00::1'], /must be INSIDE=OUTSIDE/],
    [['translate', ...RFC_MAP, '--frobnicate', 'fd00::1'], /Unknown option '--frobnicate'/],
    [['translate', ...RFC_MAP, 'fd01:203:405:1::1234', 'not-an-address'], /ADDRESS: "not-an-address" is not a valid IPv6 address/],
    [['nosuchcommand'], /unknown command "nosuchcommand"/],
    [[], /usage: npt66 <command>/],
  ];
  for (const [args, message] of cases) {
    const r = npt66(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`);
  }
});

test('--help lists the commands; translate --help shows its usage; both exit 0', () => {
  const top = npt66('--help');
  assert.equal(top.status, 0);
  assert.match(top.stdout, /^ {2}translate {2}print what addresses become/m);
  const sub = npt66('translate', '--help');
  assert.equal(sub.status, 0);
  assert.match(sub.stdout, /^usage: npt66 translate --map INSIDE=OUTSIDE/);
});
