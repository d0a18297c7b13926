// NPTv6 mapping validation: every rule of RFC 6296 deployment that can be checked before a packet arrives,
// with a message naming the field and the fix. The native compile (PrefixTable::compile) checks again.
import { configError } from './errors';
import { formatAddress, maskBytes, parsePrefix, type ParsedPrefix } from './prefix';

export interface Nptv6Mapping {
  inside: string; // the prefix inside hosts use, e.g. "fd5a:ceb9:ed8d:fe0a::/64"
  // The prefix routed to this gateway from outside, e.g. "2001:db8:ff66::/64"; null: it follows an interface that
  // has no usable address yet, and outbound traffic from `inside` is dropped (drop_no_outside_prefix).
  outside: string | null;
  // The outside interface. One inside prefix may have several entries when their interfaces differ (several
  // uplinks, RFC 6296 s2.4): the packet's output interface picks the entry.
  interface?: string;
}

// Ranges that can never be an NPTv6 prefix, and why.
const REFUSED_RANGES: { prefix: string; why: (text: string) => string }[] = [
  { prefix: 'ff00::/8', why: (t) => `"${t}" is multicast (ff00::/8); NPTv6 translates unicast prefixes only` },
  {
    prefix: 'fe80::/10',
    why: (t) => `"${t}" is link-local (fe80::/10); link-local traffic never leaves its link (RFC 4291 s2.5.6), so it is never translated`,
  },
];

const FIX_KIND = 'use a global unicast (2000::/3) or unique-local (fd00::/8) prefix';

function overlaps(a: ParsedPrefix, b: ParsedPrefix): boolean {
  const l = Math.min(a.length, b.length);
  return maskBytes(a.bytes, l).equals(maskBytes(b.bytes, l));
}

function show(p: ParsedPrefix): string {
  return p.text;
}

function checkKind(p: ParsedPrefix, field: string): void {
  const zero = p.bytes.every((b) => b === 0);
  if (p.length === 128 && p.bytes.equals(Buffer.from('00000000000000000000000000000001', 'hex'))) {
    throw configError(field, `"${p.text}" is the loopback address; it never crosses a gateway; ${FIX_KIND}`);
  }
  if (zero) {
    throw configError(
      field,
      `"${p.text}" contains the unspecified address :: (and the loopback ::1), which are never translated; ${FIX_KIND}`,
    );
  }
  for (const r of REFUSED_RANGES) {
    const range = parsePrefix(r.prefix, 'range', configError);
    if (overlaps(p, range)) throw configError(field, `${r.why(p.text)}; ${FIX_KIND}`);
  }
}

function checkLength(p: ParsedPrefix, field: string): void {
  if (p.length > 64) {
    const net64 = `${formatAddress(maskBytes(p.bytes, 64))}/64`;
    throw configError(
      field,
      `"${p.text}" is longer than /64; NPTv6 (RFC 6296) rewrites only the routing prefix and leaves the 64-bit interface identifier alone, so prefixes can be at most /64: use ${net64}`,
    );
  }
}

function parseSide(m: unknown, i: number, side: 'inside' | 'outside', base: string): ParsedPrefix {
  const field = `${base}[${i}].${side}`;
  const text = (m as Record<string, unknown>)[side];
  if (text === undefined) {
    throw configError(field, `is missing; each mapping needs "inside" and "outside" prefixes, e.g. {"inside":"fd00:1::/64","outside":"2001:db8:1::/64"}`);
  }
  const p = parsePrefix(text as string, field, configError);
  checkKind(p, field);
  checkLength(p, field);
  return p;
}

// The two halves of the prefix one bit shorter than `p`: a concrete way to give two inside prefixes their own outside.
function halves(p: ParsedPrefix): string {
  const parent = maskBytes(p.bytes, p.length - 1);
  const upper = Buffer.from(parent);
  const bit = p.length - 1;
  upper[bit >> 3] = upper[bit >> 3]! | (0x80 >> (bit & 7));
  return `split ${formatAddress(parent)}/${p.length - 1} into ${formatAddress(parent)}/${p.length} and ${formatAddress(upper)}/${p.length}`;
}

// Validates and converts to the addon's form. Throws Npt66Error (ERR_NPT66_CONFIG) naming the field and the fix.
// A validated mapping in the form the addon compiles: prefixes as 16-byte Buffers plus their lengths.
export interface CompiledNptv6Mapping {
  inside: Buffer;
  insideLength: number;
  outside: Buffer; // all zeros when noOutside
  outsideLength: number;
  noOutside?: true; // no outside prefix yet: outbound is dropped (drop_no_outside_prefix), inbound matches nothing
  interface?: string; // the outside interface (picks among several uplinks by the packet's output interface)
}

export function validateNptv6(mappings: readonly Nptv6Mapping[], field = 'nptv6'): CompiledNptv6Mapping[] {
  if (!Array.isArray(mappings)) {
    throw configError(field, `must be an array of {"inside": PREFIX, "outside": PREFIX} mappings`);
  }
  const parsed: { inside: ParsedPrefix; outside: ParsedPrefix | null; iface: string | undefined }[] = [];
  // Inside prefixes must not overlap, except one prefix repeated for several uplinks (different interfaces).
  const checkInsides = (inside: ParsedPrefix, iface: string | undefined, other: (typeof parsed)[number], j: number) => {
    if (!overlaps(inside, other.inside)) return;
    const same = inside.length === other.inside.length && inside.bytes.equals(other.inside.bytes);
    if (same && iface !== undefined && other.iface !== undefined && iface !== other.iface) return;
    throw configError(
      `${field}[${parsed.length}].inside`,
      same && iface !== undefined && iface === other.iface
        ? `${show(inside)} is already mapped by ${field}[${j}] on interface "${iface}": one inside prefix may have several entries only for different uplinks (RFC 6296 s2.4), one per outside interface; remove one of them or give it its own interface`
        : `${show(inside)} overlaps ${field}[${j}].inside (${show(other.inside)}): an outbound packet from the common addresses would match both mappings; remove one of them or use non-overlapping inside prefixes (the same inside prefix may appear again only with another interface: several uplinks)`,
    );
  };
  mappings.forEach((m: unknown, i) => {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) {
      throw configError(`${field}[${i}]`, `must be an object like {"inside":"fd00:1::/64","outside":"2001:db8:1::/64"}`);
    }
    const inside = parseSide(m, i, 'inside', field);
    const here = `${field}[${i}]`;
    const iface = (m as Nptv6Mapping).interface;
    if ((m as Nptv6Mapping).outside === null) {
      parsed.forEach((other, j) => checkInsides(inside, iface, other, j));
      parsed.push({ inside, outside: null, iface });
      return;
    }
    const outside = parseSide(m, i, 'outside', field);

    if (inside.length === outside.length && inside.bytes.equals(outside.bytes)) {
      throw configError(
        `${here}.outside`,
        `inside and outside are both ${show(inside)}, so there is nothing to translate; set "outside" to the prefix your upstream routes to this gateway`,
      );
    }
    if (overlaps(inside, outside)) {
      throw configError(
        `${here}.outside`,
        `${show(outside)} overlaps its own inside prefix ${show(inside)}: translated addresses would fall back into the inside prefix and be translated again; use an outside prefix disjoint from the inside one`,
      );
    }
    parsed.forEach((other, j) => {
      checkInsides(inside, iface, other, j);
      if (other.outside && overlaps(outside, other.outside)) {
        const same = outside.length === other.outside.length && outside.bytes.equals(other.outside.bytes);
        const what = same ? `is already the outside prefix of ${field}[${j}]` : `overlaps ${field}[${j}].outside (${show(other.outside)})`;
        const split = same ? halves(outside) : 'split a shorter prefix into one part per inside prefix';
        throw configError(
          `${here}.outside`,
          `${show(outside)} ${what}, whose inside prefix is ${show(other.inside)}. ` +
            `Two inside prefixes (${show(other.inside)} and ${show(inside)}) cannot share one outside prefix: NPTv6 is stateless (RFC 6296), ` +
            `so an inbound packet to ${show(outside)} carries nothing that tells which inside prefix it belongs to, and replies could not be delivered. ` +
            `Give each inside prefix its own outside prefix (e.g. ${split}, or use two /64s routed to this gateway), or use masquerade (NAT66) for one of them.`,
        );
      }
    });
    parsed.push({ inside, outside, iface });
  });
  return parsed.map(({ inside, outside, iface }) => ({
    inside: inside.bytes,
    insideLength: inside.length,
    outside: outside ? outside.bytes : Buffer.alloc(16),
    outsideLength: outside ? outside.length : 0,
    ...(outside ? {} : { noOutside: true }),
    ...(iface !== undefined ? { interface: iface } : {}),
  }));
}
