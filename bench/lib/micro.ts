// Runs the Google Benchmark micro-benchmarks (bench/native) and keeps ns/packet and packets/s per benchmark.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface MicroResult {
  name: string;
  nsPerPacket: number;
  packetsPerSecond: number;
}

interface GbenchJson {
  benchmarks: { name: string; run_type?: string; cpu_time: number; time_unit: string; items_per_second?: number; error_occurred?: boolean; error_message?: string }[];
}

const unitNs: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };

// `filter`: a Google Benchmark regex (a leading '-' excludes), e.g. to leave the slow-to-fill sizes out of --quick.
export function runMicro(binary: string, minTimeSeconds: number, filter = ''): MicroResult[] | string {
  if (!existsSync(binary)) return `${binary} not built`;
  // Google Benchmark 1.7 (Debian 12) takes a plain number of seconds for --benchmark_min_time.
  const args = ['--benchmark_format=json', `--benchmark_min_time=${minTimeSeconds}`];
  if (filter) args.push(`--benchmark_filter=${filter}`);
  const r = spawnSync(binary, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) return `${binary} failed: ${r.stderr.trim()}`;
  const doc = JSON.parse(r.stdout) as GbenchJson;
  return doc.benchmarks
    .filter((b) => b.run_type !== 'aggregate')
    .map((b) => {
      if (b.error_occurred) throw new Error(`${b.name}: ${b.error_message}`);
      // items_per_second is the whole benchmark's throughput (all threads together for the threaded ones).
      const pps = b.items_per_second ?? 1e9 / (b.cpu_time * (unitNs[b.time_unit] ?? 1));
      return { name: b.name, nsPerPacket: 1e9 / pps, packetsPerSecond: pps };
    });
}
