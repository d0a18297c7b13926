// Gateway: npt66 as an NPTv6 and NAT66 masquerade gateway on real traffic. The typed facade over the native queue
// engine plus the netfilter rules that feed it: start (validate, bind the queues, install the rules), stats,
// mappings, atomic reload, stop. Events ('warning', 'state', 'error') are for rare things, never per packet;
// 'mapping' events (NEW/UPDATE/DESTROY, conntrack -E style) arrive in batches from the engine.
import { EventEmitter } from 'node:events';

import { relaxConntrackChecksum } from './conntrack-checksum';
import { chooseQueuePlacement, describePlacement, type QueuePlacement } from './cpu-placement';
import { dropsOf } from './counters';
import { Npt66Error } from './errors';
import { compileGatewayConfig, type CompiledConfig, type GatewayConfig } from './gateway-config';
import { systemHostFacts, type HostFacts, type InterfaceAddress } from './host-facts';
import { DockerNetworks, type DockerNetworksOptions, type DockerView } from './docker-networks';
import type { DockerPublished } from './docker-published';
import { acceptDockerSubnets, conntrackWarnings, DOCKER_SOURCE, followedAddress, namesDocker, type MasqueradeEntry, type MasqueradeOutside } from './masquerade-config';
import { dockerForwards, type NativeForward } from './masquerade-forwards';
import { keptPortsAfter, portRangeText } from './masquerade-kept-ports';
import {
  callNative,
  native,
  type NativeEngine,
  type NativeEngineEvent,
  type NativeEngineNotice,
  type NativeEngineOptions,
  type NativeEngineStats,
  type NativeMasquerade,
} from './native';
import type { MappingEventType, MappingRecord, QueueStats } from './engine-records';
import { formatAddress, parseAddress, parsePrefix, type ParsedPrefix } from './prefix';
import { ProxyNdp } from './proxy-ndp';
import { chooseRuleBackend, ruleKey, withLiveMasquerade, type PortRange, type RuleBackend } from './rules';

export type GatewayState = 'starting' | 'running' | 'reloading' | 'stopping' | 'stopped';

export interface GatewayEvent {
  message: string;
  queue?: number; // the queue it concerns, if any
  time: string; // ISO 8601
  [field: string]: unknown;
}

// What one NPTv6 mapping or one masquerade table translated.
export interface GatewayTranslationFigures {
  outbound: number; // packets translated inside -> outside (for masquerade, hairpinned ones included)
  inbound: number; // packets translated outside -> inside
  dropped: number; // packets refused (counted by reason under `drops`)
  outboundBytes?: number; // IPv6 packet lengths of those packets (absent from an addon without byte counts)
  inboundBytes?: number;
}

export interface GatewayMappingStats extends GatewayTranslationFigures {
  index: number;
  inside: string;
  outside: string | null; // the prefix in force; null: it follows an interface that has none yet
  interface: string;
}

// One masquerade entry's table figures.
export interface GatewayMasqueradeStats extends GatewayTranslationFigures {
  index: number;
  source: string[];
  dockerSubnets?: string[]; // with "docker" in source: the Docker subnets masqueraded now
  dockerForwards?: string[]; // with "docker" in source: Docker's published ports forwarded now, "tcp/8080 -> [ADDRESS]:80"
  address: string | null; // the outside address new flows take; null: it follows an interface that has none now
  keptAddresses: string[]; // addresses that went out of use but are still on the interface: their mappings live on
  keptPorts?: string[]; // ports outside "ports" that mappings of an earlier range still hold (queued until none is)
  interface: string;
  ports: string;
  live: number; // live mappings
  byState: Record<string, number>; // live mappings by state: udp, tcp_transitory, tcp_established, icmp
}

// A mapping created, changed (e.g. TCP established) or removed: conntrack -E's NEW / UPDATE / DESTROY.
export interface GatewayMappingEvent {
  event: MappingEventType;
  mapping: MappingRecord;
  time: string; // ISO 8601, when JS received it
}

export interface GatewayStats {
  time: string;
  startedAt: string;
  uptimeSeconds: number;
  state: GatewayState;
  rules: RuleBackend['name'];
  failOpen: boolean;
  placement?: QueuePlacement; // where the queue threads run and why (src/cpu-placement.ts); absent from older daemons
  queues: QueueStats[]; // per queue: counters and the kernel's nfnetlink_queue figures
  mappings: GatewayMappingStats[];
  masquerade: GatewayMasqueradeStats[];
  drops: Record<string, number>; // every drop reason (counters of kind 'drop'), summed over the queues
  total: Record<string, number>; // every counter, summed over the queues
}

export interface ReloadResult {
  mappingsChanged: boolean;
  rulesChanged: boolean;
}

export interface GatewayOptions {
  rules?: RuleBackend; // default: nft's native queue if the kernel has it, else ip6tables
  /** @internal for tests: a stand-in for the addon's Engine (the default) */
  createEngine?: (options: NativeEngineOptions) => NativeEngine;
  drainMs?: number; // how long stop() lets queued packets finish (default 200)
  facts?: HostFacts; // the host's port range, interface addresses, conntrack timeouts, receive CPUs (default: read from the system)
  docker?: DockerNetworksOptions; // for "source": "docker" (default: DOCKER_HOST or /var/run/docker.sock)
}

// Settings fixed while the queues are bound: changing them needs a restart.
const KEPT_PORTS_CHECK_MS = 30_000; // how often ports of an earlier masquerade range are checked for mappings

const RESTART_FIELDS = ['queues', 'queueMaxLen', 'socketBufferBytes', 'failOpen', 'icmpRateLimit', 'control', 'metrics', 'logs'] as const;

// 'prefix': an outside prefix that follows an interface changed (appeared, moved or went away).
type EventName = 'warning' | 'state' | 'error' | 'prefix' | 'address';

// The interfaces facing outside (each NPTv6 and masquerade entry names its own). The engine drops a packet with an
// inside source arriving on one of them: forged, and never hairpin (which comes from inside).
export function outsideInterfaces(c: Pick<GatewayConfig, 'nptv6' | 'masquerade'>): string[] {
  return [...new Set([...c.nptv6.map((m) => m.interface), ...(c.masquerade ?? []).map((m) => m.interface)])];
}

function nativeEngine(options: NativeEngineOptions): NativeEngine {
  const Engine = (native as { Engine?: typeof native.Engine }).Engine;
  if (typeof Engine !== 'function') {
    throw new Npt66Error('ERR_NPT66_ENGINE_UNAVAILABLE', 'this build of the npt66 addon has no queue engine; rebuild it (npm run build)');
  }
  return new Engine(options);
}

// Masquerade maps ports, and a later fragment has none: it needs the kernel to reassemble (nf_defrag_ipv6, at
// priority -400, before the raw table's queue rules and the mangle table's). The kernel registers those hooks in a
// network namespace only while something there uses conntrack (nf_ct_netns_get -> nf_defrag_ipv6_enable), so the
// rules carry a conntrack match of their own (rules/plan.ts keepDefrag, NPT66-DEFRAG-* / the nft table's "defrag" chain): that the
// kernel accepted it means the hooks are registered. Checked here once more from /proc, and logged.
function reassemblyState(backend: RuleBackend['name'], facts: HostFacts): { message: string; [k: string]: unknown } {
  if (facts.conntrackPresent && !facts.conntrackPresent()) {
    throw new Npt66Error(
      'ERR_NPT66_REASSEMBLY',
      'masquerade needs the kernel to reassemble IPv6 fragments (nf_defrag_ipv6, which comes with conntrack), but /proc/net/nf_conntrack is missing in this network namespace: load it (modprobe nf_conntrack) or remove the "masquerade" section',
    );
  }
  return {
    message: 'IPv6 reassembly on for masquerade',
    reassembly: 'nf_defrag_ipv6',
    how: backend === 'nft' ? 'ct expression in chain ip6 npt66 defrag' : 'conntrack match in raw chain NPT66-DEFRAG-*',
  };
}

// What of a native masquerade entry Nat66Table::set_tunables changes (native/core/nat66_config.h, Nat66Tunables).
function tunablesKey(m: NativeMasquerade): string {
  const { portMin, portMax, privilegedPorts, filtering, timeouts, maxMappings, maxPerHost64, maxRemotesPerMapping, inboundRefresh } = m;
  return JSON.stringify([portMin, portMax, privilegedPorts ?? false, filtering, timeouts, maxMappings, maxPerHost64, maxRemotesPerMapping, inboundRefresh]);
}

// A forward as logs and stats show it: "tcp/8080 -> [fd5a:ceb9:ed8d:1::2]:80".
function forwardText(f: NativeForward): string {
  return `${f.protocol}/${f.port} -> [${formatAddress(f.inside)}]:${f.insidePort}`;
}

export class Gateway extends EventEmitter {
  private compiled: CompiledConfig;
  private input: unknown; // the configuration as given: recompiled when a followed interface's address changes
  private restoreConntrackChecksum?: () => void; // conntrack-checksum.ts: what stop() puts back
  private docker: DockerNetworks | null = null; // follows Docker's networks while an entry names "docker"
  private dockerSubnets: string[] = []; // Docker's IPv6 subnets in force (the table's and the rules')
  private dockerSeen: string[] = []; // the subnets Docker last listed, before acceptDockerSubnets
  private dockerForwards: NativeForward[] = []; // Docker's published ports in force (the table's and the rules')
  private dockerPublished: DockerPublished[] = []; // the published ports Docker last listed, before dockerForwards()
  private dockerRefused = new Set<string>(); // the warnings about published ports not forwarded, each said once
  private dockerOptions: DockerNetworksOptions = {};
  private masqueradeOutside: MasqueradeOutside[]; // per masquerade entry: the outside addresses in force
  private masqueradeKeptPorts: PortRange[][] = []; // per masquerade entry: ports earlier ranges' mappings may hold
  private keptPortsTimer: NodeJS.Timeout | null = null; // while any are kept: lets them go once none is held
  private proxyNdp: ProxyNdp | null = null; // while an nptv6 entry has "proxyNdp": what the native responder answers (proxy-ndp.ts)
  private state: GatewayState = 'starting';
  private readonly startedAt = new Date();
  private queue: Promise<unknown> = Promise.resolve(); // serializes reload and stop

  private constructor(
    compiled: CompiledConfig,
    private readonly engine: NativeEngine,
    private readonly rules: RuleBackend,
    private readonly drainMs: number,
    private readonly facts: HostFacts,
    readonly placement: QueuePlacement, // where the queue threads run and why (fixed while the queues are bound)
  ) {
    super();
    this.compiled = compiled;
    this.masqueradeOutside = compiled.config.masquerade.map((m) => ({ use: m.address, keep: [] }));
  }

  // Validates `config`, binds the queues (COPY_PACKET set before any rule sends traffic), installs the rules
  // (after which chains left by a crashed run are removed: until then those drop, never leak) and returns.
  // Listeners for early events can be passed as `on`, since start() emits before it returns.
  static async start(
    config: unknown,
    options: GatewayOptions & {
      on?: Partial<Record<EventName, (e: GatewayEvent) => void>> & { mapping?: (e: GatewayMappingEvent) => void };
    } = {},
  ): Promise<Gateway> {
    const facts = options.facts ?? systemHostFacts;
    const compiled = compileGatewayConfig(config, facts);
    const { config: c, mappings, masquerade } = compiled;
    // The rules see Docker's subnets in force for an entry naming "docker" (none until the first list arrives).
    const rules = withLiveMasquerade(options.rules ?? (await chooseRuleBackend(c.queues.first)), () => ({
      dockerSubnets: gateway?.dockerSubnets ?? [],
      dockerForwards: gateway?.dockerForwards ?? [],
      outside: gateway?.masqueradeOutside ?? [],
      keptPorts: gateway?.masqueradeKeptPorts ?? [],
    }));
    let gateway: Gateway | null = null;
    const pending: NativeEngineEvent[] = [];
    const onEvents = (events: NativeEngineEvent[]) => {
      if (gateway) gateway.nativeEvents(events);
      else pending.push(...events);
    };
    const placement = chooseQueuePlacement(c, facts);
    const engineOptions: NativeEngineOptions = {
      queueFirst: c.queues.first,
      queueCount: c.queues.count,
      ...(placement.cpus ? { queueCpus: placement.cpus } : {}),
      ...(c.queues.nice !== undefined ? { queueNice: c.queues.nice } : {}),
      queueMaxLen: c.queueMaxLen,
      socketBufferBytes: c.socketBufferBytes,
      failOpen: c.failOpen,
      gso: c.queues.gso,
      icmpRateLimit: c.icmpRateLimit,
      mappings,
      onEvents,
      ...(masquerade.length ? { masquerade } : {}),
      outsideInterfaces: outsideInterfaces(c),
    };
    const engine = callNative(() => (options.createEngine ?? nativeEngine)(engineOptions));
    // An addon built before masquerade would accept the inside sources' packets untranslated: refuse, never leak.
    if (masquerade.length && typeof (engine as Partial<NativeEngine>).mappings !== 'function') {
      throw new Npt66Error(
        'ERR_NPT66_ENGINE_UNAVAILABLE',
        'this build of the npt66 addon has no NAT66 masquerade; rebuild it (npm run build) or remove the "masquerade" section',
      );
    }
    gateway = new Gateway(compiled, engine, rules, options.drainMs ?? 200, facts, placement);
    for (const [name, fn] of Object.entries(options.on ?? {})) gateway.on(name, fn as (...args: unknown[]) => void);
    gateway.emitState('starting', { rules: rules.name, queues: c.queues });
    gateway.emitEvent('state', { message: `queue threads: ${describePlacement(placement)}`, placement });
    if (c.failOpen) {
      gateway.emitEvent('warning', {
        message: 'failOpen is true: when a queue is full or a packet cannot be translated it is accepted untranslated, which leaks inside addresses',
      });
    }
    for (const w of compiled.warnings) gateway.emitEvent('warning', { message: `${w.field}: ${w.message}`, field: w.field });
    for (const w of conntrackWarnings(c.masquerade, facts)) gateway.emitEvent('warning', { ...w });
    try {
      callNative(() => engine.start());
    } catch (e) {
      throw new Npt66Error('ERR_NPT66_QUEUE', `cannot bind queues ${c.queues.first}..${c.queues.first + c.queues.count - 1}: ${(e as Error).message}`, { cause: e });
    }
    gateway.nativeEvents(pending.splice(0));
    gateway.input = config;
    try {
      // Subscribed before the rules go in; the addresses are read once more below, so no change is missed.
      if (compiled.followed.some((f) => f !== null) || c.masquerade.some((m) => m.addressFrom === 'interface')) {
        if (typeof engine.watchAddresses !== 'function') {
          throw new Npt66Error('ERR_NPT66_ENGINE_UNAVAILABLE', 'this build of the npt66 addon cannot watch address changes; rebuild it (npm run build) or give "outside" as a prefix');
        }
        callNative(() => engine.watchAddresses!());
      }
      // Docker's networks before the rules: from the first packet on, a container's traffic is queued with its
      // source in the table (else it would leave untranslated until the watcher's first list).
      gateway.dockerOptions = options.docker ?? {};
      await gateway.firstDockerList();
      const stale = await rules.install(c);
      if (stale.length) gateway.emitEvent('warning', { message: 'removed rules left by an earlier npt66 run that did not stop cleanly', removed: stale });
      if (c.masquerade.length) gateway.emitEvent('state', reassemblyState(rules.name, facts));
      // After the rules: their conntrack match is what brings conntrack into this namespace.
      const checksum = relaxConntrackChecksum(c.queues.gso, facts);
      if (checksum) {
        gateway.emitEvent(checksum.warning ? 'warning' : 'state', { message: checksum.message });
        gateway.restoreConntrackChecksum = checksum.restore;
      }
    } catch (e) {
      await rules.remove().catch(() => undefined);
      await engine.stop(0).catch(() => undefined);
      throw e;
    }
    gateway.emitState('running', { rules: rules.name });
    gateway.syncDockerWatch();
    gateway.followAddresses('');
    await gateway.syncProxyNdp();
    return gateway;
  }

  get config(): GatewayConfig {
    return this.compiled.config;
  }

  get rulesBackend(): RuleBackend['name'] {
    return this.rules.name;
  }

  get currentState(): GatewayState {
    return this.state;
  }

  // A snapshot of the counters (no JS runs per packet: the engine keeps them natively).
  stats(): GatewayStats {
    const s: NativeEngineStats = callNative(() => this.engine.stats());
    const now = new Date();
    return {
      time: now.toISOString(),
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((now.getTime() - this.startedAt.getTime()) / 1000),
      state: this.state,
      rules: this.rules.name,
      failOpen: this.compiled.config.failOpen,
      placement: this.placement,
      queues: s.queues,
      mappings: this.compiled.config.nptv6.map((m, index) => {
        const counts = s.mappings.find((x) => x.index === index);
        return {
          index,
          inside: m.inside,
          outside: m.outside,
          interface: m.interface,
          outbound: counts?.outbound ?? 0,
          inbound: counts?.inbound ?? 0,
          dropped: counts?.dropped ?? 0,
          ...(counts?.outboundBytes !== undefined ? { outboundBytes: counts.outboundBytes, inboundBytes: counts.inboundBytes ?? 0 } : {}),
        };
      }),
      masquerade: this.compiled.config.masquerade.map((m, index) => {
        const t = s.masquerade?.find((x) => x.index === index);
        return {
          index,
          source: Array.isArray(m.source) ? m.source : [m.source],
          ...(namesDocker(m) ? { dockerSubnets: this.dockerSubnets, dockerForwards: this.dockerForwards.map(forwardText) } : {}),
          address: this.masqueradeOutside[index]?.use ?? null,
          keptAddresses: this.masqueradeOutside[index]?.keep ?? [],
          ...(this.masqueradeKeptPorts[index]?.length ? { keptPorts: this.masqueradeKeptPorts[index]!.map(portRangeText) } : {}),
          interface: m.interface,
          ports: m.ports,
          live: t?.live ?? 0,
          byState: t?.byState ?? {},
          outbound: t?.outbound ?? 0,
          inbound: t?.inbound ?? 0,
          dropped: t?.dropped ?? 0,
          ...(t?.outboundBytes !== undefined ? { outboundBytes: t.outboundBytes, inboundBytes: t.inboundBytes ?? 0 } : {}),
        };
      }),
      drops: dropsOf(s.total),
      total: s.total,
    };
  }

  // The live masquerade mappings (a snapshot; empty without masquerade).
  mappings(): MappingRecord[] {
    if (this.compiled.config.masquerade.length === 0) return [];
    return callNative(() => this.engine.mappings());
  }

  // Atomic: the new configuration is validated and its table compiled and swapped in by the engine; if the
  // interfaces or prefixes changed, the new rules go live before the old ones are removed. On any error the old
  // configuration stays (table and rules) and the error says why. No packet is dropped by the reload itself.
  reload(config: unknown): Promise<ReloadResult> {
    return this.serialize(async () => {
      if (this.state !== 'running') throw new Npt66Error('ERR_NPT66_STATE', `cannot reload: the gateway is ${this.state}`);
      const next = compileGatewayConfig(config, this.facts);
      const old = this.compiled;
      // Every field of an entry may change (the table's sets and tunables are swapped, live mappings that are still
      // valid stay); an entry added or removed needs a restart: the tables are the engine's, one per entry, fixed
      // while the queues are bound.
      if (old.config.masquerade.length !== next.config.masquerade.length) {
        throw new Npt66Error(
          'ERR_NPT66_RELOAD',
          `has ${next.config.masquerade.length} entries instead of ${old.config.masquerade.length}: adding or removing a masquerade entry needs a restart of npt66 (each entry's table is bound to the running engine); the running configuration is unchanged`,
          { field: 'masquerade' },
        );
      }
      // Port range, privilegedPorts, filtering, inboundRefresh, timeouts, limits: the table's tunables. Ports mappings
      // of the old range may still hold stay queued inbound until none is held (masquerade-kept-ports.ts).
      const tunablesChanged = next.masquerade.map((m, i) => tunablesKey(m) !== tunablesKey(old.masquerade[i]!));
      const canTune = typeof this.engine.setMasqueradeTunables === 'function';
      if (tunablesChanged.some(Boolean) && !canTune) {
        throw new Npt66Error('ERR_NPT66_ENGINE_UNAVAILABLE', 'this build of the npt66 addon cannot change masquerade ports, timeouts, filtering or limits; rebuild it (npm run build) or restart npt66 to apply them', {
          field: 'masquerade',
        });
      }
      const keptPortsBefore = this.masqueradeKeptPorts;
      const keptPortsNext = next.masquerade.map((m, i) =>
        tunablesChanged[i] ? keptPortsAfter(old.masquerade[i]!, keptPortsBefore[i] ?? [], m) : this.stillHeld(i, keptPortsBefore[i] ?? []),
      );
      const keptPortsChanged = keptPortsNext.some((k, i) => JSON.stringify(k) !== JSON.stringify(keptPortsBefore[i] ?? []));
      // An address given, changed or left out (then the interface's, followed from now on): mappings on an address
      // the interface still has live on.
      const outsideBefore = [...this.masqueradeOutside];
      const outsideNext = next.config.masquerade.map((m, i) => this.outsideAfter(i, m.address, this.facts.interfaceAddresses(m.interface)));
      const outsideChanged = outsideNext.map((o, i) => !sameOutside(o, outsideBefore[i]!));
      // Docker's subnets carry over to the entry that names "docker" now, checked against the new configuration.
      const dockerBefore = this.dockerSubnets;
      const dockerIndex = next.config.masquerade.findIndex((m) => namesDocker(m));
      const dockerAfter =
        dockerIndex < 0 ? [] : this.acceptedDocker(this.dockerSeen, dockerIndex, next.config.masquerade, next.config.nptv6).map((p) => p.text);
      const dockerChanged = dockerAfter.join() !== dockerBefore.join();
      const sourcesChanged = next.config.masquerade.map(
        (m, i) => JSON.stringify(m.source) !== JSON.stringify(old.config.masquerade[i]!.source) || (i === dockerIndex && dockerChanged),
      );
      // Docker's published ports carry over too, checked against the new static forwards and Docker subnets.
      const dockerForwardsBefore = this.dockerForwards;
      const canForward = typeof this.engine.setMasqueradeForwards === 'function'; // else Docker's ports stay unforwarded
      const dockerForwardsAfter = dockerIndex < 0 || !canForward ? [] : this.acceptedDockerForwards(dockerIndex, next, dockerAfter, keptPortsNext[dockerIndex]);
      const forwardsChanged = next.config.masquerade.map(
        (_m, i) =>
          JSON.stringify(this.nativeForwards(next, i, dockerForwardsAfter)) !== JSON.stringify(this.nativeForwards(old, i, dockerForwardsBefore)),
      );
      if (forwardsChanged.some(Boolean) && !canForward) {
        throw new Npt66Error('ERR_NPT66_ENGINE_UNAVAILABLE', 'this build of the npt66 addon cannot change masquerade forwards; rebuild it (npm run build) or restart npt66 to apply them', {
          field: 'masquerade',
        });
      }
      for (const field of RESTART_FIELDS) {
        const before = JSON.stringify(old.config[field]);
        const after = JSON.stringify(next.config[field]);
        if (before !== after) {
          throw new Npt66Error(
            'ERR_NPT66_RELOAD',
            `changed from ${before} to ${after}, which cannot change while the queues are bound; restart npt66 to apply it (the running configuration is unchanged)`,
            { field },
          );
        }
      }
      const mappingsChanged = JSON.stringify(old.config.nptv6) !== JSON.stringify(next.config.nptv6);
      const rulesChanged =
        ruleKey(old.config) !== ruleKey(next.config) || dockerChanged || forwardsChanged.some(Boolean) || outsideChanged.some(Boolean) || keptPortsChanged;
      this.state = 'reloading';
      try {
        if (mappingsChanged) callNative(() => this.engine.setMappings(next.mappings));
        // Sources and forwards before rules: a packet the new rules queue must find its source or its forward in
        // the table (else it would pass untranslated, or be dropped).
        // Tunables with the forwards, checked together: a reload may move both the range and a forward across it.
        const setTables = (c: CompiledConfig) =>
          c.config.masquerade.forEach((_m, i) => {
            if (sourcesChanged[i]) callNative(() => this.engine.setMasqueradeSources!(i, this.nativeSources(c, i)));
            if (tunablesChanged[i]) callNative(() => this.engine.setMasqueradeTunables!(i, { ...c.masquerade[i]!, forwards: this.nativeForwards(c, i) }));
            else if (forwardsChanged[i]) callNative(() => this.engine.setMasqueradeForwards!(i, this.nativeForwards(c, i)));
          });
        const setOutside = (list: MasqueradeOutside[]) =>
          list.forEach((o, i) => {
            if (outsideChanged[i]) this.applyOutside(i, o);
          });
        const undo = () => {
          if (mappingsChanged) callNative(() => this.engine.setMappings(old.mappings));
          this.dockerSubnets = dockerBefore;
          this.dockerForwards = dockerForwardsBefore;
          this.masqueradeKeptPorts = keptPortsBefore;
          try {
            setTables(old);
            setOutside(outsideBefore);
          } catch {
            // the table took these sets before; only a forward of the old set on a port a mapping took meanwhile
            // (it lay in the new range) gets here: the new forwards then stay
          }
        };
        this.dockerSubnets = dockerAfter;
        this.dockerForwards = dockerForwardsAfter;
        this.masqueradeKeptPorts = keptPortsNext;
        try {
          setTables(next);
          setOutside(outsideNext);
        } catch (e) {
          undo();
          throw e;
        }
        if (rulesChanged) {
          try {
            await this.rules.replace(next.config);
          } catch (e) {
            undo();
            throw e;
          }
        }
        this.compiled = next;
        this.input = config;
        // Resolved again on every reload: an interface may have been created (or re-created) since.
        callNative(() => this.engine.setOutsideInterfaces?.(outsideInterfaces(next.config)));
      } finally {
        this.state = 'running';
      }
      this.syncDockerWatch();
      this.syncKeptPortsTimer();
      await this.syncProxyNdp();
      this.emitState('running', { reloaded: true, mappings: next.config.nptv6.length });
      return { mappingsChanged, rulesChanged };
    });
  }

  // Of `ranges`, those a mapping of entry i still holds (an engine that cannot tell: all).
  private stillHeld(i: number, ranges: readonly PortRange[]): PortRange[] {
    if (typeof this.engine.masqueradeHoldsPorts !== 'function') return [...ranges];
    return ranges.filter((r) => callNative(() => this.engine.masqueradeHoldsPorts!(i, r.min, r.max)));
  }

  // Every 30 s while ports of an earlier range are kept: those no mapping holds any more leave the rules.
  private syncKeptPortsTimer(): void {
    const any = this.masqueradeKeptPorts.some((k) => k.length > 0);
    if (any && !this.keptPortsTimer) {
      this.keptPortsTimer = setInterval(() => {
        this.serialize(() => this.retireKeptPorts()).catch((e: unknown) =>
          this.emitEvent('error', { message: `letting go of the ports of an earlier masquerade range failed (tried again in 30 s): ${(e as Error).message}` }),
        );
      }, KEPT_PORTS_CHECK_MS);
      this.keptPortsTimer.unref();
    } else if (!any && this.keptPortsTimer) {
      clearInterval(this.keptPortsTimer);
      this.keptPortsTimer = null;
    }
  }

  private async retireKeptPorts(): Promise<void> {
    if (this.state !== 'running') return;
    const before = this.masqueradeKeptPorts;
    const next = before.map((k, i) => this.stillHeld(i, k));
    if (JSON.stringify(next) === JSON.stringify(before)) return;
    this.masqueradeKeptPorts = next;
    this.state = 'reloading';
    try {
      await this.rules.replace(this.compiled.config);
    } catch (e) {
      this.masqueradeKeptPorts = before;
      throw e;
    } finally {
      this.state = 'running';
    }
    this.syncKeptPortsTimer();
    await this.applyDocker(); // a published port that waited for a kept one
  }

  // Removes the rules (traffic stops reaching the queues), then lets the engine drain: every queued packet gets
  // its verdict before the queues are unbound.
  stop(): Promise<void> {
    return this.serialize(async () => {
      if (this.state === 'stopped') return;
      if (this.keptPortsTimer) clearInterval(this.keptPortsTimer);
      this.keptPortsTimer = null;
      this.docker?.stop();
      this.docker = null;
      this.emitState('stopping');
      await this.proxyNdp?.stop();
      this.proxyNdp = null;
      let failure: unknown = null;
      try {
        await this.rules.remove();
      } catch (e) {
        failure = e;
      }
      await this.engine.stop(this.drainMs);
      this.restoreConntrackChecksum?.();
      this.restoreConntrackChecksum = undefined;
      this.emitState('stopped');
      if (failure) throw failure;
    });
  }

  // For a process 'exit' handler: remove the rules synchronously (the engine's threads die with the process).
  removeRulesSync(): void {
    this.rules.removeSync();
  }

  // The kernel reported an address change on `name` ("" for unknown: any): the entries whose outside prefix
  // follows an interface are read again, in turn with reload and stop.
  private followAddresses(name: string): void {
    const masquerade = this.compiled.config.masquerade.flatMap((m, i) => (m.addressFrom === 'interface' && (name === '' || m.interface === name) ? [i] : []));
    if (masquerade.length) {
      this.serialize(() => this.refreshMasqueradeAddresses(masquerade)).catch((e: unknown) => {
        // E.g. too many addresses in flight until the housekeeping passes free a slot: tried again shortly.
        this.emitEvent('error', { message: `following the masquerade address failed (tried again in 2 s): ${(e as Error).message}` });
        setTimeout(() => this.state === 'running' && this.followAddresses(name), 2000).unref();
      });
    }
    const followed = new Set(this.compiled.config.nptv6.flatMap((m) => (m.outsideFrom ? [m.outsideFrom.interface] : [])));
    if (followed.size === 0 || (name !== '' && !followed.has(name))) return;
    this.serialize(() => this.refreshPrefixes(followed)).catch((e: unknown) =>
      this.emitEvent('error', { message: `following the outside prefix failed: ${(e as Error).message}` }),
    );
  }

  // What masquerade entry i's outside addresses become when new flows take `use`: the addresses in force that the
  // interface still has (not tentative or failed) are kept, so their mappings live on; the others go.
  private outsideAfter(i: number, use: string | null, addresses: InterfaceAddress[] | null): MasqueradeOutside {
    const before = this.masqueradeOutside[i] ?? { use: null, keep: [] };
    const present = new Set(
      (addresses ?? [])
        .filter((a) => !a.flags.some((f) => f === 'tentative' || f === 'dadfailed'))
        .map((a) => canonical(a.address)),
    );
    const keep = [before.use, ...before.keep].filter((a): a is string => a !== null && a !== use && present.has(a));
    return { use, keep: [...new Set(keep)] };
  }

  // Masquerade entry i's outside addresses, into the table first (a packet the new rules queue must find its
  // address there), then the rules (new before old). Returns false when nothing changed.
  private async setMasqueradeOutside(i: number, next: MasqueradeOutside, config: GatewayConfig): Promise<boolean> {
    const before = this.masqueradeOutside[i]!;
    if (sameOutside(next, before)) return false;
    this.applyOutside(i, next);
    try {
      await this.rules.replace(config);
    } catch (e) {
      this.applyOutside(i, before);
      throw e;
    }
    return true;
  }

  // Masquerade entry i's outside addresses into its table, and remembered as the ones in force.
  private applyOutside(i: number, o: MasqueradeOutside): void {
    const bytes = (a: string) => parseAddress(a, 'address');
    callNative(() => this.engine.setMasqueradeAddresses!(i, o.use === null ? [] : [bytes(o.use)], o.keep.map(bytes)));
    this.masqueradeOutside[i] = o;
  }

  // The kernel reported an address change on the interfaces of these masquerade entries (addressFrom
  // "interface"): each takes the interface's stable global address now, checked as at start. None usable: new
  // flows are dropped (drop_nat66_no_address), never sent with an inside address; an 'address' event says so.
  private async refreshMasqueradeAddresses(indexes: number[]): Promise<void> {
    if (this.state !== 'running') return;
    if (typeof this.engine.setMasqueradeAddresses !== 'function') {
      this.emitEvent('error', { message: 'this build of the npt66 addon cannot change the masquerade address; rebuild it (npm run build)' });
      return;
    }
    const c = this.compiled;
    for (const i of indexes) {
      const m = c.config.masquerade[i]!;
      // The interface read once (`ip` runs synchronously), for the address to use and those to keep.
      const addresses = this.facts.interfaceAddresses(m.interface);
      const once: HostFacts = Object.assign(Object.create(this.facts) as HostFacts, {
        interfaceAddresses: (n: string) => (n === m.interface ? addresses : this.facts.interfaceAddresses(n)),
      });
      let use: string | null = null;
      let why = '';
      try {
        use = followedAddress(m, `masquerade[${i}].address`, this.sourcePrefixes(c, i), c.nptv6Prefixes, once);
      } catch (e) {
        why = (e as Error).message;
      }
      const before = this.masqueradeOutside[i]!;
      const next = this.outsideAfter(i, use, addresses);
      this.state = 'reloading';
      let changed: boolean;
      try {
        changed = await this.setMasqueradeOutside(i, next, c.config);
      } finally {
        this.state = 'running';
      }
      if (!changed) continue;
      const gone = [before.use, ...before.keep].filter((a): a is string => a !== null && a !== next.use && !next.keep.includes(a));
      const message =
        next.use === null
          ? `masquerade[${i}]: no outside address now (${why}): new flows from ${sourcesText(m)} are dropped until ${m.interface} has one`
          : `masquerade[${i}]: outside address ${before.use ?? '(none)'} -> ${next.use} (from ${m.interface})` +
            (next.keep.length ? `; kept while on ${m.interface}: ${next.keep.join(', ')}` : '') +
            (gone.length ? `; gone: ${gone.join(', ')} (its mappings are removed)` : '');
      this.emitEvent('address', { message, index: i, interface: m.interface, address: next.use, previous: before.use, kept: next.keep, gone });
      if (next.use === null) this.emitEvent('warning', { message, index: i });
    }
  }

  // Recompiles with the addresses the followed interfaces have now. When an outside prefix changed: the new table
  // is swapped in at once (the old prefix stops being translated), then the new rules go in before the old ones
  // are removed (rules/ip6tables.ts generations), and a 'prefix' event says what changed. A prefix that cannot be used
  // leaves its entry without one (outbound dropped, drop_no_outside_prefix), never with the stale one.
  private async refreshPrefixes(followed: Set<string>): Promise<void> {
    if (this.state !== 'running') return;
    const old = this.compiled;
    let next: CompiledConfig;
    let problem: string | undefined;
    try {
      next = compileGatewayConfig(this.input, this.facts);
    } catch (e) {
      problem = (e as Error).message;
      const hidden: HostFacts = Object.assign(Object.create(this.facts) as HostFacts, {
        interfaceAddresses: (n: string) => (followed.has(n) ? null : this.facts.interfaceAddresses(n)),
      });
      next = compileGatewayConfig(this.input, hidden);
    }
    // The masquerade tables are fixed while running (reload refuses to change them): keep what they were built from.
    next = { ...next, config: { ...next.config, masquerade: old.config.masquerade }, masquerade: old.masquerade };
    if (JSON.stringify(old.config.nptv6) === JSON.stringify(next.config.nptv6)) return;
    this.state = 'reloading';
    try {
      callNative(() => this.engine.setMappings(next.mappings));
      if (ruleKey(old.config) !== ruleKey(next.config)) {
        try {
          await this.rules.replace(next.config);
        } catch (e) {
          callNative(() => this.engine.setMappings(old.mappings));
          throw e;
        }
      }
      this.compiled = next;
    } finally {
      this.state = 'running';
    }
    next.config.nptv6.forEach((m, index) => {
      const before = old.config.nptv6[index]?.outside ?? null;
      if (!m.outsideFrom || before === m.outside) return;
      const followedNow = next.followed[index];
      const why = problem ?? followedNow?.reason;
      const message =
        m.outside === null
          ? `nptv6[${index}]: outside prefix ${before} withdrawn (${why}): outbound traffic from ${m.inside} is dropped until ${m.outsideFrom.interface} has a usable address`
          : `nptv6[${index}]: outside prefix ${before ?? '(none)'} -> ${m.outside} (from ${followedNow?.address} on ${m.outsideFrom.interface})`;
      this.emitEvent('prefix', {
        message,
        index,
        inside: m.inside,
        interface: m.outsideFrom.interface,
        outside: m.outside,
        previous: before,
        ...(followedNow?.address ? { address: followedNow.address } : {}),
      });
      if (m.outside === null) this.emitEvent('warning', { message, index });
    });
    await this.syncProxyNdp();
  }

  // Proxy NDP follows the entries in force: started when one has "proxyNdp", given every change, stopped (its
  // entries removed) when none has it any more.
  private async syncProxyNdp(): Promise<void> {
    const entries = this.compiled.config.nptv6;
    if (!ProxyNdp.wanted(entries)) {
      await this.proxyNdp?.stop();
      this.proxyNdp = null;
      return;
    }
    if (typeof this.engine.setProxyNdp !== 'function') {
      throw new Npt66Error('ERR_NPT66_ENGINE_UNAVAILABLE', 'this build of the npt66 addon cannot answer Neighbor Solicitations; rebuild it (npm run build) or remove "proxyNdp"');
    }
    this.proxyNdp ??= new ProxyNdp(
      (type, fields) => this.emitEvent(type, fields),
      (native) => callNative(() => this.engine.setProxyNdp!(native)),
    );
    await this.proxyNdp.setEntries(entries, this.compiled.mappings);
  }

  // Follows Docker's networks while an entry names "docker" (started or stopped by start and reload).
  private syncDockerWatch(): void {
    const wanted = this.compiled.config.masquerade.some((m) => namesDocker(m));
    if (!wanted) {
      this.docker?.stop();
      this.docker = null;
      return;
    }
    if (this.docker) return;
    if (typeof this.engine.setMasqueradeSources !== 'function') {
      this.emitEvent('error', { message: 'this build of the npt66 addon cannot change masquerade sources; rebuild it (npm run build) to follow Docker' });
      return;
    }
    const docker = new DockerNetworks(this.dockerOptions);
    docker.on('warning', (e: { message: string }) => this.emitEvent('warning', { ...e, docker: true }));
    docker.on('state', (e: { message: string }) => this.emitEvent('state', { ...e, docker: true }));
    const apply = () =>
      this.serialize(() => this.applyDocker()).catch((e: unknown) =>
        this.emitEvent('error', { message: `following Docker's networks failed: ${(e as Error).message}`, docker: true }),
      );
    docker.on('subnets', (subnets: string[]) => {
      this.dockerSeen = subnets;
      void apply();
    });
    docker.on('published', (published: DockerPublished[]) => {
      this.dockerPublished = published;
      void apply();
    });
    this.docker = docker;
    docker.start();
  }

  // The subnets Docker has now, into the table (the rules read them when they go in); Docker not answering within
  // 2 s is left to the watcher, which warns and retries.
  private async firstDockerList(): Promise<void> {
    const index = this.compiled.config.masquerade.findIndex((m) => namesDocker(m));
    if (index < 0 || typeof this.engine.setMasqueradeSources !== 'function') return;
    let view: DockerView;
    try {
      view = await new DockerNetworks(this.dockerOptions).listOnce(2000);
    } catch {
      return;
    }
    const c = this.compiled;
    this.dockerSeen = view.subnets;
    this.dockerPublished = view.published;
    this.dockerSubnets = this.acceptedDocker(view.subnets, index, c.config.masquerade, c.config.nptv6).map((p) => p.text);
    callNative(() => this.engine.setMasqueradeSources!(index, this.nativeSources(c, index)));
    if (typeof this.engine.setMasqueradeForwards === 'function') {
      this.dockerForwards = this.acceptedDockerForwards(index, c, this.dockerSubnets);
      if (this.dockerForwards.length) callNative(() => this.engine.setMasqueradeForwards!(index, this.nativeForwards(c, index)));
    }
    this.emitEvent('state', {
      message: `masquerade[${index}]: Docker's IPv6 subnets now ${this.dockerSubnets.join(', ') || 'none'}`,
      docker: true,
      subnets: this.dockerSubnets,
      added: this.dockerSubnets,
      removed: [],
    });
  }

  private acceptedDocker(subnets: readonly string[], index: number, entries: MasqueradeEntry[], nptv6: GatewayConfig['nptv6']) {
    const { accepted, refused } = acceptDockerSubnets(subnets, index, entries, nptv6.map((m) => m.inside));
    for (const r of refused) {
      this.emitEvent('warning', { message: `masquerade[${index}]: Docker subnet ${r.subnet} not masqueraded: it ${r.why}`, docker: true });
    }
    return accepted;
  }

  // Entry i's sources in force: the configured prefixes and, if it names "docker", the Docker subnets in force.
  private sourcePrefixes(c: CompiledConfig, i: number): ParsedPrefix[] {
    const m = c.config.masquerade[i]!;
    const configured = (Array.isArray(m.source) ? m.source : [m.source]).filter((s) => s !== DOCKER_SOURCE);
    return [...configured, ...(namesDocker(m) ? this.dockerSubnets : [])].map((t) => parsePrefix(t, `masquerade[${i}].source`));
  }

  // The table's sources for entry i.
  private nativeSources(c: CompiledConfig, i: number) {
    return this.sourcePrefixes(c, i).map((p) => ({ prefix: p.bytes, length: p.length }));
  }

  // The table's forwards for entry i: the configured ones and, if it names "docker", Docker's published ports.
  private nativeForwards(c: CompiledConfig, i: number, docker = this.dockerForwards): NativeForward[] {
    return [...(c.masquerade[i]!.forwards ?? []), ...(namesDocker(c.config.masquerade[i]!) ? docker : [])];
  }

  // Which of Docker's published ports entry `index` forwards with `subnets` masqueraded (the rest: a warning each,
  // said again only after it went away).
  // A published port a mapping of an earlier range still holds (`kept`) waits until it is free: a forward would take
  // that mapping's replies.
  private acceptedDockerForwards(index: number, c: CompiledConfig, subnets: readonly string[], kept = this.masqueradeKeptPorts[index] ?? []): NativeForward[] {
    const m = c.config.masquerade[index]!;
    const { forwards, refused } = dockerForwards(
      this.dockerPublished,
      c.masquerade[index]!.forwards ?? [],
      {
        field: `masquerade[${index}]`,
        address: parseAddress(m.address, 'address'),
        ports: { min: c.masquerade[index]!.portMin, max: c.masquerade[index]!.portMax },
        privilegedPorts: m.privilegedPorts,
        subnets: subnets.map((t) => parsePrefix(t, 'docker subnet')),
      },
      this.facts,
    );
    const waits = (port: number) => kept.some((r) => port >= r.min && port <= r.max) && this.stillHeld(index, [{ min: port, max: port }]).length > 0;
    const held = forwards.filter((f) => waits(f.port));
    const messages = [
      ...refused.map((r) => `masquerade[${index}]: ${r.published.container}'s published ${r.published.protocol} port ${r.published.port} not forwarded: ${r.why}`),
      ...held.map((f) => `masquerade[${index}]: Docker's published ${f.protocol} port ${f.port} not forwarded yet: a mapping made under the earlier port range holds it (forwarded once none does)`),
    ];
    for (const message of messages) if (!this.dockerRefused.has(message)) this.emitEvent('warning', { message, docker: true });
    this.dockerRefused = new Set(messages);
    return forwards.filter((f) => !held.includes(f));
  }

  // Docker's IPv6 subnets or published ports changed: the table's sources and forwards first (a packet the new
  // rules queue must find its source or forward in the table), then the rules, new before old
  // (rules/backends.ts); mappings of a subnet that went are removed, flows through a forward that went stop.
  private async applyDocker(): Promise<void> {
    if (this.state !== 'running') return;
    const c = this.compiled;
    const index = c.config.masquerade.findIndex((m) => namesDocker(m));
    if (index < 0) return;
    const before = this.dockerSubnets;
    const forwardsBefore = this.dockerForwards;
    const now = this.acceptedDocker(this.dockerSeen, index, c.config.masquerade, c.config.nptv6).map((p) => p.text);
    const canForward = typeof this.engine.setMasqueradeForwards === 'function';
    const forwardsNow = canForward ? this.acceptedDockerForwards(index, c, now) : [];
    const subnetsChanged = now.join() !== before.join();
    const forwardsChanged = JSON.stringify(forwardsNow) !== JSON.stringify(forwardsBefore);
    if (!subnetsChanged && !forwardsChanged) return;
    const setTable = () => {
      if (subnetsChanged) callNative(() => this.engine.setMasqueradeSources!(index, this.nativeSources(c, index)));
      if (forwardsChanged) callNative(() => this.engine.setMasqueradeForwards!(index, this.nativeForwards(c, index)));
    };
    this.state = 'reloading';
    try {
      this.dockerSubnets = now;
      this.dockerForwards = forwardsNow;
      try {
        setTable();
        await this.rules.replace(c.config);
      } catch (e) {
        this.dockerSubnets = before;
        this.dockerForwards = forwardsBefore;
        setTable();
        throw e;
      }
    } finally {
      this.state = 'running';
    }
    if (subnetsChanged) {
      const added = now.filter((p) => !before.includes(p));
      const removed = before.filter((p) => !now.includes(p));
      this.emitEvent('state', {
        message: `masquerade[${index}]: Docker's IPv6 subnets now ${now.join(', ') || 'none'}${added.length ? `; added ${added.join(', ')}` : ''}${removed.length ? `; removed ${removed.join(', ')} (their mappings go)` : ''}`,
        docker: true,
        subnets: now,
        added,
        removed,
      });
    }
    if (forwardsChanged) {
      const shown = forwardsNow.map(forwardText);
      this.emitEvent('state', {
        message: `masquerade[${index}]: Docker's published ports forwarded now ${shown.join(', ') || 'none'}`,
        docker: true,
        forwards: shown,
      });
    }
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private emitState(state: GatewayState, fields: Record<string, unknown> = {}): void {
    this.state = state;
    this.emitEvent('state', { message: `gateway ${state}`, state, ...fields });
  }

  private emitEvent(type: EventName, fields: { message: string; [k: string]: unknown }): void {
    const event: GatewayEvent = { time: new Date().toISOString(), ...fields };
    // An 'error' nobody listens to must not throw inside the engine's callback: it becomes a warning.
    if (type === 'error' && this.listenerCount('error') === 0) this.emit('warning', { ...event, severity: 'error' });
    else this.emit(type, event);
  }

  private nativeEvents(events: NativeEngineEvent[]): void {
    const time = new Date().toISOString();
    for (const e of events) {
      if (e.type === 'mapping') this.emit('mapping', { event: e.event, mapping: e.mapping, time } satisfies GatewayMappingEvent);
      else if (e.type === 'address') this.followAddresses(e.interface);
      else this.nativeEvent(e);
    }
  }

  private nativeEvent(e: NativeEngineNotice): void {
    this.emitEvent(e.type, {
      message: e.message,
      ...(e.queue !== undefined ? { queue: e.queue } : {}),
      engineTime: e.time,
    });
  }
}

function sameOutside(a: MasqueradeOutside, b: MasqueradeOutside): boolean {
  return a.use === b.use && a.keep.join() === b.keep.join();
}

function canonical(address: string): string {
  return formatAddress(parseAddress(address, 'address'));
}

function sourcesText(m: MasqueradeEntry): string {
  return (Array.isArray(m.source) ? m.source : [m.source]).join(', ');
}
