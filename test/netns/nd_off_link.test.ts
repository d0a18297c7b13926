// Issue 9 item 3: an inside host sends a Neighbor Solicitation (ICMPv6 135) to an off-link global address. ND
// belongs on its link (RFC 4861 s6.1/s7.1: hop limit 255, link-local or multicast scope); forwarded untranslated it
// leaves with the inside address. Through npt66 (NPTv6 and masquerade) nothing with an inside address may reach the
// outside wire, and npt66 counts the drop (drop_nd_mld_off_link). The kernel's own translators are run too and
// what they do is asserted, as the differential tests do: SNPT translates the solicitation's source and lets it
// leave the link; MASQUERADE leaves it untracked (conntrack does not track ND) and it leaks with the inside source.
//
// The solicitation is crafted (pktio, AF_PACKET) and sent to the gateway's MAC; a ping after it is the marker:
// once the ping's request is on the outside wire, the solicitation, sent before it on the same path, has been
// forwarded or dropped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Topology } from '../../src/netns';
import { parseAddress } from '../../src/prefix';
import { findPktio, PktIo } from './differential/pktio';
import { Capture, type CapturedPacket } from './lib/capture';
import { ADDR as GW, GatewayLab, GW_INSIDE_IF, INSIDE_PREFIX } from './lib/gateway_lab';
import { ICMPV6_ECHO_REQUEST, IPPROTO_ICMPV6, inPrefix } from './lib/ipv6_decode';
import { pseudoHeaderSum } from './lib/inet_checksum';
import { growth } from './lib/npt66_daemon';
import { ping } from './lib/traffic';
import { createTranslator, Npt66Daemon, type GatewayTranslator, type TranslatorKind } from './lib/translator';
import { ADDR as MQ, HOST_BRIDGE, MasqLab, SOURCE_PREFIX } from './masq/masq_lab';
import { createMasqTranslator, npt66Counters, type MasqTranslator } from './masq/translator';

const isRoot = process.getuid?.() === 0;
const NS_TYPE = 135;

// An IPv6 Neighbor Solicitation from `src` for `target`, sent to `target` itself (a unicast NS, as in neighbor
// unreachability detection), hop limit 255.
function neighborSolicitation(src: string, target: string): Buffer {
  const s = parseAddress(src, 'src');
  const d = parseAddress(target, 'target');
  const icmp = Buffer.alloc(24);
  icmp[0] = NS_TYPE;
  d.copy(icmp, 8);
  icmp.writeUInt16BE(0xffff - pseudoHeaderSum(s, d, IPPROTO_ICMPV6, icmp), 2);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(icmp.length, 4);
  ip[6] = IPPROTO_ICMPV6;
  ip[7] = 255;
  s.copy(ip, 8);
  d.copy(ip, 24);
  return Buffer.concat([ip, icmp]);
}

async function macOf(lab: { topology: Topology }, ns: string, iface: string): Promise<string> {
  const r = await lab.topology.ns(ns).exec(['ip', '-j', 'link', 'show', iface]);
  return (JSON.parse(r.stdout) as { address: string }[])[0]!.address;
}

interface Seen {
  solicitations: CapturedPacket[]; // type 135 to the off-link target, as they crossed the outside wire
  insideSources: CapturedPacket[]; // anything on the outside wire with an inside source
}

// Sends the solicitation from `from`/`iface` to `nextHopMac`, then pings `target` as the marker; captures the
// outside wire (`wireNs`/`wireIf`) meanwhile.
async function sendAndWatch(
  lab: { topology: Topology },
  from: string,
  iface: string,
  nextHopMac: string,
  src: string,
  target: string,
  wireNs: string,
  wireIf: string,
  insidePrefix: string,
  marker: () => Promise<unknown>,
): Promise<Seen> {
  const cap = await Capture.start(lab as never, wireNs as never, wireIf, ['ip6']);
  let packets: CapturedPacket[] = [];
  const io = await PktIo.start(lab.topology, from, iface, nextHopMac, findPktio());
  try {
    io.send([neighborSolicitation(src, target)]);
    assert.deepEqual(await io.sync(), { sent: 1, failed: 0 });
    await marker();
    await cap.waitUntil('the marker ping on the outside wire', (ps) => ps.some((p) => p.decoded.icmpType === ICMPV6_ECHO_REQUEST && p.decoded.dst === target));
  } finally {
    io.close();
    packets = await cap.stop();
  }
  return {
    solicitations: packets.filter((p) => p.decoded.icmpType === NS_TYPE && p.decoded.dst === target),
    insideSources: packets.filter((p) => inPrefix(p.decoded.src, insidePrefix)),
  };
}

describe('ND off-link from inside, NPTv6: npt66 drops it, the kernel’s SNPT lets it leave translated', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  let lab: GatewayLab | undefined;
  let current: GatewayTranslator | undefined;
  before(async () => {
    lab = await GatewayLab.create('nx-nd-');
  });
  after(async () => {
    await current?.dispose();
    lab?.destroy();
  });

  for (const kind of ['npt66', 'kernel'] as TranslatorKind[]) {
    test(`through ${kind}`, async () => {
      assert.ok(lab, 'the lab was not built');
      await current?.dispose(); // one left running by a failed test
      current = createTranslator(lab, `nd-${kind}`, kind);
      await current.start();
      const daemon = current instanceof Npt66Daemon ? current : null;
      const before = await daemon?.counters();
      const seen = await sendAndWatch(lab, 'in1', 'eth0', await macOf(lab, 'gw', GW_INSIDE_IF), GW.in1, GW.out, 'r1', 'eth0', INSIDE_PREFIX, () =>
        ping(lab!, 'in1', GW.out, { count: 1 }),
      );
      assert.deepEqual(seen.insideSources.map((p) => p.decoded.src), [], 'no inside source on the outside wire');
      if (kind === 'npt66') {
        assert.equal(seen.solicitations.length, 0, 'the solicitation did not leave');
        const grown = growth(before!, await daemon!.counters());
        assert.equal(grown.drop_nd_mld_off_link, 1, JSON.stringify(grown));
      } else {
        // ip6t_NPT translates whatever the rule matches, ND included: the solicitation leaves the link, its
        // source mapped to the outside prefix, hop limit 254 (forwarded: no longer valid ND, RFC 4861 s7.1.1).
        assert.deepEqual(
          seen.solicitations.map((p) => [p.decoded.src, p.decoded.hopLimit]),
          [[GatewayLab.outsideOf(GW.in1), 254]],
        );
      }
      await current.stop();
      current = undefined;
    });
  }
});

describe('ND off-link from inside, masquerade: npt66 drops it, the kernel’s MASQUERADE leaks it', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  let lab: MasqLab | undefined;
  let current: MasqTranslator | undefined;
  before(async () => {
    lab = await MasqLab.create('nx-ndm-');
  });
  after(async () => {
    await current?.dispose();
    lab?.destroy();
  });

  for (const kind of ['npt66', 'kernel'] as TranslatorKind[]) {
    test(`through ${kind}`, async () => {
      assert.ok(lab, 'the lab was not built');
      await current?.dispose(); // one left running by a failed test
      current = createMasqTranslator(lab, `ndm-${kind}`, kind);
      await current.start();
      const before = await npt66Counters(current);
      const seen = await sendAndWatch(lab, 'c1', 'eth0', await macOf(lab, 'host', HOST_BRIDGE), MQ.c1, MQ.out, 'r1', 'eth0', SOURCE_PREFIX, () =>
        ping(lab!, 'c1', MQ.out, { count: 1 }),
      );
      if (kind === 'npt66') {
        assert.deepEqual(seen.insideSources.map((p) => p.decoded.src), [], 'no inside source on the outside wire');
        assert.equal(seen.solicitations.length, 0, 'the solicitation did not leave');
        const after = (await npt66Counters(current))!;
        assert.equal(after.drop_nd_mld_off_link! - (before!.drop_nd_mld_off_link ?? 0), 1);
      } else {
        // Conntrack leaves ND untracked (nf_conntrack_proto_icmpv6), so NAT never sees it: the inside source leaks.
        assert.deepEqual(
          seen.solicitations.map((p) => [p.decoded.src, p.decoded.hopLimit]),
          [[MQ.c1, 254]],
        );
        assert.deepEqual(seen.insideSources.map((p) => p.decoded.icmpType), [NS_TYPE], 'only the solicitation leaked');
      }
      await current.stop();
      current = undefined;
    });
  }
});
