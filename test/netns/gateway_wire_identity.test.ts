// Issue 3: the same traffic through the kernel's SNPT/DNPT and through npt66 puts identical bytes on the
// outside wire. The traffic is deterministic (fixed ICMPv6 echo ids and payloads, fixed UDP ports and
// payloads, no flow labels) and covers both directions and ICMPv6 errors both ways: a Port Unreachable
// from the inside host (embedded destination translated outbound) and a Time Exceeded from r1 (its
// embedded echo request was translated on the way out). Captured on r1's side of the gateway's outside link.
//
// veth leaves a sender's UDP checksum unfinished (CHECKSUM_PARTIAL: only the pseudo-header sum is in the
// field, and the receiver trusts the flag). The kernel's SNPT forwards it that way; NFQUEUE completes the
// checksum before handing the packet to npt66. So the senders complete their UDP checksums themselves
// (xt CHECKSUM --checksum-fill in their own OUTPUT chain): then the wire carries real checksums on both
// paths, and identical bytes also show that both translations are checksum-neutral.
//
// With NPT66_NETNS_TRANSLATOR=kernel both runs use the kernel, which shows the traffic is deterministic.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Capture, type CapturedPacket } from './lib/capture';
import { ADDR, GatewayLab, INSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { IPPROTO_UDP, describe as describePacket, inPrefix } from './lib/ipv6_decode';
import { backlogDrops } from './lib/machine_drops';
import { ping, startServer, startTool } from './lib/traffic';
import { growth } from './lib/npt66_daemon';
import { Npt66Daemon, createTranslator, type TranslatorKind } from './lib/translator';

const IN1_OUTSIDE = GatewayLab.outsideOf(ADDR.in1);
const ICMPV6_COMPARED = new Set([1, 2, 3, 4, 128, 129]); // errors and echo; ND, MLD and RS/RA differ by cache state
const EXPECTED_PACKETS = 6 + 6 + 10 + 10 + 2 + 2;

function compared(packets: CapturedPacket[]): CapturedPacket[] {
  return packets.filter((p) => !p.decoded.src.startsWith('fe80:') && (p.decoded.protocol === IPPROTO_UDP || ICMPV6_COMPARED.has(p.decoded.icmpType ?? -1)));
}

async function udpClient(lab: GatewayLab, ns: 'in1' | 'out', args: (string | number)[]): Promise<void> {
  const c = startTool(lab, ns, args);
  const exit = await c.waitExit(15_000);
  assert.equal(exit.code, 0, `${args.join(' ')}: ${c.stderr}`);
}

// The deterministic traffic: EXPECTED_PACKETS packets cross the outside link, one exchange at a time.
async function deterministicTraffic(lab: GatewayLab): Promise<void> {
  const echoOpts = { count: 3, intervalS: 0.05, size: 8, pattern: '4e505436' };
  assert.equal((await ping(lab, 'in1', ADDR.out, { ...echoOpts, id: 4242 })).received, 3); // 6 packets
  assert.equal((await ping(lab, 'out', IN1_OUTSIDE, { ...echoOpts, id: 4343 })).received, 3); // 6 packets
  const echoOut = await startServer(lab, 'out', ['udp-echo', 5002]);
  const echoIn = await startServer(lab, 'in1', ['udp-echo', 5003]);
  try {
    await udpClient(lab, 'in1', ['udp-ping', ADDR.out, 5002, 5, 40002]); // 10 packets
    await udpClient(lab, 'out', ['udp-ping', IN1_OUTSIDE, 5003, 5, 40003]); // 10 packets
  } finally {
    echoOut.child.kill('SIGKILL');
    echoIn.child.kill('SIGKILL');
  }
  await udpClient(lab, 'out', ['udp-send', IN1_OUTSIDE, 9, 40009, 1]); // a datagram and its Port Unreachable
  const te = await ping(lab, 'in1', ADDR.out, { count: 1, hopLimit: 2, size: 8, pattern: '4e505436', id: 4444 }); // request + Time Exceeded
  assert.match(te.output, /Time exceeded/i, te.output);
}

interface Recording {
  packets: CapturedPacket[];
  counters: Record<string, number> | null; // npt66's counter growth during the traffic
}

async function recordOnce(lab: GatewayLab, kind: TranslatorKind): Promise<Recording> {
  const translator = createTranslator(lab, `wire-${kind}`, kind);
  try {
    await translator.start();
    const daemon = translator instanceof Npt66Daemon ? translator : null;
    const before = await daemon?.counters();
    const cap = await Capture.start(lab, 'r1', 'eth0', ['ip6']);
    let packets: CapturedPacket[];
    try {
      await deterministicTraffic(lab);
      await cap.waitUntil(`${EXPECTED_PACKETS} compared packets`, (ps) => compared(ps).length >= EXPECTED_PACKETS);
    } finally {
      packets = compared(await cap.stop());
    }
    const counters = daemon && before ? growth(before, await daemon.counters()) : null;
    await translator.stop();
    return { packets, counters };
  } finally {
    await translator.dispose();
  }
}

// A recording during which the machine dropped packets in its input backlog (a flood elsewhere) may have
// lost or retried part of the traffic: it is not evidence about the translator, so it is made again.
async function recordOutsideWire(lab: GatewayLab, kind: TranslatorKind): Promise<Recording> {
  for (let attempt = 1; ; attempt++) {
    const dropsBefore = backlogDrops();
    try {
      const r = await recordOnce(lab, kind);
      if (r.packets.length === EXPECTED_PACKETS || backlogDrops() === dropsBefore || attempt === 3) return r;
    } catch (e) {
      if (backlogDrops() === dropsBefore || attempt === 3) throw e;
    }
  }
}

describe('gateway: identical bytes on the outside wire', () => {
  const g = gatewaySuite('nt-wi-', 'wire', { startTranslator: false });

  before(async () => {
    for (const host of ['in1', 'out'] as const) {
      await g.lab.ns(host).ip6tables(['-t', 'mangle', '-A', 'OUTPUT', '-p', 'udp', '-j', 'CHECKSUM', '--checksum-fill']);
    }
  });

  test(`kernel SNPT/DNPT and ${g.kind} put the same packets on the outside wire`, async () => {
    const reference = await recordOutsideWire(g.lab, 'kernel');
    const candidate = await recordOutsideWire(g.lab, g.kind);
    const show = (ps: CapturedPacket[]) => ps.map((p) => `${describePacket(p.decoded)}\n  ${p.raw.toString('hex')}`);
    assert.equal(reference.packets.length, EXPECTED_PACKETS, show(reference.packets).join('\n'));
    assert.deepEqual(
      reference.packets.filter((p) => inPrefix(p.decoded.src, INSIDE_PREFIX) || inPrefix(p.decoded.embedded?.dst ?? '::', INSIDE_PREFIX)).map((p) => describePacket(p.decoded)),
      [],
      'the kernel reference leaks no inside address',
    );
    assert.deepEqual(show(candidate.packets), show(reference.packets));
    if (candidate.counters) {
      // Each direction: 3 echo requests or replies each way (6), 10 UDP, the Port Unreachable / its datagram,
      // the expiring echo request / its Time Exceeded: 18 translated, one of them an ICMPv6 error.
      const c = candidate.counters;
      assert.deepEqual(
        { out: c.nptv6_outbound, in: c.nptv6_inbound, errOut: c.nptv6_icmp_error_outbound, errIn: c.nptv6_icmp_error_inbound, drop: c.queue_verdict_drop ?? 0 },
        { out: 18, in: 18, errOut: 1, errIn: 1, drop: 0 },
        JSON.stringify(c),
      );
    }
  });
});
