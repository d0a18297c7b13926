// `npm run lab -- --docker`: the Docker host runs a real Docker Engine of its own (docker_engine.ts) instead of
// the lab making the container's namespace, bridge and veth itself: `docker network create --ipv6` makes
// br_ipv6_nw with the seed's subnet, `docker run` makes cnt01 on it, and the Docker host's npt66 masquerades
// `"source": "docker"`, following the Engine's networks. The checks then run inside the container (`docker exec
// cnt01 ...`, busybox only: ping6, nc for TCP, nslookup for UDP, traceroute6); tcpdump watches its eth0 through
// the container's network namespace, named with `ip netns attach`.
import * as path from 'node:path';

import type { LabNetwork } from './build';
import { parseAnswer, type LabContainer } from './container';
import { LAB_DIR } from './daemon';
import { IMAGE, PrivateDocker } from './docker_engine';
import type { Out } from './probes';
import type { LabTopology } from './topology';

export const DOCKER_DIR = path.join(LAB_DIR, 'dockerd'); // data root, exec root, socket, daemon.json
const NETWORK = 'br_ipv6_nw';

// The lab's data without what Docker makes (the container's namespace, veth, bridge, their addresses, routes and
// hosts file), and the Docker host's masquerade following Docker's networks.
export function withDocker(data: LabTopology): LabTopology {
  const cnt = data.container.ns;
  const host = data.dockerHost;
  const veths = new Set(data.links.filter((l) => l.a.ns === cnt || l.b.ns === cnt).map((l) => (l.a.ns === cnt ? l.b.iface : l.a.iface)));
  return {
    ...data,
    namespaces: data.namespaces.filter((n) => n.name !== cnt),
    links: data.links.filter((l) => l.a.ns !== cnt && l.b.ns !== cnt),
    bridges: data.bridges.filter((b) => !(b.ns === host.ns && b.name === host.inside)),
    addresses: data.addresses.filter((a) => a.ns !== cnt && !(a.ns === host.ns && (a.iface === host.inside || veths.has(a.iface)))),
    routes: data.routes.filter((r) => r.ns !== cnt),
    hosts: data.hosts.filter((h) => h.ns !== cnt),
    masquerade: data.masquerade.map((m) => ({ ...m, source: 'docker' })),
  };
}

// The Engine and the container, once running.
export class LabDocker {
  private constructor(
    readonly engine: PrivateDocker,
    readonly name: string, // the container's
    readonly address: string, // the container's IPv6 address, as Docker gave it
    readonly subnet: string, // the Docker network's IPv6 subnet
  ) {}

  // dockerd in the Docker host's namespace, the image, the network and the container, printing each command.
  // `seed` is the lab's data before withDocker: the container's name, subnet, address and hosts entries.
  static async start(net: LabNetwork, seed: LabTopology, out: Out): Promise<LabDocker> {
    const hostNs = net.ns(seed.dockerHost.ns).name;
    const engine = new PrivateDocker(hostNs, DOCKER_DIR);
    net.onDestroy(() => engine.killSync()); // an error, Ctrl-C or SIGTERM before stop(): nothing stays
    const cnt = seed.container.ns;
    const cidr = (ns: string, iface: string) => seed.addresses.find((a) => a.ns === ns && a.iface === iface)?.cidr ?? '';
    const subnet = seed.masquerade[0]!.source; // the seed's Docker network
    const address = cidr(cnt, seed.container.iface).split('/')[0]!;
    out(`Docker Engine on the Docker host (${hostNs}): its own dockerd, config ${path.join(DOCKER_DIR, 'daemon.json')}:`);
    out(`  nsenter --net=/run/netns/${hostNs} dockerd --config-file ${path.join(DOCKER_DIR, 'daemon.json')}`);
    out(`  ${JSON.stringify(engine.config)}`);
    await engine.start();
    out(`  dockerd ${(await engine.docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim()} answers on ${engine.host}`);
    await engine.importBusybox();
    out(`  image ${IMAGE}: busybox-static, \`docker import\`ed (no registry)`);
    const steps: string[][] = [
      // The bridge gets the seed's name; in the Docker host's namespace it collides with nothing of the user's.
      ['network', 'create', '--ipv6', `--subnet=${subnet}`, '-o', `com.docker.network.bridge.name=${seed.dockerHost.inside}`, NETWORK],
      [
        'run', '-d', '--network', NETWORK, '--name', cnt, '--ip6', address,
        ...seed.hosts.filter((h) => h.ns === cnt).flatMap((h) => ['--add-host', `${h.name}:${h.address}`]),
        IMAGE, 'sleep', '3600',
      ],
    ];
    for (const args of steps) {
      const r = await engine.docker(args);
      out(`  docker ${args.join(' ')}`);
      out(`    ${r.stdout.trim().slice(0, 12)}`);
    }
    const inspect = await engine.docker(['inspect', '--format', '{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}', cnt]);
    const [pid, given] = inspect.stdout.trim().split(' ');
    await net.attach(cnt, Number(pid));
    out(`  ${cnt}: pid ${pid}, ${given} on the network ${NETWORK} (bridge ${seed.dockerHost.inside}); its namespace named ${net.prefix}${cnt} for tcpdump`);
    out();
    return new LabDocker(engine, cnt, given || address, subnet);
  }

  get host(): string {
    return this.engine.host; // DOCKER_HOST for the Docker host's npt66
  }

  // The checks' view of the container: everything through `docker exec`.
  container(): LabContainer {
    const exec = (argv: string[]) => this.engine.docker(['exec', this.name, ...argv], true);
    return {
      how: `docker exec ${this.name}`,
      run: exec,
      peer: async (proto, to, port) => {
        // busybox nc has no UDP: a DNS query the peer answers with a TXT record (peer.ts).
        const argv = proto === 'tcp' ? ['sh', '-c', `timeout 10 nc ${to} ${port} </dev/null`] : ['nslookup', '-type=txt', 'seen.lab', `[${to}]:${port}`];
        const r = await exec(argv);
        return parseAnswer(r.code, r.stdout, r.stderr, this.address);
      },
      traceroute: async (to) => (await exec(['traceroute6', '-n', '-q', '1', '-w', '2', '-m', '8', to])).stdout,
    };
  }

  // The container and the network removed, dockerd stopped, its directory gone.
  async stop(out: Out): Promise<void> {
    await this.engine.docker(['rm', '-f', this.name], true);
    await this.engine.docker(['network', 'rm', NETWORK], true);
    await this.engine.dispose();
    out(`  Docker: ${this.name} and ${NETWORK} removed, dockerd stopped, ${DOCKER_DIR} removed.`);
  }
}
