// The default control socket per network namespace (src/control-socket-path.ts), on stand-in files: a namespace
// is a (device, inode) pair, so hard links to one file play "the same namespace" and other files other ones.
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { defaultControlSocket, type NamespacePaths } from '../../src/control-socket-path';

const root = mkdtempSync(join(tmpdir(), 'npt66-nsock-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
// A fresh world: PID 1's namespace, this process's, and /run/netns with the given names linked to this one.
function world(opts: { selfIsInitial?: boolean; names?: string[]; otherNames?: string[]; initialReadable?: boolean }): NamespacePaths & { ino: number } {
  const dir = join(root, String(n++));
  const runDir = join(dir, 'netns');
  mkdirSync(runDir, { recursive: true });
  const initial = join(dir, 'init');
  writeFileSync(initial, '');
  let self = join(dir, 'self');
  if (opts.selfIsInitial) self = initial;
  else writeFileSync(self, '');
  for (const name of opts.names ?? []) linkSync(self, join(runDir, name));
  for (const name of opts.otherNames ?? []) writeFileSync(join(runDir, name), '');
  return { self, initial: opts.initialReadable === false ? join(dir, 'unreadable') : initial, runDir, ino: statSync(self).ino };
}

test('the initial namespace keeps /run/npt66/npt66.sock', () => {
  assert.equal(defaultControlSocket(world({ selfIsInitial: true })), '/run/npt66/npt66.sock');
  assert.equal(defaultControlSocket(world({ selfIsInitial: true, names: ['host'] })), '/run/npt66/npt66.sock');
});

test('a named namespace gets its name, like `ip netns identify`', () => {
  assert.equal(defaultControlSocket(world({ names: ['gw'], otherNames: ['docker'] })), '/run/npt66/gw.sock');
  // Several names for one namespace: the first in sorted order, the same for daemon and client.
  assert.equal(defaultControlSocket(world({ names: ['zz', 'gw2'] })), '/run/npt66/gw2.sock');
  // Named, even when PID 1's namespace cannot be read (no root): a client finds the daemon by name alone.
  assert.equal(defaultControlSocket(world({ names: ['gw'], initialReadable: false })), '/run/npt66/gw.sock');
});

test('an unnamed namespace other than PID 1s gets its inode', () => {
  const w = world({ otherNames: ['gw'] });
  assert.equal(defaultControlSocket(w), `/run/npt66/netns-${w.ino}.sock`);
});

test('names that would collide or not fit are not used', () => {
  for (const bad of ['npt66', 'netns-1', 'a b', 'x'.repeat(100)]) {
    const w = world({ names: [bad] });
    assert.equal(defaultControlSocket(w), `/run/npt66/netns-${w.ino}.sock`, bad);
  }
});

test('when it cannot be told, the old default', () => {
  assert.equal(defaultControlSocket(world({ initialReadable: false })), '/run/npt66/npt66.sock');
  assert.equal(defaultControlSocket({ self: join(root, 'missing'), initial: join(root, 'missing'), runDir: join(root, 'missing') }), '/run/npt66/npt66.sock');
});

test('this process (the initial namespace or a named one) gets a path under /run/npt66', () => {
  assert.match(defaultControlSocket(), /^\/run\/npt66\/[A-Za-z0-9_.@-]+\.sock$/);
});
