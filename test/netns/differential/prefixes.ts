// Random prefix pairs and addresses for the kernel differential test, a seeded generator so a failing run can
// be repeated (NPT66_DIFF_SEED), and a model of what the kernel's ip6t_NPT does to one address.
import { fold16, sum16 } from '../lib/inet_checksum';

// mulberry32: small, fast, good enough to spread test cases; seeded so runs are repeatable.
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  u16(): number {
    return this.u32() & 0xffff;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

export interface Prefix {
  addr: Buffer; // 16 bytes, host bits zero
  len: number;
}

export interface PrefixPair {
  inside: Prefix;
  outside: Prefix;
}

export function word(a: Buffer, i: number): number {
  return a.readUInt16BE(2 * i);
}

export function setWord(a: Buffer, i: number, w: number): void {
  a.writeUInt16BE(w & 0xffff, 2 * i);
}

// Full, uncompressed form (valid for ip6tables and readable in failure messages).
export function formatAddress(a: Buffer): string {
  const words: string[] = [];
  for (let i = 0; i < 8; i++) words.push(word(a, i).toString(16));
  return words.join(':');
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.addr)}/${p.len}`;
}

function bit(a: Buffer, i: number): number {
  return (a[i >> 3] >> (7 - (i & 7))) & 1;
}

function setBit(a: Buffer, i: number, v: number): void {
  if (v) a[i >> 3] |= 0x80 >> (i & 7);
  else a[i >> 3] &= ~(0x80 >> (i & 7));
}

// True if the first `len` bits of a and b are equal.
export function samePrefix(a: Buffer, b: Buffer, len: number): boolean {
  for (let i = 0; i < len; i++) if (bit(a, i) !== bit(b, i)) return false;
  return true;
}

export function inPrefix(a: Buffer, p: Prefix): boolean {
  return samePrefix(a, p.addr, p.len);
}

function overlaps(a: Prefix, b: Prefix): boolean {
  return samePrefix(a.addr, b.addr, Math.min(a.len, b.len));
}

// A prefix of length `len` whose first `fixedBits` bits are `base`'s, the rest random, host bits zero.
function randomPrefix(rng: Rng, base: Buffer, fixedBits: number, len: number): Prefix {
  const addr = Buffer.alloc(16);
  const r = rng.bytes(16);
  for (let i = 0; i < len; i++) setBit(addr, i, i < fixedBits ? bit(base, i) : bit(r, i));
  return { addr, len };
}

const ULA = Buffer.from('fc000000000000000000000000000000', 'hex'); // fc00::/7: inside prefixes
const GLOBAL = Buffer.from('20000000000000000000000000000000', 'hex'); // 2000::/3: outside prefixes
// Remote hosts live in 2001:db8:0::/48; the router's own addresses in 2001:db8:ffff::/48.
export const REMOTE = { addr: Buffer.from('20010db8000000000000000000000000', 'hex'), len: 48 };
export const RESERVED = { addr: Buffer.from('20010db8000000000000000000000000', 'hex'), len: 32 };

// `lengths` pairs of (inside, outside) lengths; all 2n prefixes pairwise disjoint, so that exactly one
// SNPT or DNPT rule (and one npt66 mapping) can match a packet, before and after translation.
export function randomPairs(rng: Rng, lengths: Array<[number, number]>): PrefixPair[] {
  const taken: Prefix[] = [RESERVED];
  const fresh = (base: Buffer, fixed: number, len: number): Prefix => {
    for (;;) {
      const p = randomPrefix(rng, base, fixed, len);
      if (!taken.some((t) => overlaps(t, p))) {
        taken.push(p);
        return p;
      }
    }
  };
  return lengths.map(([il, ol]) => ({ inside: fresh(ULA, 7, il), outside: fresh(GLOBAL, 3, ol) }));
}

// An address in `p`, zero between p.len and L (RFC 6296 s3.7: the shorter prefix is zero-extended to L),
// random after L.
export function addressIn(rng: Rng, p: Prefix, L: number): Buffer {
  const a = rng.bytes(16);
  for (let i = 0; i < L; i++) setBit(a, i, i < p.len ? bit(p.addr, i) : 0);
  return a;
}

export function iidIs(a: Buffer, w: number): boolean {
  return [4, 5, 6, 7].every((i) => word(a, i) === w);
}

// RFC 6296 s3.1 / the kernel's checkentry: one's-complement sum of the whole inside prefix minus the outside's.
export function adjustment(from: Prefix, to: Prefix): number {
  return fold16(sum16(from.addr) + (~fold16(sum16(to.addr)) & 0xffff));
}

export function onesAdd(a: number, b: number): number {
  return fold16(a + b);
}

// What the kernel's ip6t_npt_map_pfx does (net/ipv6/netfilter/ip6t_NPT.c): overwrite the first L bits with
// the target prefix whatever they were (it never checks that the address is inside the source prefix, nor
// the zero-extension bits), add the adjustment to word 3 (L <= 48, no 0xFFFF check) or to the first word of
// 4..7 that is not 0xFFFF (none: refused), write 0xFFFF as 0. No check of the resulting interface identifier.
export function kernelMap(from: Prefix, to: Prefix, a: Buffer): Buffer | null {
  const L = Math.max(from.len, to.len);
  const r = Buffer.from(a);
  for (let i = 0; i < L; i++) setBit(r, i, bit(to.addr, i));
  let idx = 3;
  if (L > 48) {
    idx = 4;
    while (idx < 8 && word(r, idx) === 0xffff) idx++;
    if (idx === 8) return null;
  }
  let w = onesAdd(word(r, idx), adjustment(from, to));
  if (w === 0xffff) w = 0;
  setWord(r, idx, w);
  return r;
}
