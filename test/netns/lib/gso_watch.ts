// What the GSO tests (gso_nptv6, gso_masquerade) watch around each transfer through a translating namespace:
// - super-packets (longer than the 1500-byte links) arriving at the translator: proof that the traffic really
//   is GSO, so the test exercises what it claims to;
// - super-packets leaving it: the translator passed them on whole, as the kernel's own translators do
//   (a queue without NFQA_CFG_F_GSO makes the kernel cut each into MTU-sized packets first);
// - the end hosts' checksum error counters (nstat.ts), which must not grow.
import type { NetnsLab } from './netns_lab';
import { growth } from './npt66_daemon';
import { CHECKSUM_ERRORS, nstatOf } from './nstat';
import { PacketCounter } from './packet_counter';

export interface GsoWatch<T> {
  result: T;
  superPacketsIn: number; // arriving at the translator on `inIf`
  superPacketsOut: number; // leaving it on `outIf`
  counterGrowth: Record<string, number>; // "ns Counter" -> growth, only the ones that grew
}

export interface GsoWatchPlace<N extends string> {
  translator: N; // the namespace that translates
  inIf: string; // where the traffic enters it
  outIf: string; // where it leaves
  ends: readonly N[]; // the hosts whose counters must stand still
  counters?: readonly string[]; // default: the checksum errors
}

// A packet longer than any link's MTU in these labs is a super-packet.
export const SUPER_PACKET = ['greater', '1600'];

export async function watchGso<N extends string, T>(lab: NetnsLab<N>, at: GsoWatchPlace<N>, protocol: 'tcp' | 'udp', traffic: () => Promise<T>): Promise<GsoWatch<T>> {
  const counters = at.counters ?? CHECKSUM_ERRORS;
  const before = await nstatOf(lab, at.ends, counters);
  const filter = ['ip6', 'and', protocol, 'and', ...SUPER_PACKET];
  const arriving = await PacketCounter.start(lab, at.translator, at.inIf, 'in', filter);
  let leaving: PacketCounter | undefined;
  try {
    leaving = await PacketCounter.start(lab, at.translator, at.outIf, 'out', filter);
    const result = await traffic();
    const superPacketsIn = await arriving.stop();
    const superPacketsOut = await leaving.stop();
    return { result, superPacketsIn, superPacketsOut, counterGrowth: growth(before, await nstatOf(lab, at.ends, counters)) };
  } finally {
    arriving.discard();
    leaving?.discard();
  }
}

// UDP GSO super-datagrams leaving the translator. The kernel's own translators rewrite the skb in place and it
// stays CHECKSUM_PARTIAL, so it leaves whole. A queue verdict with a payload makes it CHECKSUM_NONE
// (nfqnl_mangle), and the kernel then cuts it into its datagrams in software on output (__udp_gso_segment,
// from the pseudo-header sum npt66 leaves in the field: checksum_offload.h): npt66 differs on purpose, and the
// callers check every datagram arrived intact. Both sides asserted, so a kernel that changes this is noticed.
export function udpSuperDatagramsLeft(kind: 'npt66' | 'kernel', w: { superPacketsIn: number; superPacketsOut: number }): string | undefined {
  if (kind === 'kernel') return w.superPacketsOut > 0 ? undefined : `the kernel cut them (${w.superPacketsIn} arrived whole, ${w.superPacketsOut} left whole)`;
  return w.superPacketsOut === 0 ? undefined : `npt66: ${w.superPacketsOut} left whole; update gso_watch.ts if the kernel now keeps them whole`;
}
