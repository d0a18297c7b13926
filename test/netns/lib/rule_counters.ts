// ip6tables rules of one table in a namespace with their packet counters (`-L -v -x -n`), to see which
// rule traffic hit: a firewall's drop rule, or npt66's NFQUEUE rules after the daemon died.
import type { Namespace } from '../../../src/netns';

export interface RuleCounter {
  chain: string;
  pkts: number;
  bytes: number;
  target: string;
  text: string; // the rest of the line (protocol, interfaces, addresses, options)
}

export async function ruleCounters(ns: Namespace, table: 'raw' | 'mangle' | 'filter'): Promise<RuleCounter[]> {
  const r = await ns.ip6tables(['-t', table, '-L', '-v', '-x', '-n']);
  const rules: RuleCounter[] = [];
  let chain = '';
  for (const line of r.stdout.split('\n')) {
    const head = /^Chain (\S+)/.exec(line);
    if (head) {
      chain = head[1];
      continue;
    }
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (m) rules.push({ chain, pkts: Number(m[1]), bytes: Number(m[2]), target: m[3], text: m[4].trim() });
  }
  return rules;
}

export function packetsTo(rules: RuleCounter[], pred: (r: RuleCounter) => boolean): number {
  return rules.filter(pred).reduce((n, r) => n + r.pkts, 0);
}
