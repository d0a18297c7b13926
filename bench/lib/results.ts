// The shape of bench/results/latest.json.
import type { BulkTest, BulkTrialResult } from './bulk';
import type { Machine } from './machine';
import type { MicroResult } from './micro';
import type { TrialResult } from './trial';

export interface LossFree {
  pps: number; // highest offered rate that met the loss tolerance (0: none did)
  atGeneratorMax: boolean; // the generator's maximum itself was loss-free: the true figure may be higher
  probes: { offeredPps: number; ratio: number }[];
  best: TrialResult | null; // the trial that set `pps` (the maximum-rate trial when atGeneratorMax)
}

export interface RowResult {
  id: string;
  label: string;
  kind: 'forwarding' | 'kernel' | 'userspace';
  translation: 'none' | 'nptv6' | 'masquerade';
  size: number;
  max: TrialResult;
  lossFree: LossFree;
  latency: TrialResult | null; // a light-load trial for p50/p99
  // CPU per delivered packet during the loss-free trial (a load the translator sustains; overload adds waste that
  // says more about the overload than the translator). Userspace rows: utime+stime of the translator process.
  translatorCpuNsPerPacket: number | null;
  softirqNsPerPacket: number; // all CPUs' softirq time per delivered packet, same trial
  translatorCpuNsPerPacketAtMax: number | null; // the same during the maximum-rate trial
  sameTranslationAsKernel: boolean | null; // NPTv6 rows: the sink saw the same source addresses as with SNPT
  translatorCounters: Record<string, unknown> | null;
}

// One TCP or UDP GSO transfer through one configuration (bulk.ts), on a translator set up for it alone.
export interface BulkRow {
  id: string;
  label: string;
  kind: 'forwarding' | 'kernel' | 'userspace';
  translation: 'none' | 'nptv6' | 'masquerade';
  test: BulkTest;
  trial: BulkTrialResult;
  // The engine's queue messages (queue_received over the whole life of the translator: the transfer, iperf3's
  // control connection, nothing else) per packet on the wire; null for kernel rows.
  queueMessagesPerPacket: number | null;
  // The kernel's drops on the queues during the transfer (nfnetlink_queue's queue_dropped / user_dropped); null
  // for kernel rows.
  kernelQueueDrops: { queueDropped: number; userDropped: number } | null;
  translatorCounters: Record<string, unknown> | null;
}

export interface SkippedRow {
  id: string;
  label: string;
  reason: string;
}

export interface BenchResults {
  version: 1;
  mode: 'quick' | 'full';
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  settings: {
    sizes: number[];
    flows: number;
    maxTrialSeconds: number;
    searchTrialSeconds: number;
    searchSteps: number;
    lossTolerance: number;
    latencyRatePps: number;
    cpuLayout: string;
    micro: string; // how the micro-benchmarks were run
    bulkSeconds: number; // each TCP / UDP GSO transfer
    udpGsoGbps: number; // the UDP GSO sender's pace (--udp-gbps); 0: as fast as it can
  };
  rows: RowResult[];
  bulk: BulkRow[];
  // Whether the engine had a gso option (NFQA_CFG_F_GSO) when this ran: without it every npt66 row ran with GSO
  // off whatever its label says.
  engineGsoOption: boolean;
  skipped: SkippedRow[];
  micro: MicroResult[] | string;
}
