// npt66 translate: what an address becomes under the given NPTv6 mappings, offline (no queue, no root).
import { counterHelp } from '../counters';
import { usageError } from '../errors';
import { validateNptv6, type Nptv6Mapping } from '../config';
import { parseAddress } from '../prefix';
import { Translator, type MapAddressResult } from '../translator';
import { parseCommandLine } from './common';

export const summary = 'print what addresses become under NPTv6 mappings (offline)';

const usage = `usage: npt66 translate --map INSIDE=OUTSIDE [--map ...] [--inbound] [--json] ADDRESS...

Prints, per address, the translated address or the reason it is refused.
  --map INSIDE=OUTSIDE  an NPTv6 mapping, e.g. fd01:203:405::/48=2001:db8:1::/48 (repeatable)
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

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    usage,
    {
      map: { type: 'string', multiple: true },
      inbound: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    true,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const maps = values.map ?? [];
  if (maps.length === 0) throw usageError('give at least one --map INSIDE=OUTSIDE, e.g. --map fd01:203:405::/48=2001:db8:1::/48');
  if (positionals.length === 0) throw usageError('give at least one ADDRESS to translate');

  const mappings = maps.map(parseMap);
  validateNptv6(mappings, '--map'); // errors name "--map[i].inside" rather than the config file's "nptv6[i]"
  for (const a of positionals) parseAddress(a, 'ADDRESS'); // refuse bad input before printing anything

  const translator = new Translator(mappings);
  const direction = values.inbound ? 'inbound' : 'outbound';
  const results = positionals.map((a) => translator.mapAddress(a, direction));

  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(results.map(humanLine).join('\n') + '\n');
  return results.every((r) => r.output !== null) ? 0 : 1;
}
