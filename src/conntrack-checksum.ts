// Conntrack's checksum check and GSO super-packets translated before it (README "GSO/GRO super-packets").
//
// npt66 translates inbound packets in raw PREROUTING, before conntrack (REFERENCE s3). A queue verdict with a
// payload makes the skb CHECKSUM_NONE (nfqnl_mangle), and a GSO super-packet then carries the pseudo-header sum
// its segmentation needs (native/core/checksum_offload.h), not a full checksum. With
// net.netfilter.nf_conntrack_checksum=1 conntrack verifies every such packet in software (nf_ip6_checksum): TCP
// and UDP super-packets come out INVALID (a stateful firewall that drops INVALID drops them), and the check leaves
// the skb CHECKSUM_COMPLETE, whose csum overwrites csum_start, so __udp_gso_segment refuses to cut a UDP one and
// the kernel drops it on output (measured: 4000 of 4000 UDP GSO replies lost through the masquerade).
// So, with GSO on and conntrack in this namespace, npt66 turns the check off while it runs (OpenWrt ships it off
// for speed) and restores it on stop. The end hosts still verify every checksum. Logged either way.
import type { HostFacts } from './host-facts';

export interface ConntrackChecksumChange {
  message: string;
  restore?: () => void; // set when npt66 changed the value and should put it back
  warning?: boolean;
}

export function relaxConntrackChecksum(gso: boolean, facts: HostFacts): ConntrackChecksumChange | null {
  if (!gso || !facts.conntrackChecksum || !facts.setConntrackChecksum) return null;
  const on = facts.conntrackChecksum();
  if (on !== true) return null; // no conntrack here, or already off
  if (!facts.setConntrackChecksum(false)) {
    return {
      warning: true,
      message:
        'net.netfilter.nf_conntrack_checksum is 1 and cannot be changed here: conntrack will mark GSO super-packets npt66 translated inbound INVALID and the kernel will drop UDP ones on output; set it to 0, or set "queues": {"gso": false}',
    };
  }
  const set = facts.setConntrackChecksum;
  return {
    message:
      'net.netfilter.nf_conntrack_checksum set to 0 while npt66 runs: conntrack would verify GSO super-packets translated before it in software, mark them INVALID and break UDP segmentation (end hosts still verify checksums)',
    restore: () => void set(true),
  };
}
