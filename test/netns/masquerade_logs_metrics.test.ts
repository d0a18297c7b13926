// Issue 11 parts 4 and 7 on a live masquerade (the Docker-host lab): with "logs": {"mappings": FILE} a ping from
// a container puts one NEW line in FILE and, once the echo mapping expires, one DESTROY line, with the inside and
// outside endpoints and never the remote (RFC 6888 REQ-12), and no mapping line on stdout; meanwhile the metrics
// endpoint shows the live mapping, the table's packets and bytes as `npt66 stats --json` does.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { waitFor } from '../../src/netns';
import { jsonMsg } from './lib/npt66_daemon';
import { ping } from './lib/traffic';
import { ADDR, MasqLab } from './masq/masq_lab';
import { Npt66Masquerade, translatorKindUnderTest } from './masq/translator';

const METRICS_PORT = 19467;

describe('masquerade: the mapping log file and the metrics of a live table', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only' }, () => {
  let lab: MasqLab;
  let daemon: Npt66Masquerade;
  before(async () => {
    lab = await MasqLab.create('nx-lm-');
    daemon = new Npt66Masquerade(lab, 'logs');
  });
  after(async () => {
    await daemon?.dispose();
    lab?.destroy();
  });

  const fileLines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []);

  async function scrape(): Promise<string> {
    const script = `fetch(process.argv[1]).then(async (r) => process.stdout.write(await r.text()))`;
    return (await lab.ns('host').exec([process.execPath, '-e', script, `http://127.0.0.1:${METRICS_PORT}/metrics`])).stdout;
  }
  const sample = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  test('NEW and DESTROY in the file with inside and outside, no remote; the table in /metrics as in stats', async () => {
    const file = join(daemon.dir, 'mappings.log');
    const config = daemon.config({ timeouts: { icmp: 2 } });
    await daemon.launch({ ...config, logs: { mappings: file }, metrics: { listen: `127.0.0.1:${METRICS_PORT}` } });

    const r = await ping(lab, 'c1', ADDR.out, { count: 1 });
    assert.equal(r.received, 1);
    await waitFor('the NEW line', () => fileLines(file).length >= 1, 10_000);

    // While the mapping lives: the exposition and stats agree on the table.
    const text = await scrape();
    const stats = (await daemon.stats()) as { masquerade: { live: number; outbound: number; inbound: number; outboundBytes: number; inboundBytes: number }[] };
    const table = `masquerade="0",address="${ADDR.host}",interface="eth0"`;
    assert.equal(sample(text, `npt66_masquerade_mappings{${table},state="icmp"}`), 1);
    assert.equal(stats.masquerade[0]!.live, 1);
    assert.equal(sample(text, `npt66_masquerade_packets_total{${table},direction="outbound"}`), stats.masquerade[0]!.outbound);
    assert.equal(sample(text, `npt66_masquerade_packets_total{${table},direction="inbound"}`), stats.masquerade[0]!.inbound);
    assert.equal(sample(text, `npt66_masquerade_bytes_total{${table},direction="outbound"}`), stats.masquerade[0]!.outboundBytes);
    assert.equal(stats.masquerade[0]!.outboundBytes, 104); // one echo request, 56 data bytes: 104 bytes of IPv6
    assert.equal(sample(text, `npt66_masquerade_mappings_limit{${table}}`), config.masquerade[0]!.maxMappings);

    await waitFor('the DESTROY line (echo timeout 2 s)', () => fileLines(file).length >= 2, 20_000);
    const [created, destroyed] = fileLines(file);
    assert.equal(created!.event, 'NEW');
    assert.equal(destroyed!.event, 'DESTROY');
    for (const l of [created!, destroyed!]) {
      assert.equal(l.protocol, 'icmpv6');
      assert.match(String(l.inside), new RegExp(`^\\[${ADDR.c1}\\]:\\d+$`));
      assert.match(String(l.outside), new RegExp(`^\\[${ADDR.host}\\]:\\d+$`));
      assert.ok(!Number.isNaN(Date.parse(String(l.time))));
    }
    assert.deepEqual(destroyed!.packets, { out: 1, in: 1 });
    assert.doesNotMatch(readFileSync(file, 'utf8'), new RegExp(`${ADDR.out}|remote`));
    // Not on stdout too.
    assert.deepEqual(daemon.running().lines.filter((l) => jsonMsg(l) === 'mapping'), []);
    await daemon.terminate();
  });
});
