// Bulk trials: what a translator does to real transfers rather than to a packet rate. TCP with iperf3 (one or
// several streams, sender in the sender namespace, receiver in the sink namespace, the kernel's GSO/GRO and
// congestion control as any host uses them) and one flow of UDP GSO super-datagrams (UDP_SEGMENT, as QUIC
// senders send) into a UDP_GRO sink. Each trial reports receiver-side bits, the packets that would be on a
// real wire, and the CPU the translator and the kernel spent meanwhile.
import { setTimeout as sleep } from 'node:timers/promises';

import { processCpuNs, systemCpu } from './cpu';
import { runJson, sh, start, stop, waitReady, type Running } from './processes';
import { plan } from './topology';
import { pinOutside } from './trial';

export type BulkTest = 'tcp-1' | 'tcp-4' | 'udp-gso';

export const bulkTests: { test: BulkTest; label: string }[] = [
  { test: 'tcp-1', label: 'TCP, 1 stream' },
  { test: 'tcp-4', label: 'TCP, 4 streams' },
  { test: 'udp-gso', label: 'UDP GSO, 1 flow' },
];

export interface BulkTools {
  iperf3: string | null; // null: not installed, the TCP tests are skipped
  udpgsoSend: string | null; // null: not built, the UDP GSO test is skipped
  udpGroSink: string | null;
}

export interface BulkTrialResult {
  test: BulkTest;
  seconds: number;
  bytes: number; // payload bytes the receiver got
  gbps: number; // receiver side, payload bits per second / 1e9
  offeredGbps: number | null; // UDP: what the sender put out (TCP sends what its window allows)
  // Packets a real link would carry: TCP data segments (payload / MSS) plus the receiver's ACKs (the sender's
  // interface counter: ACKs are never coalesced); UDP segments the sink received. veth's own packet counters
  // count GSO/GRO super-packets as one, so they say nothing about the wire.
  wirePackets: number;
  sinkSkbs: number; // the sink interface's rx_packets: super-packets count once (how much stayed aggregated)
  translatorCpuNs: number | null; // utime+stime of the translator process during the transfer
  softirqNs: number; // all CPUs
  busyNs: number; // all CPUs
  tcp: { streams: number; mss: number; dataSegments: number; acks: number; retransmits: number } | null;
  udp: {
    sentSegments: number;
    receivedSegments: number;
    intactSegments: number; // payload starts with this trial's stamp
    sinkReads: number; // recvmmsg slots: a GRO read holds several segments
    rcvbufErrors: number; // the sink's socket overflowed: the row measured the sink, not the gateway
    csumErrors: number; // Udp6InCsumErrors in the sink namespace: must be 0
    segmentPayload: number;
  } | null;
}

const iperfPort = 5201;
// Not the pps rows' port (5001): the sink namespace drops that one in raw PREROUTING (topology.ts).
const gsoPort = 5003;
// IPv6 packets of the UDP GSO row, like the pps table's 1400 B.
export const udpGsoSegment = 1400;
let nextTrialId = 0x8000;

function ifCounter(ns: string, ifname: string, counter: 'rx_packets' | 'tx_packets'): number {
  return Number(sh(['cat', `/sys/class/net/${ifname}/statistics/${counter}`], ns).trim());
}

// Resolves once `text` appears on the process's stdout (iperf3 says "Server listening" there).
async function waitStdout(p: Running, text: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!p.stdout().includes(text)) {
    if (p.child.exitCode !== null) throw new Error(`${p.name}: exited (${p.child.exitCode}): ${p.stderr().trim()}`);
    if (Date.now() > deadline) throw new Error(`${p.name}: no "${text}" after ${timeoutMs} ms`);
    await sleep(20);
  }
}

interface Meter {
  read(): { translatorCpuNs: number | null; softirqNs: number; busyNs: number };
}

function meter(translatorPid: number | null): Meter {
  const cpu0 = translatorPid === null ? null : processCpuNs(translatorPid);
  const sys0 = systemCpu();
  return {
    read() {
      const sys1 = systemCpu();
      const cpu1 = translatorPid === null ? null : processCpuNs(translatorPid);
      return {
        translatorCpuNs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null,
        softirqNs: sys1.softirqNs - sys0.softirqNs,
        busyNs: sys1.busyNs - sys0.busyNs,
      };
    },
  };
}

interface IperfReport {
  start: { tcp_mss_default?: number; tcp_mss?: number };
  end: {
    sum_sent: { retransmits?: number };
    sum_received: { bytes: number; seconds: number; bits_per_second: number };
  };
  error?: string;
}

// iperf3 -J prints one multi-line JSON document, also when it fails (with an "error" member).
function iperfReport(p: Running): IperfReport {
  let r: IperfReport;
  try {
    r = JSON.parse(p.stdout()) as IperfReport;
  } catch {
    throw new Error(`iperf3: exit ${p.child.exitCode}, no JSON: ${p.stderr().trim() || p.stdout().trim()}`);
  }
  if (r.error) throw new Error(`iperf3: ${r.error}`);
  return r;
}

// Payload per full-sized segment when iperf3 does not say: the sink link's MTU less the IPv6 and TCP headers
// and the timestamp option Linux sends on every segment (RFC 7323).
const fallbackMss = 1500 - 40 - 20 - 12;

async function tcpTrial(iperf3: string, streams: number, seconds: number, translatorPid: number | null): Promise<BulkTrialResult> {
  const server = start('iperf3 -s', plan.sink, [...pinOutside, iperf3, '-s', '-1', '--forceflush', '-p', String(iperfPort)]);
  try {
    await waitStdout(server, 'Server listening');
    const acks0 = ifCounter(plan.sender, plan.senderIf, 'rx_packets');
    const skbs0 = ifCounter(plan.sink, plan.sinkIf, 'rx_packets');
    const m = meter(translatorPid);
    const client = start('iperf3 -c', plan.sender, [
      ...pinOutside, iperf3, '-c', plan.sinkAddress, '-p', String(iperfPort), '-t', String(seconds), '-P', String(streams), '-J',
    ]);
    await client.exited;
    const r = iperfReport(client);
    const cpu = m.read();
    const acks = ifCounter(plan.sender, plan.senderIf, 'rx_packets') - acks0;
    const sinkSkbs = ifCounter(plan.sink, plan.sinkIf, 'rx_packets') - skbs0;
    const rx = r.end.sum_received;
    const mss = r.start.tcp_mss_default && r.start.tcp_mss_default > 500 ? r.start.tcp_mss_default : fallbackMss;
    return {
      test: streams === 1 ? 'tcp-1' : 'tcp-4',
      seconds: rx.seconds,
      bytes: rx.bytes,
      gbps: rx.bits_per_second / 1e9,
      offeredGbps: null,
      wirePackets: Math.ceil(rx.bytes / mss) + acks,
      sinkSkbs,
      ...cpu,
      tcp: { streams, mss, dataSegments: Math.ceil(rx.bytes / mss), acks, retransmits: r.end.sum_sent.retransmits ?? 0 },
      udp: null,
    };
  } finally {
    await stop(server);
  }
}

interface GsoSendReport {
  segments: number;
  bytes: number;
  seconds: number;
  segmentPayload: number;
  offeredBitsPerSecond: number;
}

interface GroSinkReport {
  reads: number;
  segments: number;
  bytes: number;
  intact: number;
  foreign: number;
  spanSeconds: number;
  rcvbufErrors: number;
  csumErrors: number;
}

async function udpGsoTrial(
  tools: { udpgsoSend: string; udpGroSink: string },
  seconds: number,
  gbps: number,
  translatorPid: number | null,
  settleMs: number,
): Promise<BulkTrialResult> {
  const trial = nextTrialId++ & 0xffff;
  const sink = start('udp_gro_sink', plan.sink, [...pinOutside, tools.udpGroSink, '--port', String(gsoPort), '--trial', String(trial)]);
  try {
    await waitReady(sink);
    const skbs0 = ifCounter(plan.sink, plan.sinkIf, 'rx_packets');
    const m = meter(translatorPid);
    const sent = await runJson<GsoSendReport>('udpgso_send', plan.sender, [
      ...pinOutside, tools.udpgsoSend, '--dst', plan.sinkAddress, '--port', String(gsoPort),
      '--segment', String(udpGsoSegment), '--duration', String(seconds), '--trial', String(trial),
      ...(gbps > 0 ? ['--gbps', String(gbps)] : []),
    ]);
    await sleep(settleMs); // what is still queued at the gateway
    const cpu = m.read();
    const sinkSkbs = ifCounter(plan.sink, plan.sinkIf, 'rx_packets') - skbs0;
    const got = await stop<GroSinkReport>(sink);
    if (got === null) throw new Error(`udp_gro_sink printed nothing: ${sink.stderr().trim()}`);
    return {
      test: 'udp-gso',
      seconds: sent.seconds,
      bytes: got.bytes,
      // Over the sender's time: the sink's own span ends early when nothing gets through for a while.
      gbps: (got.bytes * 8) / sent.seconds / 1e9,
      offeredGbps: sent.offeredBitsPerSecond / 1e9,
      wirePackets: got.segments,
      sinkSkbs,
      ...cpu,
      tcp: null,
      udp: {
        sentSegments: sent.segments,
        receivedSegments: got.segments,
        intactSegments: got.intact,
        sinkReads: got.reads,
        rcvbufErrors: got.rcvbufErrors,
        csumErrors: got.csumErrors,
        segmentPayload: sent.segmentPayload,
      },
    };
  } finally {
    await stop(sink);
  }
}

// Why a test cannot run with these tools, or null.
export function bulkTestUnavailable(tools: BulkTools, test: BulkTest): string | null {
  if (test === 'udp-gso') return tools.udpgsoSend && tools.udpGroSink ? null : 'udpgso_send / udp_gro_sink not built';
  return tools.iperf3 ? null : 'iperf3 not installed (scripts/setup.sh installs the Debian package)';
}

export function runBulkTrial(
  tools: BulkTools,
  test: BulkTest,
  seconds: number,
  translatorPid: number | null,
  settleMs: number,
  udpGbps = 0, // pace the UDP GSO sender; 0: as fast as it can
): Promise<BulkTrialResult> {
  if (test === 'udp-gso') {
    const { udpgsoSend, udpGroSink } = tools;
    if (!udpgsoSend || !udpGroSink) throw new Error('udpgso_send / udp_gro_sink not built');
    return udpGsoTrial({ udpgsoSend, udpGroSink }, seconds, udpGbps, translatorPid, settleMs);
  }
  if (!tools.iperf3) throw new Error('iperf3 is not installed');
  return tcpTrial(tools.iperf3, test === 'tcp-1' ? 1 : 4, seconds, translatorPid);
}
