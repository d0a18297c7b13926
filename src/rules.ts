// The netfilter rules that send packets to npt66's queues, in chains npt66 owns (REFERENCE s3).
//
// Where:   inbound in raw PREROUTING (priority -300: before conntrack and routing, so conntrack and the stateful
//          firewall see only inside addresses and the rewritten destination is routed normally);
//          outbound in mangle POSTROUTING (-150, after routing: the out interface is known).
// What:    outbound: `-o IF -s INSIDE`; inbound: `-d OUTSIDE` on any interface, so that packets from inside hosts
//          to an outside address are translated too (hairpinning, RFC 6296 s4.3, see below).
//          Masquerade (NAT66): outbound `-o IF -s SOURCE`; inbound only what can belong to a mapping, since the
//          address is also the host's own: `-d ADDRESS` with TCP/UDP to the masquerade port range (1-1023 too with
//          "privilegedPorts"), ICMPv6 echo replies (129) and ICMPv6 errors (1-4). The host's own sockets use
//          net.ipv4.ip_local_port_range, which the configuration keeps apart from the masquerade range, so their
//          replies are never queued; packets queued but matching no mapping are accepted for the host.
//          Neighbor Discovery (ICMPv6 133-137) and MLD (130-132, 143): never queued inbound (RETURN first: ND to
//          an outside address is the gateway's own business). Outbound only the link-scoped ones are returned
//          (source fe80::/10 or ::, or destination ff00::/8 or fe80::/10, RFC 4861 s6.1/s7.1); one from an inside
//          source to a routable destination is not ND that belongs on the link, and leaving untranslated it would
//          carry the inside address out: it is queued, and the engine drops it (drop_nd_mld_off_link).
//          Masquerade needs whole packets (a later fragment has no ports): a conntrack match in a chain nothing
//          jumps to (NPT66-DEFRAG-*) makes the kernel register its conntrack and IPv6 reassembly hooks
//          (nf_defrag_ipv6, priority -400, before raw) in this network namespace for as long as the rule exists;
//          nothing else guarantees they are there (the kernel registers them per namespace only when a rule uses
//          conntrack: nf_ct_netns_get -> nf_defrag_ipv6_enable).
//          NFQUEUE without --queue-bypass: with no program bound the kernel drops (fail-closed).
// Hairpin: an inside host A reaching inside host B by B's outside address: raw PREROUTING translates the
//          destination (B_out -> B_in) and, because the source is inside too, sets `hairpinMark`; mangle
//          POSTROUTING queues marked packets whatever their out interface, and the engine translates the source
//          (A_in -> A_out). B sees A_out and answers to it; the answer takes the same path. Conntrack sees
//          A_in <-> B_in both ways, so a stateful firewall works. `hairpinMark: 0` turns this off.
//          Masquerade hairpinning (RFC 4787 REQ-9) needs no mark: a packet from a masquerade source to the address
//          and a mapped port is queued by the inbound rules (no `-i`) and the engine rewrites both of its
//          addresses there, in raw PREROUTING.
// Forged:  hairpin comes from inside. A packet arriving on an outside interface (any interface an entry names) is
//          queued without the mark (ip6tables: a rule `-i OUTSIDE_IF` queues it first; nft: `iifname != {...}` on
//          the mark rule), so the kernel never treats one with a forged inside source as hairpin. The inbound rules
//          still have no `-i` and queue it, so that the engine drops and counts it (drop_spoofed_inside_source,
//          RFC 2827 ingress filtering): one place for NPTv6 and masquerade, the check that also keeps it from being
//          masquerade hairpin.
// Own errors: a packet translated inbound that the gateway cannot forward (hop limit, inside link MTU, no route)
//          gets an ICMPv6 error from the gateway's own kernel, quoting the packet after translation (the inside
//          destination): its source is the gateway's, so no `-s INSIDE` rule sees it. mangle OUTPUT (LOCAL_OUT)
//          queues ICMPv6 errors (1-4) leaving by an outside interface (`-o IF`) in NPT66-ERR-*; the engine maps
//          the quoted destination back to the outside address (and port), or drops the error when nothing can
//          (REFERENCE s6, native/core/own_icmp_error.h). Errors about the gateway's own traffic pass untouched.
// When:    chains filled before the jumps to them are inserted, which happens after the queues are bound;
//          removed on stop; chains left by a crashed run (any chain named NPT66-*) removed at start.
// How:     ip6tables (xt NFQUEUE, through the nf_tables backend) with argument arrays and `-w`, never a shell;
//          nft's own `queue` statement where the kernel has it (probed with `nft -c`, which asks the kernel
//          to check a ruleset without committing it). This machine's kernel lacks nft_queue: ip6tables is used.
import { execFile, execFileSync } from 'node:child_process';

import { Npt66Error } from './errors';
import type { GatewayConfig } from './gateway-config';
import { DOCKER_SOURCE, namesDocker, parsePortRange, type MasqueradeEntry } from './masquerade-config';

export const CHAIN_PREFIX = 'NPT66-';
export const NFT_TABLE = 'npt66';

// Neighbor Discovery (RFC 4861: 133 RS, 134 RA, 135 NS, 136 NA, 137 Redirect) and MLD (RFC 2710/3810: 130, 131,
// 132, 143) are link-local business: translating them would break the link.
export const NEVER_QUEUED_ICMPV6_TYPES = [130, 131, 132, 133, 134, 135, 136, 137, 143] as const;

// RFC 4861 s6.1/s7.1 (ND: hop limit 255, link-local or unspecified source, link-local or multicast destination)
// and RFC 3810 s5 (MLD: link-local source): outbound ND/MLD with one of these addresses stays on its link and is
// returned untranslated; any other is queued and dropped by the engine.
export const LINK_SCOPED_SOURCES = ['fe80::/10', '::/128'] as const;
export const LINK_SCOPED_DESTINATIONS = ['ff00::/8', 'fe80::/10'] as const;

export type Table = 'raw' | 'mangle';
export type Hook = 'PREROUTING' | 'POSTROUTING' | 'OUTPUT';

// ICMPv6 messages that can concern a masquerade mapping: errors (RFC 4443 s3: 1 Destination Unreachable,
// 2 Packet Too Big, 3 Time Exceeded, 4 Parameter Problem) quoting a mapped packet, and echo replies (129).
export const MASQUERADE_ICMPV6_TYPES = [1, 2, 3, 4, 129] as const;

// ICMPv6 error types (RFC 4443 s3): the gateway's own errors of these types leaving by an outside interface are queued.
export const ICMPV6_ERROR_TYPES = [1, 2, 3, 4] as const;

// dockerSources: for an entry whose source names "docker", the Docker subnets in force (withDockerSubnets below).
export type RuleMasquerade = Pick<MasqueradeEntry, 'source' | 'interface' | 'address' | 'ports'> & { privilegedPorts?: boolean; dockerSources?: readonly string[] };

// The configuration fields the rules depend on (a reload that changes none of them keeps the rules).
export type RuleConfig = Pick<GatewayConfig, 'nptv6' | 'hairpinMark'> & {
  queues: Pick<GatewayConfig['queues'], 'first' | 'count'>;
  masquerade?: RuleMasquerade[];
};

// The NPTv6 outside prefixes in force. An entry whose prefix follows an interface with no usable address yet has
// none: nothing is queued inbound for it, and its outbound packets (queued by inside prefix) are dropped.
function outsidePrefixesOf(config: RuleConfig): string[] {
  return unique(config.nptv6.flatMap((m) => (m.outside === null ? [] : [m.outside])));
}

// Every interface an entry names is an outside one (NPTv6 and masquerade alike).
function outsideInterfacesOf(config: RuleConfig): string[] {
  return unique([...config.nptv6.map((m) => m.interface), ...(config.masquerade ?? []).map((m) => m.interface)]);
}

// The prefixes in force: the configured ones, and for "docker" the Docker subnets the gateway set (none yet: none).
function sourcesOf(m: RuleMasquerade): string[] {
  const configured = (Array.isArray(m.source) ? m.source : [m.source]).filter((s) => s !== DOCKER_SOURCE);
  return [...configured, ...(m.dockerSources ?? [])];
}

// The destination port ranges of inbound TCP/UDP that can belong to a mapping, as "MIN:MAX".
function masqueradePorts(m: RuleMasquerade): string[] {
  const { min, max } = parsePortRange(m.ports);
  return [...(m.privilegedPorts ? ['1:1023'] : []), `${min}:${max}`];
}

export interface RulePlan {
  generation: number;
  chains: { table: Table; name: string }[]; // created in this order, deleted in reverse
  rules: { table: Table; chain: string; args: string[] }[]; // appended in this order
  jumps: { table: Table; hook: Hook; chain: string }[]; // inserted at the top of the hook's built-in chain
}

export function ruleKey(config: RuleConfig): string {
  const masquerade = (config.masquerade ?? []).map((m) => [sourcesOf(m), m.interface, m.address, m.ports, m.privilegedPorts ?? false]);
  return JSON.stringify([config.nptv6, config.queues, config.hairpinMark, masquerade]);
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

function queueTarget(queues: RuleConfig['queues']): string[] {
  // --queue-balance hashes the addresses symmetrically, so both directions of a flow share a queue (REFERENCE s2).
  return queues.count === 1
    ? ['-j', 'NFQUEUE', '--queue-num', String(queues.first)]
    : ['-j', 'NFQUEUE', '--queue-balance', `${queues.first}:${queues.first + queues.count - 1}`];
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export function chainNames(generation: number) {
  return {
    inbound: `${CHAIN_PREFIX}IN-${generation}`,
    inboundQueue: `${CHAIN_PREFIX}INQ-${generation}`,
    outbound: `${CHAIN_PREFIX}OUT-${generation}`,
    outboundQueue: `${CHAIN_PREFIX}OUTQ-${generation}`,
    outboundNd: `${CHAIN_PREFIX}NDOUT-${generation}`, // outbound ND/MLD: link-scoped ones returned, the rest queued
    defrag: `${CHAIN_PREFIX}DEFRAG-${generation}`, // never jumped to: its conntrack match keeps reassembly on
    ownErrors: `${CHAIN_PREFIX}ERR-${generation}`, // mangle OUTPUT: the gateway's own ICMPv6 errors going outside
  };
}

// The rules for a configuration, as data. Pure: the tests compare it with the exact argv lists.
export function planRules(config: RuleConfig, generation: number): RulePlan {
  const c = chainNames(generation);
  const mark = config.hairpinMark ? `${hex(config.hairpinMark)}/${hex(config.hairpinMark)}` : null;
  const icmpType = (t: number) => ['-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', String(t)];
  const neverQueued = NEVER_QUEUED_ICMPV6_TYPES.map((t) => [...icmpType(t), '-j', 'RETURN']);
  const rules: RulePlan['rules'] = [];
  const add = (table: Table, chain: string, args: string[]) => rules.push({ table, chain, args });

  const masquerade = config.masquerade ?? [];
  for (const outside of outsidePrefixesOf(config)) add('raw', c.inbound, ['-d', outside, '-g', c.inboundQueue]);
  for (const m of masquerade) {
    for (const ports of masqueradePorts(m)) {
      add('raw', c.inbound, ['-d', m.address, '-p', 'tcp', '-m', 'tcp', '--dport', ports, '-g', c.inboundQueue]);
      add('raw', c.inbound, ['-d', m.address, '-p', 'udp', '-m', 'udp', '--dport', ports, '-g', c.inboundQueue]);
    }
    for (const t of MASQUERADE_ICMPV6_TYPES) {
      add('raw', c.inbound, ['-d', m.address, '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', String(t), '-g', c.inboundQueue]);
    }
  }
  for (const args of neverQueued) add('raw', c.inboundQueue, args);
  if (mark && config.nptv6.length) {
    // Arrived on an outside interface: queued unmarked, never hairpin (see "Forged" above).
    for (const i of outsideInterfacesOf(config)) add('raw', c.inboundQueue, ['-i', i, ...queueTarget(config.queues)]);
    for (const inside of unique(config.nptv6.map((m) => m.inside))) {
      add('raw', c.inboundQueue, ['-s', inside, '-j', 'MARK', '--set-xmark', mark]);
    }
  }
  add('raw', c.inboundQueue, queueTarget(config.queues));

  for (const m of config.nptv6) add('mangle', c.outbound, ['-o', m.interface, '-s', m.inside, '-g', c.outboundQueue]);
  for (const m of masquerade) {
    for (const source of sourcesOf(m)) add('mangle', c.outbound, ['-o', m.interface, '-s', source, '-g', c.outboundQueue]);
  }
  if (mark) add('mangle', c.outbound, ['-m', 'mark', '--mark', mark, '-g', c.outboundQueue]);
  for (const t of NEVER_QUEUED_ICMPV6_TYPES) add('mangle', c.outboundQueue, [...icmpType(t), '-g', c.outboundNd]);
  add('mangle', c.outboundQueue, queueTarget(config.queues));
  for (const s of LINK_SCOPED_SOURCES) add('mangle', c.outboundNd, ['-s', s, '-j', 'RETURN']);
  for (const d of LINK_SCOPED_DESTINATIONS) add('mangle', c.outboundNd, ['-d', d, '-j', 'RETURN']);
  add('mangle', c.outboundNd, queueTarget(config.queues));
  const outsideInterfaces = unique([...config.nptv6.map((m) => m.interface), ...masquerade.map((m) => m.interface)]);
  for (const i of outsideInterfaces) {
    for (const t of ICMPV6_ERROR_TYPES) add('mangle', c.ownErrors, ['-o', i, ...icmpType(t), ...queueTarget(config.queues)]);
  }
  // No target: the rule only has to exist (its match's checkentry enables conntrack and nf_defrag_ipv6 here).
  if (masquerade.length) add('raw', c.defrag, ['-m', 'conntrack', '--ctstate', 'INVALID']);

  return {
    generation,
    chains: [
      { table: 'raw', name: c.inboundQueue },
      { table: 'raw', name: c.inbound },
      { table: 'mangle', name: c.outboundNd },
      { table: 'mangle', name: c.outboundQueue },
      { table: 'mangle', name: c.outbound },
      { table: 'mangle', name: c.ownErrors },
      ...(masquerade.length ? [{ table: 'raw' as const, name: c.defrag }] : []),
    ],
    rules,
    jumps: [
      { table: 'raw', hook: 'PREROUTING', chain: c.inbound },
      { table: 'mangle', hook: 'POSTROUTING', chain: c.outbound },
      { table: 'mangle', hook: 'OUTPUT', chain: c.ownErrors },
    ],
  };
}

const IP6TABLES = ['ip6tables', '-w'];

// Full argv lists to install a plan: chains, their rules, then the jumps that make them live.
export function installArgv(plan: RulePlan): string[][] {
  return [
    ...plan.chains.map((ch) => [...IP6TABLES, '-t', ch.table, '-N', ch.name]),
    ...plan.rules.map((r) => [...IP6TABLES, '-t', r.table, '-A', r.chain, ...r.args]),
    ...plan.jumps.map((j) => [...IP6TABLES, '-t', j.table, '-I', j.hook, '1', '-j', j.chain]),
  ];
}

// Full argv lists to remove a plan: jumps first (traffic stops reaching the chains), then flush, then delete.
export function removeArgv(plan: RulePlan): string[][] {
  return [
    ...plan.jumps.map((j) => [...IP6TABLES, '-t', j.table, '-D', j.hook, '-j', j.chain]),
    ...plan.chains.map((ch) => [...IP6TABLES, '-t', ch.table, '-F', ch.name]),
    ...[...plan.chains].reverse().map((ch) => [...IP6TABLES, '-t', ch.table, '-X', ch.name]),
  ];
}

// From `ip6tables -t TABLE -S` output, the argv lists that remove every NPT66-* chain and every rule jumping to one.
export function staleArgv(table: Table, listing: string): string[][] {
  const jumps: string[][] = [];
  const chains: string[] = [];
  for (const line of listing.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === '-N' && words[1]?.startsWith(CHAIN_PREFIX)) chains.push(words[1]);
    if (words[0] === '-A' && !words[1]?.startsWith(CHAIN_PREFIX)) {
      const target = words.indexOf('-j') >= 0 ? words[words.indexOf('-j') + 1] : words[words.indexOf('-g') + 1];
      if (target?.startsWith(CHAIN_PREFIX)) jumps.push([...IP6TABLES, '-t', table, '-D', ...words.slice(1)]);
    }
  }
  return [
    ...jumps,
    ...chains.map((ch) => [...IP6TABLES, '-t', table, '-F', ch]),
    ...chains.map((ch) => [...IP6TABLES, '-t', table, '-X', ch]),
  ];
}

// ---- nft (where the kernel has nft_queue) ----

function nftQueue(queues: RuleConfig['queues']): string {
  // A range spreads packets by a hash of the addresses, like --queue-balance. No `bypass` flag: fail-closed.
  return queues.count === 1 ? `queue num ${queues.first}` : `queue num ${queues.first}-${queues.first + queues.count - 1}`;
}

// The same rules as one nft table. Applied in one transaction that also deletes the previous table, so a reload
// swaps the rules atomically.
export function nftRuleset(config: RuleConfig): string {
  const mark = config.hairpinMark ? hex(config.hairpinMark) : null;
  const ndTypes = `icmpv6 type { ${NEVER_QUEUED_ICMPV6_TYPES.join(', ')} }`;
  const never = `${ndTypes} return`;
  const masquerade = config.masquerade ?? [];
  const lines = [
    `table ip6 ${NFT_TABLE} {`,
    '  chain inbound {',
    '    type filter hook prerouting priority raw; policy accept;',
    ...outsidePrefixesOf(config).map((o) => `    ip6 daddr ${o} goto inbound_queue`),
    ...masquerade.flatMap((m) => [
      ...masqueradePorts(m).flatMap((p) => ['tcp', 'udp'].map((proto) => `    ip6 daddr ${m.address} ${proto} dport ${p.replace(':', '-')} goto inbound_queue`)),
      `    ip6 daddr ${m.address} icmpv6 type { ${MASQUERADE_ICMPV6_TYPES.join(', ')} } goto inbound_queue`,
    ]),
    '  }',
    '  chain inbound_queue {',
    `    ${never}`,
    ...(mark
      ? unique(config.nptv6.map((m) => m.inside)).map(
          (i) => `    iifname != { ${outsideInterfacesOf(config).map((n) => `"${n}"`).join(', ')} } ip6 saddr ${i} meta mark set meta mark | ${mark}`,
        )
      : []),
    `    ${nftQueue(config.queues)}`,
    '  }',
    '  chain outbound {',
    '    type filter hook postrouting priority mangle; policy accept;',
    ...config.nptv6.map((m) => `    oifname "${m.interface}" ip6 saddr ${m.inside} goto outbound_queue`),
    ...masquerade.flatMap((m) => sourcesOf(m).map((s) => `    oifname "${m.interface}" ip6 saddr ${s} goto outbound_queue`)),
    ...(mark ? [`    meta mark & ${mark} == ${mark} goto outbound_queue`] : []),
    '  }',
    '  chain outbound_queue {',
    `    ${ndTypes} ip6 saddr { ${LINK_SCOPED_SOURCES.join(', ')} } return`,
    `    ${ndTypes} ip6 daddr { ${LINK_SCOPED_DESTINATIONS.join(', ')} } return`,
    `    ${nftQueue(config.queues)}`,
    '  }',
    '  chain own_errors {',
    '    type filter hook output priority mangle; policy accept;',
    ...unique([...config.nptv6.map((m) => m.interface), ...masquerade.map((m) => m.interface)]).map(
      (i) => `    oifname "${i}" icmpv6 type { ${ICMPV6_ERROR_TYPES.join(', ')} } ${nftQueue(config.queues)}`,
    ),
    '  }',
    // Never jumped to: its ct expression keeps conntrack and nf_defrag_ipv6 registered here (see the top).
    ...(masquerade.length ? ['  chain defrag {', '    ct state invalid counter', '  }'] : []),
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

// Replaces (or creates) the table in one transaction: "add" makes "delete" safe when no table exists yet.
export function nftReplaceScript(config: RuleConfig): string {
  return `table ip6 ${NFT_TABLE}\ndelete table ip6 ${NFT_TABLE}\n${nftRuleset(config)}`;
}

export function nftProbeScript(queue: number): string {
  return `table ip6 ${NFT_TABLE}_probe {\n  chain c {\n    type filter hook prerouting priority raw; policy accept;\n    queue num ${queue}\n  }\n}\n`;
}

// ---- running the commands ----

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (argv: string[], input?: string) => Promise<CommandResult>;

export const execRunner: CommandRunner = (argv, input) =>
  new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === 127 ? err.message : '') });
    });
    if (input !== undefined) child.stdin?.end(input);
  });

function rulesError(argv: string[], r: CommandResult): Npt66Error {
  return new Npt66Error('ERR_NPT66_RULES', `${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
}

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
  private current: RulePlan | null = null;
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

  private async apply(config: RuleConfig): Promise<RulePlan> {
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

// A backend whose rules for the entry naming "docker" carry Docker's subnets in force, read at each install or
// replace: the configuration names "docker", never the subnets, so every caller's configuration stays as written.
export function withDockerSubnets(backend: RuleBackend, subnets: () => readonly string[]): RuleBackend {
  const live = (c: RuleConfig): RuleConfig => ({
    ...c,
    ...(c.masquerade ? { masquerade: c.masquerade.map((m) => (namesDocker(m) ? { ...m, dockerSources: [...subnets()] } : m)) } : {}),
  });
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
