// A private Docker Engine (REFERENCE s7), for the lab's `--docker` and the Docker tests: `dockerd` entered into a
// lab namespace with nsenter (`ip netns exec` remounts /sys and dockerd then misses the devices cgroup), with its
// own config file, data root, exec root, pid file and socket in one directory, so it never touches a Docker the
// user runs. Its daemon.json is the one the README recommends beside npt66: `"ipv6": true`, `"ip6tables": false`
// (npt66 does the IPv6 NAT), `"iptables": false` (nothing to do with IPv4 here), no default bridge, and the vfs
// storage driver. dispose() removes the containers, stops dockerd, kills what is left of it (containerd and its
// shims, found by the directory in their command lines), unmounts what it mounted and deletes the directory,
// whatever state it was left in; killSync() does the same without waiting, from an exit or signal handler.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { run, waitFor, type RunResult } from '../netns';

export const BUSYBOX = '/bin/busybox';
export const IMAGE = 'local/busybox';
const APPLETS = ['sh', 'ping', 'ping6', 'nc', 'nslookup', 'traceroute6', 'sleep', 'cat', 'echo', 'md5sum', 'ip', 'wc', 'head', 'timeout', 'httpd', 'mkdir', 'printf', 'chmod'];

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
  for (const cmd of ['dockerd', 'docker', 'nsenter']) {
    if (!which(cmd)) return `${cmd} is not installed: install Docker with \`apt-get install docker.io\` (\`npm run setup\` does)`;
  }
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing: \`apt-get install busybox-static\` (\`npm run setup\` does)`;
  return null;
}

export class PrivateDocker {
  readonly dir: string;
  readonly socket: string;
  readonly host: string; // DOCKER_HOST for the CLI and for npt66
  private daemon: ChildProcess | null = null;
  private log = '';

  // `dir`: where everything of this engine lives (a fresh temporary directory unless given; emptied first).
  constructor(
    private readonly netnsName: string,
    dir?: string,
  ) {
    if (dir) {
      PrivateDocker.removeLeftovers(dir);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'npt66-dockerd-'));
    this.socket = join(this.dir, 'docker.sock');
    this.host = `unix://${this.socket}`;
    writeFileSync(join(this.dir, 'daemon.json'), `${JSON.stringify(this.config, null, 2)}\n`);
  }

  // daemon.json: every setting is in the file (dockerd refuses one given both as a flag and in the file).
  get config(): Record<string, unknown> {
    const d = this.dir;
    return {
      ipv6: true, // IPv6 for the networks created with --ipv6 (and the default bridge, which this one has not)
      ip6tables: false, // no Docker IPv6 NAT or forwarding rules: npt66 masquerades
      iptables: false,
      bridge: 'none',
      'storage-driver': 'vfs',
      'data-root': join(d, 'root'),
      'exec-root': join(d, 'exec'),
      pidfile: join(d, 'dockerd.pid'),
      hosts: [this.host],
    };
  }

  async start(): Promise<void> {
    if (this.daemon && this.daemon.exitCode === null) throw new Error('dockerd is already running');
    const d = this.dir;
    const argv = [`--net=/run/netns/${this.netnsName}`, 'dockerd', '--config-file', join(d, 'daemon.json')];
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

  // Best effort, never throws: the containers removed and dockerd stopped properly, then removeLeftovers.
  async dispose(): Promise<void> {
    if (this.daemon && this.daemon.exitCode === null) {
      const ids = (await this.docker(['ps', '-aq'], true)).stdout.split('\n').filter(Boolean);
      if (ids.length) await this.docker(['rm', '-f', ...ids], true);
    }
    await this.stopDaemon().catch(() => undefined);
    PrivateDocker.removeLeftovers(this.dir);
  }

  // From an exit or signal handler (nothing asynchronous runs any more): removeLeftovers, dockerd included.
  killSync(): void {
    const child = this.daemon;
    this.daemon = null;
    PrivateDocker.removeLeftovers(this.dir);
    if (child && child.exitCode === null) child.kill('SIGKILL');
  }

  // Whatever of an engine in `dir` is left (dockerd, containerd, shims: they name the directory in their command
  // lines; the containers' processes: their descendants), its mounts, and the directory. Synchronous, best
  // effort, never throws.
  static removeLeftovers(dir: string): void {
    if (!existsSync(dir)) return;
    const pgrep = (args: string[]): number[] => {
      try {
        return execFileSync('pgrep', args, { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
      } catch {
        return []; // none (pgrep exits 1)
      }
    };
    // All of them first, then the kills: a process whose parent died is reparented and no longer found.
    const pids = new Set(pgrep(['-f', dir]).filter((p) => p !== process.pid));
    for (const p of pids) for (const child of pgrep(['-P', String(p)])) pids.add(child);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m === dir || m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) {
      try {
        execFileSync('umount', ['-l', m], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* a mount still busy: the next removeLeftovers tries again */
    }
  }
}
