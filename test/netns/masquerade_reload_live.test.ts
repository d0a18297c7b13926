// Issue 10 part 3: a reload (SIGHUP) changes a masquerade entry's port range and a timeout while npt66 runs, and
// keeps every live mapping. Under a TCP transfer from in1 through a mapping of the old range (20000-29999):
//   - the reload moves the range to 30000-30999 and the established TCP timeout to 3 h;
//   - the transfer goes on through its old port, outside the new range (its replies still queued: the rules keep
//     the old range's ports while a mapping holds one) and arrives intact (sha256 at both ends);
//   - a new flow takes a port of the new range;
//   - stats show the kept ports; once the transfer is closed and its mapping expired (the reload also set the
//     transitory TCP timeout to 1 s), the next reload lets the old range go from the rules.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../../src/netns';
import { ADDR, GW_OUTSIDE_IF, INSIDE_PREFIX } from './lib/gateway_lab';
import { gatewaySuite } from './lib/gateway_suite';
import { jsonLines, startNodeTool } from './lib/traffic';
import { npt66RulesIn } from './lib/npt66_daemon';
import { translatorKindUnderTest, type Npt66Daemon } from './lib/translator';
import { FLOW_TOOL_PATH } from './masq/traffic';

const ECHO_PORT = 5031;
const BYTES = 4 << 20;

describe('masquerade: a reload changes the port range and a timeout under live traffic', { skip: translatorKindUnderTest() !== 'npt66' && 'npt66 only' }, () => {
  const g = gatewaySuite('nt-mr-', 'masq-reload-live', { startTranslator: false });
  const daemon = () => g.translator as Npt66Daemon;
  const config = (ports: string, timeouts?: { tcpEstablished: number; tcpTransitory: number }) => ({
    masquerade: [{ source: INSIDE_PREFIX, interface: GW_OUTSIDE_IF, ports, ...(timeouts ? { timeouts } : {}) }],
    queues: { first: 0, count: 1 },
    control: { socket: daemon().socket },
  });
  const inRange = (port: number, min: number, max: number) => port >= min && port <= max;

  test('the transfer through the old range keeps going (sha256 equal), a new flow takes the new range', async () => {
    await daemon().launch(config('20000-29999'));
    const echo = startNodeTool(g.lab, 'out', FLOW_TOOL_PATH, ['tcp-echo', ECHO_PORT]);
    const flows = [echo];
    try {
      await echo.waitForLine('echo server listening', (l) => l.includes('"listening"'), 10_000);
      const transfer = startNodeTool(g.lab, 'in1', FLOW_TOOL_PATH, ['tcp-paced', ADDR.out, ECHO_PORT, BYTES]);
      flows.push(transfer);
      await transfer.waitForLine('the first half echoed', (l) => l.includes('"half"'), 30_000);
      const oldPort = jsonLines<{ port: number }>(echo, 'connection')[0]!.port;
      assert.ok(inRange(oldPort, 20000, 29999), `the transfer's outside port ${oldPort} is in the first range`);

      // The reload: new range, new established timeout.
      const next = config('30000-30999', { tcpEstablished: 10_800, tcpTransitory: 1 });
      const reload = await daemon().reload(next as never);
      assert.ok(reload.ok, reload.line);
      const stats = (await daemon().stats()) as { masquerade: { ports: string; keptPorts?: string[] }[] };
      assert.equal(stats.masquerade[0]!.ports, '30000-30999');
      assert.deepEqual(stats.masquerade[0]!.keptPorts, ['20000-29999'], 'the old range is kept while the transfer holds a port of it');
      const listed = (await daemon().cli(['mappings'])) as { protocol: string; outside: string }[];
      assert.ok(listed.some((m) => m.protocol === 'tcp' && m.outside === `[${ADDR.gwOutside}]:${oldPort}`), JSON.stringify(listed));
      const rules = await npt66RulesIn(g.lab.ns('gw'));
      assert.ok(rules.some((l) => l.includes('-p tcp') && l.includes('--dport 30000:30999')), rules.join('\n'));
      assert.ok(rules.some((l) => l.includes('-p tcp') && l.includes('--dport 20000:29999')), rules.join('\n'));

      // A new flow takes a port of the new range.
      const once = startNodeTool(g.lab, 'in1', FLOW_TOOL_PATH, ['tcp-once', ADDR.out, ECHO_PORT, 1000, 'fin']);
      flows.push(once);
      await once.waitForLine('the new flow done', (l) => l.includes('"done"'), 30_000);
      const newPort = jsonLines<{ port: number }>(echo, 'connection')[1]!.port;
      assert.ok(inRange(newPort, 30000, 30999), `the new flow's outside port ${newPort} is in the new range`);

      // The old flow goes on through its old port.
      transfer.child.kill('SIGUSR1');
      await transfer.waitForLine('the transfer done', (l) => l.includes('"done"'), 60_000);
      const done = jsonLines<{ bytes: number; sent: string; received: string }>(transfer, 'done')[0]!;
      assert.equal(done.bytes, BYTES);
      assert.equal(done.received, done.sent, 'sha256 of what came back equals what was sent');
      assert.deepEqual(jsonLines<{ port: number }>(echo, 'connection').map((c) => c.port).slice(0, 2), [oldPort, newPort]);

      // Closed (FIN both ways): transitory, 1 s. Once its mapping is gone, a reload lets the old range go.
      await waitFor('the transfer\'s mapping gone', async () => {
        const mappings = (await daemon().cli(['mappings'])) as { outside: string }[];
        return !mappings.some((m) => m.outside === `[${ADDR.gwOutside}]:${oldPort}`);
      }, 30_000);
      assert.ok((await daemon().reload(next as never)).ok);
      const after = (await daemon().stats()) as { masquerade: { keptPorts?: string[] }[] };
      assert.equal(after.masquerade[0]!.keptPorts, undefined, 'no kept ports once no mapping holds one');
      const rulesAfter = await npt66RulesIn(g.lab.ns('gw'));
      assert.ok(!rulesAfter.some((l) => l.includes('--dport 20000:29999')), rulesAfter.join('\n'));
      assert.ok(rulesAfter.some((l) => l.includes('-p tcp') && l.includes('--dport 30000:30999')), rulesAfter.join('\n'));
    } finally {
      for (const f of flows) {
        f.child.kill('SIGTERM');
        await f.waitExit(5000).catch(() => undefined);
      }
      await daemon().terminate();
    }
  });
});
