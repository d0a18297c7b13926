// One trial: start the sink, send at a rate (0 = the generator's maximum) for a duration, wait for stragglers,
// stop the sink, and read what arrived, with the CPU the translator and the kernel spent meanwhile.
import * as os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { processCpuNs, systemCpu } from './cpu';
import { runJson, start, stop, waitReady } from './processes';
import { plan, type Topology } from './topology';

export interface Tools {
  pktgen: string;
  pktsink: string;
  naiveNfq: string;
}

export interface TrialSpec {
  size: number; // IPv6 packet length, bytes
  rate: number; // packets/s offered, 0 = as fast as the generator can
  seconds: number;
  flows: number;
}

interface GenReport {
  sent: number;
  offered: number;
  txErrors: number;
  seconds: number;
  offeredPps: number;
}

interface SinkReport {
  received: number;
  ringDrops: number;
  reordered: number;
  sources: { distinct: number; digest: string; lowest: string };
  latencyNs: { samples: number; p50: number; p90: number; p99: number; max: number };
}

export interface TrialResult {
  spec: TrialSpec;
  offered: number;
  offeredPps: number;
  delivered: number; // reached the sink (its ring drops included: the gateway did deliver those)
  deliveredPps: number;
  ratio: number; // delivered / offered
  sinkRingDrops: number;
  reordered: number;
  sources: SinkReport['sources'];
  latencyNs: SinkReport['latencyNs'];
  translatorCpuNs: number | null; // utime+stime of the translator process during the trial
  softirqNs: number; // all CPUs
  busyNs: number; // all CPUs
}

// Generator and sink share CPU 0, "the outside world"; the gateway's packet work is steered to CPU 1 (topology.ts).
// At nice -20 so that whatever else runs on the machine (and a translator that is not pinned) cannot take
// CPU 0 from them: the offered rate is the generator's, not what the rest of the machine leaves it.
export const pinOutside = os.cpus().length >= 2 ? ['nice', '-n', '-20', 'taskset', '-c', '0'] : [];
let nextTrialId = 1;
// Packets still in a queue when the generator stops get `settleMs` to arrive (a full 4096-packet queue drains in
// well under 100 ms at the rates measured here; quick mode waits less).
const defaultSettleMs = 250;

export async function runTrial(
  tools: Tools,
  topo: Topology,
  spec: TrialSpec,
  translatorPid: number | null,
  settleMs = defaultSettleMs,
): Promise<TrialResult> {
  const trial = nextTrialId++ & 0xffff;
  const sink = start('pktsink', plan.sink, [...pinOutside, tools.pktsink, '--iface', plan.sinkIf, '--port', String(plan.udpPort), '--trial', String(trial)]);
  try {
    await waitReady(sink);
    const cpu0 = translatorPid === null ? null : processCpuNs(translatorPid);
    const sys0 = systemCpu();
    const gen = await runJson<GenReport>('pktgen', plan.sender, [
      ...pinOutside, tools.pktgen, '--iface', plan.senderIf, '--dst-mac', topo.gatewayMac,
      '--src', plan.flowSourceBase, '--dst', plan.sinkAddress, '--dst-port', String(plan.udpPort),
      '--size', String(spec.size), '--flows', String(spec.flows), '--rate', String(spec.rate),
      '--duration', String(spec.seconds), '--trial', String(trial),
    ]);
    await sleep(settleMs);
    const sys1 = systemCpu();
    const cpu1 = translatorPid === null ? null : processCpuNs(translatorPid);
    const got = await stop<SinkReport>(sink);
    if (got === null) throw new Error(`pktsink printed nothing: ${sink.stderr().trim()}`);
    const delivered = got.received + got.ringDrops;
    return {
      spec,
      offered: gen.offered,
      offeredPps: gen.offeredPps,
      delivered,
      deliveredPps: delivered / gen.seconds,
      ratio: gen.offered > 0 ? delivered / gen.offered : 0,
      sinkRingDrops: got.ringDrops,
      reordered: got.reordered,
      sources: got.sources,
      latencyNs: got.latencyNs,
      translatorCpuNs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null,
      softirqNs: sys1.softirqNs - sys0.softirqNs,
      busyNs: sys1.busyNs - sys0.busyNs,
    };
  } finally {
    await stop(sink);
  }
}
