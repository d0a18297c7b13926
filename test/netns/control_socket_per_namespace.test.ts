// Issue 11 part 6: one npt66 per network namespace with default configurations. Two daemons, each in its own
// named namespace, neither with a "control" key: both start (no "address already in use" on one shared socket),
// each listens on /run/npt66/NAME.sock, and `npt66 stats` run inside a namespace with no flags reaches that
// namespace's daemon (told apart by their different mappings).
// Root only. Namespaces and processes are removed in `after`, also on failure.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { Topology } from '../../src/netns';
import { LineProcess } from './lib/line_process';
import { CLI_PATH, jsonMsg, parseJson } from './lib/npt66_daemon';
import { acquireRunLock } from './lib/run_lock';

const isRoot = process.getuid?.() === 0;
const PREFIX = 'nt-cs-';
const MAPPING = {
  a: { inside: 'fd5a:ceb9:ed8d:a::/64', outside: '2001:db8:66a::/64', interface: 'wan0' },
  b: { inside: 'fd5a:ceb9:ed8d:b::/64', outside: '2001:db8:66b::/64', interface: 'wan0' },
} as const;
type Side = keyof typeof MAPPING;

let topo: Topology | undefined;
let release: (() => void) | undefined;
const dir = mkdtempSync(join(tmpdir(), 'npt66-cs-'));
const daemons = new Map<Side, LineProcess>();

before(async () => {
  if (!isRoot) return;
  release = await acquireRunLock('control-socket');
  Topology.removeStale(PREFIX);
  topo = new Topology(PREFIX);
  for (const side of ['a', 'b'] as const) await topo.addNamespace(side, { forwarding: true });
  await topo.link('a', 'wan0', 'b', 'wan0'); // each daemon's outside interface (no traffic needed)
});

after(async () => {
  for (const p of daemons.values()) if (!p.exit) p.child.kill('SIGTERM');
  await Promise.all([...daemons.values()].map((p) => p.waitExit(20_000).catch(() => undefined)));
  await topo?.destroy();
  rmSync(dir, { recursive: true, force: true });
  release?.();
});

async function npt66In(side: Side, args: string[]) {
  return topo!.ns(side).exec([process.execPath, CLI_PATH, ...args], { allowFailure: true });
}

test('two daemons in two namespaces with default configurations each get their own socket', { skip: !isRoot && 'needs root' }, async () => {
  const sockets = new Map<Side, string>();
  for (const side of ['a', 'b'] as const) {
    const file = join(dir, `${side}.json`);
    writeFileSync(file, JSON.stringify({ nptv6: [MAPPING[side]] })); // no "control": the default socket
    const p = new LineProcess(topo!.spawn(side, [process.execPath, CLI_PATH, 'run', '-c', file]), `npt66 run in ${side}`);
    daemons.set(side, p);
    const ready = parseJson(await p.waitForLine('"msg":"ready"', (l) => jsonMsg(l) === 'ready', 20_000))!;
    sockets.set(side, String(ready.socket));
  }
  for (const side of ['a', 'b'] as const) {
    assert.equal(sockets.get(side), `/run/npt66/${PREFIX}${side}.sock`, 'the default socket is named after the namespace');
    assert.ok(existsSync(sockets.get(side)!));
  }

  for (const side of ['a', 'b'] as const) {
    const other: Side = side === 'a' ? 'b' : 'a';
    const r = await npt66In(side, ['stats', '--json']); // no --socket, no -c
    assert.equal(r.code, 0, `npt66 stats in ${side}: ${r.stderr}`);
    const stats = JSON.parse(r.stdout) as { mappings: unknown[] };
    const text = JSON.stringify(stats.mappings);
    assert.ok(text.includes(MAPPING[side].outside), `stats in ${side} show ${side}'s mapping: ${text}`);
    assert.ok(!text.includes(MAPPING[other].outside), `stats in ${side} do not show ${other}'s mapping: ${text}`);
  }

  // `npt66 check` in a namespace shows the socket the daemon there uses.
  const check = await npt66In('a', ['check', '-c', join(dir, 'a.json')]);
  assert.match(check.stdout, new RegExp(`control socket /run/npt66/${PREFIX}a\\.sock`), check.stdout + check.stderr);

  for (const side of ['a', 'b'] as const) {
    const p = daemons.get(side)!;
    p.child.kill('SIGTERM');
    assert.equal((await p.waitExit(20_000)).code, 0, p.stderr);
    assert.ok(!existsSync(sockets.get(side)!), 'the socket is removed on a clean stop');
  }
});
