// Crafting IPv6 test packets for the kernel differential test: the IPv6 header, extension headers, UDP, TCP,
// ICMPv6 echo and errors, with checksums computed independently of npt66 (lib/inet_checksum.ts).
import { CHECKSUM_VALID, pseudoHeaderSum } from '../lib/inet_checksum';

export const NEXT_HOP_BY_HOP = 0;
export const NEXT_TCP = 6;
export const NEXT_UDP = 17;
export const NEXT_FRAGMENT = 44;
export const NEXT_ICMPV6 = 58;
export const NEXT_DEST_OPTS = 60;

export type ExtensionHeader = 'hop-by-hop' | 'destination' | 'fragment';

const extNumber: Record<ExtensionHeader, number> = {
  'hop-by-hop': NEXT_HOP_BY_HOP,
  destination: NEXT_DEST_OPTS,
  fragment: NEXT_FRAGMENT,
};

// The upper-layer checksum of RFC 8200 s8.1 over (src, dst, length, next header) and `upper`.
export function upperChecksum(src: Buffer, dst: Buffer, next: number, upper: Buffer): number {
  const c = ~pseudoHeaderSum(src, dst, next, upper) & 0xffff;
  // UDP: a computed 0 is sent as 0xFFFF (RFC 8200 s8.1); harmless for TCP/ICMPv6 (same one's-complement value).
  return c === 0 ? 0xffff : c;
}

export interface UpperLayer {
  next: number; // TCP, UDP or ICMPv6
  body: Buffer; // header + data, checksum field zero
  checksumOffset: number;
}

export function udp(srcPort: number, dstPort: number, data: Buffer): UpperLayer {
  const b = Buffer.alloc(8 + data.length);
  b.writeUInt16BE(srcPort, 0);
  b.writeUInt16BE(dstPort, 2);
  b.writeUInt16BE(b.length, 4);
  data.copy(b, 8);
  return { next: NEXT_UDP, body: b, checksumOffset: 6 };
}

export function tcp(srcPort: number, dstPort: number, seq: number, ack: number, flags: number, data: Buffer): UpperLayer {
  const b = Buffer.alloc(20 + data.length);
  b.writeUInt16BE(srcPort, 0);
  b.writeUInt16BE(dstPort, 2);
  b.writeUInt32BE(seq >>> 0, 4);
  b.writeUInt32BE(ack >>> 0, 8);
  b[12] = 5 << 4; // data offset: 5 words, no options
  b[13] = flags;
  b.writeUInt16BE(64240, 14); // window
  data.copy(b, 20);
  return { next: NEXT_TCP, body: b, checksumOffset: 16 };
}

// Echo request (128) or reply (129).
export function icmpEcho(type: 128 | 129, id: number, seq: number, data: Buffer): UpperLayer {
  const b = Buffer.alloc(8 + data.length);
  b[0] = type;
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(seq, 6);
  data.copy(b, 8);
  return { next: NEXT_ICMPV6, body: b, checksumOffset: 2 };
}

// An ICMPv6 error (RFC 4443 s3): type 1-4, code, the 32-bit field (unused / MTU / pointer), then as much of
// the invoking packet as fits.
export function icmpError(type: number, code: number, param: number, invoking: Buffer): UpperLayer {
  const b = Buffer.alloc(8 + invoking.length);
  b[0] = type;
  b[1] = code;
  b.writeUInt32BE(param >>> 0, 4);
  invoking.copy(b, 8);
  return { next: NEXT_ICMPV6, body: b, checksumOffset: 2 };
}

export interface PacketSpec {
  src: Buffer;
  dst: Buffer;
  flowLabel: number; // 20 bits; the test uses it to find each packet again on the far side
  hopLimit: number;
  trafficClass?: number;
  ext?: ExtensionHeader[];
  upper: UpperLayer;
}

// One 8-byte extension header whose next-header field is `next`: PadN options, or an atomic fragment
// (offset 0, M=0, RFC 6946) for the Fragment header.
function extensionHeader(kind: ExtensionHeader, next: number, ident: number): Buffer {
  const h = Buffer.alloc(8);
  h[0] = next;
  if (kind === 'fragment') {
    h.writeUInt32BE(ident >>> 0, 4);
  } else {
    h[1] = 0; // length in 8-octet units, not counting the first
    h[2] = 1; // PadN
    h[3] = 4; // 4 bytes of padding
  }
  return h;
}

export function ipv6Packet(spec: PacketSpec): Buffer {
  const upper = Buffer.from(spec.upper.body);
  upper.writeUInt16BE(upperChecksum(spec.src, spec.dst, spec.upper.next, upper), spec.upper.checksumOffset);
  const ext = spec.ext ?? [];
  const headers: Buffer[] = [];
  for (let i = 0; i < ext.length; i++) {
    const next = i + 1 < ext.length ? extNumber[ext[i + 1]] : spec.upper.next;
    headers.push(extensionHeader(ext[i], next, spec.flowLabel));
  }
  const payload = Buffer.concat([...headers, upper]);
  const h = Buffer.alloc(40);
  const tc = spec.trafficClass ?? 0;
  h.writeUInt32BE(((6 << 28) | (tc << 20) | (spec.flowLabel & 0xfffff)) >>> 0, 0);
  h.writeUInt16BE(payload.length, 4);
  h[6] = ext.length ? extNumber[ext[0]] : spec.upper.next;
  h[7] = spec.hopLimit;
  spec.src.copy(h, 8);
  spec.dst.copy(h, 24);
  return Buffer.concat([h, payload]);
}

export function flowLabelOf(packet: Buffer): number {
  return packet.readUInt32BE(0) & 0xfffff;
}

// Where the upper layer starts (walking the extension headers this file can build), and its protocol.
export function upperLayerOf(packet: Buffer): { offset: number; next: number } {
  let next = packet[6];
  let offset = 40;
  while (next === NEXT_HOP_BY_HOP || next === NEXT_DEST_OPTS || next === NEXT_FRAGMENT) {
    const len = next === NEXT_FRAGMENT ? 8 : (packet[offset + 1] + 1) * 8;
    next = packet[offset];
    offset += len;
  }
  return { offset, next };
}

// True if the packet's TCP/UDP/ICMPv6 checksum verifies against its own addresses.
export function checksumValid(packet: Buffer): boolean {
  const { offset, next } = upperLayerOf(packet);
  if (next !== NEXT_TCP && next !== NEXT_UDP && next !== NEXT_ICMPV6) return true;
  const end = 40 + packet.readUInt16BE(4);
  const upper = packet.subarray(offset, end);
  return pseudoHeaderSum(packet.subarray(8, 24), packet.subarray(24, 40), next, upper) === CHECKSUM_VALID;
}
