// Crafted IPv6 packets for the hostile-traffic tests (sent with pktio, AF_PACKET): UDP behind any chain of
// extension headers, ICMPv6 errors with any quote, checksums right or deliberately wrong. Pure functions on bytes;
// checksums come from lib/inet_checksum.ts (RFC 8200 s8.1 pseudo-header), independent of npt66.
import type { Topology } from '../../../src/netns';
import { parseAddress } from '../../../src/prefix';
import { CHECKSUM_VALID, pseudoHeaderSum } from './inet_checksum';
import { IPPROTO_ICMPV6, IPPROTO_UDP } from './ipv6_decode';

export const HOP_BY_HOP = 0;
export const DESTINATION_OPTIONS = 60;

// One extension header: its type (the Next Header value that announces it) and its bytes, the first two
// (next header, length) filled in by ipv6Packet.
export interface ExtensionHeader {
  type: number;
  bytes: Buffer;
}

// A Destination Options header of 8 bytes holding one PadN option (4 bytes of padding: within the kernel's limit
// of 7 padding bytes in a row).
export function destinationOptions(): ExtensionHeader {
  const b = Buffer.alloc(8);
  b[2] = 1; // PadN
  b[3] = 4;
  return { type: DESTINATION_OPTIONS, bytes: b };
}

// A Hop-by-Hop Options header of `bytes` (a multiple of 8, at most 2048: the length field's limit) filled with
// options of an unassigned type whose two high bits are 00 ("skip over this option", RFC 8200 s4.2), each as
// long as an option can be (257 bytes). Routers parse the whole header before any netfilter hook; Linux refuses
// more than 8 options (net.ipv6.max_hbh_opts_number) and padding runs over 7 bytes, so 2 KB is 8 of these.
export function hopByHop(bytes: number): ExtensionHeader {
  if (bytes % 8 !== 0 || bytes < 8 || bytes > 2048) throw new Error(`hop-by-hop length ${bytes}`);
  const b = Buffer.alloc(bytes);
  let off = 2;
  while (off < bytes) {
    const left = bytes - off;
    const len = Math.min(255, left - 2);
    if (len < 0) {
      b[off] = 0; // Pad1
      off += 1;
      continue;
    }
    b[off] = 0x1e; // unassigned, action 00: skip
    b[off + 1] = len;
    off += 2 + len;
  }
  return { type: HOP_BY_HOP, bytes: b };
}

// The one's-complement checksum for `upper` (its checksum field at `checkAt` zero), or a wrong one if `broken`.
function checksum(src: Buffer, dst: Buffer, proto: number, upper: Buffer, checkAt: number, broken: boolean): void {
  upper.writeUInt16BE(0, checkAt);
  let c = 0xffff - pseudoHeaderSum(src, dst, proto, upper);
  if (c === 0 && proto === IPPROTO_UDP) c = 0xffff; // RFC 8200 s8.1: 0 is "no checksum" for UDP
  if (broken) c = c ^ 0x0101 || 0x0101;
  upper.writeUInt16BE(c, checkAt);
}

export interface PacketSpec {
  src: string;
  dst: string;
  hopLimit?: number;
  ext?: ExtensionHeader[];
  badChecksum?: boolean;
}

// The IPv6 header, `ext` in order, then `proto` with `upper` (its checksum computed over the pseudo-header).
function ipv6Packet(spec: PacketSpec, proto: number, upper: Buffer, checkAt: number): Buffer {
  const s = parseAddress(spec.src, 'src');
  const d = parseAddress(spec.dst, 'dst');
  checksum(s, d, proto, upper, checkAt, spec.badChecksum ?? false);
  const ext = spec.ext ?? [];
  const chain = ext.map((h, i) => {
    const b = Buffer.from(h.bytes);
    b[0] = i + 1 < ext.length ? ext[i + 1]!.type : proto;
    b[1] = b.length / 8 - 1;
    return b;
  });
  const payload = Buffer.concat([...chain, upper]);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(payload.length, 4);
  ip[6] = ext.length ? ext[0]!.type : proto;
  ip[7] = spec.hopLimit ?? 64;
  s.copy(ip, 8);
  d.copy(ip, 24);
  return Buffer.concat([ip, payload]);
}

export function udpPacket(spec: PacketSpec, sport: number, dport: number, data: string | Buffer): Buffer {
  const body = Buffer.from(data);
  const udp = Buffer.alloc(8 + body.length);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(udp.length, 4);
  body.copy(udp, 8);
  return ipv6Packet(spec, IPPROTO_UDP, udp, 6);
}

// An ICMPv6 error (RFC 4443: type 1-4) quoting `quote` as it is (any length, any content).
export function icmpError(spec: PacketSpec, type: number, code: number, quote: Buffer): Buffer {
  const icmp = Buffer.concat([Buffer.alloc(8), quote]);
  icmp[0] = type;
  icmp[1] = code;
  return ipv6Packet(spec, IPPROTO_ICMPV6, icmp, 2);
}

// True if the upper-layer checksum of a packet without extension headers verifies.
export function checksumValid(packet: Buffer): boolean {
  return pseudoHeaderSum(packet.subarray(8, 24), packet.subarray(24, 40), packet[6]!, packet.subarray(40, 40 + packet.readUInt16BE(4))) === CHECKSUM_VALID;
}

export async function macOf(topology: Topology, ns: string, iface: string): Promise<string> {
  const r = await topology.ns(ns).exec(['ip', '-j', 'link', 'show', iface]);
  return (JSON.parse(r.stdout) as { address: string }[])[0]!.address;
}

// Sets the MTU of every (namespace, interface) listed, e.g. along a path a 2 KB header must cross.
export async function setMtu(topology: Topology, links: [string, string][], mtu: number): Promise<void> {
  for (const [ns, iface] of links) await topology.ns(ns).exec(['ip', 'link', 'set', iface, 'mtu', String(mtu)]);
}

// ff02::1:ffXX:XXXX for `target` (RFC 4291 s2.7.1) and its Ethernet group 33:33:ff:XX:XX:XX (RFC 2464 s7).
export function solicitedNode(target: string): { address: string; mac: string } {
  const t = parseAddress(target, 'target');
  const hex = (i: number) => t[i]!.toString(16).padStart(2, '0');
  return { address: `ff02::1:ff${hex(13)}:${hex(14)}${hex(15)}`, mac: `33:33:ff:${hex(13)}:${hex(14)}:${hex(15)}` };
}

// A Neighbor Solicitation (RFC 4861 s4.3) for `target`, hop limit 255, with a Source Link-Layer Address option
// when `sourceMac` is given (a DAD probe, RFC 4862 s5.4.3, has src "::", the solicited-node dst and none).
export function neighborSolicitation(spec: PacketSpec, target: string, sourceMac?: string): Buffer {
  const option = sourceMac ? Buffer.from([1, 1, ...sourceMac.split(':').map((h) => parseInt(h, 16))]) : Buffer.alloc(0);
  const icmp = Buffer.concat([Buffer.alloc(8), parseAddress(target, 'target'), option]);
  icmp[0] = 135;
  return ipv6Packet({ hopLimit: 255, ...spec }, IPPROTO_ICMPV6, icmp, 2);
}
