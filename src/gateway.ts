// Gateway: npt66 as an NPTv6 gateway on real traffic. The typed facade over the native queue engine plus the
// netfilter rules that feed it: start (validate, bind the queues, install the rules), stats, atomic reload, stop.
// Events ('warning', 'state', 'error') are for rare things, never per packet.
import { EventEmitter } from 'node:events';

import { fromNativeError, Npt66Error } from './errors';
import { compileGatewayConfig, type CompiledConfig, type GatewayConfig } from './gateway-config';
import { native, type NativeEngine, type NativeEngineEvent, type NativeEngineOptions, type NativeEngineStats } from './native';
import { chooseRuleBackend, ruleKey, type RuleBackend } from './rules';

export type GatewayState = 'starting' | 'running' | 'reloading' | 'stopping' | 'stopped';

export interface GatewayEvent {
  message: string;
  queue?: number; // the queue it concerns, if any
  time: string; // ISO 8601
  [field: string]: unknown;
}

export interface GatewayMappingStats {
  index: number;
  inside: string;
  outside: string;
  interface: string;
  outbound: number; // packets translated inside -> outside
  inbound: number; // packets translated outside -> inside
  dropped: number; // packets refused (counted by reason under `drops`)
}

export interface GatewayStats {
  time: string;
  startedAt: string;
  uptimeSeconds: number;
  state: GatewayState;
  rules: RuleBackend['name'];
  failOpen: boolean;
  queues: NativeEngineStats['queues']; // per queue: counters and the kernel's nfnetlink_queue figures
  mappings: GatewayMappingStats[];
  drops: Record<string, number>; // every drop reason (counters of kind 'drop'), summed over the queues
  total: Record<string, number>; // every counter, summed over the queues
}

export interface ReloadResult {
  mappingsChanged: boolean;
  rulesChanged: boolean;
}

export interface GatewayOptions {
  rules?: RuleBackend; // default: nft's native queue if the kernel has it, else ip6tables
  createEngine?: (options: NativeEngineOptions) => NativeEngine; // default: the addon's Engine
  drainMs?: number; // how long stop() lets queued packets finish (default 200)
}

// Settings fixed while the queues are bound: changing them needs a restart.
const RESTART_FIELDS = ['queues', 'queueMaxLen', 'socketBufferBytes', 'failOpen', 'icmpRateLimit', 'control'] as const;

function nativeEngine(options: NativeEngineOptions): NativeEngine {
  const Engine = (native as { Engine?: typeof native.Engine }).Engine;
  if (typeof Engine !== 'function') {
    throw new Npt66Error('ERR_NPT66_ENGINE_UNAVAILABLE', 'this build of the npt66 addon has no queue engine; rebuild it (npm run build)');
  }
  return new Engine(options);
}

function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromNativeError(e);
  }
}

export class Gateway extends EventEmitter {
  private compiled: CompiledConfig;
  private state: GatewayState = 'starting';
  private readonly startedAt = new Date();
  private queue: Promise<unknown> = Promise.resolve(); // serializes reload and stop

  private constructor(
    compiled: CompiledConfig,
    private readonly engine: NativeEngine,
    private readonly rules: RuleBackend,
    private readonly drainMs: number,
  ) {
    super();
    this.compiled = compiled;
  }

  // Validates `config`, binds the queues (COPY_PACKET set before any rule sends traffic), installs the rules
  // (after which chains left by a crashed run are removed: until then those drop, never leak) and returns.
  // Listeners for early events can be passed as `on`, since start() emits before it returns.
  static async start(
    config: unknown,
    options: GatewayOptions & { on?: Partial<Record<'warning' | 'state' | 'error', (e: GatewayEvent) => void>> } = {},
  ): Promise<Gateway> {
    const compiled = compileGatewayConfig(config);
    const { config: c, mappings } = compiled;
    const rules = options.rules ?? (await chooseRuleBackend(c.queues.first));
    let gateway: Gateway | null = null;
    const pending: NativeEngineEvent[] = [];
    const onEvents = (events: NativeEngineEvent[]) => {
      if (gateway) for (const e of events) gateway.nativeEvent(e);
      else pending.push(...events);
    };
    const engine = call(() =>
      (options.createEngine ?? nativeEngine)({
        queueFirst: c.queues.first,
        queueCount: c.queues.count,
        queueMaxLen: c.queueMaxLen,
        socketBufferBytes: c.socketBufferBytes,
        failOpen: c.failOpen,
        icmpRateLimit: c.icmpRateLimit,
        mappings,
        onEvents,
      }),
    );
    gateway = new Gateway(compiled, engine, rules, options.drainMs ?? 200);
    for (const [name, fn] of Object.entries(options.on ?? {})) gateway.on(name, fn);
    gateway.emitState('starting', { rules: rules.name, queues: c.queues });
    if (c.failOpen) {
      gateway.emitEvent('warning', {
        message: 'failOpen is true: when a queue is full or a packet cannot be translated it is accepted untranslated, which leaks inside addresses',
      });
    }
    try {
      call(() => engine.start());
    } catch (e) {
      throw new Npt66Error('ERR_NPT66_QUEUE', `cannot bind queues ${c.queues.first}..${c.queues.first + c.queues.count - 1}: ${(e as Error).message}`, { cause: e });
    }
    for (const e of pending.splice(0)) gateway.nativeEvent(e);
    try {
      const stale = await rules.install(c);
      if (stale.length) gateway.emitEvent('warning', { message: 'removed rules left by an earlier npt66 run that did not stop cleanly', removed: stale });
    } catch (e) {
      await engine.stop(0).catch(() => undefined);
      throw e;
    }
    gateway.emitState('running', { rules: rules.name });
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
    const s = call(() => this.engine.stats());
    const kinds = new Map(native.counterDescriptions.map((d) => [d.name, d.kind]));
    const drops: Record<string, number> = {};
    for (const [name, value] of Object.entries(s.total)) if (kinds.get(name) === 'drop') drops[name] = value;
    const now = new Date();
    return {
      time: now.toISOString(),
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((now.getTime() - this.startedAt.getTime()) / 1000),
      state: this.state,
      rules: this.rules.name,
      failOpen: this.compiled.config.failOpen,
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
        };
      }),
      drops,
      total: s.total,
    };
  }

  // Atomic: the new configuration is validated and its table compiled and swapped in by the engine; if the
  // interfaces or prefixes changed, the new rules go live before the old ones are removed. On any error the old
  // configuration stays (table and rules) and the error says why. No packet is dropped by the reload itself.
  reload(config: unknown): Promise<ReloadResult> {
    return this.serialize(async () => {
      if (this.state !== 'running') throw new Npt66Error('ERR_NPT66_STATE', `cannot reload: the gateway is ${this.state}`);
      const next = compileGatewayConfig(config);
      const old = this.compiled;
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
      const rulesChanged = ruleKey(old.config) !== ruleKey(next.config);
      this.state = 'reloading';
      try {
        if (mappingsChanged) call(() => this.engine.setMappings(next.mappings));
        if (rulesChanged) {
          try {
            await this.rules.replace(next.config);
          } catch (e) {
            if (mappingsChanged) call(() => this.engine.setMappings(old.mappings));
            throw e;
          }
        }
        this.compiled = next;
      } finally {
        this.state = 'running';
      }
      this.emitState('running', { reloaded: true, mappings: next.config.nptv6.length });
      return { mappingsChanged, rulesChanged };
    });
  }

  // Removes the rules (traffic stops reaching the queues), then lets the engine drain: every queued packet gets
  // its verdict before the queues are unbound.
  stop(): Promise<void> {
    return this.serialize(async () => {
      if (this.state === 'stopped') return;
      this.emitState('stopping');
      let failure: unknown = null;
      try {
        await this.rules.remove();
      } catch (e) {
        failure = e;
      }
      await this.engine.stop(this.drainMs);
      this.emitState('stopped');
      if (failure) throw failure;
    });
  }

  // For a process 'exit' handler: remove the rules synchronously (the engine's threads die with the process).
  removeRulesSync(): void {
    this.rules.removeSync();
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

  private emitEvent(type: 'warning' | 'state' | 'error', fields: { message: string; [k: string]: unknown }): void {
    const event: GatewayEvent = { time: new Date().toISOString(), ...fields };
    // An 'error' nobody listens to must not throw inside the engine's callback: it becomes a warning.
    if (type === 'error' && this.listenerCount('error') === 0) this.emit('warning', { ...event, severity: 'error' });
    else this.emit(type, event);
  }

  private nativeEvent(e: NativeEngineEvent): void {
    this.emitEvent(e.type, {
      message: e.message,
      ...(e.queue !== undefined ? { queue: e.queue } : {}),
      engineTime: e.time,
    });
  }
}
