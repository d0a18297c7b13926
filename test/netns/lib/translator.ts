// What translates on the gateway namespace: the kernel's SNPT/DNPT (the reference the topology and the
// assertions were proven with) or the npt66 daemon, driven through its CLI as a black box:
// `npt66 run -c FILE` in the foreground, JSON lines on stdout, a line with "msg":"ready" once the queues are
// bound and the rules installed, SIGTERM/SIGINT stop cleanly (rules removed), SIGHUP reloads the file;
// `npt66 stats --json --socket PATH` prints the counters. npt66's rules live in chains named NPT66-*.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { GatewayLab, GW_OUTSIDE_IF, INSIDE_PREFIX, OUTSIDE_PREFIX } from './gateway_lab';
import { LineProcess } from './line_process';

export type TranslatorKind = 'kernel' | 'npt66';

export interface GatewayTranslator {
  readonly kind: TranslatorKind;
  start(): Promise<void>;
  // A clean stop; fails if the translator left rules or did not exit cleanly.
  stop(): Promise<void>;
  // Best effort, never throws: for after() hooks, whatever state the test left.
  dispose(): Promise<void>;
}

// The translator the tests run against: npt66 unless NPT66_NETNS_TRANSLATOR=kernel.
export function translatorKindUnderTest(): TranslatorKind {
  const v = process.env.NPT66_NETNS_TRANSLATOR ?? 'npt66';
  if (v !== 'kernel' && v !== 'npt66') throw new Error(`NPT66_NETNS_TRANSLATOR must be 'kernel' or 'npt66', got '${v}'`);
  return v;
}

export function createTranslator(lab: GatewayLab, name: string, kind: TranslatorKind = translatorKindUnderTest()): GatewayTranslator {
  return kind === 'kernel' ? new KernelNpt(lab) : new Npt66Daemon(lab, name);
}

// ip6tables-save of the gateway, without counters, so two snapshots compare by rules alone.
export async function gatewayRules(lab: GatewayLab): Promise<string[]> {
  const r = await lab.ns('gw').exec(['ip6tables-save']);
  return r.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
}

export async function npt66Rules(lab: GatewayLab): Promise<string[]> {
  return (await gatewayRules(lab)).filter((l) => l.includes('NPT66'));
}

// The kernel's ip6t_NPT, as usually deployed: SNPT in mangle POSTROUTING, DNPT in mangle PREROUTING.
export class KernelNpt implements GatewayTranslator {
  readonly kind = 'kernel';
  constructor(private readonly lab: GatewayLab) {}

  async start(): Promise<void> {
    const gw = this.lab.ns('gw');
    await gw.ip6tables(['-t', 'mangle', '-N', 'NT-SNPT']);
    await gw.ip6tables(['-t', 'mangle', '-A', 'NT-SNPT', '-s', INSIDE_PREFIX, '-j', 'SNPT', '--src-pfx', INSIDE_PREFIX, '--dst-pfx', OUTSIDE_PREFIX]);
    await gw.ip6tables(['-t', 'mangle', '-A', 'POSTROUTING', '-o', GW_OUTSIDE_IF, '-j', 'NT-SNPT']);
    await gw.ip6tables(['-t', 'mangle', '-N', 'NT-DNPT']);
    await gw.ip6tables(['-t', 'mangle', '-A', 'NT-DNPT', '-d', OUTSIDE_PREFIX, '-j', 'DNPT', '--src-pfx', OUTSIDE_PREFIX, '--dst-pfx', INSIDE_PREFIX]);
    await gw.ip6tables(['-t', 'mangle', '-A', 'PREROUTING', '-i', GW_OUTSIDE_IF, '-j', 'NT-DNPT']);
  }

  async stop(): Promise<void> {
    const gw = this.lab.ns('gw');
    await gw.ip6tables(['-t', 'mangle', '-D', 'POSTROUTING', '-o', GW_OUTSIDE_IF, '-j', 'NT-SNPT']);
    await gw.ip6tables(['-t', 'mangle', '-D', 'PREROUTING', '-i', GW_OUTSIDE_IF, '-j', 'NT-DNPT']);
    for (const chain of ['NT-SNPT', 'NT-DNPT']) {
      await gw.ip6tables(['-t', 'mangle', '-F', chain]);
      await gw.ip6tables(['-t', 'mangle', '-X', chain]);
    }
  }

  async dispose(): Promise<void> {
    await this.stop().catch(() => undefined); // the namespace goes away with its rules anyway
  }
}

export interface Npt66Config {
  nptv6: { inside: string; outside: string; interface: string }[];
  queues: { first: number; count: number };
  failOpen: boolean;
  control: { socket: string };
}

// dist/test/netns/lib/translator.js -> dist/src/cli.js, whichever dist directory the tests were built into.
export const CLI_PATH = resolve(__dirname, '../../../src/cli.js');

export class Npt66Daemon implements GatewayTranslator {
  readonly kind = 'npt66';
  readonly dir: string;
  readonly configFile: string;
  readonly socket: string;
  config: Npt66Config;
  process: LineProcess | null = null;
  private generation = 0;

  constructor(
    private readonly lab: GatewayLab,
    name: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `npt66-nt-${name}-`));
    this.configFile = join(this.dir, 'config.json');
    this.socket = `/run/npt66-nt-${name}.sock`;
    this.config = {
      nptv6: [{ inside: INSIDE_PREFIX, outside: OUTSIDE_PREFIX, interface: GW_OUTSIDE_IF }],
      queues: { first: 0, count: 1 },
      failOpen: false,
      control: { socket: this.socket },
    };
  }

  writeConfig(config: Npt66Config = this.config): void {
    this.config = config;
    writeFileSync(this.configFile, JSON.stringify(config, null, 2));
  }

  // Starts the daemon and waits for "ready" (queues bound, rules installed).
  async start(): Promise<void> {
    if (this.process && !this.process.exit) throw new Error('npt66 is already running');
    this.writeConfig();
    const label = `npt66 run #${++this.generation}`;
    this.process = new LineProcess(this.lab.topology.spawn('gw', [process.execPath, CLI_PATH, 'run', '-c', this.configFile]), label);
    await this.process.waitForLine('"msg":"ready"', (l) => jsonMsg(l) === 'ready', 20_000);
  }

  private running(): LineProcess {
    if (!this.process || this.process.exit) throw new Error('npt66 is not running');
    return this.process;
  }

  // SIGTERM; the daemon must exit 0 and leave no NPT66 rule behind.
  async stop(): Promise<void> {
    const p = this.running();
    p.child.kill('SIGTERM');
    const exit = await p.waitExit(20_000);
    if (exit.code !== 0) throw new Error(`npt66 exited with ${JSON.stringify(exit)} on SIGTERM\n--- stdout:\n${p.lines.join('\n')}\n--- stderr:\n${p.stderr}`);
    const left = await npt66Rules(this.lab);
    if (left.length) throw new Error(`npt66 left rules behind after SIGTERM:\n${left.join('\n')}`);
  }

  // A crash: SIGKILL, no chance to clean up.
  async kill9(): Promise<void> {
    const p = this.running();
    p.child.kill('SIGKILL');
    await p.waitExit(10_000);
  }

  // Rewrites the config file (if given; `raw` text for an invalid one), sends SIGHUP and waits for the
  // outcome the daemon logs: "reloaded", or "reload failed..." (the old configuration stays).
  async reload(config?: Npt66Config | { raw: string }): Promise<{ ok: boolean; line: string }> {
    const p = this.running();
    if (config && 'raw' in config) writeFileSync(this.configFile, config.raw);
    else if (config) this.writeConfig(config);
    const from = p.lines.length;
    p.child.kill('SIGHUP');
    const line = await p.waitForLine('the reload outcome', (l) => /^reloaded$|^reload failed/.test(jsonMsg(l) ?? ''), 20_000, from);
    return { ok: jsonMsg(line) === 'reloaded', line };
  }

  async stats(): Promise<Record<string, unknown>> {
    const r = await this.lab.ns('gw').exec([process.execPath, CLI_PATH, 'stats', '--json', '--socket', this.socket]);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  // The daemon's counters summed over its queues, by their names in native/core/counters.def.
  async counters(): Promise<Record<string, number>> {
    const stats = await this.stats();
    const total = stats.total as Record<string, number> | undefined;
    if (!total || typeof total.queue_received !== 'number') throw new Error(`stats --json has no counter totals:\n${JSON.stringify(stats)}`);
    return total;
  }

  // The counters that grew since `before`, with how much (zero growth left out, for readable assertions).
  static growth(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
    return out;
  }

  async dispose(): Promise<void> {
    if (this.process && !this.process.exit) {
      this.process.child.kill('SIGTERM');
      await this.process.waitExit(10_000).catch(() => undefined);
    }
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.socket, { force: true });
  }
}

function parseJson(line: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function jsonMsg(line: string): string | null {
  const m = parseJson(line)?.msg;
  return typeof m === 'string' ? m : null;
}
