// Soak (issue 9): a live `npt66 run` doing NPTv6 and masquerade at once under many short flows for N minutes,
// sampled every few seconds (the daemon's RSS from /proc/PID/status, live mappings, counters), then checked:
//   - RSS growth after warm-up (the first 20 % of the run) below 5 %: the median of the last three samples
//     under traffic against the median of the first three after warm-up (one sample is GC noise);
//   - every mapping expires once traffic stops: `npt66 mappings` empty within the longest timer plus slack,
//     and as many mappings expired as were created (counters) and as many DESTROY as NEW log lines;
//   - the daemon kept running and answered nearly every flow (under 1 % lost), and stops cleanly.
// Masquerade timers are shortened (TCP and ICMPv6 echo: seconds) so expiry takes seconds; UDP cannot go below
// 120 s (RFC 4787 REQ-5, the schema's floor), so with masqueradeUdp the expiry wait is that long; the in-test
// version (test/netns/soak.test.ts) sends UDP through NPTv6 only and keeps masquerade to TCP and ping.
//
//   node dist/test/soak/soak.js [--minutes N] [--rate FLOWS_PER_S] [--no-masquerade-udp]   (root; `npm run soak`)
// Prints one JSON summary; exit status 1 when a check failed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { waitFor } from '../../src/netns';
import { LineProcess } from '../netns/lib/line_process';
import { CLI_PATH, jsonMsg, parseJson } from '../netns/lib/npt66_daemon';
import { startNodeTool } from '../netns/lib/traffic';
import { MASQ_SOURCE, NPT_INSIDE, NPT_OUTSIDE, OUTSIDE_IF, SOAK_ADDR, SoakLab, type SoakNs } from './soak_lab';

const TOOL = resolve(__dirname, 'soak_tool.js');
const UDP_PORT = 7000;
const TCP_PORT = 7001;
const TIMEOUTS = { udp: 120, tcpEstablished: 5, tcpTransitory: 2, icmp: 2 }; // seconds; udp: the schema's floor
const RSS_LIMIT = 0.05;
const LOSS_LIMIT = 0.01;

export interface SoakOptions {
  minutes: number;
  rate?: number; // new flows a second from each inside host (half UDP, half TCP)
  masqueradeUdp?: boolean; // UDP flows through the masquerade too (expiry then waits the 120 s UDP timer)
  sampleSeconds?: number;
  prefix?: string; // namespace prefix
  progress?: (line: string) => void;
}

export interface Sample {
  t: number; // seconds since traffic started
  rssKb: number;
  mappings: number;
}

export interface SoakSummary {
  ok: boolean;
  failures: string[];
  minutes: number;
  rssKb: { start: number; afterWarmup: number; end: number; peak: number; growthPercent: number };
  flows: { udp: { ok: number; failed: number }; tcp: { ok: number; failed: number }; pings: { sent: number; received: number } };
  packets: { nptv6Outbound: number; nptv6Inbound: number; nat66Outbound: number; nat66Inbound: number; queueReceived: number; dropped: number };
  mappings: { peak: number; created: number; expired: number; newEvents: number; destroyEvents: number; expiredWithinSeconds: number | null; leftAfterExpiry: number };
  samples: Sample[];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

// The daemon, with its stdout counted instead of kept (hours of mapping lines would be the runner's own leak).
class Daemon {
  readonly dir = mkdtempSync(join(tmpdir(), 'npt66-soak-'));
  readonly socket: string;
  readonly events = { NEW: 0, DESTROY: 0 };
  readonly tail: string[] = [];
  private ready = false;
  proc!: LineProcess;

  constructor(
    private readonly lab: SoakLab,
    tag: string,
  ) {
    this.socket = `/run/npt66-${tag}.sock`;
  }

  async start(): Promise<void> {
    const file = join(this.dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        nptv6: [{ inside: NPT_INSIDE, outside: NPT_OUTSIDE, interface: OUTSIDE_IF }],
        masquerade: [
          { source: MASQ_SOURCE, interface: OUTSIDE_IF, address: SOAK_ADDR.gwOutside, ports: '20000-29999', timeouts: TIMEOUTS, maxMappings: 100_000, maxPerHost64: 6000 },
        ],
        queues: { first: 0, count: 1 },
        control: { socket: this.socket },
      }),
    );
    const child = this.lab.topology.spawn('gw', [process.execPath, CLI_PATH, 'run', '-c', file]);
    this.proc = new LineProcess(child, 'npt66 run');
    // LineProcess keeps every line: count them and keep a short tail instead.
    child.stdout?.on('data', () => {
      for (const line of this.proc.lines.splice(0)) {
        const o = parseJson(line);
        if (o?.msg === 'mapping' && (o.event === 'NEW' || o.event === 'DESTROY')) this.events[o.event]++;
        else if (jsonMsg(line) === 'ready') this.ready = true;
        this.tail.push(line);
        if (this.tail.length > 20) this.tail.shift();
      }
    });
    await waitFor('npt66 run: ready', () => {
      if (this.proc.exit) throw new Error(`npt66 run exited ${JSON.stringify(this.proc.exit)}\n${this.tail.join('\n')}\n${this.proc.stderr}`);
      return this.ready;
    }, 20_000);
  }

  get pid(): number {
    return this.proc.pid; // `ip netns exec` execs node: the same pid
  }

  async cli(command: string): Promise<unknown> {
    const r = await this.lab.ns('gw').exec([process.execPath, CLI_PATH, command, '--json', '--socket', this.socket]);
    return JSON.parse(r.stdout) as unknown;
  }

  async mappings(): Promise<number> {
    const out = await this.cli('mappings');
    const list = Array.isArray(out) ? out : (out as { mappings?: unknown }).mappings;
    if (!Array.isArray(list)) throw new Error(`npt66 mappings --json printed no list: ${JSON.stringify(out)}`);
    return list.length;
  }

  async counters(): Promise<Record<string, number>> {
    return ((await this.cli('stats')) as { total: Record<string, number> }).total;
  }

  async stop(): Promise<void> {
    this.proc.child.kill('SIGTERM');
    const exit = await this.proc.waitExit(20_000);
    if (exit.code !== 0) throw new Error(`npt66 run exited ${JSON.stringify(exit)} on SIGTERM\n${this.tail.join('\n')}\n${this.proc.stderr}`);
  }

  dispose(): void {
    if (this.proc && !this.proc.exit) this.proc.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.socket, { force: true });
  }
}

// Short pings, one process (one echo identifier, one masquerade mapping) after the other, until `running()` is false.
async function pingLoop(lab: SoakLab, from: SoakNs, running: () => boolean, tally: { sent: number; received: number }): Promise<void> {
  while (running()) {
    const r = await lab.ns(from).exec(['ping', '-6', '-n', '-q', '-c', '5', '-i', '0.2', '-W', '1', SOAK_ADDR.out], { allowFailure: true, timeoutMs: 30_000 });
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    tally.sent += Number(m?.[1] ?? 0);
    tally.received += Number(m?.[2] ?? 0);
  }
}

export async function runSoak(o: SoakOptions): Promise<SoakSummary> {
  const rate = o.rate ?? 40;
  const masqueradeUdp = o.masqueradeUdp ?? true;
  const durationS = o.minutes * 60;
  const sampleS = o.sampleSeconds ?? Math.min(10, Math.max(2, Math.round(durationS / 60)));
  const prefix = o.prefix ?? 'nk-soak-';
  const say = o.progress ?? (() => undefined);
  const failures: string[] = [];

  const lab = await SoakLab.create(prefix);
  const daemon = new Daemon(lab, prefix.replace(/-$/, ''));
  try {
    await daemon.start();
    const server = startNodeTool(lab, 'out', TOOL, ['serve', UDP_PORT, TCP_PORT]);
    await server.waitForLine('listening', (l) => l.includes('"listening"'));
    const churners = [
      startNodeTool(lab, 'n1', TOOL, ['churn', SOAK_ADDR.out, UDP_PORT, TCP_PORT, rate, 'mixed']),
      startNodeTool(lab, 'c1', TOOL, ['churn', SOAK_ADDR.out, UDP_PORT, TCP_PORT, rate, masqueradeUdp ? 'mixed' : 'tcp']),
    ];
    let traffic = true;
    const pings = { sent: 0, received: 0 };
    const pingers = [pingLoop(lab, 'n1', () => traffic, pings), pingLoop(lab, 'c1', () => traffic, pings)];

    const samples: Sample[] = [];
    const started = Date.now();
    while (Date.now() - started < durationS * 1000) {
      if (daemon.proc.exit) throw new Error(`npt66 run died under traffic: ${JSON.stringify(daemon.proc.exit)}\n${daemon.tail.join('\n')}\n${daemon.proc.stderr}`);
      const s = { t: Math.round((Date.now() - started) / 1000), rssKb: rssKb(daemon.pid), mappings: await daemon.mappings() };
      samples.push(s);
      say(`soak: ${s.t} s  rss ${s.rssKb} kB  mappings ${s.mappings}`);
      await sleep(Math.max(0, started + samples.length * sampleS * 1000 - Date.now()));
    }
    traffic = false;
    for (const c of churners) c.child.kill('SIGTERM');
    const flows = { udp: { ok: 0, failed: 0 }, tcp: { ok: 0, failed: 0 } };
    for (const c of churners) {
      await c.waitExit(10_000);
      const r = c.lastJson<typeof flows>();
      for (const k of ['udp', 'tcp'] as const) {
        flows[k].ok += r[k].ok;
        flows[k].failed += r[k].failed;
      }
    }
    await Promise.all(pingers);

    // Expiry: the longest timer in use, plus the housekeeping's sweep and the sampling.
    const longest = Math.max(masqueradeUdp ? TIMEOUTS.udp : 0, TIMEOUTS.tcpEstablished, TIMEOUTS.tcpTransitory, TIMEOUTS.icmp) + 15;
    const stopped = Date.now();
    let left = await daemon.mappings();
    say(`soak: traffic stopped, ${left} mappings, waiting up to ${longest} s for them to expire`);
    while (left > 0 && Date.now() - stopped < longest * 1000) {
      await sleep(1000);
      left = await daemon.mappings();
    }
    const expiredWithin = left === 0 ? Math.ceil((Date.now() - stopped) / 1000) : null;
    await sleep(1500); // the last DESTROY events reach the log in the next housekeeping batch
    const c = await daemon.counters();
    const rssEnd = rssKb(daemon.pid);
    await daemon.stop();

    const warm = samples.filter((s) => s.t >= durationS * 0.2);
    const afterWarmup = median(warm.slice(0, 3).map((s) => s.rssKb));
    const end = median(warm.slice(-3).map((s) => s.rssKb));
    const growth = afterWarmup ? (end - afterWarmup) / afterWarmup : 0;
    const totalFlows = flows.udp.ok + flows.udp.failed + flows.tcp.ok + flows.tcp.failed;
    const lost = flows.udp.failed + flows.tcp.failed + (pings.sent - pings.received);
    const dropped = Object.entries(c).reduce((sum, [k, v]) => (k.startsWith('drop_') ? sum + v : sum), 0);

    if (warm.length < 4) failures.push(`only ${warm.length} samples after warm-up: run longer or sample more often`);
    if (growth >= RSS_LIMIT) failures.push(`RSS grew ${(growth * 100).toFixed(1)} % after warm-up (${afterWarmup} -> ${end} kB), limit ${RSS_LIMIT * 100} %`);
    if (left !== 0) failures.push(`${left} mappings still live ${longest} s after traffic stopped`);
    if ((c.nat66_mapping_created ?? 0) !== (c.nat66_mapping_expired ?? 0)) failures.push(`${c.nat66_mapping_created} mappings created, ${c.nat66_mapping_expired} expired`);
    if (daemon.events.NEW !== daemon.events.DESTROY) failures.push(`${daemon.events.NEW} NEW and ${daemon.events.DESTROY} DESTROY mapping log lines`);
    if (totalFlows === 0 || lost / (totalFlows + pings.sent) >= LOSS_LIMIT) failures.push(`${lost} of ${totalFlows} flows and ${pings.sent} pings lost (limit ${LOSS_LIMIT * 100} %)`);

    return {
      ok: failures.length === 0,
      failures,
      minutes: o.minutes,
      rssKb: { start: samples[0]?.rssKb ?? 0, afterWarmup, end, peak: Math.max(rssEnd, ...samples.map((s) => s.rssKb)), growthPercent: Math.round(growth * 1000) / 10 },
      flows: { ...flows, pings },
      packets: {
        nptv6Outbound: c.nptv6_outbound ?? 0,
        nptv6Inbound: c.nptv6_inbound ?? 0,
        nat66Outbound: c.nat66_outbound ?? 0,
        nat66Inbound: c.nat66_inbound ?? 0,
        queueReceived: c.queue_received ?? 0,
        dropped,
      },
      mappings: {
        peak: Math.max(...samples.map((s) => s.mappings)),
        created: c.nat66_mapping_created ?? 0,
        expired: c.nat66_mapping_expired ?? 0,
        newEvents: daemon.events.NEW,
        destroyEvents: daemon.events.DESTROY,
        expiredWithinSeconds: expiredWithin,
        leftAfterExpiry: left,
      },
      samples,
    };
  } finally {
    daemon.dispose();
    lab.destroy();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { minutes: { type: 'string', default: '10' }, rate: { type: 'string' }, 'no-masquerade-udp': { type: 'boolean', default: false } },
  });
  const minutes = Number(values.minutes);
  if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, got ${values.minutes}`);
  const summary = await runSoak({
    minutes,
    rate: values.rate === undefined ? undefined : Number(values.rate),
    masqueradeUdp: !values['no-masquerade-udp'],
    progress: (l) => process.stderr.write(`${l}\n`),
  });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.exitCode = summary.ok ? 0 : 1;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`soak: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(2);
  });
}
