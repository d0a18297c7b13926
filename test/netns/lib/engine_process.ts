// The engine smoke tests' remote control of a native queue Engine that runs in its own process inside a namespace
// (engine_driver.ts, NFQUEUE being per network namespace), and what both smoke tests measure around it: ping6
// summaries, the sources of echo requests seen on a link, and the one-verdict-per-packet balance.
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

import type { Nptv6Mapping } from '../../../src/config';
import type { NativeEngineEvent, NativeEngineStats, NativeMappingEvent, NativeMappingRecord } from '../../../src/native';
import { waitFor, type Topology } from '../../../src/netns';
import type { DriverMasquerade, DriverRequest } from './engine_driver';

const DRIVER = path.join(__dirname, 'engine_driver.js');

export const ENGINE_DEFAULTS = { queueFirst: 0, queueCount: 1, queueMaxLen: 4096, socketBufferBytes: 8 << 20, failOpen: false, icmpRateLimit: 100 };

export type EngineProcessOptions = Partial<typeof ENGINE_DEFAULTS> & { mappings?: Nptv6Mapping[]; masquerade?: DriverMasquerade[] };

export class EngineProcess {
  readonly events: NativeEngineEvent[] = [];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private nextId = 1;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { id?: number; ok?: boolean; result?: unknown; error?: unknown; events?: NativeEngineEvent[] };
      if (msg.events) this.events.push(...msg.events);
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.ok) p?.resolve(msg.result);
      else p?.reject(msg.error);
    });
    child.once('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('engine driver exited'));
    });
  }

  // Starts the driver in namespace `ns` and creates the Engine there (not started): the defaults above, no
  // NPTv6 mapping and no masquerade unless `options` give them.
  static async create(topo: Topology, ns: string, options: EngineProcessOptions): Promise<EngineProcess> {
    const child = topo.spawn(ns, ['node', DRIVER], { stdio: ['pipe', 'pipe', 'inherit'], env: process.env });
    const e = new EngineProcess(child);
    await e.call('create', { options: { ...ENGINE_DEFAULTS, mappings: [], ...options } });
    return e;
  }

  call<T = unknown>(cmd: DriverRequest['cmd'], args?: DriverRequest['args']): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, cmd, args })}\n`);
    });
  }

  stats(): Promise<NativeEngineStats> {
    return this.call<NativeEngineStats>('stats');
  }

  mappings(): Promise<NativeMappingRecord[]> {
    return this.call<NativeMappingRecord[]>('mappings');
  }

  mappingEvents(): NativeMappingEvent[] {
    return this.events.filter((e): e is NativeMappingEvent => e.type === 'mapping');
  }

  // Closing stdin makes the driver stop the engine (unbinding its queues) and exit.
  async close(): Promise<void> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

// `ping -n ARGS` in `ns`; its summary must be there. `output`: what ping printed (stdout, then stderr).
export async function ping(topo: Topology, ns: string, args: string[]): Promise<{ sent: number; received: number; output: string }> {
  const r = await topo.ns(ns).exec(['ping', '-n', ...args], { allowFailure: true, timeoutMs: 60_000 });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  assert.ok(m, `no ping summary in: ${r.stdout}${r.stderr}`);
  return { sent: Number(m[1]), received: Number(m[2]), output: r.stdout + r.stderr };
}

// Captures the sources of `count` ICMPv6 echo requests on `ns`'s eth0 while `traffic` runs.
export async function echoRequestSources(topo: Topology, ns: string, count: number, traffic: () => Promise<unknown>): Promise<string[]> {
  const child = topo.spawn(ns, ['tcpdump', '-n', '-l', '-i', 'eth0', '-c', String(count), 'icmp6 and ip6[40] == 128']);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor('tcpdump to listen', () => stderr.includes('listening on'));
  await traffic();
  const timer = setTimeout(() => child.kill('SIGTERM'), 5_000);
  await exited;
  clearTimeout(timer);
  return stdout
    .split('\n')
    .map((l) => / IP6 ([0-9a-f:]+) > /.exec(l)?.[1])
    .filter((s): s is string => s !== undefined);
}

// Every packet the engine received got exactly one verdict that the kernel took.
export function assertEveryPacketHasAVerdict(s: NativeEngineStats): void {
  const t = s.total;
  assert.equal(t.queue_received, t.queue_verdict_accept! + t.queue_verdict_accept_mangled! + t.queue_verdict_drop!);
  assert.equal(t.queue_verdict_unsent, 0);
}
