// Published ports of a masquerade entry (masquerade[].forwards): {"protocol", "port", "to": "[ADDRESS]:PORT"}
// checked against the entry (the port outside the dynamic range, the inside address in a source prefix) and the
// host (no port the host itself listens on), and converted for the native table (native/core/nat66_forwards.h).
import { configError } from './errors';
import type { HostFacts } from './host-facts';
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

export function compileForwards(forwards: readonly ForwardInput[], ctx: ForwardContext, facts: HostFacts): NativeForward[] {
  const out: NativeForward[] = [];
  const listening = { tcp: facts.listeningSockets?.('tcp') ?? [], udp: facts.listeningSockets?.('udp') ?? [] };
  forwards.forEach((f, k) => {
    const here = `${ctx.field}.forwards[${k}]`;
    if (f.port >= ctx.ports.min && f.port <= ctx.ports.max) {
      throw configError(
        `${here}.port`,
        `${f.port} lies in ${ctx.field}.ports (${ctx.ports.min}-${ctx.ports.max}), the range masquerade mappings take their ports from; publish on a port outside it, or move "ports"`,
      );
    }
    if (ctx.privilegedPorts && f.port < 1024) {
      throw configError(
        `${here}.port`,
        `${f.port} is below 1024, where "privilegedPorts": true maps inside ports below 1024; publish on a port from 1024 up, or turn privilegedPorts off`,
      );
    }
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
    const taken = listening[f.protocol].find((s) => s.port === f.port && (s.address.equals(UNSPECIFIED) || s.address.equals(ctx.address)));
    if (taken) {
      throw configError(
        `${here}.port`,
        `${f.protocol} port ${f.port} is one this host itself ${f.protocol === 'tcp' ? 'listens on' : 'has a socket bound to'} ([${formatAddress(taken.address)}]:${f.port}): forwarding it would take that service's clients away; publish on another port, or stop the service`,
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
