// One run at a time per lab name, across processes: several people (or CI jobs) may run the same test file
// at once, and each run removes stale namespaces of its prefix before building its own — which must never
// hit a live run's namespaces. A lock file holds the owner's pid; a lock whose owner is dead is stale, so a
// run that dies (even by SIGKILL) never blocks the next one.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { waitFor } from '../../../src/netns';

const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryTake(path: string): boolean {
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  let owner = NaN;
  try {
    owner = Number(readFileSync(path, 'utf8'));
  } catch {
    return false; // released meanwhile: try again next poll
  }
  if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
  try {
    unlinkSync(path); // the owner died without releasing it
  } catch {
    /* someone else cleared it first */
  }
  return false;
}

// Waits until this process holds the lock `name`; returns the function that releases it.
export async function acquireRunLock(name: string, timeoutMs = 300_000): Promise<() => void> {
  const path = `/run/npt66-${name}.lock`;
  await waitFor(`the run lock ${path} (another run of the same test holds it)`, () => tryTake(path), timeoutMs);
  held.add(path);
  return () => release(path);
}

function release(path: string): void {
  if (!held.delete(path)) return;
  try {
    if (Number(readFileSync(path, 'utf8')) === process.pid) unlinkSync(path);
  } catch {
    /* already gone */
  }
}
