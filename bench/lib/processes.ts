// Child processes of one benchmark run: started in a namespace, waited on for "ready", stopped with SIGTERM
// and read for the JSON line they print. Every pid is remembered so an exit handler can kill what is left.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface Running {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();

// Runs `argv` inside network namespace `ns` (`ip netns exec` execs, so the pid is the program's own).
export function start(name: string, ns: string | null, argv: string[], env: NodeJS.ProcessEnv = process.env): Running {
  const full = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
  const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${full.join(' ')}`);
  live.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      live.delete(child);
      resolve(code);
    });
  });
  return { name, pid: child.pid, child, stdout: () => out, stderr: () => err, exited };
}

// Resolves once the process printed `word` on a line of stderr; rejects if it exits first or times out.
export function waitReady(p: Running, word = 'ready', timeoutMs = 10000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${p.name}: not ready after ${timeoutMs} ms: ${p.stderr().trim()}`)), timeoutMs);
    const check = (): void => {
      if (p.stderr().split('\n').some((l) => l.trim() === word)) done();
    };
    const onExit = (code: number | null): void =>
      fail(new Error(`${p.name}: exited (${code}) before ready: ${p.stderr().trim()}`));
    const done = (): void => {
      clearTimeout(timer);
      p.child.stderr!.off('data', check);
      p.child.off('exit', onExit);
      resolve();
    };
    const fail = (e: Error): void => {
      clearTimeout(timer);
      p.child.stderr!.off('data', check);
      p.child.off('exit', onExit);
      reject(e);
    };
    p.child.stderr!.on('data', check);
    p.child.once('exit', onExit);
    check();
  });
}

// Last line of stdout parsed as JSON.
export function lastJson<T>(p: Running): T {
  const lines = p.stdout().trim().split('\n').filter((l) => l.startsWith('{'));
  if (lines.length === 0) throw new Error(`${p.name}: printed no JSON (stderr: ${p.stderr().trim()})`);
  return JSON.parse(lines[lines.length - 1]) as T;
}

// Runs to completion and returns the JSON it printed.
export async function runJson<T>(name: string, ns: string | null, argv: string[]): Promise<T> {
  const p = start(name, ns, argv);
  const code = await p.exited;
  if (code !== 0) throw new Error(`${name}: exit ${code}: ${p.stderr().trim()}`);
  return lastJson<T>(p);
}

// SIGTERM, then SIGKILL after `graceMs`; resolves with the JSON the process printed, if any.
export async function stop<T>(p: Running, graceMs = 3000): Promise<T | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) {
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
    await p.exited;
    clearTimeout(timer);
  }
  try {
    return lastJson<T>(p);
  } catch {
    return null;
  }
}

// For exit handlers: kill every child still running, by its pid, synchronously.
export function killAllSync(): void {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}

// A command that must succeed; returns its stdout.
export function sh(argv: string[], ns: string | null = null): string {
  const full = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
  const r = spawnSync(full[0], full.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${full.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`.trim());
  return r.stdout;
}

// A command whose failure does not matter (cleanup).
export function shQuiet(argv: string[], ns: string | null = null): void {
  const full = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
  spawnSync(full[0], full.slice(1), { stdio: 'ignore' });
}
