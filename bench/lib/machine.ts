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
  // The commit the binaries were built from: NPT66_COMMIT when they were built elsewhere, else the checkout's
  // HEAD, marked when the working tree has changes (they may be in what was measured).
  const git = spawnSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  const head = git.status === 0 ? `${git.stdout.trim()}${dirty.stdout.trim() ? ' with uncommitted changes' : ''}` : null;
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    kernel: os.release(),
    node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    commit: process.env.NPT66_COMMIT ?? head,
  };
}
