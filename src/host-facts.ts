// What npt66 reads from the host it runs on (in the network namespace the daemon runs in), behind one interface
// so that validation and the gateway can be tested with given values:
//   - net.ipv4.ip_local_port_range: the ports the host's own sockets pick from (IPv6 sockets too); masquerade
//     ports must stay out of it (REFERENCE s4);
//   - an interface's addresses, for a masquerade entry without "address";
//   - kernel conntrack timeouts, which must be at least the masquerade table's (REFERENCE s4);
//   - whether kernel conntrack is in this namespace at all (masquerade turns on IPv6 reassembly through it);
//   - which CPUs this process may run on and which take an interface's receive work (IRQ affinity, RPS), for
//     placing the queue threads (src/cpu-placement.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { readListeningSockets, socketProgram, type ListeningSocket } from './listening-ports';

export interface InterfaceAddress {
  address: string;
  prefixLength: number;
  flags: string[]; // from `ip -j`: "temporary", "deprecated", "tentative", "dadfailed", "nodad", ...
}

// The conntrack timeouts (seconds) npt66 compares with its table; null when conntrack is not loaded here.
export interface ConntrackTimeouts {
  udpStream: number | null; // nf_conntrack_udp_timeout_stream: a UDP flow that has seen replies
  tcpEstablished: number | null; // nf_conntrack_tcp_timeout_established
  icmpv6: number | null; // nf_conntrack_icmpv6_timeout
}

export interface HostFacts {
  localPortRange(): [number, number] | null; // null: not readable (then not checked)
  interfaceAddresses(name: string): InterfaceAddress[] | null; // global-scope IPv6 addresses; null: no such interface
  conntrackTimeouts(): ConntrackTimeouts;
  // /proc/net/nf_conntrack exists: conntrack (and its nf_defrag_ipv6) is built in or loaded. Not given: assumed.
  conntrackPresent?(): boolean;
  // net.netfilter.nf_conntrack_checksum in this namespace; null: no conntrack here (or not readable).
  conntrackChecksum?(): boolean | null;
  setConntrackChecksum?(on: boolean): boolean; // false when the write was refused
  // The CPUs this process may run on (/proc/self/status Cpus_allowed_list); null: not readable.
  allowedCpus?(): number[] | null;
  // Where an interface's receive work runs; null: no such interface here.
  receiveWork?(name: string): InterfaceReceiveWork | null;
  // The interface the route to `address` leaves by (`ip -6 route get`); null: no route or not readable.
  routeInterface?(address: string): string | null;
  // The host's own listening TCP / bound UDP IPv6 sockets (src/listening-ports.ts); null: not readable.
  listeningSockets?(protocol: 'tcp' | 'udp'): ListeningSocket[] | null;
  // The program holding a socket (src/listening-ports.ts socketProgram); null: not found.
  socketProgram?(inode: number): string | null;
}

// One hardware interrupt of an interface's device: the receive softirq (NAPI poll, GRO and, without RPS, the
// whole stack up to the queue rule) runs on the CPU the interrupt lands on.
export interface InterfaceIrq {
  irq: number;
  name: string; // the action name in /proc/interrupts (e.g. "eth0-TxRx-0", "virtio2-input.0"); "" if not listed
  cpus: number[]; // /proc/irq/N/smp_affinity_list
}

export interface InterfaceReceiveWork {
  irqs: InterfaceIrq[]; // empty: no hardware interrupts (veth, bridge, tun, ...)
  rpsCpus: number[][]; // per rx queue, the CPUs of /sys/class/net/IF/queues/rx-N/rps_cpus (empty: RPS off)
}

// "0-3,8,10-11" (the kernel's cpulist format) -> [0, 1, 2, 3, 8, 10, 11]; null if malformed. Exported for tests.
export function parseCpuList(text: string): number[] | null {
  const t = text.trim();
  if (t === '') return [];
  const out = new Set<number>();
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 65535) return null;
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

// "00000000,0000000c" (the kernel's cpumask format: 32-bit hex groups, most significant first) -> [2, 3]; null if
// malformed. Exported for tests.
export function parseCpuMask(text: string): number[] | null {
  const groups = text.trim().split(',');
  if (!groups.every((g) => /^[0-9a-fA-F]{1,8}$/.test(g))) return null;
  const out: number[] = [];
  groups.reverse().forEach((g, i) => {
    const bits = parseInt(g, 16);
    for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) out.push(i * 32 + b);
  });
  return out.sort((a, b) => a - b);
}

// /proc/interrupts -> IRQ number -> action name (the last column: "eth0-TxRx-0"). Exported for tests.
export function parseInterrupts(text: string): Map<number, string> {
  const out = new Map<number, string>();
  const lines = text.split('\n');
  const cpuCount = (lines[0] ?? '').trim().split(/\s+/).filter((c) => /^CPU\d+$/.test(c)).length;
  for (const line of lines.slice(1)) {
    const m = /^\s*(\d+):\s+(.*)$/.exec(line);
    if (!m) continue; // NMI:, LOC:, ... are not device interrupts
    // After the per-CPU counts: the chip, the hardware IRQ and trigger, then the action names.
    const fields = m[2]!.trim().split(/\s+/).slice(cpuCount);
    out.set(Number(m[1]), fields.slice(2).join(' '));
  }
  return out;
}

// An action name belongs to the interface when it names it as a whole word ("eth0-TxRx-0", "i40e-eth0-TxRx-1",
// not "eth01"), or names its device ("virtio2-input.0" for the virtio device behind eth0).
function namesInterface(action: string, names: string[]): boolean {
  return names.some((n) => new RegExp(`(^|[^A-Za-z0-9])${n.replace(/[.]/g, '\\.')}($|[^A-Za-z0-9])`).test(action));
}

// Transmit-only and configuration interrupts do no receive work: "virtio2-output.0", "virtio2-config",
// "eth0-tx-0" (a combined "TxRx" queue does receive).
function transmitOrConfigOnly(action: string): boolean {
  return /(^|[^A-Za-z])(tx|output|config)([^A-Za-z]|$)/i.test(action) && !/rx|input/i.test(action);
}

const readText = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

// The device's MSI/MSI-X interrupts: /sys/class/net/IF/device/msi_irqs, or, for a virtio NIC (device -> virtioN),
// its PCI parent's. Legacy INTx devices have device/irq.
function deviceIrqs(device: string): number[] {
  for (const dir of [device, path.dirname(device)]) {
    try {
      return readdirSync(path.join(dir, 'msi_irqs')).map(Number).filter(Number.isInteger);
    } catch {
      // not an MSI device at this level
    }
  }
  const legacy = Number(readText(path.join(device, 'irq'))?.trim());
  return Number.isInteger(legacy) && legacy > 0 ? [legacy] : [];
}

// Reads where `name`'s receive work runs, from sysfs and /proc (in this process's network namespace).
export function readReceiveWork(name: string, sysNet = '/sys/class/net', proc = '/proc'): InterfaceReceiveWork | null {
  const dir = path.join(sysNet, name);
  if (!existsSync(dir)) return null;
  let device: string | null = null;
  try {
    device = realpathSync(path.join(dir, 'device'));
  } catch {
    // virtual interface: no device
  }
  const actions = parseInterrupts(readText(path.join(proc, 'interrupts')) ?? '');
  const names = device ? [name, path.basename(device)] : [name];
  const irqNumbers = new Set(device ? deviceIrqs(device) : []);
  for (const [irq, action] of actions) if (namesInterface(action, names)) irqNumbers.add(irq);
  const irqs: InterfaceIrq[] = [];
  for (const irq of [...irqNumbers].sort((a, b) => a - b)) {
    const action = actions.get(irq) ?? '';
    if (transmitOrConfigOnly(action)) continue;
    const cpus = parseCpuList(readText(path.join(proc, 'irq', String(irq), 'smp_affinity_list')) ?? '');
    if (cpus && cpus.length) irqs.push({ irq, name: action, cpus });
  }
  const rpsCpus: number[][] = [];
  let queues: string[] = [];
  try {
    queues = readdirSync(path.join(dir, 'queues')).filter((q) => q.startsWith('rx-')).sort();
  } catch {
    // no queues directory
  }
  for (const q of queues) rpsCpus.push(parseCpuMask(readText(path.join(dir, 'queues', q, 'rps_cpus')) ?? '') ?? []);
  return { irqs, rpsCpus };
}

function readNumbers(file: string): number[] | null {
  try {
    return readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    return null;
  }
}

const CONNTRACK = '/proc/sys/net/netfilter';

// Flags `ip -j` prints as `"flag": true` on an address (iproute2 ip/ipaddress.c).
const ADDRESS_FLAGS = ['temporary', 'deprecated', 'tentative', 'dadfailed', 'optimistic', 'mngtmpaddr', 'nodad', 'noprefixroute', 'home', 'stable-privacy'];

// `ip -j -6 addr show dev IF scope global` output -> the addresses with their flags. Exported for tests.
export function parseIpAddrJson(text: string): InterfaceAddress[] {
  const links = JSON.parse(text) as { addr_info?: Record<string, unknown>[] }[];
  const out: InterfaceAddress[] = [];
  for (const link of links) {
    for (const a of link.addr_info ?? []) {
      if (a.family !== 'inet6' || typeof a.local !== 'string') continue; // iproute2 appends an empty {}
      const flags = ADDRESS_FLAGS.filter((f) => a[f] === true);
      // An address whose preferred lifetime ran out is deprecated even if the flag is not printed.
      if (a.preferred_life_time === 0 && !flags.includes('deprecated')) flags.push('deprecated');
      out.push({ address: a.local, prefixLength: Number(a.prefixlen), flags });
    }
  }
  return out;
}

export const systemHostFacts: HostFacts = {
  listeningSockets: readListeningSockets,
  socketProgram,
  localPortRange() {
    const n = readNumbers('/proc/sys/net/ipv4/ip_local_port_range');
    return n && n.length === 2 && n.every(Number.isInteger) ? [n[0]!, n[1]!] : null;
  },
  interfaceAddresses(name) {
    let text: string;
    try {
      text = execFileSync('ip', ['-j', '-6', 'addr', 'show', 'dev', name, 'scope', 'global'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      return null; // "Device ... does not exist"
    }
    return parseIpAddrJson(text || '[]');
  },
  conntrackTimeouts() {
    const one = (name: string) => readNumbers(`${CONNTRACK}/${name}`)?.[0] ?? null;
    return {
      udpStream: one('nf_conntrack_udp_timeout_stream'),
      tcpEstablished: one('nf_conntrack_tcp_timeout_established'),
      icmpv6: one('nf_conntrack_icmpv6_timeout'),
    };
  },
  conntrackPresent() {
    return existsSync('/proc/net/nf_conntrack');
  },
  conntrackChecksum() {
    const v = readNumbers(`${CONNTRACK}/nf_conntrack_checksum`)?.[0];
    return v === undefined ? null : v !== 0;
  },
  setConntrackChecksum(on) {
    try {
      writeFileSync(`${CONNTRACK}/nf_conntrack_checksum`, on ? '1' : '0');
      return true;
    } catch {
      return false;
    }
  },
  allowedCpus() {
    const line = /^Cpus_allowed_list:\s*(.*)$/m.exec(readText('/proc/self/status') ?? '');
    return line ? parseCpuList(line[1]!) : null;
  },
  receiveWork(name) {
    return readReceiveWork(name);
  },
  routeInterface(address) {
    try {
      const text = execFileSync('ip', ['-j', '-6', 'route', 'get', address], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const dev = (JSON.parse(text || '[]') as { dev?: unknown }[])[0]?.dev;
      return typeof dev === 'string' ? dev : null;
    } catch {
      return null; // no route ("Network is unreachable")
    }
  },
};
