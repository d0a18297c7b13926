// Published ports of a masquerade entry (masquerade[].forwards): {"protocol", "port", "to": "[ADDRESS]:PORT"}
// checked against the entry (the port outside the dynamic range, the inside address in a source prefix) and the
// host (no port the host itself listens on), and converted for the native table (native/core/nat66_forwards.h).
import type { DockerPublished } from './docker-published';
import { configError } from './errors';
import type { HostFacts } from './host-facts';
import { DOCKER_PROXY, type ListeningSocket } from './listening-ports';
import { formatAddress, maskBytes, parseAddress, type ParsedPrefix } from './prefix';

export interface ForwardInput {
  protocol: 'tcp' | 'udp';
  port: number;
  to: string;
}

export interface NativeForward {
  protocol: 'tcp' | 'udp';
  port: number;
  inside: Buffer; // 16 bytes
  insidePort: number;
}

export interface ForwardContext {
  field: string; // masquerade[i]
  address: Buffer; // the masquerade address
  ports: { min: number; max: number }; // the dynamic range
  privilegedPorts: boolean;
  sources: ParsedPrefix[]; // the configured prefixes
  docker: boolean; // Docker's subnets are masqueraded too (known only at run time)
}

const UNSPECIFIED = Buffer.alloc(16);

function parseTo(text: string, field: string): { inside: Buffer; insidePort: number } {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text);
  if (!m) throw configError(field, `"${text}" must be "[ADDRESS]:PORT", e.g. "[fd5a:ceb9:ed8d:1::2]:80"`);
  const insidePort = Number(m[2]);
  if (insidePort < 1 || insidePort > 65535) throw configError(field, `"${text}": the port must be 1-65535`);
  return { inside: parseAddress(m[1]!, field, configError), insidePort };
}

type Listening = Record<'tcp' | 'udp', ListeningSocket[]>;

function listeningNow(facts: HostFacts): Listening {
  return { tcp: facts.listeningSockets?.('tcp') ?? [], udp: facts.listeningSockets?.('udp') ?? [] };
}

// Docker's own holders of a published port: docker-proxy (the userland proxy, listening only on published
// ports) and, with "userland-proxy": false, dockerd itself, which then binds the port just to reserve it. dockerd
// may also serve its API on TCP, so it is excused only for a port Docker itself publishes.
const DOCKER_PROGRAMS = [DOCKER_PROXY, 'dockerd'];

// Why `port` cannot be published on the entry, or null. Forward ports are reserved from the dynamic range by
// never lying in it (nor below 1024 with privilegedPorts), so no mapping can ever hold one, whenever the
// forwards change; a port the host itself serves is refused, except a socket of `excused` programs (Docker's
// own, listening-ports.ts).
function portProblem(
  protocol: 'tcp' | 'udp',
  port: number,
  ctx: Pick<ForwardContext, 'field' | 'address' | 'ports' | 'privilegedPorts'>,
  facts: HostFacts,
  listening: Listening,
  excused: readonly string[],
): string | null {
  if (port >= ctx.ports.min && port <= ctx.ports.max) {
    return `${port} lies in ${ctx.field}.ports (${ctx.ports.min}-${ctx.ports.max}), the range masquerade mappings take their ports from; publish on a port outside it, or move "ports"`;
  }
  if (ctx.privilegedPorts && port < 1024) {
    return `${port} is below 1024, where "privilegedPorts": true maps inside ports below 1024; publish on a port from 1024 up, or turn privilegedPorts off`;
  }
  const taken = listening[protocol].find(
    (s) =>
      s.port === port &&
      (s.address.equals(UNSPECIFIED) || s.address.equals(ctx.address)) &&
      (s.inode === undefined || !excused.includes(facts.socketProgram?.(s.inode) ?? '')),
  );
  if (taken) {
    return `${protocol} port ${port} is one this host itself ${protocol === 'tcp' ? 'listens on' : 'has a socket bound to'} ([${formatAddress(taken.address)}]:${port}): forwarding it would take that service's clients away; publish on another port, or stop the service`;
  }
  return null;
}

export function compileForwards(forwards: readonly ForwardInput[], ctx: ForwardContext, facts: HostFacts): NativeForward[] {
  const out: NativeForward[] = [];
  const listening = listeningNow(facts);
  forwards.forEach((f, k) => {
    const here = `${ctx.field}.forwards[${k}]`;
    const problem = portProblem(f.protocol, f.port, ctx, facts, listening, [DOCKER_PROXY]);
    if (problem) throw configError(`${here}.port`, problem);
    const { inside, insidePort } = parseTo(f.to, `${here}.to`);
    const shown = formatAddress(inside);
    if (inside.equals(ctx.address)) throw configError(`${here}.to`, `${shown} is the masquerade address itself; give the inside host's address`);
    const inSource = ctx.sources.some((p) => maskBytes(inside, p.length).equals(p.bytes));
    if (!inSource && !ctx.docker) {
      throw configError(
        `${here}.to`,
        `${shown} is in none of ${ctx.field}.source's prefixes: its replies would not be masqueraded and would leave with the inside address; forward only to inside hosts of this entry`,
      );
    }
    out.forEach((g, j) => {
      if (g.protocol === f.protocol && g.port === f.port) throw configError(`${here}.port`, `${f.protocol} port ${f.port} is already published by ${ctx.field}.forwards[${j}]`);
      if (g.protocol === f.protocol && g.insidePort === insidePort && g.inside.equals(inside)) {
        throw configError(
          `${here}.to`,
          `${f.to} is already the target of ${ctx.field}.forwards[${j}]: its replies could not tell which port to leave from; publish one port per inside endpoint`,
        );
      }
    });
    out.push({ protocol: f.protocol, port: f.port, inside, insidePort });
  });
  return out;
}

export interface DockerForwardContext extends Pick<ForwardContext, 'field' | 'address' | 'ports' | 'privilegedPorts'> {
  subnets: readonly ParsedPrefix[]; // Docker's IPv6 subnets masqueraded by the entry now
}

// Docker's published ports (docker-published.ts) as forwards of the entry naming "docker", beside its static
// `forwards` (compiled): a port the static forwards publish stays theirs (static wins), and so does an inside
// endpoint they target. One refused (that clash, a port the entry cannot publish, a container with no address in
// a masqueraded subnet, an endpoint already published on another port) is left out with the reason.
export function dockerForwards(
  published: readonly DockerPublished[],
  statics: readonly NativeForward[],
  ctx: DockerForwardContext,
  facts: HostFacts,
): { forwards: NativeForward[]; refused: { published: DockerPublished; why: string }[] } {
  const forwards: NativeForward[] = [];
  const refused: { published: DockerPublished; why: string }[] = [];
  const listening = listeningNow(facts);
  for (const p of published) {
    const refuse = (why: string) => refused.push({ published: p, why });
    const clash = statics.findIndex((f) => f.protocol === p.protocol && f.port === p.port);
    if (clash >= 0) {
      refuse(`${ctx.field}.forwards[${clash}] publishes ${p.protocol} port ${p.port} too: the static forward wins`);
      continue;
    }
    const problem = portProblem(p.protocol, p.port, ctx, facts, listening, DOCKER_PROGRAMS);
    if (problem) {
      refuse(problem);
      continue;
    }
    const address = p.addresses.map((a) => parseAddress(a, 'address')).find((a) => ctx.subnets.some((s) => maskBytes(a, s.length).equals(s.bytes)));
    if (!address) {
      refuse(`has no IPv6 address in a Docker subnet ${ctx.field} masquerades (${p.addresses.join(', ') || 'no IPv6 address at all'})`);
      continue;
    }
    const target = (f: NativeForward) => f.protocol === p.protocol && f.insidePort === p.containerPort && f.inside.equals(address);
    const taken = statics.findIndex(target);
    if (taken >= 0) {
      refuse(`[${formatAddress(address)}]:${p.containerPort} is already the target of ${ctx.field}.forwards[${taken}]: the static forward wins`);
      continue;
    }
    const twice = forwards.find(target);
    if (twice) {
      refuse(`[${formatAddress(address)}]:${p.containerPort} is already published on ${p.protocol} port ${twice.port}: one port per inside endpoint (its replies could not tell which port to leave from)`);
      continue;
    }
    forwards.push({ protocol: p.protocol, port: p.port, inside: address, insidePort: p.containerPort });
  }
  return { forwards, refused };
}
