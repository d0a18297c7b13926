// The rule plan spelled as one nft table (nft's own `queue` statement, where the kernel has nft_queue). Applied in
// one transaction that also deletes the previous table, so a reload swaps the rules atomically; lists become sets.
import { buildRulePlan, PLACEMENT, type RuleConfig, type RulePlan } from './plan';

export const NFT_TABLE = 'npt66';

function nftQueue(queues: RulePlan['queues']): string {
  // A range spreads packets by a hash of the addresses, like --queue-balance. No `bypass` flag: fail-closed.
  return queues.count === 1 ? `queue num ${queues.first}` : `queue num ${queues.first}-${queues.first + queues.count - 1}`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

const set = (items: readonly (string | number)[]) => `{ ${items.join(', ')} }`;
const base = (p: (typeof PLACEMENT)[keyof typeof PLACEMENT]) => `    type filter hook ${p.hook} priority ${p.table}; policy accept;`;

export function renderNftRuleset(plan: RulePlan): string {
  const { inbound, outbound, ownErrors } = plan;
  const queue = nftQueue(plan.queues);
  const hairpin = inbound.hairpin;
  const nd = `icmpv6 type ${set(outbound.linkScoped.icmpv6Types)}`;
  const lines = [
    `table ip6 ${NFT_TABLE} {`,
    '  chain inbound {',
    base(PLACEMENT.inbound),
    ...(inbound.loopback ? [`    iifname "${inbound.loopback.interface}" ip6 daddr ${set(inbound.loopback.destinations)} return`] : []),
    ...inbound.destinations.map((d) => `    ip6 daddr ${d} goto inbound_queue`),
    ...inbound.masquerade.flatMap((m) => [
      ...m.ports.flatMap(({ min, max }) => ['tcp', 'udp'].map((proto) => `    ip6 daddr ${m.address} ${proto} dport ${min}-${max} goto inbound_queue`)),
      `    ip6 daddr ${m.address} icmpv6 type ${set(m.icmpv6Types)} goto inbound_queue`,
    ]),
    '  }',
    '  chain inbound_queue {',
    `    icmpv6 type ${set(inbound.neverQueuedIcmpv6Types)} return`,
    ...(hairpin
      ? hairpin.sources.map(
          (s) => `    iifname != ${set(hairpin.notFrom.map((n) => `"${n}"`))} ip6 saddr ${s} meta mark set meta mark | ${hex(hairpin.mark)}`,
        )
      : []),
    `    ${queue}`,
    '  }',
    '  chain outbound {',
    base(PLACEMENT.outbound),
    ...outbound.sources.map((s) => `    oifname "${s.interface}" ip6 saddr ${s.source} goto outbound_queue`),
    ...(outbound.hairpinMark ? [`    meta mark & ${hex(outbound.hairpinMark)} == ${hex(outbound.hairpinMark)} goto outbound_queue`] : []),
    '  }',
    '  chain outbound_queue {',
    `    ${nd} ip6 saddr ${set(outbound.linkScoped.sources)} return`,
    `    ${nd} ip6 daddr ${set(outbound.linkScoped.destinations)} return`,
    `    ${queue}`,
    '  }',
    '  chain own_errors {',
    base(PLACEMENT.ownErrors),
    ...ownErrors.interfaces.map((i) => `    oifname "${i}" icmpv6 type ${set(ownErrors.icmpv6Types)} ${queue}`),
    '  }',
    // Never jumped to: its ct expression keeps conntrack and nf_defrag_ipv6 registered here (plan.ts).
    ...(plan.keepDefrag ? ['  chain defrag {', '    ct state invalid counter', '  }'] : []),
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

// The nft table for a configuration (its plan, rendered).
export function nftRuleset(config: RuleConfig): string {
  return renderNftRuleset(buildRulePlan(config));
}

// Replaces (or creates) the table in one transaction: "add" makes "delete" safe when no table exists yet.
export function nftReplaceScript(config: RuleConfig): string {
  return `table ip6 ${NFT_TABLE}\ndelete table ip6 ${NFT_TABLE}\n${nftRuleset(config)}`;
}

export function nftProbeScript(queue: number): string {
  return `table ip6 ${NFT_TABLE}_probe {\n  chain c {\n    type filter hook prerouting priority raw; policy accept;\n    queue num ${queue}\n  }\n}\n`;
}
