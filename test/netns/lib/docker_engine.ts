// A private Docker Engine for one test file (REFERENCE s7): `dockerd` entered into a lab namespace with nsenter
// (`ip netns exec` remounts /sys and dockerd then misses the devices cgroup), with its own config file, data
// root, exec root, pid file and socket in a temporary directory, `--iptables=false --ip6tables=false` (npt66 does
// the NAT), no default bridge and the vfs storage driver. It never touches a Docker the user runs. stop() removes
// the containers, stops dockerd, kills what is left of it (containerd and its shims, found by the directory in
// their command lines), unmounts what it mounted and deletes the directory, whatever state the test left.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { run, waitFor, type RunResult } from '../../../src/netns';

export const BUSYBOX = '/bin/busybox';
export const IMAGE = 'local/busybox';
const APPLETS = ['sh', 'ping', 'ping6', 'nc', 'sleep', 'cat', 'echo', 'md5sum', 'ip', 'wc', 'head', 'timeout'];

function which(cmd: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

// Why a private Docker Engine cannot run here, or null.
export function dockerUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const cmd of ['dockerd', 'docker', 'nsenter']) if (!which(cmd)) return `${cmd} is not installed (npm run setup installs docker.io)`;
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing (npm run setup installs busybox-static)`;
  return null;
}

export class PrivateDocker {
  readonly dir: string;
  readonly socket: string;
  readonly host: string; // DOCKER_HOST for the CLI and for npt66
  private daemon: ChildProcess | null = null;
  private log = '';

  constructor(private readonly netnsName: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'npt66-dockerd-'));
    this.socket = join(this.dir, 'docker.sock');
    this.host = `unix://${this.socket}`;
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
  }

  async start(): Promise<void> {
    if (this.daemon && this.daemon.exitCode === null) throw new Error('dockerd is already running');
    const d = this.dir;
    const argv = [
      `--net=/run/netns/${this.netnsName}`,
      'dockerd',
      '--config-file', join(d, 'daemon.json'),
      '--data-root', join(d, 'root'),
      '--exec-root', join(d, 'exec'),
      '--pidfile', join(d, 'dockerd.pid'),
      '-H', this.host,
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--storage-driver=vfs',
    ];
    const child = spawn('nsenter', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (c: Buffer) => (this.log += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.log += c.toString()));
    this.daemon = child;
    await waitFor(
      'dockerd to answer',
      async () => {
        if (child.exitCode !== null) throw new Error(`dockerd exited (${child.exitCode}):\n${this.log.slice(-3000)}`);
        return (await this.docker(['version', '--format', '{{.Server.Version}}'], true)).code === 0;
      },
      60_000,
    );
  }

  docker(args: string[], allowFailure = false): Promise<RunResult> {
    return run(['env', `DOCKER_HOST=${this.host}`, 'docker', ...args], { allowFailure, timeoutMs: 60_000 });
  }

  // The image the tests run: busybox-static and links for the applets they use, imported without a registry.
  async importBusybox(): Promise<void> {
    const rootfs = join(this.dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    mkdirSync(join(rootfs, 'tmp'), { recursive: true });
    copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const a of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a));
    await run(['sh', '-c', `tar -C '${rootfs}' -c . | DOCKER_HOST='${this.host}' docker import - ${IMAGE}`], { timeoutMs: 60_000 });
  }

  // SIGTERM and wait (dockerd stops its containerd); containers keep their state in the data root.
  async stopDaemon(): Promise<void> {
    const child = this.daemon;
    this.daemon = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  get output(): string {
    return this.log;
  }

  // Best effort, never throws.
  async dispose(): Promise<void> {
    if (this.daemon && this.daemon.exitCode === null) {
      const ids = (await this.docker(['ps', '-aq'], true)).stdout.split('\n').filter(Boolean);
      if (ids.length) await this.docker(['rm', '-f', ...ids], true);
    }
    await this.stopDaemon().catch(() => undefined);
    // Whatever of this engine still runs (containerd, shims, container processes) names the directory.
    const left = (await run(['pgrep', '-f', this.dir], { allowFailure: true })).stdout.split('\n').filter(Boolean).map(Number);
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(this.dir))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await run(['umount', '-l', m], { allowFailure: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
