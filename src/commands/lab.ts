// npt66 lab: the seed story's gateway side in network namespaces (root). `npm run lab` runs it.
import { usageError } from '../errors';
import { parseCommandLine } from './common';

export const summary = 'build the seed network in namespaces, run npt66 on it and show the path (root)';

const usage = `usage: npt66 lab [--keep] | npt66 lab --down

Builds the seed story's whole path in network namespaces named npt66-lab-*: the container cnt01
(fd5a:ceb9:ed8d:1::2) on the Docker host's bridge, the Docker host running \`npt66 run\` as masquerade to its
ens192 address, a router, the gateway running \`npt66 run\` as NPTv6 (fd5a:ceb9:ed8d:fe0a::/64 ->
2001:db8:ff66::/64, fd5a:ceb9:ed8d:fefc::/64 -> 2001:db8:ff67::/64), and dns.google (2001:4860:4860::8888) beyond
an upstream router. Runs the article's checks (host <-> container, container -> host, container -> outside),
prints the path hop by hop with each translation and the Docker host's mapping events, checks the gateway both
ways (ping6, TCP, UDP, hairpin, traceroute), prints the counters, then tears it all down.
  --keep   leave the lab (and npt66) running
  --down   remove a lab left by --keep
Exit status: 0 every check passed, 1 a check failed, 2 bad usage.
`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, usage, {
    keep: { type: 'boolean', default: false },
    down: { type: 'boolean', default: false },
  });
  if (!parsed) return 0;
  const { values } = parsed;
  if (values.keep && values.down) throw usageError('--keep and --down exclude each other');
  if (process.getuid?.() !== 0) throw usageError('the lab creates network namespaces: run it as root');
  const out = (text = '') => process.stdout.write(`${text}\n`);
  const { runLab, downLab } = await import('../lab/lab');
  return values.down ? downLab(out) : runLab({ keep: values.keep, out });
}
