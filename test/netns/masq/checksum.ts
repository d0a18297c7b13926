// Independent checksum checks on captured IPv6 packets: the TCP, UDP and ICMPv6 checksums all cover the IPv6
// pseudo-header (RFC 8200 §8.1), so a masquerade that rewrites an address or port must update them.
// A packet's "residual" is the folded one's-complement sum over pseudo-header and upper-layer bytes,
// checksum field included: 0xFFFF exactly when the checksum is right. An incremental update (RFC 1624)
// keeps the residual, whatever it was, which lets a test compare a checksum the sender left unfinished.
import { CHECKSUM_VALID, pseudoHeaderSum } from '../lib/inet_checksum';
import { IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, type DecodedIpv6 } from '../lib/ipv6_decode';

// `packet` is an IPv6 packet without extension headers (what these tests produce); null if its upper layer
// is not TCP/UDP/ICMPv6 or it is truncated (an ICMPv6 error may carry only the start of its invoking packet).
export function residual(packet: Buffer): number | null {
  if (packet.length < 40) return null;
  const next = packet[6];
  if (next !== IPPROTO_TCP && next !== IPPROTO_UDP && next !== IPPROTO_ICMPV6) return null;
  const length = packet.readUInt16BE(4);
  if (packet.length < 40 + length) return null;
  return pseudoHeaderSum(packet.subarray(8, 24), packet.subarray(24, 40), next, packet.subarray(40, 40 + length));
}

export const VALID = CHECKSUM_VALID;

// The invoking packet inside an ICMPv6 error, as bytes (from its IPv6 header on).
export function embeddedPacket(d: DecodedIpv6): Buffer {
  if (d.protocol !== IPPROTO_ICMPV6 || d.l4.length < 8 + 40) throw new Error('not an ICMPv6 error with an embedded packet');
  return d.l4.subarray(8);
}

// The ICMPv6 echo identifier of a decoded echo request or reply.
export function echoId(d: DecodedIpv6): number {
  return d.l4.readUInt16BE(4);
}
