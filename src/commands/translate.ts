// npt66 translate: what an address becomes under the given NPTv6 mappings, offline (no queue, no root).
import { counterHelp } from '../counters';
import { usageError } from '../errors';
import { validateNptv6, type Nptv6Mapping } from '../config';
import { loadGatewayConfig, type Nptv6Entry } from '../gateway-config';
import { parseAddress } from '../prefix';
import { Translator, type MapAddressResult } from '../translator';
import { parseCommandLine } from './common';

export const summary = 'print what addresses become under NPTv6 mappings (offline)';

const usage = `usage: npt66 translate --map INSIDE=OUTSIDE [--map ...] [--inbound] [--json] ADDRESS...
       npt66 translate -c FILE [--via IF] [--inbound] [--json] ADDRESS...

Prints, per address, the translated address or the reason it is refused.
  --map INSIDE=OUTSIDE  an NPTv6 mapping, e.g. fd01:203:405::/48=2001:db8:1::/48 (repeatable)
  -c, --config FILE     the mappings of a configuration file, with the outside prefixes in force on this host now
                        (an outside prefix that follows an interface is read from it; the prefixes are printed first)
  --via IF              with -c and several uplinks for one inside prefix: the entry of outside interface IF
                        (default: the first entry, as for a packet leaving by an interface no entry names)
  --inbound             map outside addresses to inside ones (default: outbound, inside -> outside)
  --json                print [{"input","output","reason"}, ...]; output is null when refused
Exit status: 0 all translated, 1 any refused, 2 bad usage or configuration.
`;

function parseMap(value: string, index: number): Nptv6Mapping {
  const parts = value.split('=');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw usageError(`--map ${JSON.stringify(value)} must be INSIDE=OUTSIDE, e.g. --map fd01:203:405::/48=2001:db8:1::/48 (mapping ${index})`);
  }
  return { inside: parts[0]!, outside: parts[1]! };
}

function describe(reason: string): string {
  return counterHelp.get(reason) ?? reason;
}

function humanLine(r: MapAddressResult): string {
  if (r.output !== null) return `${r.input} -> ${r.output}`;
  return `${r.input} -> not translated: ${r.reason} - ${describe(r.reason ?? '')}`;
}

// With several uplinks for one inside prefix, the entry of interface `via` (others of that prefix left out).
function viaInterface(entries: Nptv6Entry[], via: string | undefined): Nptv6Entry[] {
  if (via === undefined) return entries;
  if (!entries.some((m) => m.interface === via)) throw usageError(`--via ${via}: no nptv6 entry has interface "${via}"`);
  return entries.filter((m) => m.interface === via || !entries.some((o) => o.inside === m.inside && o.interface === via));
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    usage,
    {
      map: { type: 'string', multiple: true },
      config: { type: 'string', short: 'c' },
      via: { type: 'string' },
      inbound: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    true,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const maps = values.map ?? [];
  if (maps.length === 0 && values.config === undefined) {
    throw usageError('give at least one --map INSIDE=OUTSIDE, e.g. --map fd01:203:405::/48=2001:db8:1::/48, or -c FILE');
  }
  if (maps.length !== 0 && values.config !== undefined) throw usageError('give either --map or -c, not both');
  if (values.via !== undefined && values.config === undefined) throw usageError('--via needs -c FILE');
  if (positionals.length === 0) throw usageError('give at least one ADDRESS to translate');

  let mappings: Nptv6Mapping[];
  if (values.config !== undefined) {
    const entries = viaInterface(loadGatewayConfig(values.config).config.nptv6, values.via);
    // The prefixes in force, on stderr when --json keeps stdout for the results.
    const inForce = entries.map(
      (m) => `nptv6: ${m.inside} <-> ${m.outside ?? '(no outside prefix yet)'} on ${m.interface}${m.outsideFrom ? ` (following ${m.outsideFrom.interface})` : ''}`,
    );
    (values.json ? process.stderr : process.stdout).write(`${inForce.join('\n')}\n`);
    mappings = entries.map((m) => ({ inside: m.inside, outside: m.outside, interface: m.interface }));
  } else {
    mappings = maps.map(parseMap);
    validateNptv6(mappings, '--map'); // errors name "--map[i].inside" rather than the config file's "nptv6[i]"
  }
  for (const a of positionals) parseAddress(a, 'ADDRESS'); // refuse bad input before printing anything

  const translator = new Translator(mappings);
  const direction = values.inbound ? 'inbound' : 'outbound';
  const results = positionals.map((a) => translator.mapAddress(a, direction));

  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(results.map(humanLine).join('\n') + '\n');
  return results.every((r) => r.output !== null) ? 0 : 1;
}
