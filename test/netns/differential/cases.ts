// The differential test's cases: for each prefix pair and direction, random packets of every protocol the
// translator handles (UDP, TCP, ICMPv6 echo, ICMPv6 errors 1-4 with embedded packets, extension headers),
// plus crafted edge cases where RFC 6296 arithmetic is delicate or where npt66 refuses by design.
import type { Direction } from '../../../src/native';
import {
  icmpEcho,
  icmpError,
  ipv6Packet,
  tcp,
  udp,
  type ExtensionHeader,
  type UpperLayer,
} from './packets';
import { adjustment, addressIn, iidIs, kernelMap, REMOTE, setWord, word, type PrefixPair, type Rng } from './prefixes';

// What the test expects of the kernel and of npt66 for one packet.
export type Expectation =
  // Both translate; the kernel's bytes must equal npt66's (after the router's hop-limit decrement).
  | { kind: 'same' }
  // npt66 refuses the outer address by design (RFC 6296 s3.7/s4.2, anycast, all-ones); the kernel translates it.
  | { kind: 'npt66-refuses-kernel-translates'; reason: string; pointer: number }
  // Both refuse: no word of 4..7 can take the adjustment (RFC 6296 s3.5); the kernel drops and sends a
  // Parameter Problem pointing at the address.
  | { kind: 'both-refuse'; reason: string; pointer: number }
  // An ICMPv6 error npt66 refuses because of its embedded packet (not in the prefix, or truncated); the
  // kernel translates the outer address and leaves the embedded packet as it was.
  | { kind: 'npt66-refuses-kernel-outer-only'; reason: string }
  // An ICMPv6 error behind an extension header: npt66 walks the chain and translates the embedded packet,
  // the kernel looks for ICMPv6 only directly after the IPv6 header and translates the outer address only.
  | { kind: 'npt66-translates-inner-kernel-outer-only' };

export interface Case {
  id: number; // also the packet's flow label: how the packet is found again on the far side
  pair: number;
  direction: Direction;
  category: string;
  packet: Buffer;
  expect: Expectation;
}

const HOP_LIMIT = 64;

// The ICMPv6 errors of RFC 4443 s3 with plausible codes and 32-bit fields.
const ERRORS: Array<{ name: string; type: number; code: (r: Rng) => number; param: (r: Rng) => number }> = [
  { name: 'dest-unreachable', type: 1, code: (r) => r.pick([0, 1, 3, 4, 5, 6]), param: () => 0 },
  { name: 'packet-too-big', type: 2, code: () => 0, param: (r) => 1280 + r.int(221) },
  { name: 'time-exceeded', type: 3, code: (r) => r.int(2), param: () => 0 },
  { name: 'parameter-problem', type: 4, code: (r) => r.int(3), param: (r) => r.int(48) },
];

function remote(rng: Rng): Buffer {
  return addressIn(rng, REMOTE, REMOTE.len);
}

function randomUpper(rng: Rng, kind: 'udp' | 'tcp' | 'echo'): UpperLayer {
  const data = rng.bytes(rng.int(64));
  if (kind === 'udp') return udp(1024 + rng.int(64000), rng.pick([53, 123, 443, 4500, 1024 + rng.int(64000)]), data);
  if (kind === 'tcp') {
    const flags = rng.pick([0x02, 0x12, 0x10, 0x18, 0x11, 0x04]); // SYN, SYN-ACK, ACK, PSH-ACK, FIN-ACK, RST
    return tcp(1024 + rng.int(64000), rng.pick([22, 80, 443, 1024 + rng.int(64000)]), rng.u32(), rng.u32(), flags, data);
  }
  return icmpEcho(rng.chance(0.5) ? 128 : 129, rng.u16(), rng.u16(), data);
}

function randomExt(rng: Rng): ExtensionHeader[] {
  return rng.pick<ExtensionHeader[]>([['hop-by-hop'], ['destination'], ['fragment'], ['hop-by-hop', 'destination']]);
}

export class CaseBuilder {
  readonly cases: Case[] = [];
  private nextId = 1;

  constructor(
    private readonly rng: Rng,
    private readonly pairs: PrefixPair[],
  ) {}

  private add(pair: number, direction: Direction, category: string, packet: Buffer, expect: Expectation): void {
    this.cases.push({ id: packet.readUInt32BE(0) & 0xfffff, pair, direction, category, packet, expect });
  }

  private id(): number {
    if (this.nextId > 0xfffff) throw new Error('more cases than flow labels');
    return this.nextId++;
  }

  // The prefix a packet's translated address comes from, and the longer length L (RFC 6296 s3.7).
  private sides(pair: number, direction: Direction) {
    const p = this.pairs[pair];
    const from = direction === 'outbound' ? p.inside : p.outside;
    const to = direction === 'outbound' ? p.outside : p.inside;
    return { from, to, L: Math.max(from.len, to.len) };
  }

  // A random address of the source side that every RFC 6296 rule accepts (so npt66 must translate it).
  ordinaryAddress(pair: number, direction: Direction): Buffer {
    const { from, L } = this.sides(pair, direction);
    for (;;) {
      const a = addressIn(this.rng, from, L);
      const iid = [4, 5, 6, 7].map((i) => word(a, i));
      if (L <= 48 && word(a, 3) === 0xffff) continue;
      if (iid.every((w) => w === 0xffff) || iid.every((w) => w === 0)) continue;
      return a;
    }
  }

  // Outbound: the translated address is the source, the far end a remote host. Inbound: the reverse.
  private plain(pair: number, direction: Direction, translated: Buffer, upper: UpperLayer, ext?: ExtensionHeader[]) {
    const far = remote(this.rng);
    return ipv6Packet({
      src: direction === 'outbound' ? translated : far,
      dst: direction === 'outbound' ? far : translated,
      flowLabel: this.id(),
      hopLimit: HOP_LIMIT,
      trafficClass: this.rng.pick([0, 0, 0x28, 0xb8]),
      ext,
      upper,
    });
  }

  // An ICMPv6 error about a packet of the same mapping. Outbound (from inside): the invoking packet went to
  // an inside host, so its destination is inside. Inbound (from outside): the invoking packet left through
  // the translator, so its source is an outside address (rfc6296-bis s3.8).
  private icmpErrorPacket(
    pair: number,
    direction: Direction,
    outerAddr: Buffer,
    innerAddr: Buffer,
    opts: { truncateTo?: number; outerExt?: ExtensionHeader[] } = {},
  ) {
    const rng = this.rng;
    const e = rng.pick(ERRORS);
    const far = remote(rng);
    const innerFlow = rng.u32() & 0xfffff;
    const inner = ipv6Packet({
      src: direction === 'outbound' ? remote(rng) : innerAddr,
      dst: direction === 'outbound' ? innerAddr : remote(rng),
      flowLabel: innerFlow,
      hopLimit: 1 + rng.int(64),
      ext: rng.chance(0.3) ? randomExt(rng) : undefined,
      upper: randomUpper(rng, rng.pick(['udp', 'tcp', 'echo'] as const)),
    });
    // Errors carry as much of the invoking packet as fits; cut some short the way a router would not bother to.
    const cut = opts.truncateTo ?? (rng.chance(0.3) ? Math.min(inner.length, 40 + rng.int(inner.length - 39)) : inner.length);
    const invoking = inner.subarray(0, cut);
    return {
      name: e.name,
      packet: ipv6Packet({
        src: direction === 'outbound' ? outerAddr : far,
        dst: direction === 'outbound' ? far : outerAddr,
        flowLabel: this.id(),
        hopLimit: HOP_LIMIT,
        ext: opts.outerExt,
        upper: icmpError(e.type, e.code(rng), e.param(rng), invoking),
      }),
    };
  }

  // `count` random packets both translators must turn into the same bytes.
  addRandom(pair: number, direction: Direction, count: number): void {
    const rng = this.rng;
    for (let i = 0; i < count; i++) {
      const addr = this.ordinaryAddress(pair, direction);
      const roll = rng.int(100);
      if (roll < 45) {
        // Half the errors come from the host itself, half from another host of the same prefix.
        const inner = rng.chance(0.5) ? addr : this.ordinaryAddress(pair, direction);
        const e = this.icmpErrorPacket(pair, direction, addr, inner);
        this.add(pair, direction, `icmp-${e.name}`, e.packet, { kind: 'same' });
      } else {
        const kind = roll < 65 ? 'udp' : roll < 85 ? 'tcp' : 'echo';
        const ext = rng.chance(0.2) ? randomExt(rng) : undefined;
        const category = ext ? `${kind}+${ext.join('+')}` : kind;
        this.add(pair, direction, category, this.plain(pair, direction, addr, randomUpper(rng, kind), ext), { kind: 'same' });
      }
    }
  }

  // Where the RFC 6296 arithmetic is delicate, and where npt66 refuses by design.
  addEdges(pair: number, direction: Direction): void {
    const rng = this.rng;
    const { from, to, L } = this.sides(pair, direction);
    const adj = adjustment(from, to);
    const pointer = direction === 'outbound' ? 8 : 24;
    const udpTo = (addr: Buffer) => this.plain(pair, direction, addr, randomUpper(rng, 'udp'));
    const refused = (reason: string): Expectation => ({ kind: 'npt66-refuses-kernel-translates', reason, pointer });
    // The input word whose adjusted value is 0xFFFF, which both must write as 0x0000 (RFC 6296 s3.2).
    // `adj` is already this direction's adjustment (from minus to), so the same formula serves both ways.
    const toFFFF = ~adj & 0xffff;
    // Crafting is checked against the kernel's algorithm, so an edge case cannot silently miss its edge.
    const crafted = (a: Buffer, property: (mapped: Buffer) => boolean, what: string) => {
      const mapped = kernelMap(from, to, a);
      if (!mapped || !property(mapped)) throw new Error(`crafted ${what} address ${a.toString('hex')} misses its edge`);
      return a;
    };

    if (L > 48) {
      // Leading 0xFFFF words of the interface identifier: the adjustment moves to the next word (s3.5).
      for (const skip of [1, 2, 3]) {
        const a = this.ordinaryAddress(pair, direction);
        for (let w = 4; w < 4 + skip; w++) setWord(a, w, 0xffff);
        if (word(a, 4 + skip) === 0xffff) setWord(a, 4 + skip, 0x1234);
        this.add(pair, direction, `edge-iid-leading-ffff-${skip}`, udpTo(a), { kind: 'same' });
      }
      // The adjusted word comes out 0xFFFF and is written as 0x0000, the rest of the identifier random.
      if (toFFFF !== 0xffff) {
        const a = this.ordinaryAddress(pair, direction);
        setWord(a, 4, toFFFF);
        crafted(a, (m) => word(m, 4) === 0, 'adjusted-ffff');
        this.add(pair, direction, 'edge-adjusted-ffff-to-0', udpTo(a), { kind: 'same' });
        // ... and the rest zero: the result is the subnet-router anycast address, which npt66 refuses.
        const b = this.ordinaryAddress(pair, direction);
        setWord(b, 4, toFFFF);
        for (const w of [5, 6, 7]) setWord(b, w, 0);
        crafted(b, (m) => iidIs(m, 0), 'result-anycast');
        this.add(pair, direction, 'edge-result-anycast', udpTo(b), refused('drop_result_anycast'));
      }
      // All-ones identifier: no word can take the adjustment, both refuse (the kernel with a Parameter Problem).
      const c = this.ordinaryAddress(pair, direction);
      for (const w of [4, 5, 6, 7]) setWord(c, w, 0xffff);
      this.add(pair, direction, 'edge-iid-all-ones', udpTo(c), { kind: 'both-refuse', reason: 'drop_iid_all_ones', pointer });
    } else {
      // Word 3 (the /48 subnet) takes the adjustment; 0xFFFF there aliases subnet 0 and is refused (s4.2).
      if (toFFFF !== 0xffff) {
        const a = this.ordinaryAddress(pair, direction);
        setWord(a, 3, toFFFF);
        crafted(a, (m) => word(m, 3) === 0, 'adjusted-ffff');
        this.add(pair, direction, 'edge-adjusted-ffff-to-0', udpTo(a), { kind: 'same' });
      }
      const b = this.ordinaryAddress(pair, direction);
      setWord(b, 3, 0xffff);
      this.add(pair, direction, 'edge-subnet-ffff', udpTo(b), refused('drop_subnet_ffff'));
      // The interface identifier is left alone, so an all-ones one stays all-ones: refused, not guessed.
      const c = this.ordinaryAddress(pair, direction);
      for (const w of [4, 5, 6, 7]) setWord(c, w, 0xffff);
      this.add(pair, direction, 'edge-iid-all-ones', udpTo(c), refused('drop_iid_all_ones'));
    }
    // The subnet-router anycast address as input (npt66 keeps the mapping a bijection by refusing it too).
    const z = this.ordinaryAddress(pair, direction);
    for (const w of [4, 5, 6, 7]) setWord(z, w, 0);
    this.add(pair, direction, 'edge-input-anycast', udpTo(z), refused('drop_result_anycast'));

    // Mixed lengths, the source side shorter: an address in its prefix but not in the zero-extended one.
    if (from.len < L) {
      for (let i = 0; i < 2; i++) {
        const a = this.ordinaryAddress(pair, direction);
        const bitIndex = from.len + rng.int(L - from.len);
        a[bitIndex >> 3] |= 0x80 >> (bitIndex & 7);
        this.add(pair, direction, 'edge-outside-zero-extended-prefix', udpTo(a), refused('drop_outside_mapped_range'));
      }
    }

    // ICMPv6 errors whose embedded packet npt66 refuses and the kernel leaves alone.
    const host = this.ordinaryAddress(pair, direction);
    const e1 = this.icmpErrorPacket(pair, direction, host, remote(rng));
    this.add(pair, direction, `edge-icmp-inner-not-in-prefix`, e1.packet, {
      kind: 'npt66-refuses-kernel-outer-only',
      reason: 'drop_icmp_inner_not_in_prefix',
    });
    const e2 = this.icmpErrorPacket(pair, direction, host, this.ordinaryAddress(pair, direction), { truncateTo: 24 + rng.int(16) });
    this.add(pair, direction, `edge-icmp-inner-truncated`, e2.packet, {
      kind: 'npt66-refuses-kernel-outer-only',
      reason: 'drop_icmp_inner_truncated',
    });
    // ICMPv6 error behind a Destination Options header.
    const e3 = this.icmpErrorPacket(pair, direction, host, this.ordinaryAddress(pair, direction), { outerExt: ['destination'] });
    this.add(pair, direction, `edge-icmp-${e3.name}-after-ext-header`, e3.packet, { kind: 'npt66-translates-inner-kernel-outer-only' });
  }
}
