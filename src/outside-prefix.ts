// An NPTv6 outside prefix that follows an interface (issue 11): {"interface": "wan0", "length": 64, "subnet": 0}
// is the `subnet`-th /length inside the prefix of wan0's stable global address (SLAAC, DHCPv6, or a delegated
// prefix installed on the interface; temporary, deprecated and tentative addresses are skipped, as `ip -6 addr`
// flags them). Read when the configuration is compiled and again whenever the kernel reports an address change
// (native/nfq/address_watch.h, the engine's 'address' events): never polled.
import type { HostFacts } from './host-facts';
import { formatAddress, maskBytes, parseAddress } from './prefix';

export interface OutsideFrom {
  interface: string;
  length: number; // 1..64: the outside prefix's length
  subnet: number; // which /length inside the interface's prefix: 0 .. 2^(length - its length) - 1
}

export interface FollowedPrefix {
  prefix: string | null; // "2001:db8:1::/64", or null: no usable address (outbound traffic is dropped meanwhile)
  address?: string; // the interface address it was taken from, "2001:db8:1::5/60"
  reason?: string; // why there is none
}

// The prefix `from` names on the host now: from the first stable global address (in `ip -6 addr` order) whose
// prefix holds the asked-for subnet, so that a transit /64 beside a delegated /56 does not hide it.
export function followedPrefix(from: OutsideFrom, facts: HostFacts): FollowedPrefix {
  const addresses = facts.interfaceAddresses(from.interface);
  if (addresses === null) return { prefix: null, reason: `interface "${from.interface}" does not exist` };
  const unstable = ['temporary', 'deprecated', 'tentative', 'dadfailed'];
  const candidates = addresses.filter((a) => !a.flags.some((f) => unstable.includes(f)));
  if (candidates.length === 0) {
    return { prefix: null, reason: `interface "${from.interface}" has no stable global IPv6 address (temporary, deprecated and tentative ones are skipped)` };
  }
  let first: FollowedPrefix | null = null;
  for (const a of candidates) {
    const f = { ...subnetOf(parseAddress(a.address, 'address'), a.prefixLength, from), address: `${a.address}/${a.prefixLength}` };
    if (f.prefix !== null) return f;
    first ??= f;
  }
  return first!;
}

// The `subnet`-th /length inside `bytes`/`plen`.
export function subnetOf(bytes: Buffer, plen: number, from: Pick<OutsideFrom, 'length' | 'subnet'>): Omit<FollowedPrefix, 'address'> {
  if (plen > from.length) {
    return { prefix: null, reason: `the interface's prefix is a /${plen}, longer than the configured /${from.length}: ask for "length" ${plen} or more` };
  }
  const bits = from.length - plen;
  if (BigInt(from.subnet) >= 1n << BigInt(bits)) {
    return { prefix: null, reason: `subnet ${from.subnet} does not fit: a /${plen} holds ${2n ** BigInt(bits)} prefixes of length /${from.length}` };
  }
  const out = maskBytes(bytes, plen);
  const high = out.readBigUInt64BE(0) | (BigInt(from.subnet) << BigInt(64 - from.length));
  out.writeBigUInt64BE(high, 0);
  return { prefix: `${formatAddress(out)}/${from.length}` };
}
