// The netfilter rules that send packets to npt66's queues: one plan (plan.ts: what to queue, mark and return, in
// which hook), spelled for ip6tables (ip6tables.ts) and nft (nft.ts), installed by a backend (backends.ts).
export {
  buildRulePlan,
  ICMPV6_ERROR_TYPES,
  LINK_SCOPED_DESTINATIONS,
  LINK_SCOPED_SOURCES,
  MASQUERADE_ICMPV6_TYPES,
  NEVER_QUEUED_ICMPV6_TYPES,
  PLACEMENT,
  ruleKey,
  type HookName,
  type PortRange,
  type RuleConfig,
  type RuleMasquerade,
  type RulePlan,
  type Table,
} from './plan';
export { CHAIN_PREFIX, chainNames, installArgv, planRules, removeArgv, renderIp6tables, staleArgv, type Hook, type Ip6tablesPlan } from './ip6tables';
export { NFT_TABLE, nftProbeScript, nftReplaceScript, nftRuleset, renderNftRuleset } from './nft';
export { execRunner, type CommandResult, type CommandRunner } from './command-runner';
export { chooseRuleBackend, Ip6tablesRules, NftRules, withLiveMasquerade, type LiveMasquerade, type RuleBackend } from './backends';
