// IPv6 prefixes and addresses: parsed with ip-address (Address6), held as 16 bytes, printed in RFC 5952 form.
import { Address6 } from 'ip-address';

import { invalidArgument, Npt66Error } from './errors';

export interface ParsedPrefix {
  text: string; // canonical (RFC 5952) form, e.g. "fd00::/64"
  bytes: Buffer; // 16 bytes, host bits zero
  length: number; // 0..128
}

// A validator's error: configuration fields get ERR_NPT66_CONFIG, API arguments ERR_NPT66_INVALID_ARG.
export type ErrorMaker = (field: string, message: string) => Npt66Error;

function parse(text: unknown, field: string, example: string, fail: ErrorMaker): Address6 {
  if (typeof text !== 'string') throw fail(field, `must be a string like ${example}, got ${describe(text)}`);
  if (text.trim() !== text || text === '') throw fail(field, `${JSON.stringify(text)} is not an IPv6 ${kind(example)}; write it like ${example}, without spaces`);
  if (text.includes('%')) {
    throw fail(field, `${JSON.stringify(text)} has a zone index (%...); zones belong to link-local addresses, which npt66 does not translate; remove it`);
  }
  try {
    return new Address6(text);
  } catch {
    throw fail(field, `${JSON.stringify(text)} is not a valid IPv6 ${kind(example)}; write it like ${example}`);
  }
}

function kind(example: string): string {
  return example.includes('/') ? 'prefix' : 'address';
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

function toBytes(a: Address6): Buffer {
  // bigInt() rather than toUnsignedByteArray(), which drops leading zero bytes.
  const out = Buffer.alloc(16);
  out.writeBigUInt64BE(a.bigInt() >> 64n, 0);
  out.writeBigUInt64BE(a.bigInt() & 0xffff_ffff_ffff_ffffn, 8);
  return out;
}

// Zeroes every bit after the first `length` bits.
export function maskBytes(bytes: Buffer, length: number): Buffer {
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i));
    out[i] = bytes[i]! & ((0xff00 >> keep) & 0xff);
  }
  return out;
}

// "fd00::/64" -> {text, bytes, length}. Refuses a missing length and host bits, suggesting the network address.
export function parsePrefix(text: string, field: string, fail: ErrorMaker = invalidArgument): ParsedPrefix {
  const example = 'fd00:1:2:3::/64';
  const a = parse(text, field, example, fail);
  if (!text.includes('/')) {
    throw fail(field, `"${text}" has no prefix length; write it as a prefix, e.g. ${formatAddress(toBytes(a))}/64`);
  }
  const length = a.subnetMask;
  const bytes = toBytes(a);
  const network = maskBytes(bytes, length);
  if (!network.equals(bytes)) {
    throw fail(field, `"${text}" has host bits set; did you mean ${formatAddress(network)}/${length}?`);
  }
  return { text: `${formatAddress(bytes)}/${length}`, bytes, length };
}

// "fd00::1" -> 16 bytes. A "/128" suffix is tolerated; any other length means a prefix was given.
export function parseAddress(text: string, field: string, fail: ErrorMaker = invalidArgument): Buffer {
  const a = parse(text, field, 'fd00:1:2:3::1', fail);
  if (text.includes('/') && a.subnetMask !== 128) {
    throw fail(field, `"${text}" is a prefix; give a single address, e.g. ${formatAddress(toBytes(a))}`);
  }
  return toBytes(a);
}

// RFC 5952 s4: lowercase, no leading zeros, the longest run (first if tied) of two or more zero words as "::".
export function formatAddress(bytes: Buffer): string {
  if (!Buffer.isBuffer(bytes) || bytes.length !== 16) {
    throw invalidArgument('address', 'must be a 16-byte Buffer');
  }
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(bytes.readUInt16BE(i));
  let bestStart = -1;
  let bestLength = 1; // s4.2.2: a single zero word is never shortened
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`;
}
