// The configurations the benchmark compares. Each sets itself up on the gateway namespace and names the process
// whose CPU time is the translator's (null for kernel-only rows, whose work shows up as softirq time).
// To add a row: append an entry to `translators` — setup installs rules/starts a process, teardown stops it;
// the runner resets the gateway's rules after every row. `pps` rows run the 64 B / 1400 B packet-rate tables,
// `bulk` rows the TCP and UDP GSO transfers (bulk.ts), each transfer on a freshly set-up translator.
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { start, stop, waitReady, sh, type Running } from './processes';
import { plan } from './topology';
import type { Tools } from './trial';

export interface TranslatorContext {
  tools: Tools;
  repoRoot: string;
}

export interface ActiveTranslator {
  pid: number | null; // process to charge CPU time to; null: kernel only
  teardown(): Promise<Record<string, unknown> | null>; // the process's own final counters, if it has any
}

export interface Translator {
  id: string;
  label: string;
  kind: 'forwarding' | 'kernel' | 'userspace';
  translation: 'none' | 'nptv6' | 'masquerade';
  pps: boolean; // in the packet-rate tables
  bulk: boolean; // in the TCP / UDP GSO tables
  // A reason this row cannot run here (something not built yet), or null.
  unavailable(ctx: TranslatorContext): string | null;
  setup(ctx: TranslatorContext): Promise<ActiveTranslator>;
}

const ip6tables = (...args: string[]): string => sh(['ip6tables', ...args], plan.gateway);

// Where npt66 puts its rules (REFERENCE.md s3): outbound in mangle POSTROUTING after routing, inbound in raw
// PREROUTING before conntrack. Userspace rows queue there; fail-closed (no --queue-bypass).
function queueRules(outbound: string[], inbound: string[]): void {
  ip6tables('-t', 'mangle', '-A', 'POSTROUTING', '-o', plan.gatewayOutsideIf, '-s', plan.insidePrefix, '-j', 'NFQUEUE', ...outbound);
  ip6tables('-t', 'raw', '-A', 'PREROUTING', '-i', plan.gatewayOutsideIf, '-d', plan.outsidePrefix, '-j', 'NFQUEUE', ...inbound);
}

function kernelOnly(): ActiveTranslator {
  return { pid: null, teardown: async () => null };
}

// A translator process in the gateway namespace that prints "ready" once bound and JSON counters at SIGTERM.
async function daemon(name: string, argv: string[], env?: NodeJS.ProcessEnv): Promise<ActiveTranslator> {
  const p: Running = start(name, plan.gateway, argv, env);
  await waitReady(p, 'ready', 20000);
  return { pid: p.pid, teardown: () => stop<Record<string, unknown>>(p) };
}

const nptv6Map = `${plan.insidePrefix}=${plan.outsidePrefix}`;

export const translators: Translator[] = [
  {
    id: 'forwarding',
    label: 'plain forwarding',
    kind: 'forwarding',
    translation: 'none',
    pps: true,
    bulk: true,
    unavailable: () => null,
    setup: async () => kernelOnly(),
  },
  {
    id: 'kernel-npt',
    label: 'kernel SNPT/DNPT',
    kind: 'kernel',
    translation: 'nptv6',
    pps: true,
    bulk: true,
    unavailable: () => null,
    setup: async () => {
      ip6tables('-t', 'mangle', '-A', 'POSTROUTING', '-o', plan.gatewayOutsideIf, '-s', plan.insidePrefix,
        '-j', 'SNPT', '--src-pfx', plan.insidePrefix, '--dst-pfx', plan.outsidePrefix);
      ip6tables('-t', 'mangle', '-A', 'PREROUTING', '-i', plan.gatewayOutsideIf, '-d', plan.outsidePrefix,
        '-j', 'DNPT', '--src-pfx', plan.outsidePrefix, '--dst-pfx', plan.insidePrefix);
      return kernelOnly();
    },
  },
  {
    id: 'naive-nfq',
    label: 'naive libnetfilter_queue loop',
    kind: 'userspace',
    translation: 'nptv6',
    pps: true,
    bulk: false,
    unavailable: () => null,
    setup: async ({ tools }) => {
      const t = await daemon('naive_nfq', [tools.naiveNfq, '--map', nptv6Map, '--queue-out', '0', '--queue-in', '1']);
      queueRules(['--queue-num', '0'], ['--queue-num', '1']);
      return t;
    },
  },
  {
    id: 'node-nfqueue',
    label: 'node-nfqueue + JS',
    kind: 'userspace',
    translation: 'nptv6',
    pps: true,
    bulk: false,
    unavailable: ({ repoRoot }) => {
      try {
        require.resolve('nfqueue', { paths: [repoRoot] });
        return null;
      } catch {
        return 'npm package nfqueue not installed (npm ci)';
      }
    },
    setup: async ({ repoRoot }) => {
      const script = path.join(__dirname, '..', 'baselines', 'nfqueue_js.js'); // compiled next to this file
      const env = { ...process.env, NODE_PATH: path.join(repoRoot, 'node_modules') };
      const t = await daemon('nfqueue_js', [process.execPath, script, '--map', nptv6Map, '--queue-out', '0', '--queue-in', '1'], env);
      queueRules(['--queue-num', '0'], ['--queue-num', '1']);
      return t;
    },
  },
  // npt66 rows: the queue engine (native.Engine) in a host process (bench/hosts/npt66_engine.ts); both
  // directions share the queues (the engine tells direction from the hook).
  npt66Row('npt66-1q', 'npt66, 1 queue', 1, 'nptv6'),
  npt66Row('npt66-2q', 'npt66, 2 queues', 2, 'nptv6'),
  // The engine's gso option off (NFQA_CFG_F_GSO unset): the kernel segments every GSO/GRO super-packet before
  // queueing it, one message per MTU-sized packet. Bulk tables only (the pps traffic has no super-packets), so one
  // run shows what GSO is worth.
  npt66Row('npt66-1q-gso-off', 'npt66, 1 queue, GSO off', 1, 'nptv6', ['--gso', 'off'], { pps: false, bulk: true }),
  // The engine's queueCpus option: the queue thread on CPU 0, away from the CPU that does the gateway's receive
  // work (CPU 1, topology.ts), sharing CPU 0 with the generator and sink at the same priority (bench/README.md,
  // "Overload"): how npt66 is meant to be deployed, as far as two CPUs allow.
  npt66Row('npt66-1q-cpu0', 'npt66, 1 queue, thread on CPU 0', 1, 'nptv6', ['--cpus', '0'], { pps: true, bulk: false }),
  npt66Row('npt66-masq', 'npt66 masquerade', 1, 'masquerade'),
  {
    id: 'kernel-masq',
    label: 'kernel MASQUERADE',
    kind: 'kernel',
    translation: 'masquerade',
    pps: true,
    bulk: true,
    unavailable: () => null,
    setup: async () => {
      ip6tables('-t', 'nat', '-A', 'POSTROUTING', '-o', plan.gatewayOutsideIf, '-s', plan.insidePrefix, '-j', 'MASQUERADE');
      return kernelOnly();
    },
  },
];

// The addon the npt66 rows load: NPT66_ADDON, else the package's build/Release/npt66.node (as src/native.ts).
function addonPath(repoRoot: string): string {
  return process.env.NPT66_ADDON ?? path.join(repoRoot, 'build', 'Release', 'npt66.node');
}

function engineMissing(repoRoot: string): string | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(addonPath(repoRoot)) as { Engine?: unknown };
    return typeof addon.Engine === 'function' ? null : 'the addon has no queue engine (native.Engine) yet';
  } catch (e) {
    return `the addon does not load: ${(e as Error).message.split('\n')[0]}`;
  }
}

// Extra engine host arguments for every npt66 row (thread placement experiments, see bench/README.md), e.g.
// NPT66_BENCH_ENGINE_ARGS="--cpus 1 --nice -20".
function extraEngineArgs(): string[] {
  return (process.env.NPT66_BENCH_ENGINE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

// The masquerade row's ports: outside the gateway namespace's ip_local_port_range (32768-60999), REFERENCE s4.
const masqueradePorts = '20000:29999';

function npt66Row(
  id: string,
  label: string,
  queues: number,
  translation: 'nptv6' | 'masquerade',
  tuning: string[] = [],
  tables = { pps: true, bulk: true },
): Translator {
  return {
    id,
    label,
    kind: 'userspace',
    translation,
    ...tables,
    unavailable: ({ repoRoot }) =>
      tuning.includes('--cpus') && os.cpus().length < 2 ? 'needs two CPUs' : engineMissing(repoRoot),
    setup: async ({ repoRoot }) => {
      const host = path.join(__dirname, '..', 'hosts', 'npt66_engine.js');
      const env = { ...process.env, NPT66_ADDON: addonPath(repoRoot), NODE_PATH: path.join(repoRoot, 'node_modules') };
      const what =
        translation === 'nptv6'
          ? ['--map', nptv6Map]
          : ['--masquerade', `${plan.insidePrefix}=${plan.gatewayOutsideAddress}`, '--ports', masqueradePorts];
      const t = await daemon(id, [process.execPath, host, '--queues', String(queues), ...what, ...tuning, ...extraEngineArgs()], env);
      const spread = queues === 1 ? ['--queue-num', '0'] : ['--queue-balance', `0:${queues - 1}`];
      if (translation === 'nptv6') {
        queueRules(spread, spread);
      } else {
        // As src/rules/plan.ts: outbound by source; inbound only what can belong to a mapping (the address is also
        // the gateway's own). The pps and UDP GSO traffic is one-way, so only the outbound rule sees it; TCP's
        // ACKs come back through the inbound tcp rule.
        ip6tables('-t', 'mangle', '-A', 'POSTROUTING', '-o', plan.gatewayOutsideIf, '-s', plan.insidePrefix, '-j', 'NFQUEUE', ...spread);
        for (const proto of ['tcp', 'udp']) {
          ip6tables('-t', 'raw', '-A', 'PREROUTING', '-i', plan.gatewayOutsideIf, '-d', plan.gatewayOutsideAddress,
            '-p', proto, '-m', proto, '--dport', masqueradePorts, '-j', 'NFQUEUE', ...spread);
        }
      }
      return t;
    },
  };
}

// Whether the addon's engine reads a `gso` option (NFQA_CFG_F_GSO). An engine without it ignores the key and runs
// with GSO off, so the rows would be mislabelled: the binding's option names are NUL-terminated strings in the
// addon, and "gso" is one once the option exists.
export function engineHasGsoOption(repoRoot: string): boolean {
  try {
    return readFileSync(addonPath(repoRoot)).includes(Buffer.from('\0gso\0', 'latin1'));
  } catch {
    return false;
  }
}
