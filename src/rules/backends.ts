// Installing the rendered plan, and choosing the backend (REFERENCE s3).
// When: chains filled before the jumps to them are inserted, which happens after the queues are bound; removed on
//       stop; chains left by a crashed run (any chain named NPT66-*, or the nft table) removed at start.
// How:  nft's own `queue` statement where the kernel has it (probed with `nft -c`, which asks the kernel to check
//       a ruleset without committing it), else ip6tables. This machine's kernel lacks nft_queue: ip6tables is used.
import { execFileSync } from 'node:child_process';

import type { Npt66Error } from '../errors';
import { namesDocker, type MasqueradeOutside } from '../masquerade-config';
import { execRunner, rulesError, type CommandRunner } from './command-runner';
import { installArgv, IP6TABLES, planRules, removeArgv, staleArgv, type Ip6tablesPlan } from './ip6tables';
import { NFT_TABLE, nftProbeScript, nftReplaceScript } from './nft';
import type { PortRange, RuleConfig, RuleMasquerade } from './plan';

// What the gateway needs from a rules backend.
export interface RuleBackend {
  readonly name: 'ip6tables' | 'nft';
  removeStale(): Promise<string[]>; // returns what was removed, for the log
  // Installs the rules, then removes any left by a crashed run (until then those drop: no unbound queue leaks).
  // Returns what was removed.
  install(config: RuleConfig): Promise<string[]>;
  replace(config: RuleConfig): Promise<void>; // new rules live before the old ones go
  remove(): Promise<void>;
  removeSync(): void; // for process 'exit' handlers
}

export class Ip6tablesRules implements RuleBackend {
  readonly name = 'ip6tables';
  private current: Ip6tablesPlan | null = null;
  private generation = 0;

  constructor(private readonly runner: CommandRunner = execRunner) {}

  async removeStale(): Promise<string[]> {
    return this.runStale(await this.listStale());
  }

  async install(config: RuleConfig): Promise<string[]> {
    if (this.current) throw new Error('rules already installed; use replace()');
    const stale = await this.listStale();
    // New chain names never collide with stale ones.
    this.generation = Math.max(this.generation, ...stale.generations);
    this.current = await this.apply(config);
    return this.runStale(stale);
  }

  private async listStale(): Promise<{ commands: string[][]; generations: number[] }> {
    const commands: string[][] = [];
    for (const table of ['raw', 'mangle'] as const) {
      const argv = [...IP6TABLES, '-t', table, '-S'];
      const list = await this.runner(argv);
      if (list.code !== 0) throw rulesError(argv, list);
      commands.push(...staleArgv(table, list.stdout));
    }
    const generations = commands.filter((a) => a[4] === '-X').map((a) => Number(/-(\d+)$/.exec(a[5]!)?.[1] ?? 0));
    return { commands, generations };
  }

  private async runStale(stale: { commands: string[][] }): Promise<string[]> {
    const removed: string[] = [];
    for (const argv of stale.commands) {
      const r = await this.runner(argv);
      if (r.code !== 0) throw rulesError(argv, r);
      if (argv[4] === '-X') removed.push(`${argv[3]}/${argv[5]}`);
    }
    return removed;
  }

  async replace(config: RuleConfig): Promise<void> {
    const old = this.current;
    this.current = await this.apply(config); // the new jumps are inserted above the old ones
    if (old) await this.runAll(removeArgv(old), false);
  }

  async remove(): Promise<void> {
    const plan = this.current;
    this.current = null;
    if (plan) await this.runAll(removeArgv(plan), true);
  }

  removeSync(): void {
    const plan = this.current;
    this.current = null;
    if (!plan) return;
    for (const argv of removeArgv(plan)) {
      try {
        execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
      } catch {
        /* best effort at exit */
      }
    }
  }

  private async apply(config: RuleConfig): Promise<Ip6tablesPlan> {
    const plan = planRules(config, ++this.generation);
    try {
      await this.runAll(installArgv(plan), false);
    } catch (e) {
      await this.runAll(removeArgv(plan), true); // leave nothing half-installed
      throw e;
    }
    return plan;
  }

  private async runAll(list: string[][], ignoreErrors: boolean): Promise<void> {
    let first: Npt66Error | null = null;
    for (const argv of list) {
      const r = await this.runner(argv);
      if (r.code !== 0) {
        first ??= rulesError(argv, r);
        if (!ignoreErrors) throw first;
      }
    }
  }
}

export class NftRules implements RuleBackend {
  readonly name = 'nft';
  private installed = false;

  constructor(private readonly runner: CommandRunner = execRunner) {}

  async removeStale(): Promise<string[]> {
    const r = await this.runner(['nft', 'delete', 'table', 'ip6', NFT_TABLE]);
    const fromIp6tables = await new Ip6tablesRules(this.runner).removeStale().catch(() => []);
    return [...(r.code === 0 ? [`nft ip6 ${NFT_TABLE}`] : []), ...fromIp6tables];
  }

  async install(config: RuleConfig): Promise<string[]> {
    const existed = (await this.runner(['nft', 'list', 'table', 'ip6', NFT_TABLE])).code === 0;
    await this.replace(config); // one transaction replaces a stale table
    const fromIp6tables = await new Ip6tablesRules(this.runner).removeStale();
    return [...(existed ? [`nft ip6 ${NFT_TABLE}`] : []), ...fromIp6tables];
  }

  async replace(config: RuleConfig): Promise<void> {
    const argv = ['nft', '-f', '-'];
    const r = await this.runner(argv, nftReplaceScript(config));
    if (r.code !== 0) throw rulesError(argv, r);
    this.installed = true;
  }

  async remove(): Promise<void> {
    if (!this.installed) return;
    this.installed = false;
    const argv = ['nft', 'delete', 'table', 'ip6', NFT_TABLE];
    const r = await this.runner(argv);
    if (r.code !== 0) throw rulesError(argv, r);
  }

  removeSync(): void {
    if (!this.installed) return;
    this.installed = false;
    try {
      execFileSync('nft', ['delete', 'table', 'ip6', NFT_TABLE], { stdio: 'ignore' });
    } catch {
      /* best effort at exit */
    }
  }
}

// What the rules take from the running gateway rather than the configuration: for the entry naming "docker",
// Docker's subnets and published ports in force; for each entry, its outside addresses in force (an address that
// follows its interface) and the ports mappings of an earlier port range may still hold (a reload changed it).
export interface LiveMasquerade {
  dockerSubnets: readonly string[];
  dockerForwards: readonly { port: number }[];
  outside: readonly (MasqueradeOutside | undefined)[]; // per entry; undefined: as configured
  keptPorts?: readonly (readonly PortRange[] | undefined)[]; // per entry: ports earlier ranges' mappings may hold
}

// A backend whose rules carry the live state, read at each install or replace: the configuration names "docker"
// and leaves "address" out, never the subnets, published ports or the address of the moment, so every caller's
// configuration stays as written.
export function withLiveMasquerade(backend: RuleBackend, state: () => LiveMasquerade): RuleBackend {
  const live = (c: RuleConfig): RuleConfig => {
    if (!c.masquerade) return c;
    const { dockerSubnets, dockerForwards, outside, keptPorts } = state();
    return {
      ...c,
      masquerade: c.masquerade.map((m, i): RuleMasquerade => {
        const o = outside[i];
        return {
          ...m,
          ...(namesDocker(m) ? { dockerSources: [...dockerSubnets], forwards: [...(m.forwards ?? []), ...dockerForwards] } : {}),
          ...(o ? { addresses: [...(o.use === null ? [] : [o.use]), ...o.keep] } : {}),
          ...(keptPorts?.[i]?.length ? { keptPorts: [...keptPorts[i]!] } : {}),
        };
      }),
    };
  };
  return {
    name: backend.name,
    removeStale: () => backend.removeStale(),
    install: (c) => backend.install(live(c)),
    replace: (c) => backend.replace(live(c)),
    remove: () => backend.remove(),
    removeSync: () => backend.removeSync(),
  };
}

// nft's native queue if `nft -c` accepts a queue rule in this network namespace, else ip6tables.
// NPT66_RULES=ip6tables|nft forces a backend (for tests and for kernels where the probe is wrong).
export async function chooseRuleBackend(queue: number, runner: CommandRunner = execRunner): Promise<RuleBackend> {
  const forced = process.env.NPT66_RULES;
  if (forced === 'ip6tables') return new Ip6tablesRules(runner);
  if (forced === 'nft') return new NftRules(runner);
  const probe = await runner(['nft', '-c', '-f', '-'], nftProbeScript(queue));
  return probe.code === 0 ? new NftRules(runner) : new Ip6tablesRules(runner);
}
