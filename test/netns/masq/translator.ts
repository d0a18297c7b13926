// What masquerades on the Docker host: the kernel's MASQUERADE (the reference every test was first proven
// with) or the npt66 daemon, driven through its CLI as a black box (lib/npt66_daemon.ts): one
// {"msg":"mapping","event":"NEW"|"UPDATE"|"DESTROY",...} line per mapping event on its stdout,
// `npt66 mappings --json --socket PATH` lists live mappings, `stats --json` counters.
// Both report mappings and events in one shape (mapping.ts): the kernel's through conntrack.
import { waitFor } from '../../../src/netns';
import { LineProcess } from '../lib/line_process';
import { Npt66Process, parseJson } from '../lib/npt66_daemon';
import { translatorKindUnderTest, type TranslatorKind } from '../lib/translator';
import { ADDR, HOST_BRIDGE, HOST_OUTSIDE_IF, SOURCE_PREFIX, type MasqLab, type MasqNs } from './masq_lab';
import { describeMapping, mappingEventFromConntrack, mappingEventFromNpt66, mappingFromNpt66, type Mapping, type MappingEvent } from './mapping';

export { translatorKindUnderTest, type TranslatorKind };

export const PORT_RANGE = { min: 20000, max: 29999 };

export type Filtering = 'address-dependent' | 'endpoint-independent';

// The knobs the tests turn; timeouts in seconds, as in npt66's config.
export interface MasqOptions {
  filtering?: Filtering;
  timeouts?: { udp?: number; icmp?: number; tcpTransitory?: number; tcpEstablished?: number };
  maxMappings?: number;
  maxPerHost64?: number;
  // Inside source ports below 1024 keep an outside port below 1024 (npt66's masquerade[].privilegedPorts: it
  // then also queues replies to ports 1-1023 of the address).
  privilegedPorts?: boolean;
}

const DEFAULT_TIMEOUTS = { udp: 120, icmp: 60, tcpTransitory: 240, tcpEstablished: 7440 };

export interface MasqTranslator {
  readonly kind: TranslatorKind;
  readonly events: MappingEvent[]; // every mapping event since start()
  start(opts?: MasqOptions): Promise<void>;
  // A clean stop; fails if the translator left rules behind or did not exit cleanly.
  stop(): Promise<void>;
  // Best effort, never throws: for after() hooks.
  dispose(): Promise<void>;
  mappings(): Promise<Mapping[]>;
  // The daemon's `stats --json` (npt66), or null (kernel).
  stats(): Promise<Record<string, unknown> | null>;
}

export function createMasqTranslator(lab: MasqLab, name: string, kind: TranslatorKind = translatorKindUnderTest()): MasqTranslator {
  return kind === 'kernel' ? new KernelMasquerade(lab) : new Npt66Masquerade(lab, name);
}

// Waits until an event satisfying `pred` arrived (from index `from` of t.events on) and returns it.
export async function waitForEvent(t: MasqTranslator, what: string, pred: (e: MappingEvent) => boolean, timeoutMs = 10_000, from = 0): Promise<MappingEvent> {
  let found: MappingEvent | undefined;
  try {
    await waitFor(what, () => (found = t.events.slice(from).find(pred)) !== undefined, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nevents so far:\n${t.events.map((ev) => `${ev.event} ${describeMapping(ev)}`).join('\n')}`);
  }
  return found as MappingEvent;
}

// npt66's counters summed over its queues (`stats --json` "total", names from native/core/counters.def);
// null for the kernel, which has none of these.
export async function npt66Counters(t: MasqTranslator): Promise<Record<string, number> | null> {
  const stats = await t.stats();
  if (stats === null) return null;
  const total = stats.total as Record<string, number> | undefined;
  if (!total || typeof total.nat66_outbound !== 'number') throw new Error(`stats --json has no masquerade counters:\n${JSON.stringify(stats)}`);
  return total;
}

// Polls the live mappings until one satisfies `pred` and returns it.
export async function waitForMapping(t: MasqTranslator, what: string, pred: (m: Mapping) => boolean, timeoutMs = 10_000): Promise<Mapping> {
  let found: Mapping | undefined;
  let last: Mapping[] = [];
  try {
    await waitFor(what, async () => (found = (last = await t.mappings()).find(pred)) !== undefined, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlive mappings:\n${last.map(describeMapping).join('\n')}`);
  }
  return found as Mapping;
}

const CHAIN = 'NX-MASQ';
const LIMIT_CHAIN = 'NX-LIMIT';

// The kernel's MASQUERADE on the host's outside interface, as firewalld's masquerade does it, plus:
// - `--to-ports` needs a protocol, so TCP and UDP get the range and ICMPv6 echo keeps the kernel's id choice;
// - with privilegedPorts, ports below 1024 keep the kernel's own rule (below 1024 stays below 1024), which
//   applies only without a range, so they get a rule without `--to-ports`;
// - timeouts become the host's conntrack timeouts; maxPerHost64 a connlimit per /64 answered with
//   administratively prohibited. Filtering is always the kernel's (address- and port-dependent); maxMappings
//   is not applied (no test reaches it).
class KernelMasquerade implements MasqTranslator {
  readonly kind = 'kernel';
  readonly events: MappingEvent[] = [];
  private monitor: LineProcess | null = null;
  private parsed = 0; // monitor lines already turned into events
  private rules: string[][] = [];

  constructor(private readonly lab: MasqLab) {}

  private get host() {
    return this.lab.ns('host');
  }

  async start(opts: MasqOptions = {}): Promise<void> {
    const t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    const sysctls: Record<string, number> = {
      nf_conntrack_icmpv6_timeout: t.icmp,
      nf_conntrack_udp_timeout: t.udp,
      nf_conntrack_udp_timeout_stream: t.udp,
      nf_conntrack_tcp_timeout_established: t.tcpEstablished,
    };
    for (const s of ['syn_sent', 'syn_recv', 'fin_wait', 'close_wait', 'last_ack', 'time_wait', 'close']) sysctls[`nf_conntrack_tcp_timeout_${s}`] = t.tcpTransitory;
    for (const [k, v] of Object.entries(sysctls)) await this.host.sysctl(`net.netfilter.${k}`, v);

    const range = `${PORT_RANGE.min}-${PORT_RANGE.max}`;
    const nat = (args: string[]) => this.host.ip6tables(['-t', 'nat', ...args]);
    await nat(['-N', CHAIN]);
    if (opts.privilegedPorts) for (const p of ['tcp', 'udp']) await nat(['-A', CHAIN, '-p', p, '--sport', '1:1023', '-j', 'MASQUERADE']);
    for (const p of ['tcp', 'udp']) await nat(['-A', CHAIN, '-p', p, '-j', 'MASQUERADE', '--to-ports', range]);
    await nat(['-A', CHAIN, '-j', 'MASQUERADE']);
    await this.add(['-t', 'nat', 'POSTROUTING', '-o', HOST_OUTSIDE_IF, '-s', SOURCE_PREFIX, '-j', CHAIN]);
    if (opts.maxPerHost64 !== undefined) {
      const filter = (args: string[]) => this.host.ip6tables(['-t', 'filter', ...args]);
      await filter(['-N', LIMIT_CHAIN]);
      // RFC 6888 REQ-4's per-host limit, counted per inside /64 like npt66's maxPerHost64.
      await filter(['-A', LIMIT_CHAIN, '-m', 'conntrack', '--ctstate', 'NEW', '-m', 'connlimit', '--connlimit-above', String(opts.maxPerHost64), '--connlimit-mask', '64', '--connlimit-saddr', '-j', 'REJECT', '--reject-with', 'adm-prohibited']);
      await this.add(['-t', 'filter', 'FORWARD', '-i', HOST_BRIDGE, '-o', HOST_OUTSIDE_IF, '-s', SOURCE_PREFIX, '-j', LIMIT_CHAIN]);
    }
    // Mappings from before (an earlier start) must not count.
    await this.host.exec(['conntrack', '-F', '-f', 'ipv6'], { allowFailure: true });
    await this.startMonitor();
  }

  // Appends a rule to a built-in chain, remembered so stop() can delete exactly it. `spec` = [-t, table, CHAIN, ...].
  private async add(spec: string[]): Promise<void> {
    await this.host.ip6tables([spec[0], spec[1], '-A', ...spec.slice(2)]);
    this.rules.push(spec);
  }

  // `conntrack -E` until stop(); ready once it reports an event of the host's own (a ping to r1).
  private async startMonitor(): Promise<void> {
    const child = this.lab.topology.spawn('host', ['conntrack', '-E', '-f', 'ipv6']);
    const monitor = new LineProcess(child, 'conntrack -E');
    this.monitor = monitor;
    child.stdout?.on('data', () => {
      while (this.parsed < monitor.lines.length) {
        const e = mappingEventFromConntrack(monitor.lines[this.parsed++], SOURCE_PREFIX, ADDR.host);
        if (e) this.events.push(e);
      }
    });
    // Conntrack only tracks the host's own ping once a rule needs conntrack: the nat rules above do.
    await waitFor('conntrack -E to report events', async () => {
      if (monitor.exit) throw new Error(`conntrack -E exited: ${monitor.stderr}`);
      await this.host.exec(['ping', '-6', '-n', '-c', '1', '-W', '1', ADDR.r1Inside], { allowFailure: true });
      return monitor.lines.length > 0;
    });
  }

  async stop(): Promise<void> {
    this.monitor?.child.kill('SIGTERM');
    await this.monitor?.exited;
    this.monitor = null;
    for (const spec of this.rules.reverse()) await this.host.ip6tables([spec[0], spec[1], '-D', ...spec.slice(2)]);
    this.rules = [];
    for (const [table, chain] of [['nat', CHAIN], ['filter', LIMIT_CHAIN]]) {
      const r = await this.host.exec(['ip6tables', '-w', '-t', table, '-F', chain], { allowFailure: true });
      if (r.code === 0) await this.host.ip6tables(['-t', table, '-X', chain]);
    }
    // Conntrack entries keep their NAT bindings after the rules are gone: a later translator must not meet them.
    await this.host.exec(['conntrack', '-F', '-f', 'ipv6'], { allowFailure: true });
    this.events.length = 0;
    this.parsed = 0;
  }

  async dispose(): Promise<void> {
    await this.stop().catch(() => undefined); // the namespace goes away with its rules anyway
  }

  async mappings(): Promise<Mapping[]> {
    const r = await this.host.exec(['conntrack', '-L', '-f', 'ipv6'], { allowFailure: true });
    return r.stdout
      .split('\n')
      .map((l) => mappingEventFromConntrack(l, SOURCE_PREFIX, ADDR.host))
      .filter((e): e is MappingEvent => e !== null)
      .map(({ event: _event, ...m }) => m);
  }

  async stats(): Promise<null> {
    return null;
  }
}

export interface Npt66MasqConfig {
  masquerade: {
    source: string;
    interface: string;
    address: string;
    ports: string;
    filtering: Filtering;
    timeouts: { udp: number; icmp: number; tcpTransitory: number; tcpEstablished: number };
    maxMappings: number;
    maxPerHost64: number;
    privilegedPorts: boolean;
  }[];
  queues: { first: number; count: number };
  control: { socket: string };
}

export class Npt66Masquerade extends Npt66Process<MasqNs> implements MasqTranslator {
  readonly kind = 'npt66';
  readonly events: MappingEvent[] = [];
  private parsed = 0;

  constructor(lab: MasqLab, name: string) {
    super(lab, 'host', `nx-${name}`);
  }

  config(opts: MasqOptions = {}): Npt66MasqConfig {
    return {
      masquerade: [
        {
          source: SOURCE_PREFIX,
          interface: HOST_OUTSIDE_IF,
          address: ADDR.host,
          ports: `${PORT_RANGE.min}-${PORT_RANGE.max}`,
          filtering: opts.filtering ?? 'address-dependent',
          timeouts: { ...DEFAULT_TIMEOUTS, ...opts.timeouts },
          maxMappings: opts.maxMappings ?? 1000,
          maxPerHost64: opts.maxPerHost64 ?? 100,
          privilegedPorts: opts.privilegedPorts ?? false,
        },
      ],
      queues: { first: 0, count: 1 },
      control: { socket: this.socket },
    };
  }

  async start(opts: MasqOptions = {}): Promise<void> {
    await this.launch(this.config(opts), () => this.collectEvents());
  }

  private collectEvents(): void {
    const p = this.process;
    if (!p) return;
    while (this.parsed < p.lines.length) {
      const o = parseJson(p.lines[this.parsed++]);
      if (o?.msg === 'mapping') this.events.push(mappingEventFromNpt66(o));
    }
  }

  // SIGTERM; the daemon must exit 0 and leave no NPT66 rule behind. The next start() begins with no events.
  async stop(): Promise<void> {
    await this.terminate();
    this.events.length = 0;
    this.parsed = 0;
  }

  async mappings(): Promise<Mapping[]> {
    const out = await this.cli(['mappings']);
    const list = Array.isArray(out) ? out : (out as { mappings?: unknown }).mappings;
    if (!Array.isArray(list)) throw new Error(`npt66 mappings --json printed no list: ${JSON.stringify(out)}`);
    return list.map((o) => mappingFromNpt66(o as Record<string, unknown>));
  }
}
