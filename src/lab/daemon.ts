// One `npt66 run` of the lab in one namespace, started as an operator would: its configuration, socket and log
// files under LAB_DIR, its output (piped in a normal run, in a file with --keep, where it outlives the lab),
// the records it logged, readiness and SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { waitFor } from '../netns';
import type { LabNetwork } from './build';
import { collectLines } from './lines';

export const CLI = path.resolve(__dirname, '..', 'cli.js');
export const LAB_DIR = '/run/npt66-lab';

export interface DaemonSpec {
  name: string; // "docker-host" or "gateway"
  ns: string;
  config: Record<string, unknown>;
  env?: Record<string, string>; // e.g. DOCKER_HOST for "source": "docker"
}

export const daemonFiles = (name: string) => ({
  config: path.join(LAB_DIR, `${name}.json`),
  socket: path.join(LAB_DIR, `${name}.sock`),
  log: path.join(LAB_DIR, `${name}.log`),
});

export class Daemon {
  readonly lines: string[] = [];
  constructor(
    readonly spec: DaemonSpec,
    readonly child: ChildProcess,
    private readonly logFile: string | null,
  ) {
    collectLines(child.stdout, this.lines);
  }

  get socket(): string {
    return daemonFiles(this.spec.name).socket;
  }

  allLines(): string[] {
    if (!this.logFile) return this.lines;
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  records(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const l of this.allLines()) {
      try {
        out.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        /* not JSON */
      }
    }
    return out;
  }

  find(msg: string): Record<string, unknown> | null {
    return this.records().find((r) => r.msg === msg) ?? null;
  }

  async ready(): Promise<void> {
    await waitFor(`npt66 (${this.spec.name}) to log "ready"`, () => {
      if (this.child.exitCode !== null) throw new Error(`npt66 run (${this.spec.name}) exited early:\n${this.allLines().join('\n')}`);
      return this.find('ready') !== null;
    }, 20_000);
  }

  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) resolve(this.child.exitCode);
      else this.child.once('exit', (c) => resolve(c));
    });
  }
}

// Starts `npt66 run -c <config>` in the spec's namespace; the configuration file must already be written.
export function startDaemon(net: LabNetwork, spec: DaemonSpec, keep: boolean): Daemon {
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const argv = [...(env.length ? ['env', ...env] : []), process.execPath, CLI, 'run', '-c', daemonFiles(spec.name).config];
  if (!keep) return new Daemon(spec, net.spawn(spec.ns, argv), null);
  // Kept labs outlive this process: detached, output to a file.
  const logFile = daemonFiles(spec.name).log;
  const fd = openSync(logFile, 'w');
  const child = spawn('ip', ['netns', 'exec', net.ns(spec.ns).name, ...argv], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return new Daemon(spec, child, logFile);
}
