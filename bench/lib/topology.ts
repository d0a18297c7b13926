// The benchmark topology: sender ns -- gateway ns -- sink ns over two veth pairs, every name prefixed "nb-".
//
//   nb-snd [nb-s0 fd01:203:405:1::2] <-> [nb-g0 fd01:203:405:1::1] nb-gw [nb-g1 2001:db8:ff::1] <-> [nb-k0 2001:db8:ff::2] nb-snk
//
// The gateway forwards; translators are installed on it by the configurations in translators.ts. Inside hosts
// are the sender's flows in fd01:203:405::/48 (RFC 6296 s3.6's example prefix), mapped to 2001:db8:1::/48.
import * as os from 'node:os';

import { sh, shQuiet } from './processes';

export const plan = {
  sender: 'nb-snd',
  gateway: 'nb-gw',
  sink: 'nb-snk',
  senderIf: 'nb-s0',
  gatewayInsideIf: 'nb-g0',
  gatewayOutsideIf: 'nb-g1',
  sinkIf: 'nb-k0',
  insidePrefix: 'fd01:203:405::/48',
  outsidePrefix: '2001:db8:1::/48',
  flowSourceBase: 'fd01:203:405:1::100', // flow i sends from ...:1::100 + i
  sinkAddress: '2001:db8:ff::2',
  gatewayOutsideAddress: '2001:db8:ff::1',
  udpPort: 5001,
} as const;

const namespaces = [plan.sender, plan.gateway, plan.sink];

function mac(ns: string, ifname: string): string {
  const info = JSON.parse(sh(['ip', '-j', 'link', 'show', ifname], ns)) as { address: string }[];
  return info[0].address;
}

// Kills what an earlier, interrupted run left in our namespaces (its pids, which it started) and removes them.
export function destroy(): void {
  const existing = sh(['ip', 'netns', 'list']);
  for (const ns of namespaces) {
    if (!existing.split('\n').some((l) => l.split(' ')[0] === ns)) continue;
    const pids = sh(['ip', 'netns', 'pids', ns]).split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    shQuiet(['ip', 'netns', 'del', ns]);
  }
}

export interface Topology {
  gatewayMac: string; // the sender's frames go to this MAC (nb-g0)
}

export function create(): Topology {
  destroy();
  for (const ns of namespaces) {
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', 'link', 'set', 'lo', 'up'], ns);
  }
  sh(['ip', 'link', 'add', plan.senderIf, 'netns', plan.sender, 'type', 'veth', 'peer', 'name', plan.gatewayInsideIf, 'netns', plan.gateway]);
  sh(['ip', 'link', 'add', plan.gatewayOutsideIf, 'netns', plan.gateway, 'type', 'veth', 'peer', 'name', plan.sinkIf, 'netns', plan.sink]);
  sh(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1'], plan.gateway);
  const links: [string, string][] = [
    [plan.sender, plan.senderIf],
    [plan.gateway, plan.gatewayInsideIf],
    [plan.gateway, plan.gatewayOutsideIf],
    [plan.sink, plan.sinkIf],
  ];
  for (const [ns, ifname] of links) {
    sh(['sysctl', '-qw', `net.ipv6.conf.${ifname}.accept_dad=0`, `net.ipv6.conf.${ifname}.accept_ra=0`], ns);
    sh(['ip', 'link', 'set', ifname, 'up'], ns);
  }
  sh(['ip', 'addr', 'add', 'fd01:203:405:1::2/64', 'dev', plan.senderIf, 'nodad'], plan.sender);
  sh(['ip', 'addr', 'add', 'fd01:203:405:1::1/64', 'dev', plan.gatewayInsideIf, 'nodad'], plan.gateway);
  sh(['ip', 'addr', 'add', `${plan.gatewayOutsideAddress}/64`, 'dev', plan.gatewayOutsideIf, 'nodad'], plan.gateway);
  sh(['ip', 'addr', 'add', `${plan.sinkAddress}/64`, 'dev', plan.sinkIf, 'nodad'], plan.sink);
  sh(['ip', 'route', 'add', 'default', 'via', 'fd01:203:405:1::1'], plan.sender);
  for (const p of [plan.outsidePrefix, plan.insidePrefix]) sh(['ip', 'route', 'add', p, 'via', plan.gatewayOutsideAddress], plan.sink);
  // No neighbour discovery during a trial: the gateway knows the sink's MAC and the sender aims at the gateway's.
  sh(['ip', 'neigh', 'replace', plan.sinkAddress, 'lladdr', mac(plan.sink, plan.sinkIf), 'dev', plan.gatewayOutsideIf, 'nud', 'permanent'], plan.gateway);
  // The sink counts on AF_PACKET, which sees frames before netfilter; drop them there so the sink's stack does
  // no more work (no ICMPv6 port unreachable for every datagram).
  sh(['ip6tables', '-t', 'raw', '-A', 'PREROUTING', '-p', 'udp', '--dport', String(plan.udpPort), '-j', 'DROP'], plan.sink);
  // Two CPUs stand for two machines: CPU 0 is the outside world (generator and sink, pinned by trial.ts, and the
  // sink's receive work), CPU 1 the gateway's packet processing. veth delivers through netif_rx, so without
  // RPS the gateway's forwarding would run on the sender's CPU and the generator would be the bottleneck.
  if (os.cpus().length >= 2) {
    sh(['sh', '-c', `echo 2 > /sys/class/net/${plan.gatewayInsideIf}/queues/rx-0/rps_cpus`], plan.gateway);
    sh(['sh', '-c', `echo 2 > /sys/class/net/${plan.gatewayOutsideIf}/queues/rx-0/rps_cpus`], plan.gateway);
    sh(['sh', '-c', `echo 1 > /sys/class/net/${plan.sinkIf}/queues/rx-0/rps_cpus`], plan.sink);
  }
  return { gatewayMac: mac(plan.gateway, plan.gatewayInsideIf) };
}

// Back to plain forwarding between configurations: no rules, no conntrack state.
export function resetGateway(): void {
  for (const table of ['raw', 'mangle', 'nat', 'filter']) {
    shQuiet(['ip6tables', '-t', table, '-F'], plan.gateway);
    shQuiet(['ip6tables', '-t', table, '-X'], plan.gateway);
  }
  shQuiet(['conntrack', '-F'], plan.gateway);
}

// The gateway's /proc/net/netfilter/nfnetlink_queue (queue, portid, waiting, copy mode, range, dropped, ...).
export function queueStats(): string {
  try {
    return sh(['cat', '/proc/net/netfilter/nfnetlink_queue'], plan.gateway);
  } catch {
    return '';
  }
}

// The kernel's own drops on the gateway's queues, summed: queue_dropped (the queue was at its maximum length) and
// user_dropped (the netlink socket's receive buffer was full), columns 6 and 7 of nfnetlink_queue. Per bound
// queue: they restart when a queue is bound again.
export function queueDrops(): { queueDropped: number; userDropped: number } {
  let queueDropped = 0;
  let userDropped = 0;
  for (const line of queueStats().split('\n')) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length < 7 || f.some(Number.isNaN)) continue;
    queueDropped += f[5];
    userDropped += f[6];
  }
  return { queueDropped, userDropped };
}
