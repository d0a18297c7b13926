// Where the queue threads run when `queues.cpus` is "auto" (the default).
//
// Under overload the kernel does a packet's whole receive path in softirq, builds the netlink copy and only then
// finds the queue full; it runs that work ahead of every thread on the receiving CPU, and inside the queue
// thread's own system calls. A queue thread sharing a CPU with the gateway's receive work therefore gets less CPU
// the more is offered (receive livelock); on a CPU that does no receive work its goodput holds (bench/README.md,
// "Overload"). So: find the CPUs that take the receive work of the interfaces whose traffic npt66 queues (their
// hardware interrupts' affinity and their RPS masks), and put queue thread i on the i-th (round-robin) of the
// CPUs this process may run on that are not among them. When no such CPU exists, or when some queued interface's
// receive CPUs cannot be told (veth, bridges and tunnels have no interrupt, and with RPS off their receive work
// runs on whichever CPU sent the packet), the threads stay unpinned: a pin chosen blind could land on exactly
// the CPU to avoid, and an unpinned thread at nice -20 can still be moved off a busy CPU by the scheduler.
import type { GatewayConfig } from './gateway-config';
import type { HostFacts } from './host-facts';

// One interface whose packets reach the queues, and what is known of where its receive work runs.
export interface InterfaceReceive {
  interface: string;
  role: 'outside' | 'inside'; // outside: named by an nptv6 or masquerade entry; inside: the route to an inside prefix
  irqs: { irq: number; name: string; cpus: number[] }[]; // receive interrupts and their smp_affinity_list
  rpsCpus: number[]; // union of the rx queues' rps_cpus; empty: RPS off
  cpus: number[] | null; // the CPUs doing its receive work; null: cannot be told (or no such interface)
}

export interface QueuePlacement {
  mode: 'explicit' | 'auto'; // explicit: queues.cpus was a list
  cpus: number[] | null; // what the engine gets as queueCpus (thread i -> cpus[i % length]); null: not pinned
  threads: { queue: number; cpu: number | null }[];
  allowedCpus: number[] | null; // the CPUs this process may run on (auto only)
  receiveCpus: number[]; // CPUs known to take the queued interfaces' receive work (auto only)
  interfaces: InterfaceReceive[]; // auto only
  reason: string; // one sentence: why these CPUs, or why none
}

type PlacementConfig = Pick<GatewayConfig, 'nptv6' | 'masquerade'> & {
  queues: { first: number; count: number; cpus?: 'auto' | number[] | undefined };
};

const sorted = (s: Iterable<number>) => [...new Set(s)].sort((a, b) => a - b);

// "fd5a:ceb9:ed8d:fe0a::/64" -> "fd5a:ceb9:ed8d:fe0a::", an address the route lookup can take.
const prefixAddress = (prefix: string) => prefix.split('/')[0]!;

// The interfaces npt66's queue rules catch traffic on: each entry's outside interface, and (when a route says
// which) the interface toward each inside prefix, whose arriving packets are queued outbound.
export function queuedInterfaces(config: PlacementConfig, facts: HostFacts): { interface: string; role: 'outside' | 'inside' }[] {
  const out = new Map<string, 'outside' | 'inside'>();
  for (const e of [...config.nptv6, ...config.masquerade]) out.set(e.interface, 'outside');
  const insidePrefixes = [
    ...config.nptv6.map((m) => m.inside),
    ...config.masquerade.flatMap((m) => (Array.isArray(m.source) ? m.source : [m.source])),
  ];
  for (const p of insidePrefixes) {
    const dev = facts.routeInterface?.(prefixAddress(p)) ?? null;
    if (dev && dev !== 'lo' && !out.has(dev)) out.set(dev, 'inside');
  }
  return [...out].map(([name, role]) => ({ interface: name, role }));
}

function receiveOf(name: string, role: 'outside' | 'inside', facts: HostFacts): InterfaceReceive {
  const work = facts.receiveWork?.(name) ?? null;
  const irqs = work?.irqs ?? [];
  const rpsCpus = sorted((work?.rpsCpus ?? []).flat());
  const known = irqs.length > 0 || rpsCpus.length > 0;
  // With RPS the interrupt's CPU still polls the device and runs GRO; the RPS CPUs run the rest of the stack.
  return { interface: name, role, irqs, rpsCpus, cpus: known ? sorted([...irqs.flatMap((i) => i.cpus), ...rpsCpus]) : null };
}

function threads(first: number, count: number, cpus: number[] | null): QueuePlacement['threads'] {
  return Array.from({ length: count }, (_, i) => ({ queue: first + i, cpu: cpus ? cpus[i % cpus.length]! : null }));
}

export function chooseQueuePlacement(config: PlacementConfig, facts: HostFacts): QueuePlacement {
  const { first, count, cpus: configured } = config.queues;
  if (Array.isArray(configured)) {
    return {
      mode: 'explicit',
      cpus: configured,
      threads: threads(first, count, configured),
      allowedCpus: null,
      receiveCpus: [],
      interfaces: [],
      reason: 'queues.cpus lists them',
    };
  }
  const interfaces = queuedInterfaces(config, facts).map((i) => receiveOf(i.interface, i.role, facts));
  const allowed = facts.allowedCpus?.() ?? null;
  const receiveCpus = sorted(interfaces.flatMap((i) => i.cpus ?? []));
  const unpinned = (reason: string): QueuePlacement => ({
    mode: 'auto',
    cpus: null,
    threads: threads(first, count, null),
    allowedCpus: allowed,
    receiveCpus,
    interfaces,
    reason,
  });
  const unknown = interfaces.filter((i) => i.cpus === null).map((i) => i.interface);
  if (unknown.length) {
    return unpinned(
      `not pinned: cannot tell which CPUs take the receive work of ${unknown.join(', ')} (no hardware interrupts found and RPS off, or no such interface; ` +
        'veth and other virtual interfaces receive on the sending CPU); set rps_cpus or queues.cpus to place the threads',
    );
  }
  if (!allowed || allowed.length === 0) return unpinned('not pinned: cannot read the CPUs this process may run on (/proc/self/status Cpus_allowed_list)');
  const free = allowed.filter((c) => !receiveCpus.includes(c));
  if (free.length === 0) {
    return unpinned(
      allowed.length === 1
        ? `not pinned: this process may run on one CPU (${allowed[0]}), which also takes receive work`
        : `not pinned: every CPU this process may run on (${allowed.join(',')}) takes receive work of the queued interfaces`,
    );
  }
  const chosen = free;
  const shared = count > chosen.length ? `; ${count} threads share ${chosen.length} CPU${chosen.length === 1 ? '' : 's'}` : '';
  return {
    mode: 'auto',
    cpus: chosen,
    threads: threads(first, count, chosen),
    allowedCpus: allowed,
    receiveCpus,
    interfaces,
    reason: `pinned to CPUs that take no receive work of the queued interfaces (receive work on ${receiveCpus.length ? receiveCpus.join(',') : 'none of the allowed CPUs'})${shared}`,
  };
}

// The placement as one short line, for `npt66 check` and logs.
export function describePlacement(p: QueuePlacement): string {
  const where = p.threads.map((t) => `queue ${t.queue} -> ${t.cpu === null ? 'any CPU' : `CPU ${t.cpu}`}`).join(', ');
  return `${where} (${p.mode === 'explicit' ? 'queues.cpus' : 'auto'}: ${p.reason})`;
}
