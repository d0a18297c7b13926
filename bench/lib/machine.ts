// What the numbers were measured on: absolute figures depend on it, the ratios much less.
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  loadAverageAtStart: number[];
  commit: string | null;
}

export function describeMachine(repoRoot: string): Machine {
  const git = spawnSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    kernel: os.release(),
    node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    commit: git.status === 0 ? git.stdout.trim() : null,
  };
}
