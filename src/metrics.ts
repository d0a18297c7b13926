// Prometheus metrics (README "Metrics"): the Gateway's stats() snapshot in the text exposition format, served over
// HTTP at /metrics. One snapshot per scrape, read by every metric's collect callback: nothing runs per packet, and
// the figures of one scrape are consistent with each other. Off unless the configuration has "metrics".
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Counter, Gauge, Registry } from 'prom-client';

import { counterDescriptions } from './counters';
import type { GatewayConfig } from './gateway-config';
import type { GatewayStats } from './gateway';
import type { MetricsListen } from './metrics-listen';

export interface MetricsSource {
  stats(): GatewayStats;
  config?(): GatewayConfig | undefined; // for the configured limits (masquerade maxMappings)
}

interface Snapshot {
  stats: GatewayStats;
  config: GatewayConfig | undefined;
}

type Labels = Record<string, string | number>;

// npt66's version, read once (dist/src -> package root).
function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private snapshot: Snapshot | null = null;
  private scrapes: Promise<unknown> = Promise.resolve();

  constructor(private readonly source: MetricsSource) {
    this.define();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // The exposition text of one fresh snapshot. Scrapes are serialized, so concurrent ones never mix snapshots.
  exposition(): Promise<string> {
    const run = this.scrapes.then(async () => {
      this.snapshot = { stats: this.source.stats(), config: this.source.config?.() };
      try {
        return await this.registry.metrics();
      } finally {
        this.snapshot = null;
      }
    });
    this.scrapes = run.catch(() => undefined);
    return run;
  }

  // A counter or gauge whose values are all set from the scrape's snapshot (series gone from it disappear).
  private counter(name: string, help: string, labelNames: string[], values: (s: Snapshot) => [Labels, number][]): void {
    this.series(Counter, name, help, labelNames, values, (m, labels, v) => (m as Counter).inc(labels, Math.max(0, v)));
  }

  private gauge(name: string, help: string, labelNames: string[], values: (s: Snapshot) => [Labels, number][]): void {
    this.series(Gauge, name, help, labelNames, values, (m, labels, v) => (m as Gauge).set(labels, v));
  }

  private series(
    Kind: typeof Counter | typeof Gauge,
    name: string,
    help: string,
    labelNames: string[],
    values: (s: Snapshot) => [Labels, number][],
    put: (metric: Counter | Gauge, labels: Labels, v: number) => void,
  ): void {
    const self = this;
    new Kind({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        if (self.snapshot) for (const [labels, v] of values(self.snapshot)) put(this as Counter | Gauge, labels, v);
      },
    });
  }

  private define(): void {
    const version = packageVersion();
    this.gauge('npt66_build_info', 'npt66 version and the Node.js running it (always 1)', ['version', 'node', 'napi'], () => [
      [{ version, node: process.versions.node, napi: process.versions.napi ?? '' }, 1],
    ]);
    this.gauge('npt66_start_time_seconds', 'when the gateway started, in seconds since the Unix epoch', [], ({ stats }) => [[{}, Date.parse(stats.startedAt) / 1000]]);
    this.gauge('npt66_state', 'the gateway state: 1 for the current one (starting, running, reloading, stopping, stopped)', ['state'], ({ stats }) => [[{ state: stats.state }, 1]]);

    // NPTv6: the prefixes in force and each mapping's traffic. The series are keyed by the mapping's index, inside
    // prefix and interface, which a change of the outside prefix leaves alone (rate() continues across it).
    const key = (m: GatewayStats['mappings'][number]) => ({ mapping: m.index, inside: m.inside, interface: m.interface });
    this.gauge(
      'npt66_nptv6_prefix_info',
      'the NPTv6 mappings in force: inside and outside prefix and outside interface (always 1)',
      ['mapping', 'inside', 'outside', 'interface'],
      ({ stats }) => stats.mappings.map((m) => [{ ...key(m), outside: m.outside ?? '' }, 1]), // '': none yet (it follows an interface)
    );
    this.counter(
      'npt66_nptv6_packets_total',
      'packets translated by an NPTv6 mapping, by direction (outbound: inside to outside)',
      ['mapping', 'inside', 'interface', 'direction'],
      ({ stats }) => stats.mappings.flatMap((m) => [[{ ...key(m), direction: 'outbound' }, m.outbound], [{ ...key(m), direction: 'inbound' }, m.inbound]] as [Labels, number][]),
    );
    this.counter(
      'npt66_nptv6_bytes_total',
      'bytes (IPv6 packet lengths) translated by an NPTv6 mapping, by direction (outbound: inside to outside)',
      ['mapping', 'inside', 'interface', 'direction'],
      ({ stats }) =>
        stats.mappings.flatMap((m) =>
          m.outboundBytes === undefined
            ? []
            : ([[{ ...key(m), direction: 'outbound' }, m.outboundBytes], [{ ...key(m), direction: 'inbound' }, m.inboundBytes ?? 0]] as [Labels, number][]),
        ),
    );
    this.counter(
      'npt66_nptv6_dropped_packets_total',
      'packets an NPTv6 mapping refused (npt66_drops_total says why)',
      ['mapping', 'inside', 'interface'],
      ({ stats }) => stats.mappings.map((m) => [key(m), m.dropped]),
    );

    // NAT66 masquerade: each table's traffic and live mappings.
    const masq = (m: GatewayStats['masquerade'][number]) => ({ masquerade: m.index, address: m.address ?? '', interface: m.interface });
    this.gauge(
      'npt66_masquerade_info',
      'the masquerade entries in force: inside sources, outside address, interface and port range (always 1)',
      ['masquerade', 'source', 'address', 'interface', 'ports'],
      ({ stats }) => (stats.masquerade ?? []).map((m) => [{ ...masq(m), source: m.source.join(','), ports: m.ports }, 1]),
    );
    this.counter(
      'npt66_masquerade_packets_total',
      'packets translated by a masquerade table, by direction (outbound: inside to outside, hairpinned ones included)',
      ['masquerade', 'address', 'interface', 'direction'],
      ({ stats }) =>
        (stats.masquerade ?? []).flatMap((m) => [[{ ...masq(m), direction: 'outbound' }, m.outbound], [{ ...masq(m), direction: 'inbound' }, m.inbound]] as [Labels, number][]),
    );
    this.counter(
      'npt66_masquerade_bytes_total',
      'bytes (IPv6 packet lengths) translated by a masquerade table, by direction (outbound: inside to outside)',
      ['masquerade', 'address', 'interface', 'direction'],
      ({ stats }) =>
        (stats.masquerade ?? []).flatMap((m) =>
          m.outboundBytes === undefined
            ? []
            : ([[{ ...masq(m), direction: 'outbound' }, m.outboundBytes], [{ ...masq(m), direction: 'inbound' }, m.inboundBytes ?? 0]] as [Labels, number][]),
        ),
    );
    this.counter(
      'npt66_masquerade_dropped_packets_total',
      'packets a masquerade table refused (npt66_drops_total says why)',
      ['masquerade', 'address', 'interface'],
      ({ stats }) => (stats.masquerade ?? []).map((m) => [masq(m), m.dropped]),
    );
    this.gauge(
      'npt66_masquerade_mappings',
      'live masquerade mappings by state (udp, tcp_transitory, tcp_established, icmp)',
      ['masquerade', 'address', 'interface', 'state'],
      ({ stats }) => (stats.masquerade ?? []).flatMap((m) => Object.entries(m.byState).map(([state, n]) => [{ ...masq(m), state }, n] as [Labels, number])),
    );
    this.gauge(
      'npt66_masquerade_mappings_limit',
      'the most live mappings a masquerade table holds (maxMappings); new flows beyond it are refused',
      ['masquerade', 'address', 'interface'],
      ({ stats, config }) =>
        (stats.masquerade ?? []).flatMap((m) => {
          const limit = config?.masquerade[m.index]?.maxMappings;
          return limit === undefined ? [] : [[masq(m), limit] as [Labels, number]];
        }),
    );

    // Queues: the kernel's figures (/proc/net/netfilter/nfnetlink_queue) and the batching of each queue thread.
    const perQueue = (stats: GatewayStats, f: (q: GatewayStats['queues'][number]) => number | undefined): [Labels, number][] =>
      stats.queues.flatMap((q) => {
        const v = f(q);
        return v === undefined ? [] : [[{ queue: q.queue }, v]];
      });
    this.counter('npt66_queue_packets_total', 'packets received from the queue', ['queue'], ({ stats }) => perQueue(stats, (q) => q.counters.queue_received ?? 0));
    this.counter('npt66_queue_batches_total', 'receive calls that returned packets (npt66_queue_packets_total / this = mean batch size)', ['queue'], ({ stats }) =>
      perQueue(stats, (q) => q.counters.queue_receive_batches ?? 0),
    );
    this.gauge('npt66_queue_batch_size_mean', 'packets per receive call since start', ['queue'], ({ stats }) =>
      perQueue(stats, (q) => {
        const batches = q.counters.queue_receive_batches ?? 0;
        return batches ? (q.counters.queue_received ?? 0) / batches : 0;
      }),
    );
    this.counter(
      'npt66_queue_kernel_dropped_total',
      'packets the kernel dropped before npt66 saw them: cause "queue_full" (queueMaxLen reached) or "socket_buffer_full" (netlink receive buffer full)',
      ['queue', 'cause'],
      ({ stats }) =>
        stats.queues.flatMap((q) =>
          q.kernel
            ? ([[{ queue: q.queue, cause: 'queue_full' }, q.kernel.queueDropped], [{ queue: q.queue, cause: 'socket_buffer_full' }, q.kernel.userDropped]] as [Labels, number][])
            : [],
        ),
    );
    this.gauge('npt66_queue_waiting_packets', 'packets in the kernel queue waiting for a verdict', ['queue'], ({ stats }) => perQueue(stats, (q) => q.kernel?.queueTotal));

    // Drops by reason, in one family for sum/topk, and every counter of native/core/counters.def as a family of its
    // own, with that file's description as its help.
    this.counter(
      'npt66_drops_total',
      'packets dropped, by reason (each reason is also a counter of its own, npt66_<reason>_total, whose help says what it means)',
      ['reason'],
      ({ stats }) => Object.entries(stats.drops).map(([reason, n]) => [{ reason }, n]),
    );
    for (const d of counterDescriptions) {
      this.counter(`npt66_${d.name}_total`, `${d.kind === 'drop' ? 'drop: ' : ''}${d.help}`, [], ({ stats }) => [[{}, stats.total[d.name] ?? 0]]);
    }
  }
}

// The HTTP endpoint: GET /metrics, anything else 404. Listens only where the configuration says (loopback unless
// "allowRemote"; src/gateway-config.ts refuses the rest).
export class MetricsServer {
  private constructor(
    private readonly server: Server,
    readonly metrics: GatewayMetrics,
  ) {}

  static listen(where: Pick<MetricsListen, 'host' | 'port'>, source: MetricsSource): Promise<MetricsServer> {
    const metrics = new GatewayMetrics(source);
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('npt66 serves GET /metrics only\n');
        return;
      }
      metrics.exposition().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (e: unknown) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`npt66 cannot take a snapshot: ${(e as Error).message}\n`),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: where.host, port: where.port, ipv6Only: where.host.includes(':') }, () => {
        server.off('error', reject);
        resolve(new MetricsServer(server, metrics));
      });
    });
  }

  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
