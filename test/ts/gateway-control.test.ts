// The control socket: 0600, directory created, stale socket replaced, a live one never taken over, removed on
// close; the request/reply protocol and its errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { checkSocketDirectory, ControlServer, controlRequest } from '../../src/control';
import { Npt66Error } from '../../src/errors';

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ng-control-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'the socket is created 0600 in a directory created if missing, answers, and is removed on close',
  withDir(async (dir) => {
    const path = join(dir, 'sub', 'npt66.sock');
    const server = await ControlServer.listen(path, { stats: () => ({ n: 42 }), echo: (args) => args });
    try {
      assert.ok(statSync(path).isSocket());
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.deepEqual(await controlRequest(path, 'stats'), { n: 42 });
      assert.deepEqual(await controlRequest(path, 'echo', { a: 1 }), { a: 1 });
      await assert.rejects(controlRequest(path, 'nope'), (e: Npt66Error) => e.code === 'ERR_NPT66_CONTROL' && /unknown command "nope"; this daemon answers stats, echo/.test(e.message));
    } finally {
      await server.close();
    }
    assert.equal(existsSync(path), false);
  }),
);

test(
  "a handler's error reaches the client with its code",
  withDir(async (dir) => {
    const path = join(dir, 'npt66.sock');
    const server = await ControlServer.listen(path, {
      stats: () => {
        throw new Npt66Error('ERR_NPT66_STATE', 'the gateway is still starting');
      },
    });
    try {
      await assert.rejects(controlRequest(path, 'stats'), (e: Npt66Error) => e.code === 'ERR_NPT66_STATE' && e.message === 'the gateway is still starting');
    } finally {
      await server.close();
    }
  }),
);

test(
  'a stale socket file is replaced; a live one is refused; a regular file is refused',
  withDir(async (dir) => {
    const path = join(dir, 'npt66.sock');
    // A socket file nobody listens on, as a killed daemon leaves it.
    const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
    spawnSync(process.execPath, ['-e', script]);
    assert.ok(existsSync(path));
    const server = await ControlServer.listen(path, { stats: () => 1 });
    try {
      assert.equal(await controlRequest(path, 'stats'), 1);
      await assert.rejects(ControlServer.listen(path, {}), (e: Npt66Error) => e.code === 'ERR_NPT66_CONTROL' && /another npt66 is already running/.test(e.message));
      assert.equal(await controlRequest(path, 'stats'), 1, 'the running daemon keeps its socket');
    } finally {
      await server.close();
    }
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    await assert.rejects(ControlServer.listen(file, {}), /exists and is not a socket/);
  }),
);

test('no daemon: the client says where it looked and how to point it elsewhere', async () => {
  await assert.rejects(controlRequest('/nonexistent/ng.sock', 'stats'), (e: Npt66Error) => {
    assert.equal(e.code, 'ERR_NPT66_CONTROL');
    assert.match(e.message, /no npt66 daemon is listening at \/nonexistent\/ng\.sock; is `npt66 run` running\?.*--socket/);
    return true;
  });
});

// The socket's directory: whoever can write to it can swap the socket for their own (issue 9, security notes).
test(
  'a group- or world-writable directory is refused (sticky /tmp-like too), and nothing is created in it',
  withDir(async (dir) => {
    for (const mode of [0o775, 0o757, 0o1777]) {
      const sub = join(dir, `m${mode.toString(8)}`);
      mkdirSync(sub);
      chmodSync(sub, mode);
      const path = join(sub, 'npt66.sock');
      await assert.rejects(ControlServer.listen(path, {}), (e: Npt66Error) => {
        assert.equal(e.code, 'ERR_NPT66_CONTROL');
        assert.match(e.message, new RegExp(`directory ${sub} is writable by .*mode ${mode.toString(8).padStart(4, '0')}.*chmod go-w`));
        return true;
      });
      assert.equal(existsSync(path), false);
    }
  }),
);

test(
  'a directory owned by another user (not root, not the daemon) is refused',
  withDir(async (dir) => {
    const sub = join(dir, 'theirs');
    mkdirSync(sub, { mode: 0o755 });
    const isRoot = process.geteuid?.() === 0;
    if (isRoot) chownSync(sub, 65534, 65534);
    const check = isRoot ? () => ControlServer.listen(join(sub, 'npt66.sock'), {}) : async () => checkSocketDirectory(sub, (process.geteuid?.() ?? 0) + 1);
    await assert.rejects(check(), (e: Npt66Error) => e.code === 'ERR_NPT66_CONTROL' && /belongs to uid \d+, not root/.test(e.message));
    assert.equal(existsSync(join(sub, 'npt66.sock')), false);
  }),
);

test(
  'a symlink at the socket path is refused and left alone, even one to a stale socket; a symlinked directory is followed and checked',
  withDir(async (dir) => {
    // A stale socket elsewhere (a killed daemon's), and a symlink to it where the daemon's socket goes.
    const target = join(dir, 'stale.sock');
    spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(target)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(lstatSync(target).isSocket());
    const link = join(dir, 'npt66.sock');
    symlinkSync(target, link);
    await assert.rejects(ControlServer.listen(link, {}), (e: Npt66Error) => e.code === 'ERR_NPT66_CONTROL' && /npt66\.sock is a symbolic link, not a socket/.test(e.message));
    assert.equal(readlinkSync(link), target, 'the symlink is still there');
    assert.ok(lstatSync(target).isSocket(), 'its target was not touched');

    // /var/run -> /run style: the directory's real path is what is checked (here: fine).
    const real = join(dir, 'real');
    mkdirSync(real, { mode: 0o755 });
    symlinkSync(real, join(dir, 'alias'));
    const server = await ControlServer.listen(join(dir, 'alias', 'npt66.sock'), { stats: () => 7 });
    try {
      assert.equal(await controlRequest(join(real, 'npt66.sock'), 'stats'), 7);
    } finally {
      await server.close();
    }
    chmodSync(real, 0o777);
    await assert.rejects(ControlServer.listen(join(dir, 'alias', 'npt66.sock'), {}), new RegExp(`alias \\(${real}\\) is writable by its group and others`));
  }),
);
