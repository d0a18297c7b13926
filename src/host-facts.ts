// What npt66 reads from the host it runs on (in the network namespace the daemon runs in), behind one interface
// so that validation and the gateway can be tested with given values:
//   - net.ipv4.ip_local_port_range: the ports the host's own sockets pick from (IPv6 sockets too); masquerade
//     ports must stay out of it (REFERENCE s4);
//   - an interface's addresses, for a masquerade entry without "address";
//   - kernel conntrack timeouts, which must be at least the masquerade table's (REFERENCE s4);
//   - whether kernel conntrack is in this namespace at all (masquerade turns on IPv6 reassembly through it).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

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
};
