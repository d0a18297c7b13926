// The npt66 daemon in one namespace of a lab, driven through its CLI as a black box (the gateway's NPTv6 and the
// masquerade tests alike): `npt66 run -c FILE` in the foreground, JSON lines on stdout, a line with
// "msg":"ready" once the queues are bound and the rules installed, SIGTERM stops cleanly (rules removed),
// SIGHUP reloads the file; `npt66 stats|mappings --json --socket PATH` ask it through its control socket.
// npt66's rules live in chains named NPT66-*.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import type { Namespace } from '../../../src/netns';
import { LineProcess } from './line_process';
import type { NetnsLab } from './netns_lab';

// dist/test/netns/lib/npt66_daemon.js -> dist/src/cli.js, whichever dist directory the tests were built into.
export const CLI_PATH = resolve(__dirname, '../../../src/cli.js');

// ip6tables-save of a namespace, without counters, so two snapshots compare by rules alone.
export async function savedRules(ns: Namespace): Promise<string[]> {
  const r = await ns.exec(['ip6tables-save']);
  return r.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
}

export async function npt66RulesIn(ns: Namespace): Promise<string[]> {
  return (await savedRules(ns)).filter((l) => l.includes('NPT66'));
}

// The counters that grew between two snapshots, with how much (zero growth left out, for readable assertions).
export function growth(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
  return out;
}

export function parseJson(line: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

// The "msg" of a JSON log line.
export function jsonMsg(line: string): string | null {
  const m = parseJson(line)?.msg;
  return typeof m === 'string' ? m : null;
}

// One daemon at a time (start again after a stop or a crash); its files live in a temporary directory, its
// control socket at /run/npt66-TAG.sock (TAG like "nt-tr": the test's prefix and name).
export class Npt66Process<N extends string> {
  readonly dir: string;
  readonly configFile: string;
  readonly socket: string;
  process: LineProcess | null = null;
  private generation = 0;

  constructor(
    private readonly lab: NetnsLab<N>,
    private readonly where: N,
    tag: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `npt66-${tag}-`));
    this.configFile = join(this.dir, 'config.json');
    this.socket = `/run/npt66-${tag}.sock`;
  }

  writeConfigFile(config: unknown): void {
    writeFileSync(this.configFile, JSON.stringify(config, null, 2));
  }

  // Writes `config` to the config file, starts `npt66 run` on it and waits for "ready"; `onOutput` runs after
  // each chunk of stdout has been split into lines.
  async launch(config: unknown, onOutput?: () => void): Promise<LineProcess> {
    if (this.process && !this.process.exit) throw new Error('npt66 is already running');
    this.writeConfigFile(config);
    const label = `npt66 run #${++this.generation}`;
    const p = new LineProcess(this.lab.topology.spawn(this.where, [process.execPath, CLI_PATH, 'run', '-c', this.configFile]), label);
    this.process = p;
    if (onOutput) p.child.stdout?.on('data', onOutput);
    await p.waitForLine('"msg":"ready"', (l) => jsonMsg(l) === 'ready', 20_000);
    return p;
  }

  running(): LineProcess {
    if (!this.process || this.process.exit) throw new Error(`npt66 is not running${this.process ? `: ${JSON.stringify(this.process.exit)}\n${this.process.stderr}` : ''}`);
    return this.process;
  }

  // SIGTERM; the daemon must exit 0 and leave no NPT66 rule behind.
  async terminate(): Promise<void> {
    const p = this.running();
    p.child.kill('SIGTERM');
    const exit = await p.waitExit(20_000);
    if (exit.code !== 0) throw new Error(`npt66 exited with ${JSON.stringify(exit)} on SIGTERM\n--- stdout:\n${p.lines.join('\n')}\n--- stderr:\n${p.stderr}`);
    const left = await npt66RulesIn(this.lab.ns(this.where));
    if (left.length) throw new Error(`npt66 left rules behind after SIGTERM:\n${left.join('\n')}`);
    this.process = null;
  }

  // A crash: SIGKILL, no chance to clean up.
  async kill9(): Promise<void> {
    const p = this.running();
    p.child.kill('SIGKILL');
    await p.waitExit(10_000);
  }

  // `npt66 ARGS --json --socket PATH`, parsed.
  async cli(args: string[]): Promise<unknown> {
    this.running();
    const r = await this.lab.ns(this.where).exec([process.execPath, CLI_PATH, ...args, '--json', '--socket', this.socket]);
    return JSON.parse(r.stdout) as unknown;
  }

  async stats(): Promise<Record<string, unknown>> {
    return (await this.cli(['stats'])) as Record<string, unknown>;
  }

  // Best effort, never throws: for after() hooks, whatever state the test left.
  async dispose(): Promise<void> {
    if (this.process && !this.process.exit) {
      this.process.child.kill('SIGTERM');
      await this.process.waitExit(10_000).catch(() => undefined);
    }
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.socket, { force: true });
  }
}
