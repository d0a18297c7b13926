// npm run bench [-- --quick] [--sizes 64,1400] [--only id,id] [--skip id,id] [--flows N] [--no-pps] [--no-bulk]
//   [--udp-gbps G] [--no-micro] [--out DIR]
// Builds the namespace topology, runs every translator configuration at each packet size (maximum rate,
// loss-free search, light-load latency), then the TCP and UDP GSO transfers (lib/bulk.ts), runs the core
// micro-benchmarks, and writes bench/results/latest.{json,md,svg}.
import { spawnSync } from 'node:child_process';
// Removes every namespace and process it made, also on failure and Ctrl-C.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { bulkTests, bulkTestUnavailable, runBulkTrial, type BulkTools } from './lib/bulk';
import { describeMachine } from './lib/machine';
import { runMicro } from './lib/micro';
import { killAllSync } from './lib/processes';
import { markdown, svg } from './lib/report';
import type { BenchResults, BulkRow, RowResult, SkippedRow } from './lib/results';
import { lossFreeRate } from './lib/search';
import * as topology from './lib/topology';
import { engineHasGsoOption, translators, type ActiveTranslator, type Translator, type TranslatorContext } from './lib/translators';
import { runTrial, type TrialResult, type Tools } from './lib/trial';

// dist/bench/run.js -> the package root; NPT66_ROOT overrides (a build compiled elsewhere).
const repoRoot = process.env.NPT66_ROOT ?? path.resolve(__dirname, '..', '..');
const t0 = Date.now();

function log(msg: string): void {
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
}

const kpps = (x: number): string => `${(x / 1000).toFixed(1)}k`;

function describe(t: TrialResult): string {
  return `offered ${kpps(t.offeredPps)} pps, delivered ${kpps(t.deliveredPps)} (${(t.ratio * 100).toFixed(1)} %)`;
}

function cpuPerPacket(t: TrialResult | null): number | null {
  return t && t.translatorCpuNs !== null && t.delivered > 0 ? t.translatorCpuNs / t.delivered : null;
}

function findTools(): Tools {
  const dir = process.env.NPT66_BUILD_DIR ?? path.join(repoRoot, 'build');
  const tools = { pktgen: path.join(dir, 'pktgen'), pktsink: path.join(dir, 'pktsink'), naiveNfq: path.join(dir, 'naive_nfq') };
  for (const p of Object.values(tools)) {
    if (!existsSync(p)) throw new Error(`${p} not found: build first (npm run build:native, or set NPT66_BUILD_DIR)`);
  }
  return tools;
}

// iperf3 from PATH; the UDP GSO tools next to pktgen. Missing ones skip their tests, with the reason.
function findBulkTools(dir: string): BulkTools {
  const which = spawnSync('sh', ['-c', 'command -v iperf3'], { encoding: 'utf8' });
  const built = (name: string): string | null => (existsSync(path.join(dir, name)) ? path.join(dir, name) : null);
  return {
    iperf3: which.status === 0 && which.stdout.trim() ? which.stdout.trim() : null,
    udpgsoSend: built('udpgso_send'),
    udpGroSink: built('udp_gro_sink'),
  };
}

const gbit = (x: number): string => `${x.toFixed(2)} Gbit/s`;

let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  killAllSync();
  try {
    topology.destroy();
  } catch (e) {
    process.stderr.write(`bench: cleanup: ${(e as Error).message}\n`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string', default: '64,1400' },
      only: { type: 'string' },
      skip: { type: 'string' },
      flows: { type: 'string', default: '256' },
      'no-pps': { type: 'boolean', default: false },
      'no-bulk': { type: 'boolean', default: false },
      'udp-gbps': { type: 'string', default: '0' },
      'no-micro': { type: 'boolean', default: false },
      out: { type: 'string', default: path.join(repoRoot, 'bench', 'results') },
    },
  });
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, AF_PACKET, NFQUEUE)');
  const quick = values.quick!;
  const settings = {
    sizes: values.sizes!.split(',').map(Number),
    flows: Number(values.flows),
    maxTrialSeconds: quick ? 0.6 : 3,
    searchTrialSeconds: quick ? 0.3 : 1.5,
    searchSteps: quick ? 4 : 7,
    lossTolerance: 0.001,
    latencyRatePps: quick ? 5000 : 10000,
    bulkSeconds: quick ? 2 : 5,
    udpGsoGbps: Number(values['udp-gbps']),
    micro: quick ? 'min time 0.05 s per benchmark; the 100 k sizes left out (filling tables takes long)' : 'min time 0.5 s per benchmark',
    cpuLayout:
      os.cpus().length >= 2
        ? 'CPU 0: generator and sink (nice -20); CPU 1: the gateway (RPS on its veths); translator processes not pinned unless the row says so'
        : 'one CPU: generator, gateway and sink share it',
  };
  const only = values.only ? new Set(values.only.split(',')) : null;
  const skip = new Set(values.skip ? values.skip.split(',') : []);
  const tools = findTools();
  const bulkTools = findBulkTools(path.dirname(tools.pktgen));
  const ctx: TranslatorContext = { tools, repoRoot };
  const startedAt = new Date().toISOString();
  const machine = describeMachine(repoRoot);
  const engineGsoOption = engineHasGsoOption(repoRoot);
  log(`npt66 bench (${quick ? 'quick' : 'full'}) on ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, load ${machine.loadAverageAtStart.join(' ')}`);
  if (!engineGsoOption) log('the engine has no gso option yet: every npt66 row runs with GSO off');

  const rows: RowResult[] = [];
  const skipped: SkippedRow[] = [];
  const chosen: Translator[] = [];
  for (const t of translators) {
    if (only && !only.has(t.id)) continue;
    const why = skip.has(t.id) ? 'left out of this run (--skip)' : t.unavailable(ctx);
    if (why) {
      skipped.push({ id: t.id, label: t.label, reason: why });
      log(`skip ${t.label}: ${why}`);
    } else chosen.push(t);
  }

  const topo = topology.create();
  log(`topology up: ${topology.plan.sender} -> ${topology.plan.gateway} -> ${topology.plan.sink}`);
  const kernelDigest = new Map<number, string>();
  for (const t of chosen) {
    if (!t.pps || values['no-pps']) continue;
    for (const size of settings.sizes) {
      const name = `${t.label}, ${size} B`;
      topology.resetGateway();
      let active: ActiveTranslator | null;
      try {
        active = await t.setup(ctx);
      } catch (e) {
        skipped.push({ id: t.id, label: `${t.label} (${size} B)`, reason: `setup failed: ${(e as Error).message}` });
        log(`${name}: setup failed: ${(e as Error).message}`);
        topology.resetGateway();
        continue;
      }
      let counters: Record<string, unknown> | null = null;
      try {
        const trial = (rate: number, seconds: number): Promise<TrialResult> =>
          runTrial(tools, topo, { size, rate, seconds, flows: settings.flows }, active!.pid, quick ? 120 : 250);
        await trial(settings.latencyRatePps, quick ? 0.15 : 0.5); // warm-up: JIT, caches, first conntrack entries
        const max = await trial(0, settings.maxTrialSeconds);
        log(`${name}: max ${describe(max)}`);
        const lossFree = await lossFreeRate(max, {
          steps: settings.searchSteps,
          tolerance: settings.lossTolerance,
          trial: (rate) => trial(rate, settings.searchTrialSeconds),
          progress: (p) => log(`${name}:   probe ${describe(p)}`),
        });
        log(`${name}: loss-free ${lossFree.atGeneratorMax ? '>= ' : ''}${kpps(lossFree.pps)} pps`);
        const latencyRate = lossFree.pps > 0 ? Math.min(settings.latencyRatePps, lossFree.pps / 2) : 0;
        const latency = latencyRate > 0 ? await trial(Math.round(latencyRate), settings.searchTrialSeconds) : null;
        if (latency) log(`${name}: latency p50 ${(latency.latencyNs.p50 / 1e3).toFixed(0)} µs, p99 ${(latency.latencyNs.p99 / 1e3).toFixed(0)} µs at ${kpps(latency.offeredPps)} pps`);
        counters = await active!.teardown();
        active = null;
        if (t.id === 'kernel-npt') kernelDigest.set(size, max.sources.digest);
        const reference = kernelDigest.get(size);
        rows.push({
          id: t.id,
          label: t.label,
          kind: t.kind,
          translation: t.translation,
          size,
          max,
          lossFree,
          latency,
          translatorCpuNsPerPacket: cpuPerPacket(lossFree.best),
          softirqNsPerPacket: lossFree.best && lossFree.best.delivered > 0 ? lossFree.best.softirqNs / lossFree.best.delivered : 0,
          translatorCpuNsPerPacketAtMax: cpuPerPacket(max),
          sameTranslationAsKernel:
            t.translation === 'nptv6' && reference !== undefined && max.sources.distinct === settings.flows
              ? max.sources.digest === reference
              : null,
          translatorCounters: counters,
        });
      } finally {
        if (active) await active.teardown();
        topology.resetGateway();
      }
      await sleep(100);
    }
  }

  // TCP and UDP GSO transfers: each on a translator set up for it alone, so its counters are the transfer's.
  const bulk: BulkRow[] = [];
  const tests = values['no-bulk'] ? [] : bulkTests.filter(({ test, label }) => {
    const why = bulkTestUnavailable(bulkTools, test);
    if (why) {
      skipped.push({ id: test, label, reason: why });
      log(`skip ${label}: ${why}`);
    }
    return why === null;
  });
  for (const t of chosen) {
    if (!t.bulk) continue;
    for (const { test, label } of tests) {
      const name = `${t.label}, ${label}`;
      topology.resetGateway();
      let active: ActiveTranslator | null = null;
      try {
        active = await t.setup(ctx);
        const trial = await runBulkTrial(bulkTools, test, settings.bulkSeconds, active.pid, quick ? 120 : 250, settings.udpGsoGbps);
        const kernelQueueDrops = t.kind === 'userspace' ? topology.queueDrops() : null; // before unbind resets them
        const counters = await active.teardown();
        active = null;
        const received = counters && typeof counters.queue_received === 'number' ? counters.queue_received : null;
        bulk.push({
          id: t.id,
          label: t.label,
          kind: t.kind,
          translation: t.translation,
          test,
          trial,
          queueMessagesPerPacket: received !== null && trial.wirePackets > 0 ? received / trial.wirePackets : null,
          kernelQueueDrops,
          translatorCounters: counters,
        });
        const extra = trial.offeredGbps !== null ? ` of ${gbit(trial.offeredGbps)} offered` : `, ${trial.tcp!.retransmits} retransmits`;
        log(`${name}: ${gbit(trial.gbps)}${extra}`);
      } catch (e) {
        skipped.push({ id: t.id, label: name, reason: `failed: ${(e as Error).message}` });
        log(`${name}: failed: ${(e as Error).message}`);
      } finally {
        if (active) await active.teardown();
        topology.resetGateway();
      }
      await sleep(100);
    }
  }
  cleanup();

  log('core micro-benchmarks');
  const micro = values['no-micro'] ? 'skipped (--no-micro)' : runMicro(path.join(path.dirname(tools.pktgen), 'npt66_bench'), quick ? 0.05 : 0.5, quick ? '-/100000$' : '');
  const results: BenchResults = {
    version: 1,
    mode: quick ? 'quick' : 'full',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    settings,
    rows,
    bulk,
    engineGsoOption,
    skipped,
    micro,
  };
  mkdirSync(values.out!, { recursive: true });
  writeFileSync(path.join(values.out!, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(values.out!, 'latest.md'), markdown(results));
  writeFileSync(path.join(values.out!, 'latest.svg'), svg(results));
  log(`wrote ${path.join(values.out!, 'latest.{json,md,svg}')}`);
  process.stdout.write(markdown(results));
}

process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`${sig}: cleaning up`);
    cleanup();
    process.exit(130);
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  cleanup();
  process.exit(1);
});
