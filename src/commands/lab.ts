// npt66 lab: the seed story's gateway side in network namespaces (root). `npm run lab` runs it.
import { usageError } from '../errors';
import { parseCommandLine } from './common';

export const summary = 'build the seed network in namespaces, run npt66 on it and show the path (root)';

const usage = `usage: npt66 lab [--keep | --docker] | npt66 lab --down

Builds the seed story's whole path in network namespaces named npt66-lab-*: the container cnt01
(fd5a:ceb9:ed8d:1::2) on the Docker host's bridge, the Docker host running \`npt66 run\` as masquerade to its
ens192 address, a router, the gateway running \`npt66 run\` as NPTv6 (fd5a:ceb9:ed8d:fe0a::/64 ->
2001:db8:ff66::/64, fd5a:ceb9:ed8d:fefc::/64 -> 2001:db8:ff67::/64), and dns.google (2001:4860:4860::8888) beyond
an upstream router. Runs the article's checks (host <-> container, container -> host, container -> outside),
prints the path hop by hop with each translation and the Docker host's mapping events, checks the gateway both
ways (ping6, TCP, UDP, hairpin, traceroute), prints the counters, then tears it all down.
  --keep     leave the lab (and npt66) running
  --docker   the Docker host runs a real Docker Engine of its own (dockerd with its own data root, socket and
             daemon.json: "ipv6": true, "ip6tables": false), cnt01 is a real container on a network made with
             \`docker network create --ipv6\`, npt66 masquerades "source": "docker", and the checks run in the
             container (docker exec); dockerd is stopped and its directory removed at the end
  --down     remove a lab left by --keep
Exit status: 0 every check passed, 1 a check failed, 2 bad usage, 69 --docker where Docker cannot run.
`;

const EXIT_UNAVAILABLE = 69; // sysexits.h EX_UNAVAILABLE: a service the command needs is missing

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, usage, {
    keep: { type: 'boolean', default: false },
    down: { type: 'boolean', default: false },
    docker: { type: 'boolean', default: false },
  });
  if (!parsed) return 0;
  const { values } = parsed;
  if (values.keep && values.down) throw usageError('--keep and --down exclude each other');
  if (values.docker && (values.keep || values.down)) throw usageError('--docker runs the lab once and removes it: no --keep or --down');
  if (process.getuid?.() !== 0) throw usageError('the lab creates network namespaces: run it as root');
  if (values.docker) {
    const { dockerUnavailable } = await import('../lab/docker_engine');
    const why = dockerUnavailable();
    if (why) {
      process.stderr.write(`npt66 lab --docker: Docker cannot run here: ${why}. Without --docker the lab runs the container as a plain namespace.\n`);
      return EXIT_UNAVAILABLE;
    }
  }
  const out = (text = '') => process.stdout.write(`${text}\n`);
  const { runLab, downLab } = await import('../lab/lab');
  return values.down ? downLab(out) : runLab({ keep: values.keep, docker: values.docker, out });
}
