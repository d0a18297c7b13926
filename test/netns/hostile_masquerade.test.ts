// Issue 9, "malformed and hostile traffic through a live gateway", masquerade: crafted packets (pktio, AF_PACKET)
// from outside (r1, to the host's MAC) to the masquerade address and the outside port of a live UDP mapping of
// c1's, and from inside to fill the per-/64 limit and the table, through a live `npt66 run`. c1's flow and the
// new flows are crafted too, so every byte is known. Each case is followed by a marker (a plain reply on c1's
// mapping): once it reached c1, every packet before it was translated or dropped. Asserted per case: what reached
// c1, the counter that names the verdict (and no other drop), the daemon still answering `stats`, and what the
// host sent on the outside wire (c1's own Port Unreachable about the marker among it) holds no inside address,
// quoted ones included.
//
// Cases: 8 and 9 Destination Options headers (drop_bad_ext_header beyond 8); a 2 KB Hop-by-Hop header (translated,
// checksum updated); ICMPv6 errors quoting 39 bytes (drop_icmp_inner_truncated), an IPv6 header and 2 bytes of
// UDP (drop_nat66_inner_truncated), an ICMPv6 error (not a kind masquerade maps: left to the host,
// nat66_inbound_unmapped), c1's flow with a wrong checksum (drop_nat66_icmp_bad_checksum) and with a right one
// (translated back to c1); then maxPerHost64 4 and maxMappings 6: c1's /64 at its limit is refused
// (drop_nat66_host_limit, answered administratively prohibited) while c3 in a second /64 still gets mappings until
// the table is full (drop_nat66_table_full); old flows keep working.
// The kernel's MASQUERADE has no such table or counters: under NPT66_NETNS_TRANSLATOR=kernel this file is skipped
// (hostile_nptv6.test.ts compares with the kernel's SNPT/DNPT).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../src/netns';
import { findPktio, PktIo } from './differential/pktio';
import { checksumValid, destinationOptions, hopByHop, icmpError, macOf, setMtu, udpPacket, type PacketSpec } from './lib/crafted_packets';
import { CHECKSUM_VALID, pseudoHeaderSum } from './lib/inet_checksum';
import { addressBytes, decodeIpv6, describe as describePacket, inPrefix, IPPROTO_UDP, type DecodedIpv6 } from './lib/ipv6_decode';
import { growth } from './lib/npt66_daemon';
import { ADDR, HOST_BRIDGE, HOST_OUTSIDE_IF, MasqLab, SOURCE_PREFIX } from './masq/masq_lab';
import { Npt66Masquerade, npt66Counters, translatorKindUnderTest, waitForMapping } from './masq/translator';

const isRoot = process.getuid?.() === 0;
const SECOND_PREFIX = 'fd5a:ceb9:ed8d:2::/64'; // a second inside /64, on the same bridge
const C3_SECOND = 'fd5a:ceb9:ed8d:2::4';
const MAX_PER_HOST64 = 4;
const MAX_MAPPINGS = 6;
const BIG_MTU = 4000; // carries the 2 KB Hop-by-Hop header
const C1_PORT = 40000;
const REMOTE_PORT = 5300;
const ND_MLD = new Set([130, 131, 132, 133, 134, 135, 136, 137, 143]);
const ADMIN_PROHIBITED = 1;

const insidePrefixes = [SOURCE_PREFIX, SECOND_PREFIX];
const hasInside = (d: DecodedIpv6) => [d.src, d.dst, ...(d.embedded ? [d.embedded.src, d.embedded.dst] : [])].some((a) => insidePrefixes.some((p) => inPrefix(a, p)));
const drops = (grown: Record<string, number>) => Object.fromEntries(Object.entries(grown).filter(([k]) => k.startsWith('drop_')));
const isMarker = (d: DecodedIpv6, n: number) => d.dstPort === C1_PORT && d.l4.subarray(8).toString() === `marker ${n}`;
// The UDP checksum of a received packet (past any extension header) verifies.
const udpChecksumValid = (d: DecodedIpv6) => pseudoHeaderSum(addressBytes(d.src), addressBytes(d.dst), IPPROTO_UDP, d.l4) === CHECKSUM_VALID;

interface Seen {
  inside: DecodedIpv6[]; // what reached c1 besides the marker (ND/MLD left out)
  insideRaw: Buffer[];
  leaks: string[];
  grown: Record<string, number>;
}

describe('hostile traffic through the masquerade (npt66)', { skip: (!isRoot && 'needs root (network namespaces)') || (translatorKindUnderTest() === 'kernel' && 'npt66’s verdicts and counters: the kernel’s MASQUERADE has none') }, () => {
  let lab: MasqLab | undefined;
  let t: Npt66Masquerade | undefined;
  const io: Partial<Record<'r1' | 'c1' | 'c3', PktIo>> = {};
  const sent = { r1: 0, c1: 0, c3: 0 }; // pktio's totals are cumulative
  let outsidePort = 0; // c1's mapping
  let markers = 0;

  before(async () => {
    lab = await MasqLab.create('nx-hm-');
    const topo = lab.topology;
    await setMtu(topo, [['r1', 'eth0'], ['host', HOST_OUTSIDE_IF], ['c1', 'eth0'], ['c2', 'eth0'], ['c3', 'eth0'], ['host', 'v-c1'], ['host', 'v-c2'], ['host', 'v-c3'], ['host', HOST_BRIDGE]], BIG_MTU);
    await topo.ns('host').exec(['ip', '-6', 'addr', 'add', 'fd5a:ceb9:ed8d:2::1/64', 'dev', HOST_BRIDGE, 'nodad']);
    await topo.ns('c3').exec(['ip', '-6', 'addr', 'add', `${C3_SECOND}/64`, 'dev', 'eth0', 'nodad']);
    // The remote swallows the crafted flows (no Port Unreachable back to the containers to tell apart).
    await topo.ns('out').ip6tables(['-A', 'INPUT', '-p', 'udp', '--dport', String(REMOTE_PORT), '-j', 'DROP']);
    t = new Npt66Masquerade(lab, 'hostile-m');
    const config = t.config({ maxPerHost64: MAX_PER_HOST64, maxMappings: MAX_MAPPINGS });
    (config.masquerade[0] as { source: unknown }).source = insidePrefixes;
    await t.launch(config);
    const bridgeMac = await macOf(topo, 'host', HOST_BRIDGE);
    io.r1 = await PktIo.start(topo, 'r1', 'eth0', await macOf(topo, 'host', HOST_OUTSIDE_IF), findPktio());
    io.c1 = await PktIo.start(topo, 'c1', 'eth0', bridgeMac, findPktio());
    io.c3 = await PktIo.start(topo, 'c3', 'eth0', bridgeMac, findPktio());
    // c1's flow: one datagram out makes the mapping whose outside port the hostile packets aim at.
    await send('c1', [udpPacket({ src: ADDR.c1, dst: ADDR.out }, C1_PORT, REMOTE_PORT, 'c1 opens')]);
    outsidePort = (await waitForMapping(t, 'c1’s mapping', (m) => m.inside === ADDR.c1 && m.insidePort === C1_PORT)).outsidePort;
    await io.r1.drain(1, 5000, 200); // c1's datagram on the outside wire
  });
  after(async () => {
    for (const p of Object.values(io)) p.close();
    await t?.dispose();
    lab?.destroy();
  });

  async function send(from: 'r1' | 'c1' | 'c3', packets: Buffer[]): Promise<void> {
    io[from]!.send(packets);
    sent[from] += packets.length;
    assert.deepEqual(await io[from]!.sync(), { sent: sent[from], failed: 0 }, `pktio on ${from} sent every packet (MTU)`);
  }

  const fromOut = (): PacketSpec => ({ src: ADDR.out, dst: ADDR.host });
  // What c1's flow looks like outside, as an error would quote it: host:outsidePort -> out.
  const quotedC1 = () => udpPacket({ src: ADDR.host, dst: ADDR.out }, outsidePort, REMOTE_PORT, 'c1 opens');

  // Sends `hostile` from outside, then the marker; `delivered` of the hostile packets should reach c1.
  async function probe(hostile: Buffer[], delivered: number): Promise<Seen> {
    const before = (await npt66Counters(t!))!;
    const n = ++markers;
    await send('r1', [...hostile, udpPacket(fromOut(), REMOTE_PORT, outsidePort, `marker ${n}`)]);
    const arrived = (await io.c1!.drain(delivered + 1, 5000, 300)).map((raw) => ({ raw, d: decodeIpv6(raw)! })).filter((p) => p.d && !ND_MLD.has(p.d.icmpType ?? -1));
    assert.ok(arrived.some((p) => isMarker(p.d, n)), `the marker reached c1: ${arrived.map((p) => describePacket(p.d)).join('; ')}`);
    const others = arrived.filter((p) => !isMarker(p.d, n));
    const wire = (await io.r1!.drain(1, 3000, 300)).map((raw) => decodeIpv6(raw)).filter((d): d is DecodedIpv6 => d !== null);
    // c1 answers the marker (no socket on its port) with Port Unreachable, mapped out: the wire check sees a quote.
    const answer = wire.filter((d) => d.icmpType === 1 && d.icmpCode === 4 && d.embedded?.l4.subarray(8).toString() === `marker ${n}`);
    assert.equal(answer.length, 1, `c1's Port Unreachable about the marker crossed the outside wire: ${wire.map(describePacket).join('; ')}`);
    const after = (await npt66Counters(t!))!; // the daemon still answers
    assert.ok(t!.running(), 'npt66 still runs');
    return { inside: others.map((p) => p.d), insideRaw: others.map((p) => p.raw), leaks: wire.filter(hasInside).map(describePacket), grown: growth(before, after) };
  }

  function assertDropped(seen: Seen, reason: string): void {
    assert.deepEqual(seen.inside.map(describePacket), [], 'c1 never saw it');
    assert.deepEqual(drops(seen.grown), { [reason]: 1 }, JSON.stringify(seen.grown));
    assert.deepEqual(seen.leaks, [], 'no inside address from the host on the outside wire');
  }

  function assertTranslated(seen: Seen, counter: string, count: number): void {
    assert.deepEqual([drops(seen.grown), seen.grown[counter]], [{}, count], JSON.stringify(seen.grown));
    assert.deepEqual(seen.leaks, [], 'no inside address from the host on the outside wire');
  }

  test('8 Destination Options headers: translated', async () => {
    const seen = await probe([udpPacket({ ...fromOut(), ext: Array.from({ length: 8 }, destinationOptions) }, REMOTE_PORT, outsidePort, 'eight')], 1);
    assert.deepEqual(seen.inside.map((d) => [d.dst, d.dstPort]), [[ADDR.c1, C1_PORT]]);
    assert.ok(udpChecksumValid(seen.inside[0]!), 'its UDP checksum verifies');
    assertTranslated(seen, 'nat66_inbound', 2);
  });

  test('9 Destination Options headers: dropped (drop_bad_ext_header)', async () => {
    assertDropped(await probe([udpPacket({ ...fromOut(), ext: Array.from({ length: 9 }, destinationOptions) }, REMOTE_PORT, outsidePort, 'nine')], 0), 'drop_bad_ext_header');
  });

  // c1's Port Unreachable about it quotes what fits in 1280 bytes (RFC 4443 s2.4(c)): the quote ends inside the
  // Hop-by-Hop header, no port to map it back by, so it is dropped (drop_nat66_inner_truncated), not sent with c1's
  // address in the quote.
  test('a 2 KB Hop-by-Hop header: well formed, translated, checksum updated; c1’s error about it cannot be mapped out', async () => {
    const packet = udpPacket({ ...fromOut(), ext: [hopByHop(2048)] }, REMOTE_PORT, outsidePort, 'big hop-by-hop');
    const seen = await probe([packet], 1);
    assert.deepEqual(seen.inside.map((d) => [d.dst, d.dstPort]), [[ADDR.c1, C1_PORT]]);
    assert.equal(seen.insideRaw[0]!.length, packet.length, 'arrived whole');
    assert.ok(udpChecksumValid(seen.inside[0]!), 'its UDP checksum verifies');
    assert.deepEqual([drops(seen.grown), seen.grown.nat66_inbound, seen.grown.nat66_icmp_error_outbound], [{ drop_nat66_inner_truncated: 1 }, 2, 1], JSON.stringify(seen.grown));
    assert.deepEqual(seen.leaks, [], 'no inside address from the host on the outside wire');
  });

  test('an ICMPv6 error quoting 39 bytes: dropped (drop_icmp_inner_truncated)', async () => {
    assertDropped(await probe([icmpError(fromOut(), 1, 3, quotedC1().subarray(0, 39))], 0), 'drop_icmp_inner_truncated');
  });

  test('an ICMPv6 error quoting an IPv6 header and 2 bytes of UDP: dropped (drop_nat66_inner_truncated)', async () => {
    assertDropped(await probe([icmpError(fromOut(), 1, 3, quotedC1().subarray(0, 42))], 0), 'drop_nat66_inner_truncated');
  });

  test('an ICMPv6 error quoting an ICMPv6 error: no mapping is for it, left to the host (nat66_inbound_unmapped)', async () => {
    const innerError = icmpError({ src: ADDR.host, dst: ADDR.out }, 3, 0, quotedC1());
    const seen = await probe([icmpError(fromOut(), 1, 3, innerError)], 0);
    assert.deepEqual(seen.inside.map(describePacket), [], 'c1 never saw it');
    assertTranslated(seen, 'nat66_inbound_unmapped', 1);
  });

  test('an ICMPv6 error about c1’s flow with a wrong checksum: dropped (drop_nat66_icmp_bad_checksum)', async () => {
    assertDropped(await probe([icmpError({ ...fromOut(), badChecksum: true }, 1, 3, quotedC1())], 0), 'drop_nat66_icmp_bad_checksum');
  });

  test('the same error with a right checksum: translated back to c1', async () => {
    const seen = await probe([icmpError(fromOut(), 1, 3, quotedC1())], 1);
    assert.deepEqual(seen.inside.map((d) => [d.dst, d.icmpType, d.embedded?.src, d.embedded?.srcPort]), [[ADDR.c1, 1, ADDR.c1, C1_PORT]]);
    assert.ok(checksumValid(seen.insideRaw[0]!), 'its checksum, recomputed, verifies');
    assertTranslated(seen, 'nat66_icmp_error_inbound', 1);
  });

  test(`maxPerHost64 ${MAX_PER_HOST64}, maxMappings ${MAX_MAPPINGS}: c1’s /64 refused at its limit, c3’s second /64 mapped until the table is full, old flows work`, async () => {
    const before = (await npt66Counters(t!))!;
    const out = (src: string, port: number) => udpPacket({ src, dst: ADDR.out }, port, REMOTE_PORT, `new flow ${port}`);
    const live = async (n: number) => waitFor(`${n} live mappings`, async () => (await t!.mappings()).length === n);

    // c1's /64 to its limit (c1 holds one already), then one more.
    await send('c1', [out(ADDR.c1, C1_PORT + 1), out(ADDR.c1, C1_PORT + 2), out(ADDR.c1, C1_PORT + 3)]);
    await live(MAX_PER_HOST64);
    await send('c1', [out(ADDR.c1, C1_PORT + 4)]);
    const atC1 = (await io.c1!.drain(1, 5000, 300)).map((raw) => decodeIpv6(raw)!).filter((d) => !ND_MLD.has(d.icmpType ?? -1));
    assert.deepEqual(atC1.map((d) => [d.icmpType, d.icmpCode, d.embedded?.src, d.embedded?.srcPort]), [[1, ADMIN_PROHIBITED, ADDR.c1, C1_PORT + 4]], 'c1 is told: administratively prohibited');

    // c3, from the second /64, still gets mappings, until the table is full.
    await send('c3', [out(C3_SECOND, 41000), out(C3_SECOND, 41001)]);
    await live(MAX_MAPPINGS);
    await send('c3', [out(C3_SECOND, 41002)]);
    const atC3 = (await io.c3!.drain(1, 5000, 300)).map((raw) => decodeIpv6(raw)!).filter((d) => !ND_MLD.has(d.icmpType ?? -1));
    assert.deepEqual(atC3.map((d) => [d.icmpType, d.icmpCode, d.embedded?.src, d.embedded?.srcPort]), [[1, ADMIN_PROHIBITED, C3_SECOND, 41002]], 'c3 is told: administratively prohibited');

    const mappings = await t!.mappings();
    assert.deepEqual(
      mappings.map((m) => `${m.inside} ${m.insidePort}`).sort(),
      [...[0, 1, 2, 3].map((i) => `${ADDR.c1} ${C1_PORT + i}`), `${C3_SECOND} 41000`, `${C3_SECOND} 41001`].sort(),
    );
    const grown = growth(before, (await npt66Counters(t!))!);
    assert.deepEqual(drops(grown), { drop_nat66_host_limit: 1, drop_nat66_table_full: 1 }, JSON.stringify(grown));
    assert.equal(grown.nat66_mapping_created, 5, JSON.stringify(grown));
    assert.equal(grown.icmp_admin_prohibited_built, 2, JSON.stringify(grown));

    // Old flows keep working: a reply on c3's first mapping reaches c3, and the probe's marker c1's.
    const c3Port = mappings.find((m) => m.inside === C3_SECOND && m.insidePort === 41000)!.outsidePort;
    await send('r1', [udpPacket(fromOut(), REMOTE_PORT, c3Port, 'reply to c3')]);
    const atC3Again = (await io.c3!.drain(1, 5000, 300)).map((raw) => decodeIpv6(raw)!).filter((d) => !ND_MLD.has(d.icmpType ?? -1));
    assert.deepEqual(atC3Again.map((d) => [d.dst, d.dstPort]), [[C3_SECOND, 41000]]);
    const seen = await probe([], 0);
    assert.deepEqual(seen.leaks, [], 'no inside address from the host on the outside wire');
  });
});
