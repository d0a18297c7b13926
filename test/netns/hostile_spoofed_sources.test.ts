// Issue 9 item 1: forged inside sources from outside. 10,050 UDP packets arrive on the host's outside interface
// with sources in the containers' prefix, to the masquerade address and a live outside port. Before the fix each
// was taken for hairpin traffic and made a mapping until the table (or the /64's share) was full, and a real
// container was refused. npt66 now drops them (drop_spoofed_inside_source, RFC 2827 ingress filtering): the table
// does not grow, the counter counts them, a container still gets a new mapping, and nothing with an inside
// source leaves on the outside wire. Packets are crafted (pktio, AF_PACKET) on r1 and sent to the host's MAC.
// The kernel's MASQUERADE has no table to fill; against it (NPT66_NETNS_TRANSLATOR=kernel) only the wire and
// the container's new flow are asserted.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Topology } from '../../src/netns';
import { parseAddress } from '../../src/prefix';
import { findPktio, PktIo } from './differential/pktio';
import { Capture } from './lib/capture';
import { inPrefix } from './lib/ipv6_decode';
import { pseudoHeaderSum } from './lib/inet_checksum';
import { listening, startTool } from './lib/traffic';
import { ADDR, HOST_OUTSIDE_IF, SOURCE_PREFIX } from './masq/masq_lab';
import { masqSuite } from './masq/suite';
import { startFlow } from './masq/traffic';
import { npt66Counters, waitForMapping } from './masq/translator';

const FORGED = 10_050;
const IPPROTO_UDP = 17;

function udpPacket(src: string, dst: string, sport: number, dport: number): Buffer {
  const s = parseAddress(src, 'src');
  const d = parseAddress(dst, 'dst');
  const udp = Buffer.alloc(8 + 8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(udp.length, 4);
  udp.write('forged!!', 8);
  udp.writeUInt16BE(0xffff - pseudoHeaderSum(s, d, IPPROTO_UDP, udp) || 0xffff, 6);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(udp.length, 4);
  ip[6] = IPPROTO_UDP;
  ip[7] = 64;
  s.copy(ip, 8);
  d.copy(ip, 24);
  return Buffer.concat([ip, udp]);
}

// fd5a:ceb9:ed8d:1::N for N = 0x1000 + i: in the containers' prefix, none of them a real container.
function forgedSource(i: number): string {
  return `fd5a:ceb9:ed8d:1::${(0x1000 + i).toString(16)}`;
}

async function macOf(topology: Topology, ns: string, iface: string): Promise<string> {
  const r = await topology.ns(ns).exec(['ip', '-j', 'link', 'show', iface]);
  return (JSON.parse(r.stdout) as { address: string }[])[0]!.address;
}

describe('hostile traffic: forged inside sources from outside (masquerade)', () => {
  // Endpoint-independent: the filter would let hairpin reach c2, so only the interface check stops them.
  const g = masqSuite('nx-sp-', 'spoofed', { filtering: 'endpoint-independent' });

  test(`${FORGED} forged UDP packets to a live port: dropped and counted, no mapping made, a container still gets one`, async () => {
    const { lab, translator: t } = g;
    const c2Port = 25800;
    const c2 = await listening(startFlow(lab, 'c2', ['udp-announce', c2Port, ADDR.out, 5809]));
    const wire = await Capture.start(lab, 'r1', 'eth0', ['ip6']);
    const io = await PktIo.start(lab.topology, 'r1', 'eth0', await macOf(lab.topology, 'host', HOST_OUTSIDE_IF), findPktio());
    try {
      let livePort = c2Port;
      let before = 0;
      if (g.kind === 'npt66') {
        const m2 = await waitForMapping(t, 'c2’s mapping', (m) => m.protocol === 'udp' && m.inside === ADDR.c2 && m.insidePort === c2Port);
        livePort = m2.outsidePort;
        before = (await t.mappings()).length;
      }
      const countersBefore = await npt66Counters(t);
      for (let at = 0; at < FORGED; at += 1000) {
        const batch: Buffer[] = [];
        for (let i = at; i < Math.min(FORGED, at + 1000); i++) batch.push(udpPacket(forgedSource(i), ADDR.host, 30000 + (i % 30000), livePort));
        io.send(batch);
        await io.sync();
      }
      const sent = await io.sync();
      assert.deepEqual(sent, { sent: FORGED, failed: 0 });

      // A container's new flow after the flood: it gets a mapping and its answer.
      const echo = await listening(startTool(lab, 'out', ['udp-echo', 5810]));
      try {
        const c1 = startTool(lab, 'c1', ['udp-ping', ADDR.out, 5810, 1, 25811]);
        await c1.waitExit(10_000);
        assert.equal(c1.lastJson<{ received: number }>().received, 1, 'c1’s new flow works after the flood');
      } finally {
        echo.child.kill('SIGKILL');
      }

      if (g.kind === 'npt66') {
        const after = await t.mappings();
        const forged = after.filter((m) => inPrefix(m.inside, SOURCE_PREFIX) && ![ADDR.c1, ADDR.c2, ADDR.c3].includes(m.inside as never));
        assert.deepEqual(forged, [], 'no mapping for a forged source');
        assert.ok(after.length <= before + 2, `the table did not grow beyond c1’s new flows: ${before} -> ${after.length}`);
        await waitForMapping(t, 'c1’s new mapping', (m) => m.protocol === 'udp' && m.inside === ADDR.c1 && m.insidePort === 25811);
        const c = (await npt66Counters(t))!;
        const b = countersBefore!;
        assert.equal((c.drop_spoofed_inside_source ?? 0) - (b.drop_spoofed_inside_source ?? 0), FORGED, 'every forged packet counted');
        assert.equal((c.nat66_hairpin ?? 0) - (b.nat66_hairpin ?? 0), 0, 'none taken for hairpin');
        assert.equal((c.drop_nat66_host_limit ?? 0) + (c.drop_nat66_ports_exhausted ?? 0) + (c.drop_nat66_table_full ?? 0), 0, 'nobody refused');
      }
    } finally {
      io.close();
      c2.child.kill('SIGKILL');
      const packets = await wire.stop();
      // What the gateway sent out on its outside wire (from the host's side of the link): no inside address.
      // The forged packets themselves cross this wire; anything else with an inside address came from the gateway.
      const leaked = packets.filter((p) => (inPrefix(p.decoded.src, SOURCE_PREFIX) && !forgedSourceSet.has(p.decoded.src)) || inPrefix(p.decoded.dst, SOURCE_PREFIX));
      assert.deepEqual(leaked.map((p) => `${p.decoded.src} -> ${p.decoded.dst}`).slice(0, 5), [], 'no inside address from the gateway on the outside wire');
    }
  });
});

const forgedSourceSet = new Set(Array.from({ length: FORGED }, (_, i) => forgedSource(i)));
