// Issue 11 part 5: `npt66 run` under a service manager (systemd's Type=notify). A socat bound to a unix datagram
// socket plays systemd's notification socket (NOTIFY_SOCKET). What must hold: READY=1 arrives only once the rules
// are installed (they are there when it is read), with a STATUS= line; a SIGHUP reload is announced with
// RELOADING=1 (and MONOTONIC_USEC=) and ends with READY=1 and a STATUS= saying how it went, also when the file is
// invalid; SIGTERM sends STOPPING=1 and the daemon exits 0. In the abstract namespace ("@name", per network
// namespace) too.
// Root only. Namespaces and processes are removed in `after`, also on failure.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { Topology, waitFor } from '../../src/netns';
import { LineProcess } from './lib/line_process';
import { CLI_PATH, jsonMsg, npt66RulesIn } from './lib/npt66_daemon';
import { acquireRunLock } from './lib/run_lock';

const isRoot = process.getuid?.() === 0;
const PREFIX = 'nt-sn-';
const MAPPING = { inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'wan0' };

let topo: Topology | undefined;
let release: (() => void) | undefined;
const dir = mkdtempSync(join(tmpdir(), 'npt66-sn-'));

before(async () => {
  if (!isRoot) return;
  release = await acquireRunLock('systemd-notify');
  Topology.removeStale(PREFIX);
  topo = new Topology(PREFIX);
  await topo.addNamespace('gw', { forwarding: true });
  await topo.addNamespace('up');
  await topo.link('gw', 'wan0', 'up', 'wan0');
});

after(async () => {
  await topo?.destroy();
  rmSync(dir, { recursive: true, force: true });
  release?.();
});

// The notifications received so far, one KEY=VALUE per line, in order (each datagram ends with a newline).
class NotifySink {
  readonly process: LineProcess;
  constructor(child: ReturnType<typeof spawn>) {
    this.process = new LineProcess(child, 'socat (notification socket)');
  }
  get lines(): string[] {
    return this.process.lines;
  }
  async waitFor(line: RegExp, from = 0): Promise<number> {
    let at = -1;
    await waitFor(`notification ${line} (got ${JSON.stringify(this.lines.slice(from))})`, () => (at = this.lines.findIndex((l, i) => i >= from && line.test(l))) >= 0, 20_000);
    return at;
  }
}

async function exercise(notifySocket: string, sink: NotifySink, config: string): Promise<void> {
  writeFileSync(config, JSON.stringify({ nptv6: [MAPPING], control: { socket: join(dir, 'control.sock') } }));
  const daemon = new LineProcess(
    topo!.spawn('gw', [process.execPath, CLI_PATH, 'run', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NOTIFY_SOCKET: notifySocket } }),
    'npt66 run',
  );
  // READY=1: by then the rules are in.
  const ready = await sink.waitFor(/^READY=1$/).catch((e: Error) => {
    throw new Error(`${e.message}\n--- npt66 stdout:\n${daemon.lines.join('\n')}\n--- stderr:\n${daemon.stderr}`);
  });
  assert.ok((await npt66RulesIn(topo!.ns('gw'))).length > 0, 'READY=1 came before the rules were installed');
  assert.ok(daemon.lines.some((l) => jsonMsg(l) === 'ready'), 'READY=1 came before the "ready" log line');
  assert.match(sink.lines[ready + 1] ?? '', /^STATUS=translating: 1 NPTv6 mapping/);

  // A good reload: RELOADING=1 with MONOTONIC_USEC, then READY=1 and its STATUS.
  daemon.child.kill('SIGHUP');
  const reloading = await sink.waitFor(/^RELOADING=1$/, ready + 1);
  assert.match(sink.lines[reloading + 1] ?? '', /^MONOTONIC_USEC=\d+$/);
  const reloaded = await sink.waitFor(/^READY=1$/, reloading + 1);
  assert.match(sink.lines[reloaded + 1] ?? '', /^STATUS=reloaded /);

  // A bad file: still READY=1 (the old configuration runs), and the STATUS says the reload failed.
  writeFileSync(config, '{ "nptv6": [ { "inside": "not a prefix" } ] }');
  daemon.child.kill('SIGHUP');
  const again = await sink.waitFor(/^RELOADING=1$/, reloaded + 1);
  const refused = await sink.waitFor(/^READY=1$/, again + 1);
  assert.match(sink.lines[refused + 1] ?? '', /^STATUS=reload failed, running the previous configuration/);

  daemon.child.kill('SIGTERM');
  const stopping = await sink.waitFor(/^STOPPING=1$/, refused + 1);
  assert.match(sink.lines[stopping + 1] ?? '', /^STATUS=stopping \(SIGTERM\)/);
  assert.equal((await daemon.waitExit(20_000)).code, 0, daemon.stderr);
  assert.ok(!daemon.lines.some((l) => /notify/i.test(jsonMsg(l) ?? '')), `a notification failed: ${daemon.lines.join('\n')}`);
}

test('READY, RELOADING/READY, STOPPING and STATUS through a path socket', { skip: !isRoot && 'needs root' }, async () => {
  const path = join(dir, 'notify.sock');
  const sink = new NotifySink(spawn('socat', ['-u', `UNIX-RECV:${path}`, 'STDOUT'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    await waitFor('socat bound the notification socket', () => existsSync(path), 10_000);
    await exercise(path, sink, join(dir, 'path.json'));
  } finally {
    sink.process.child.kill('SIGTERM');
  }
});

test('the same through an abstract socket (@name, as systemd may set NOTIFY_SOCKET)', { skip: !isRoot && 'needs root' }, async () => {
  const name = `npt66-test-notify-${process.pid}`;
  // Abstract unix sockets belong to a network namespace: the sink listens in the daemon's.
  const sink = new NotifySink(topo!.spawn('gw', ['socat', '-u', `ABSTRACT-RECV:${name}`, 'STDOUT']));
  await waitFor('socat bound the abstract socket', async () => (await topo!.ns('gw').exec(['ss', '-xl'])).stdout.includes(`@${name}`), 10_000);
  await exercise(`@${name}`, sink, join(dir, 'abstract.json'));
});
