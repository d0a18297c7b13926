// The Internet checksum of TCP, UDP and ICMPv6 over IPv6, computed independently of npt66 for the tests: the
// one's-complement sum of RFC 1071 over the pseudo-header of RFC 8200 §8.1 (source, destination, upper-layer
// length, next header) and the upper-layer bytes. Pure functions on bytes (the unit tests use them too).

// 16-bit one's-complement sum of `data` added to `acc` (not folded, not complemented); an odd last byte counts
// as the high byte of a word.
export function sum16(data: Uint8Array, acc = 0): number {
  for (let i = 0; i + 1 < data.length; i += 2) acc += (data[i] << 8) | data[i + 1];
  if (data.length % 2) acc += data[data.length - 1] << 8;
  return acc;
}

export function fold16(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

// The folded sum over the pseudo-header and `upper`, checksum field included: 0xFFFF exactly when the checksum
// is right (an incremental update, RFC 1624, keeps this value whatever it was).
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, next: number, upper: Uint8Array): number {
  const pseudo = Buffer.alloc(8);
  pseudo.writeUInt32BE(upper.length, 0);
  pseudo[7] = next;
  return fold16(sum16(upper, sum16(pseudo, sum16(dst, sum16(src)))));
}

export const CHECKSUM_VALID = 0xffff;
