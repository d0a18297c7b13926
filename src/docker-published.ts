// Docker's published ports (`docker run -p [HOSTPORT:]CONTAINERPORT[/udp]`) of the running containers, read from
// the Engine API's container list (GET /containers/json: Ports and NetworkSettings.Networks), as npt66 sees them:
// the host port, the protocol, and the container's global IPv6 addresses with the container port. The gateway
// turns them into forwards on the masquerade address of the entry that names "docker" (masquerade-forwards.ts).
//
// A binding counts when Docker publishes it on every host address ("0.0.0.0", "::" or none given): one bound to
// a single address (-p 127.0.0.1:8080:80, -p [::1]:8080:80) was not meant for the outside, and npt66 leaves it
// to Docker. Docker 20.10 lists a dual-stack binding twice (0.0.0.0 and ::): one published port.

// The part of GET /containers/json that matters here (the Engine API's ContainerSummary).
export interface DockerContainer {
  Id: string;
  Names?: string[] | null;
  Ports?: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] | null;
  NetworkSettings?: { Networks?: Record<string, { GlobalIPv6Address?: string } | null> | null } | null;
}

export interface DockerPublished {
  container: string; // its name (without the leading "/"), else the short id
  protocol: 'tcp' | 'udp';
  port: number; // on the host
  containerPort: number;
  addresses: string[]; // the container's global IPv6 addresses, network by network (by name)
}

const EVERY_ADDRESS = new Set(['', '0.0.0.0', '::']);

// The published ports of `containers`, sorted by protocol and host port, each once.
export function publishedPorts(containers: readonly DockerContainer[]): DockerPublished[] {
  const out = new Map<string, DockerPublished>();
  for (const c of containers) {
    const name = c.Names?.[0]?.replace(/^\//, '') || c.Id.slice(0, 12);
    const networks = Object.entries(c.NetworkSettings?.Networks ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const addresses = networks.map(([, n]) => n?.GlobalIPv6Address?.toLowerCase() ?? '').filter((a) => a.includes(':'));
    for (const p of c.Ports ?? []) {
      if (!p.PublicPort || (p.Type !== 'tcp' && p.Type !== 'udp') || !EVERY_ADDRESS.has(p.IP ?? '')) continue;
      const key = `${p.Type}/${p.PublicPort}`;
      if (!out.has(key)) out.set(key, { container: name, protocol: p.Type, port: p.PublicPort, containerPort: p.PrivatePort, addresses });
    }
  }
  return [...out.values()].sort((a, b) => (a.protocol === b.protocol ? a.port - b.port : a.protocol < b.protocol ? -1 : 1));
}
