// An independent RFC 6296 mapping for the tests' expectations: what address an inside host has on the
// outside. Written from the RFC, not from npt66's code, so a shared misreading cannot hide in both.
import { Address6 } from 'ip-address';
import { addressBytes, formatAddress } from './ipv6_decode';

function onesAdd(a: number, b: number): number {
  const s = a + b;
  return (s & 0xffff) + (s >> 16); // end-around carry (RFC 6296 §3.1 uses one's-complement arithmetic)
}

function prefixWords(prefix: string, length: number): number[] {
  const bytes = addressBytes(prefix.split('/')[0]);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) {
    const bitsLeft = Math.max(0, Math.min(16, length - i * 16));
    const mask = bitsLeft === 0 ? 0 : (0xffff << (16 - bitsLeft)) & 0xffff;
    words.push(bytes.readUInt16BE(i * 2) & mask);
  }
  return words;
}

function sum(words: number[]): number {
  return words.reduce(onesAdd, 0);
}

// Maps `address` from prefix `from` to prefix `to` (both "addr/len", equal lengths ≤ 64), per RFC 6296
// §3.2 (outbound) — the inbound mapping is the same function with the prefixes swapped (§3.3).
export function nptv6Map(address: string, from: string, to: string): string {
  const length = Number(from.split('/')[1]);
  if (Number(to.split('/')[1]) !== length || length > 64) throw new Error('oracle handles equal prefix lengths up to /64 only');
  if (!new Address6(address).isInSubnet(new Address6(from))) throw new Error(`${address} is not in ${from}`);
  // §3.1: the adjustment is the one's-complement sum of `from` minus that of `to`.
  const adjustment = onesAdd(sum(prefixWords(from, length)), ~sum(prefixWords(to, length)) & 0xffff);
  const out = addressBytes(address);
  const toBytes = addressBytes(to.split('/')[0]);
  for (let bit = 0; bit < length; bit++) {
    const byte = bit >> 3;
    const m = 0x80 >> (bit & 7);
    out[byte] = (out[byte] & ~m) | (toBytes[byte] & m);
  }
  // §3.4/§3.5: word 3 for /48 and shorter, else the first of words 4..7 that is not 0xFFFF.
  let word = 3;
  if (length > 48) {
    word = [4, 5, 6, 7].find((w) => out.readUInt16BE(w * 2) !== 0xffff) ?? -1;
    if (word < 0) throw new Error(`${address} cannot be translated (words 4..7 are all 0xFFFF)`);
  }
  let v = onesAdd(out.readUInt16BE(word * 2), adjustment);
  if (v === 0xffff) v = 0; // §3.2: 0xFFFF is written as 0x0000
  out.writeUInt16BE(v, word * 2);
  return formatAddress(out);
}
