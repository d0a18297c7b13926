// Issue 9, "malformed and hostile traffic through a live gateway", NPTv6: crafted packets from outside (pktio on
// r1, sent to the gateway's MAC) to in1's outside address, through a live `npt66 run` and through the kernel's
// SNPT/DNPT on the same lab. Each case is followed by a marker (a plain UDP datagram on the same path): once it
// reached in1, every packet before it was forwarded or dropped. Asserted per case: what reached in1, the counter
// that names npt66's verdict (and no other drop), the daemon still answering `stats`, and what the gateway sent
// on the outside wire (r1's side: in1's own Port Unreachable about the marker among it) holds no inside
// address, quoted ones included. The kernel's verdicts are asserted too: it forwards every one of these.
//
// Cases: a forged inside source (an outside packet cannot come from inside: drop_spoofed_inside_source); 8 and 9
// Destination Options headers (npt66 walks at most 8: drop_bad_ext_header); a 2 KB Hop-by-Hop header (well formed:
// translated; the path's MTU is raised to carry it); ICMPv6 errors with a 39-byte quote (drop_icmp_inner_truncated)
// and a 40-byte one, an error quoting an error (translated like any error), an error quoting a forged inside source
// (drop_icmp_inner_not_in_prefix), an error with a wrong checksum (NPTv6 is checksum-neutral: translated, and it
// stays wrong, never laundered).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findPktio, PktIo } from './differential/pktio';
import { checksumValid, destinationOptions, hopByHop, icmpError, macOf, setMtu, udpPacket, type PacketSpec } from './lib/crafted_packets';
import { ADDR, GatewayLab, GW_INSIDE_IF, GW_OUTSIDE_IF, INSIDE_PREFIX } from './lib/gateway_lab';
import { decodeIpv6, describe as describePacket, inPrefix, type DecodedIpv6 } from './lib/ipv6_decode';
import { growth } from './lib/npt66_daemon';
import { createTranslator, Npt66Daemon, type GatewayTranslator, type TranslatorKind } from './lib/translator';

const isRoot = process.getuid?.() === 0;
const IN1_OUT = GatewayLab.outsideOf(ADDR.in1);
const FROM_OUTSIDE: PacketSpec = { src: ADDR.out, dst: IN1_OUT };
const BIG_MTU = 4000; // carries the 2 KB Hop-by-Hop header
const ND_MLD = new Set([130, 131, 132, 133, 134, 135, 136, 137, 143]);

// The packet in1 sent to the outside that a quote would hold: in1 (outside address) -> out, UDP.
function quotedUdp(src = IN1_OUT): Buffer {
  return udpPacket({ src, dst: ADDR.out }, 33000, 5300, 'quoted payload');
}

interface Seen {
  inside: DecodedIpv6[]; // what reached in1 (hostile packets and the marker; ND/MLD left out)
  insideRaw: Buffer[];
  leaks: string[]; // packets from the gateway on the outside wire with an inside address, outer or quoted
  grown: Record<string, number> | null; // npt66's counters that changed
}

const hasInside = (d: DecodedIpv6) => [d.src, d.dst, ...(d.embedded ? [d.embedded.src, d.embedded.dst] : [])].some((a) => inPrefix(a, INSIDE_PREFIX));
const isMarker = (d: DecodedIpv6, n: number) => d.dstPort === 9 && d.l4.subarray(8).toString() === `marker ${n}`;
const drops = (grown: Record<string, number>) => Object.fromEntries(Object.entries(grown).filter(([k]) => k.startsWith('drop_')));

describe('hostile traffic from outside through NPTv6 (npt66 and the kernel’s SNPT/DNPT)', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  let lab: GatewayLab | undefined;
  let outside: PktIo | undefined;
  let inside: PktIo | undefined;
  let current: GatewayTranslator | undefined;
  let markers = 0;
  let sentSoFar = 0; // pktio's totals are cumulative

  before(async () => {
    lab = await GatewayLab.create('nx-hn-');
    const t = lab.topology;
    await setMtu(t, [['r1', 'eth0'], ['gw', GW_OUTSIDE_IF], ['gw', GW_INSIDE_IF], ['lan', 'p-gw'], ['lan', 'p-in1'], ['lan', 'br0'], ['in1', 'eth0']], BIG_MTU);
    outside = await PktIo.start(t, 'r1', 'eth0', await macOf(t, 'gw', GW_OUTSIDE_IF), findPktio());
    inside = await PktIo.start(t, 'in1', 'eth0', await macOf(t, 'gw', GW_INSIDE_IF), findPktio());
  });
  after(async () => {
    outside?.close();
    inside?.close();
    await current?.dispose();
    lab?.destroy();
  });

  // Sends `hostile` then a marker from outside; `delivered` of the hostile packets should reach in1.
  async function probe(hostile: Buffer[], delivered: number): Promise<Seen> {
    const daemon = current instanceof Npt66Daemon ? current : null;
    const before = await daemon?.counters();
    const n = ++markers;
    outside!.send([...hostile, udpPacket(FROM_OUTSIDE, 40000, 9, `marker ${n}`)]);
    sentSoFar += hostile.length + 1;
    assert.deepEqual(await outside!.sync(), { sent: sentSoFar, failed: 0 }, 'pktio sent every packet (MTU)');
    const arrived = (await inside!.drain(delivered + 1, 5000, 300)).map((raw) => ({ raw, d: decodeIpv6(raw)! })).filter((p) => p.d && !ND_MLD.has(p.d.icmpType ?? -1));
    assert.ok(arrived.some((p) => isMarker(p.d, n)), `the marker reached in1: ${arrived.map((p) => describePacket(p.d)).join('; ')}`);
    const others = arrived.filter((p) => !isMarker(p.d, n));
    // in1 answers the marker (UDP port 9, closed) with Port Unreachable: wait for it on the outside wire.
    const wire = (await outside!.drain(1, 3000, 300)).map((raw) => decodeIpv6(raw)).filter((d): d is DecodedIpv6 => d !== null);
    const answer = wire.filter((d) => d.icmpType === 1 && d.icmpCode === 4 && d.embedded?.dstPort === 9);
    assert.equal(answer.length, 1, `in1's Port Unreachable about the marker crossed the outside wire: ${wire.map(describePacket).join('; ')}`);
    const after = await daemon?.counters(); // the daemon still answers
    if (daemon) assert.ok(daemon.running(), 'npt66 still runs');
    return {
      inside: others.map((p) => p.d),
      insideRaw: others.map((p) => p.raw),
      leaks: wire.filter(hasInside).map(describePacket),
      grown: before && after ? growth(before, after) : null,
    };
  }

  // No inside address from the gateway on the outside wire (the kernel's SNPT/DNPT translates these quotes too).
  function assertWire(seen: Seen): void {
    assert.deepEqual(seen.leaks, [], 'no inside address from the gateway on the outside wire');
  }

  // npt66 dropped exactly one packet, for `reason`.
  function assertDropped(seen: Seen, reason: string): void {
    assert.deepEqual(seen.inside.map(describePacket), [], 'in1 never saw it');
    assert.deepEqual(drops(seen.grown!), { [reason]: 1 }, JSON.stringify(seen.grown));
  }

  for (const kind of ['npt66', 'kernel'] as TranslatorKind[]) {
    test(`through ${kind}`, async (t) => {
      assert.ok(lab, 'the lab was not built');
      await current?.dispose();
      current = createTranslator(lab, `hn-${kind}`, kind);
      await current.start();
      const npt66 = kind === 'npt66';

      await t.test('a forged inside source (in2) to in1’s outside address', async () => {
        const seen = await probe([udpPacket({ src: ADDR.in2, dst: IN1_OUT }, 40001, 7, 'forged')], npt66 ? 0 : 1);
        if (npt66) assertDropped(seen, 'drop_spoofed_inside_source');
        else assert.deepEqual(seen.inside.map((d) => [d.src, d.dst]), [[ADDR.in2, ADDR.in1]], 'the kernel’s DNPT forwards it');
        assertWire(seen);
      });

      await t.test('8 Destination Options headers: translated', async () => {
        const seen = await probe([udpPacket({ ...FROM_OUTSIDE, ext: Array.from({ length: 8 }, destinationOptions) }, 40002, 7, 'eight')], 1);
        assert.deepEqual(seen.inside.map((d) => [d.dst, d.dstPort]), [[ADDR.in1, 7]]);
        if (npt66) assert.deepEqual([drops(seen.grown!), seen.grown!.nptv6_inbound], [{}, 2], JSON.stringify(seen.grown));
        assertWire(seen);
      });

      await t.test('9 Destination Options headers: npt66 drops them (drop_bad_ext_header), the kernel forwards', async () => {
        const seen = await probe([udpPacket({ ...FROM_OUTSIDE, ext: Array.from({ length: 9 }, destinationOptions) }, 40003, 7, 'nine')], npt66 ? 0 : 1);
        if (npt66) assertDropped(seen, 'drop_bad_ext_header');
        else assert.deepEqual(seen.inside.map((d) => [d.dst, d.dstPort]), [[ADDR.in1, 7]]);
        assertWire(seen);
      });

      await t.test('a 2 KB Hop-by-Hop header: well formed, translated', async () => {
        const packet = udpPacket({ ...FROM_OUTSIDE, ext: [hopByHop(2048)] }, 40004, 7, 'big hop-by-hop');
        const seen = await probe([packet], 1);
        assert.deepEqual(seen.inside.map((d) => [d.dst, d.dstPort]), [[ADDR.in1, 7]]);
        assert.equal(seen.insideRaw[0]!.length, packet.length, 'arrived whole');
        if (npt66) assert.deepEqual([drops(seen.grown!), seen.grown!.nptv6_inbound], [{}, 2], JSON.stringify(seen.grown));
        assertWire(seen);
      });

      await t.test('an ICMPv6 error quoting 39 bytes: npt66 drops it (drop_icmp_inner_truncated), the kernel forwards', async () => {
        const seen = await probe([icmpError(FROM_OUTSIDE, 1, 3, quotedUdp().subarray(0, 39))], npt66 ? 0 : 1);
        if (npt66) assertDropped(seen, 'drop_icmp_inner_truncated');
        else assert.deepEqual(seen.inside.map((d) => [d.dst, d.icmpType]), [[ADDR.in1, 1]]);
        assertWire(seen);
      });

      await t.test('an ICMPv6 error quoting 40 bytes (the header alone): translated, quote included', async () => {
        const seen = await probe([icmpError(FROM_OUTSIDE, 1, 3, quotedUdp().subarray(0, 40))], 1);
        assert.deepEqual(seen.inside.map((d) => [d.dst, d.icmpType, d.embedded?.src]), [[ADDR.in1, 1, ADDR.in1]]);
        if (npt66) assert.deepEqual([drops(seen.grown!), seen.grown!.nptv6_icmp_error_inbound], [{}, 1], JSON.stringify(seen.grown));
        assertWire(seen);
      });

      await t.test('an ICMPv6 error quoting an ICMPv6 error: translated like any error (stateless, checksum-neutral)', async () => {
        const innerError = icmpError({ src: IN1_OUT, dst: ADDR.out }, 3, 0, quotedUdp(ADDR.out));
        const seen = await probe([icmpError(FROM_OUTSIDE, 1, 3, innerError)], 1);
        assert.deepEqual(seen.inside.map((d) => [d.dst, d.embedded?.src, d.embedded?.icmpType]), [[ADDR.in1, ADDR.in1, 3]]);
        assert.ok(checksumValid(seen.insideRaw[0]!), 'its checksum still verifies');
        if (npt66) assert.deepEqual([drops(seen.grown!), seen.grown!.nptv6_icmp_error_inbound], [{}, 1], JSON.stringify(seen.grown));
        assertWire(seen);
      });

      await t.test('an ICMPv6 error quoting a forged inside source: npt66 drops it (drop_icmp_inner_not_in_prefix)', async () => {
        const seen = await probe([icmpError(FROM_OUTSIDE, 1, 3, quotedUdp(ADDR.in2))], npt66 ? 0 : 1);
        if (npt66) assertDropped(seen, 'drop_icmp_inner_not_in_prefix');
        else assert.deepEqual(seen.inside.map((d) => [d.dst, d.embedded?.src]), [[ADDR.in1, ADDR.in2]]);
        assertWire(seen);
      });

      await t.test('an ICMPv6 error with a wrong checksum: translated, and it stays wrong', async () => {
        const seen = await probe([icmpError({ ...FROM_OUTSIDE, badChecksum: true }, 1, 3, quotedUdp())], 1);
        assert.deepEqual(seen.inside.map((d) => [d.dst, d.embedded?.src]), [[ADDR.in1, ADDR.in1]]);
        assert.equal(checksumValid(seen.insideRaw[0]!), false, 'a wrong checksum is not laundered');
        if (npt66) assert.deepEqual([drops(seen.grown!), seen.grown!.nptv6_icmp_error_inbound], [{}, 1], JSON.stringify(seen.grown));
        assertWire(seen);
      });

      await current.stop();
      current = undefined;
    });
  }
});
