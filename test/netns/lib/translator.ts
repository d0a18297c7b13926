// What translates on the gateway namespace: the kernel's SNPT/DNPT (the reference the topology and the
// assertions were proven with) or the npt66 daemon, driven through its CLI as a black box (npt66_daemon.ts),
// configured with the lab's one NPTv6 mapping and reloaded with SIGHUP.
import { writeFileSync } from 'node:fs';

import { GatewayLab, GW_OUTSIDE_IF, INSIDE_PREFIX, OUTSIDE_PREFIX, type GatewayNs } from './gateway_lab';
import { jsonMsg, npt66RulesIn, Npt66Process } from './npt66_daemon';

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

// npt66's rules on the gateway (ip6tables-save without counters).
export async function npt66Rules(lab: GatewayLab): Promise<string[]> {
  return npt66RulesIn(lab.ns('gw'));
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

export class Npt66Daemon extends Npt66Process<GatewayNs> implements GatewayTranslator {
  readonly kind = 'npt66';
  config: Npt66Config;

  constructor(lab: GatewayLab, name: string) {
    super(lab, 'gw', `nt-${name}`);
    this.config = {
      nptv6: [{ inside: INSIDE_PREFIX, outside: OUTSIDE_PREFIX, interface: GW_OUTSIDE_IF }],
      queues: { first: 0, count: 1 },
      failOpen: false,
      control: { socket: this.socket },
    };
  }

  writeConfig(config: Npt66Config = this.config): void {
    this.config = config;
    this.writeConfigFile(config);
  }

  // Starts the daemon and waits for "ready" (queues bound, rules installed).
  async start(): Promise<void> {
    await this.launch(this.config);
  }

  // SIGTERM; the daemon must exit 0 and leave no NPT66 rule behind.
  async stop(): Promise<void> {
    await this.terminate();
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

  // The daemon's counters summed over its queues, by their names in native/core/counters.def.
  async counters(): Promise<Record<string, number>> {
    const stats = await this.stats();
    const total = stats.total as Record<string, number> | undefined;
    if (!total || typeof total.queue_received !== 'number') throw new Error(`stats --json has no counter totals:\n${JSON.stringify(stats)}`);
    return total;
  }
}
