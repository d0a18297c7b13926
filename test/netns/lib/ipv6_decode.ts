// Just enough IPv6 decoding to assert on captured packets: addresses, upper-layer protocol (past extension
// headers), ports, the ICMPv6 type, and for ICMPv6 errors (RFC 4443 types 1-4) the embedded packet's header.
import { Address6 } from 'ip-address';

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

export const ICMPV6_DEST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;

// Extension headers that use the generic (next header, length in 8-octet units) layout (RFC 8200 §4).
const GENERIC_EXTENSION_HEADERS = new Set([0, 43, 60]);
const FRAGMENT_HEADER = 44;

export interface DecodedIpv6 {
  src: string; // RFC 5952 text
  dst: string;
  hopLimit: number;
  flowLabel: number;
  protocol: number; // upper-layer protocol after extension headers, -1 if the chain could not be walked
  l4: Buffer; // the upper-layer header and payload (may be truncated inside an ICMPv6 error)
  srcPort?: number; // TCP/UDP
  dstPort?: number;
  icmpType?: number;
  icmpCode?: number;
  mtu?: number; // Packet Too Big
  embedded?: DecodedIpv6; // the invoking packet inside an ICMPv6 error
}

export function formatAddress(bytes: Buffer): string {
  return Address6.fromUnsignedByteArray([...bytes]).correctForm();
}

export function normalizeAddress(text: string): string {
  return new Address6(text).correctForm();
}

export function addressBytes(text: string): Buffer {
  return Buffer.from(new Address6(text).canonicalForm().replace(/:/g, ''), 'hex');
}

// True if `address` lies in `prefix` ("2001:db8::/64").
export function inPrefix(address: string, prefix: string): boolean {
  return new Address6(address).isInSubnet(new Address6(prefix));
}

// Returns null for anything shorter than a fixed IPv6 header.
export function decodeIpv6(packet: Buffer): DecodedIpv6 | null {
  if (packet.length < 40 || packet[0] >> 4 !== 6) return null;
  let next = packet[6];
  let off = 40;
  while (GENERIC_EXTENSION_HEADERS.has(next) || next === FRAGMENT_HEADER) {
    if (off + 8 > packet.length) {
      next = -1;
      break;
    }
    const len = next === FRAGMENT_HEADER ? 8 : (packet[off + 1] + 1) * 8;
    next = packet[off];
    off += len;
  }
  const l4 = packet.subarray(Math.min(off, packet.length));
  const d: DecodedIpv6 = {
    src: formatAddress(packet.subarray(8, 24)),
    dst: formatAddress(packet.subarray(24, 40)),
    hopLimit: packet[7],
    flowLabel: packet.readUInt32BE(0) & 0xfffff,
    protocol: next,
    l4,
  };
  if ((next === IPPROTO_TCP || next === IPPROTO_UDP) && l4.length >= 4) {
    d.srcPort = l4.readUInt16BE(0);
    d.dstPort = l4.readUInt16BE(2);
  }
  if (next === IPPROTO_ICMPV6 && l4.length >= 4) {
    d.icmpType = l4[0];
    d.icmpCode = l4[1];
    if (d.icmpType >= ICMPV6_DEST_UNREACHABLE && d.icmpType <= ICMPV6_PARAMETER_PROBLEM && l4.length >= 8 + 40) {
      if (d.icmpType === ICMPV6_PACKET_TOO_BIG) d.mtu = l4.readUInt32BE(4);
      d.embedded = decodeIpv6(l4.subarray(8)) ?? undefined;
    }
  }
  return d;
}

export function describe(d: DecodedIpv6): string {
  const proto = d.icmpType !== undefined ? `icmp6 ${d.icmpType}/${d.icmpCode}` : d.srcPort !== undefined ? `${d.protocol === IPPROTO_TCP ? 'tcp' : 'udp'} ${d.srcPort}>${d.dstPort}` : `proto ${d.protocol}`;
  const inner = d.embedded ? ` [embedded ${describe(d.embedded)}]` : '';
  return `${d.src} > ${d.dst} hlim ${d.hopLimit} ${proto}${inner}`;
}
