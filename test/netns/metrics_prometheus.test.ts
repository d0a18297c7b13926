// Issue 11 part 4: the metrics endpoint as Prometheus sees it. npt66 runs in the gateway namespace with
// "metrics": {"listen": "[::1]:PORT"}; after some pings through the NPTv6 mapping, a real Prometheus (Debian's
// `prometheus`, its storage in a temporary directory, listening on the namespace's loopback) scrapes it every
// second; its HTTP API's answers for a few series must equal `npt66 stats --json`, and `promtool check metrics`
// must find nothing wrong with a scrape. Only the lab's namespaces and their loopback are used.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { waitFor } from '../../src/netns';
import { ADDR } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { LineProcess } from './lib/line_process';
import { ping } from './lib/traffic';
import { translatorKindUnderTest, type Npt66Daemon } from './lib/translator';

const METRICS_PORT = 19466;
const PROMETHEUS_PORT = 19090;

function have(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip = translatorKindUnderTest() !== 'npt66' ? 'npt66 only' : !have('prometheus') || !have('promtool') ? 'needs prometheus and promtool (scripts/setup.sh installs them)' : false;

interface Stats {
  mappings: { index: number; outbound: number; inbound: number; dropped: number; outboundBytes: number; inboundBytes: number }[];
  queues: { queue: number; counters: Record<string, number> }[];
  total: Record<string, number>;
  state: string;
}

describe('metrics: a real Prometheus scrapes npt66', { skip }, () => {
  const g = gatewaySuite('nt-pm-', 'prom', { startTranslator: false });
  const dir = mkdtempSync(join(tmpdir(), 'npt66-prometheus-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  // GET http://[::1]:port/path inside the gateway namespace (its loopback is not the test's).
  async function httpGet(port: number, path: string): Promise<string> {
    const script = `fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { console.error(String(e)); process.exit(2); })`;
    const r = await g.lab.ns('gw').exec([process.execPath, '-e', script, `http://[::1]:${port}${path}`]);
    return r.stdout;
  }

  // One instant query through Prometheus' HTTP API: labels and value of each series.
  async function query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]> {
    const body = JSON.parse(await httpGet(PROMETHEUS_PORT, `/api/v1/query?query=${encodeURIComponent(promql)}`)) as {
      status: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    assert.equal(body.status, 'success');
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  test('Prometheus stores what npt66 stats --json says; promtool finds the exposition clean', async () => {
    const daemon = g.translator as Npt66Daemon;
    daemon.config = { ...daemon.config, metrics: { listen: `[::1]:${METRICS_PORT}` } } as typeof daemon.config;
    await daemon.start();
    const ready = daemon.running().lines.find((l) => l.includes('"msg":"ready"'))!;
    assert.equal(JSON.parse(ready).metrics, `http://[::1]:${METRICS_PORT}/metrics`);

    // Traffic through the mapping both ways, then quiet: the figures stop changing.
    const pings = await ping(g.lab, 'in1', ADDR.out, { count: 5 });
    assert.equal(pings.received, 5);

    // promtool on one scrape: the text format and Prometheus' naming rules.
    const scrape = await httpGet(METRICS_PORT, '/metrics');
    const promtool = await g.lab.ns('gw').exec(['sh', '-c', 'promtool check metrics 2>&1; echo "exit $?"'], { input: scrape });
    assert.equal(promtool.stdout.trim(), 'exit 0', promtool.stdout);

    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        'scrape_configs:',
        '  - job_name: npt66',
        `    static_configs: [{targets: ["[::1]:${METRICS_PORT}"]}]`,
        '',
      ].join('\n'),
    );
    const before = (await daemon.stats()) as unknown as Stats;
    const prometheus = new LineProcess(
      g.lab.topology.spawn('gw', [
        'prometheus',
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=[::1]:${PROMETHEUS_PORT}`,
        '--log.level=warn',
      ]),
      'prometheus',
    );
    try {
      // Until the first scrape is stored (a fresh Prometheus has no samples).
      await waitFor(
        'a stored scrape of npt66',
        async () => {
          if (prometheus.exit) throw new Error(`prometheus exited: ${JSON.stringify(prometheus.exit)}\n${prometheus.stderr}`);
          try {
            return (await query('up{job="npt66"} == 1')).length === 1 && (await query('npt66_build_info')).length === 1;
          } catch {
            return false; // not listening yet
          }
        },
        20_000,
      );
      const series = {
        outbound: await query('npt66_nptv6_packets_total{direction="outbound"}'),
        inbound: await query('npt66_nptv6_packets_total{direction="inbound"}'),
        outboundBytes: await query('npt66_nptv6_bytes_total{direction="outbound"}'),
        inboundBytes: await query('npt66_nptv6_bytes_total{direction="inbound"}'),
        received: await query('npt66_queue_received_total'),
        perQueue: await query('npt66_queue_packets_total'),
        drops: await query('sum(npt66_drops_total)'),
        prefix: await query('npt66_nptv6_prefix_info'),
        state: await query('npt66_state'),
        build: await query('npt66_build_info'),
      };
      const after = (await daemon.stats()) as unknown as Stats;
      // A figure read between two snapshots lies between them (they are equal unless a stray packet came by).
      const between = (what: string, got: number | undefined, f: (s: Stats) => number) => {
        assert.ok(got !== undefined && got >= f(before) && got <= f(after), `${what}: Prometheus has ${got}, npt66 stats said ${f(before)} then ${f(after)}`);
      };
      assert.equal(series.outbound.length, 1);
      assert.equal(series.outbound[0]!.metric.mapping, '0');
      assert.equal(series.outbound[0]!.metric.inside, daemon.config.nptv6[0]!.inside);
      between('outbound packets', series.outbound[0]?.value, (s) => s.mappings[0]!.outbound);
      between('inbound packets', series.inbound[0]?.value, (s) => s.mappings[0]!.inbound);
      assert.ok(before.mappings[0]!.outbound >= 5 && before.mappings[0]!.inbound >= 5, JSON.stringify(before.mappings));
      between('outbound bytes', series.outboundBytes[0]?.value, (s) => s.mappings[0]!.outboundBytes);
      between('inbound bytes', series.inboundBytes[0]?.value, (s) => s.mappings[0]!.inboundBytes);
      // An echo request or reply of ping's default 56 data bytes is 104 bytes of IPv6 packet.
      assert.ok(before.mappings[0]!.outboundBytes >= 5 * 104 && before.mappings[0]!.inboundBytes >= 5 * 104, JSON.stringify(before.mappings));
      between('queue_received', series.received[0]?.value, (s) => s.total.queue_received ?? 0);
      between('queue 0 packets', series.perQueue.find((r) => r.metric.queue === '0')?.value, (s) => s.queues[0]!.counters.queue_received ?? 0);
      between('drops', series.drops[0]?.value, (s) => Object.entries(s.total).filter(([k]) => k.startsWith('drop_')).reduce((a, [, v]) => a + v, 0));
      assert.deepEqual(
        series.prefix.map((r) => [r.metric.inside, r.metric.outside, r.metric.interface, r.value]),
        daemon.config.nptv6.map((m) => [m.inside, m.outside, m.interface, 1]),
      );
      assert.deepEqual(series.state.map((r) => [r.metric.state, r.value]), [[after.state, 1]]);
      assert.equal(series.build[0]!.metric.version, (require('../../../package.json') as { version: string }).version);
    } finally {
      prometheus.child.kill('SIGTERM');
      await prometheus.waitExit(15_000);
    }
    await daemon.stop();
  });
});
