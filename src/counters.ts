// The counters npt66 keeps, as the addon lists them (defined once in native/core/counters.def): each one's
// name, kind (an event, or a drop naming why a packet was refused) and one-line description.
import { native } from './native';

export interface CounterDescription {
  name: string;
  kind: 'event' | 'drop';
  help: string;
}

export const counterDescriptions: readonly CounterDescription[] = native.counterDescriptions;

// name -> one-line description, for `npt66 stats --explain` and `npt66 translate`'s refusals.
export const counterHelp: ReadonlyMap<string, string> = new Map(counterDescriptions.map((d) => [d.name, d.help]));

const dropNames: ReadonlySet<string> = new Set(counterDescriptions.filter((d) => d.kind === 'drop').map((d) => d.name));

// The drop counters (kind 'drop') of a counter snapshot: every reason a packet was refused.
export function dropsOf(counters: Record<string, number>): Record<string, number> {
  const drops: Record<string, number> = {};
  for (const [name, value] of Object.entries(counters)) if (dropNames.has(name)) drops[name] = value;
  return drops;
}
