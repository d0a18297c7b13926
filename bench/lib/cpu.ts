// CPU time, read from /proc. This kernel accounts by tick sampling (no IRQ time accounting, no schedstats), so
// the figures are samples at USER_HZ resolution: good over whole trials, not for single packets.
import { readFileSync } from 'node:fs';

const userHz = 100; // /proc reports in USER_HZ (clock_t) units, 100 on Linux

// utime + stime of a whole process (all its threads, live and exited), in ns; null once it is gone.
export function processCpuNs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes comm: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e9) / userHz;
  } catch {
    return null;
  }
}

export interface SystemCpu {
  softirqNs: number;
  busyNs: number; // everything but idle and iowait, all CPUs
}

// The "cpu" line of /proc/stat, system-wide (softirq time is not per namespace).
export function systemCpu(): SystemCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = v; // idle and iowait left out
  const toNs = (t: number): number => (t * 1e9) / userHz;
  return { softirqNs: toNs(softirq), busyNs: toNs(user + nice + system + irq + softirq + steal) };
}
