// The lab's container cnt01, as the checks use it: a command run inside it, a TCP or UDP exchange with the peer
// (which answers with the address and port it saw), and a traceroute. Either a plain namespace (`npm run lab`)
// or a real Docker container (`--docker`, docker_host.ts); the checks are the same for both.
import type { LabNetwork } from './build';
import { exec, peerClient, type Runner } from './probes';

export interface PeerAnswer {
  ok: boolean;
  local: string | null; // the container's address the client used
  seen: string | null; // the address the server saw
  port: number | null; // the port the server saw
  error: string;
}

export interface LabContainer {
  how: string; // how its commands run, for the output
  run: Runner;
  peer(proto: 'tcp' | 'udp', to: string, port: number): Promise<PeerAnswer>;
  traceroute(to: string): Promise<string>;
}

// The peer's answer "seen-from ADDRESS port N" in a client's output.
export function parseAnswer(code: number, stdout: string, stderr: string, local: string | null): PeerAnswer {
  const m = /seen-from (\S+) port (\d+)/.exec(stdout);
  return {
    ok: code === 0 && m !== null,
    local: /local (\S+) seen-from/.exec(stdout)?.[1] ?? local,
    seen: m?.[1] ?? null,
    port: m ? Number(m[2]) : null,
    error: (stderr || stdout).trim(),
  };
}

// cnt01 as a namespace: the node peer client, iputils' traceroute.
export function namespaceContainer(net: LabNetwork, ns: string): LabContainer {
  return {
    how: `ip netns exec ${net.prefix}${ns}`,
    run: (argv) => exec(net, ns, argv),
    async peer(proto, to, port) {
      const r = await peerClient(net, ns, proto, to, port);
      return parseAnswer(r.code, r.stdout, r.stderr, null);
    },
    async traceroute(to) {
      return (await exec(net, ns, ['traceroute', '-6', '-n', '-q', '1', '-w', '2', '-m', '8', to])).stdout;
    },
  };
}
