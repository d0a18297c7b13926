// The rule plan spelled as ip6tables commands (xt NFQUEUE, through the nf_tables backend): argument arrays with
// `-w`, never a shell. Chains npt66 owns are named NPT66-<part>-<generation>, so a reload installs a new
// generation beside the old one; sets become one rule per item.
import { buildRulePlan, PLACEMENT, type RuleConfig, type RulePlan, type Table } from './plan';

export const CHAIN_PREFIX = 'NPT66-';

export type Hook = 'PREROUTING' | 'POSTROUTING' | 'OUTPUT';

// One generation of chains and rules, as data: the tests compare it with the exact argv lists.
export interface Ip6tablesPlan {
  generation: number;
  chains: { table: Table; name: string }[]; // created in this order, deleted in reverse
  rules: { table: Table; chain: string; args: string[] }[]; // appended in this order
  jumps: { table: Table; hook: Hook; chain: string }[]; // inserted at the top of the hook's built-in chain
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

function queueTarget(queues: RulePlan['queues']): string[] {
  return queues.count === 1
    ? ['-j', 'NFQUEUE', '--queue-num', String(queues.first)]
    : ['-j', 'NFQUEUE', '--queue-balance', `${queues.first}:${queues.first + queues.count - 1}`];
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

const icmpType = (t: number) => ['-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', String(t)];
const hook = (h: (typeof PLACEMENT)[keyof typeof PLACEMENT]['hook']) => h.toUpperCase() as Hook;

export function renderIp6tables(plan: RulePlan, generation: number): Ip6tablesPlan {
  const c = chainNames(generation);
  const queue = queueTarget(plan.queues);
  const rules: Ip6tablesPlan['rules'] = [];
  const add = (table: Table, chain: string, args: string[]) => rules.push({ table, chain, args });
  const { inbound, outbound, ownErrors } = plan;
  const inTable = PLACEMENT.inbound.table;
  const outTable = PLACEMENT.outbound.table;
  const errTable = PLACEMENT.ownErrors.table;

  for (const d of inbound.loopback?.destinations ?? []) add(inTable, c.inbound, ['-i', inbound.loopback!.interface, '-d', d, '-j', 'RETURN']);
  for (const d of inbound.destinations) add(inTable, c.inbound, ['-d', d, '-g', c.inboundQueue]);
  for (const m of inbound.masquerade) {
    for (const { min, max } of m.ports) {
      for (const proto of ['tcp', 'udp']) add(inTable, c.inbound, ['-d', m.address, '-p', proto, '-m', proto, '--dport', `${min}:${max}`, '-g', c.inboundQueue]);
    }
    for (const t of m.icmpv6Types) add(inTable, c.inbound, ['-d', m.address, ...icmpType(t), '-g', c.inboundQueue]);
  }
  for (const t of inbound.neverQueuedIcmpv6Types) add(inTable, c.inboundQueue, [...icmpType(t), '-j', 'RETURN']);
  if (inbound.hairpin) {
    // "Unless it arrived on an outside interface": those take the chain's last verdict (queue) before the mark.
    const mark = `${hex(inbound.hairpin.mark)}/${hex(inbound.hairpin.mark)}`;
    for (const i of inbound.hairpin.notFrom) add(inTable, c.inboundQueue, ['-i', i, ...queue]);
    for (const s of inbound.hairpin.sources) add(inTable, c.inboundQueue, ['-s', s, '-j', 'MARK', '--set-xmark', mark]);
  }
  add(inTable, c.inboundQueue, queue);

  for (const s of outbound.sources) add(outTable, c.outbound, ['-o', s.interface, '-s', s.source, '-g', c.outboundQueue]);
  if (outbound.hairpinMark) {
    const mark = `${hex(outbound.hairpinMark)}/${hex(outbound.hairpinMark)}`;
    add(outTable, c.outbound, ['-m', 'mark', '--mark', mark, '-g', c.outboundQueue]);
  }
  // "Link-scoped by either address" needs an OR: a chain of its own, entered per ICMPv6 type.
  for (const t of outbound.linkScoped.icmpv6Types) add(outTable, c.outboundQueue, [...icmpType(t), '-g', c.outboundNd]);
  add(outTable, c.outboundQueue, queue);
  for (const s of outbound.linkScoped.sources) add(outTable, c.outboundNd, ['-s', s, '-j', 'RETURN']);
  for (const d of outbound.linkScoped.destinations) add(outTable, c.outboundNd, ['-d', d, '-j', 'RETURN']);
  add(outTable, c.outboundNd, queue);

  for (const i of ownErrors.interfaces) {
    for (const t of ownErrors.icmpv6Types) add(errTable, c.ownErrors, ['-o', i, ...icmpType(t), ...queue]);
  }
  // No target: the rule only has to exist (its match's checkentry enables conntrack and nf_defrag_ipv6 here).
  if (plan.keepDefrag) add('raw', c.defrag, ['-m', 'conntrack', '--ctstate', 'INVALID']);

  return {
    generation,
    chains: [
      { table: inTable, name: c.inboundQueue },
      { table: inTable, name: c.inbound },
      { table: outTable, name: c.outboundNd },
      { table: outTable, name: c.outboundQueue },
      { table: outTable, name: c.outbound },
      { table: errTable, name: c.ownErrors },
      ...(plan.keepDefrag ? [{ table: 'raw' as const, name: c.defrag }] : []),
    ],
    rules,
    jumps: [
      { table: inTable, hook: hook(PLACEMENT.inbound.hook), chain: c.inbound },
      { table: outTable, hook: hook(PLACEMENT.outbound.hook), chain: c.outbound },
      { table: errTable, hook: hook(PLACEMENT.ownErrors.hook), chain: c.ownErrors },
    ],
  };
}

// The ip6tables rules for a configuration (its plan, rendered).
export function planRules(config: RuleConfig, generation: number): Ip6tablesPlan {
  return renderIp6tables(buildRulePlan(config), generation);
}

export const IP6TABLES = ['ip6tables', '-w'];

// Full argv lists to install a plan: chains, their rules, then the jumps that make them live.
export function installArgv(plan: Ip6tablesPlan): string[][] {
  return [
    ...plan.chains.map((ch) => [...IP6TABLES, '-t', ch.table, '-N', ch.name]),
    ...plan.rules.map((r) => [...IP6TABLES, '-t', r.table, '-A', r.chain, ...r.args]),
    ...plan.jumps.map((j) => [...IP6TABLES, '-t', j.table, '-I', j.hook, '1', '-j', j.chain]),
  ];
}

// Full argv lists to remove a plan: jumps first (traffic stops reaching the chains), then flush, then delete.
export function removeArgv(plan: Ip6tablesPlan): string[][] {
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
