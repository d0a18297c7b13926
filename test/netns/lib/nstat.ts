// The kernel's SNMP counters of a lab's namespaces (iproute2's `nstat`), for checks such as "no receiver saw a bad
// checksum": a segment or datagram whose checksum a translator got wrong is dropped by the receiving stack and
// counted there, so an intact transfer plus these counters standing still means every packet was right.
import type { NetnsLab } from './netns_lab';

// Checksum failures as the receiving stack counts them (TCP's MIB is shared by IPv4 and IPv6).
export const CHECKSUM_ERRORS = ['TcpInCsumErrors', 'UdpInCsumErrors', 'Udp6InCsumErrors', 'Icmp6InCsumErrors'] as const;

// Every counter of namespace `ns`, absolute (-a), zeros included (-z), without touching nstat's history file
// (-s: the file is shared by every namespace).
export async function nstat<N extends string>(lab: NetnsLab<N>, ns: N): Promise<Record<string, number>> {
  const r = await lab.ns(ns).exec(['nstat', '-a', '-s', '-z', '--json']);
  const kernel = (JSON.parse(r.stdout) as { kernel?: Record<string, number> }).kernel;
  if (!kernel) throw new Error(`nstat printed no kernel counters in ${ns}:\n${r.stdout}`);
  return kernel;
}

// `counters` of each namespace in `nss`, keyed "ns Counter", so a before/after pair compares with deepEqual.
export async function nstatOf<N extends string>(lab: NetnsLab<N>, nss: readonly N[], counters: readonly string[] = CHECKSUM_ERRORS): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const ns of nss) {
    const all = await nstat(lab, ns);
    for (const c of counters) {
      if (typeof all[c] !== 'number') throw new Error(`nstat in ${ns} has no ${c}`);
      out[`${ns} ${c}`] = all[c];
    }
  }
  return out;
}
