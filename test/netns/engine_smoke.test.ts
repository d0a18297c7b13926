// The native queue engine against the real kernel: inside host (ne-a) -- router running the Engine (ne-r) --
// outside host (ne-b), NFQUEUE rules in the router's mangle POSTROUTING (outbound) and raw PREROUTING (inbound).
// Root only. Every namespace, rule and process is removed in `after`, also on failure (and on exit/signals).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { validateNptv6 } from '../../src/config';
import { native } from '../../src/native';
import { formatAddress, parseAddress } from '../../src/prefix';
import { Topology, waitFor } from '../../src/netns';
import { assertEveryPacketHasAVerdict, echoRequestSources, EngineProcess, ping as pingIn, type EngineProcessOptions } from './lib/engine_process';

const PREFIX = 'ne-';
const INSIDE = 'fd01:203:405::/48';
const OUTSIDE_1 = '2001:db8:1::/48';
const OUTSIDE_2 = '2001:db8:2::/48';
const HOST_A = 'fd01:203:405:1::2';
const HOST_A_REFUSED = 'fd01:203:405:ffff::2'; // /48 subnet 0xFFFF collides with subnet 0: refused (RFC 6296 s4.2)
const HOST_A_OUTSIDE_1 = '2001:db8:1:d550::2'; // RFC 6296 s3.6's worked example, same prefixes
const HOST_B = '2001:db8:ff00::2';
const isRoot = process.getuid?.() === 0;
let topo: Topology;

// The engine lives in its own process inside the router namespace.
const startEngine = (options: EngineProcessOptions) => EngineProcess.create(topo, 'r', options);
const ping = (ns: string, args: string[]) => pingIn(topo, ns, args);
// Captures the sources of `count` ICMPv6 echo requests on ne-b's link while `traffic` runs.
const echoRequestSourcesSeenByB = (count: number, traffic: () => Promise<unknown>) => echoRequestSources(topo, 'b', count, traffic);

function outsideAddress(inside: string, outside: string, host: string): string {
  const tr = new native.Translator(validateNptv6([{ inside, outside }]));
  const r = tr.mapAddress(parseAddress(host, 'host'), 'outbound');
  assert.ok(r.output, `${host} does not translate under ${inside} -> ${outside}`);
  return formatAddress(r.output);
}

const rulesOut = ['-t', 'mangle', 'POSTROUTING', '-o', 'eth1', '-s', INSIDE, '-j', 'NFQUEUE', '--queue-num', '0'];
const rulesIn1 = ['-t', 'raw', 'PREROUTING', '-i', 'eth1', '-d', OUTSIDE_1, '-j', 'NFQUEUE', '--queue-num', '0'];
const rulesIn2 = ['-t', 'raw', 'PREROUTING', '-i', 'eth1', '-d', OUTSIDE_2, '-j', 'NFQUEUE', '--queue-num', '0'];
const withOp = (op: string, rule: string[]): string[] => [rule[0]!, rule[1]!, op, ...rule.slice(2)];

async function addRules(): Promise<void> {
  for (const r of [rulesOut, rulesIn1, rulesIn2]) await topo.ns('r').ip6tables(withOp('-A', r));
}
async function removeRules(): Promise<void> {
  for (const r of [rulesOut, rulesIn1, rulesIn2]) await topo.ns('r').ip6tables(withOp('-D', r));
}

before(async () => {
  if (!isRoot) return;
  Topology.removeStale(PREFIX);
  topo = new Topology(PREFIX);
  await topo.addNamespace('a');
  await topo.addNamespace('r', { forwarding: true });
  await topo.addNamespace('b');
  await topo.link('a', 'eth0', 'r', 'eth0');
  await topo.link('r', 'eth1', 'b', 'eth0');
  await topo.addAddress('a', 'eth0', `${HOST_A}/64`);
  await topo.addAddress('a', 'eth0', `${HOST_A_REFUSED}/64`);
  await topo.addAddress('r', 'eth0', 'fd01:203:405:1::1/64');
  await topo.addAddress('r', 'eth0', 'fd01:203:405:ffff::1/64');
  await topo.addAddress('r', 'eth1', '2001:db8:ff00::1/64');
  await topo.addAddress('b', 'eth0', `${HOST_B}/64`);
  await topo.addRoute('a', 'default', 'fd01:203:405:1::1');
  await topo.addRoute('b', '2001:db8::/32', '2001:db8:ff00::1');
});

after(async () => {
  if (topo) await topo.destroy();
});

test('translates ping6 both ways, counts it, and reports the kernel queue figures', { skip: !isRoot }, async () => {
  await addRules();
  const engine = await startEngine({ mappings: [{ inside: INSIDE, outside: OUTSIDE_1 }] });
  try {
    await engine.call('start');
    const sources = await echoRequestSourcesSeenByB(4, async () => {
      const out = await ping('a', ['-c', '4', '-i', '0.2', '-I', HOST_A, HOST_B]);
      assert.equal(out.received, 4, out.output);
    });
    assert.deepEqual(sources, Array(4).fill(HOST_A_OUTSIDE_1));
    const inbound = await ping('b', ['-c', '3', '-i', '0.2', HOST_A_OUTSIDE_1]);
    assert.equal(inbound.received, 3, inbound.output);

    const s = await engine.stats();
    // a->b: 4 requests out, 4 replies in; b->a: 3 requests in, 3 replies out.
    assert.equal(s.total.nptv6_outbound, 7);
    assert.equal(s.total.nptv6_inbound, 7);
    assert.equal(s.total.queue_received, 14);
    assert.equal(s.total.queue_verdict_accept_mangled, 14);
    assert.equal(s.total.queue_verdict_drop, 0);
    assertEveryPacketHasAVerdict(s);
    // 7 echo requests and 7 replies of 104 bytes each (40 + 8 + 56 of ping's default payload).
    assert.deepEqual(s.mappings, [{ index: 0, outbound: 7, inbound: 7, dropped: 0, outboundBytes: 7 * 104, inboundBytes: 7 * 104 }]);
    assert.equal(s.queues.length, 1);
    const k = s.queues[0]!.kernel;
    assert.ok(k, 'the kernel lists the bound queue');
    assert.equal(k.copyMode, 2); // NFQNL_COPY_PACKET
    assert.equal(k.copyRange, 65531); // 0xFFFF capped by the kernel (NFQNL_MAX_COPY_RANGE)
    assert.equal(k.queueTotal, 0);
    assert.equal(k.idSequence, 14);
    assert.ok(engine.events.some((e) => e.type === 'state' && /running/.test(e.message)));
  } finally {
    await engine.close();
    await removeRules();
  }
});

test('fail-closed: a refused packet is dropped, counted and answered with Parameter Problem', { skip: !isRoot }, async () => {
  await addRules();
  const engine = await startEngine({ mappings: [{ inside: INSIDE, outside: OUTSIDE_1 }] });
  try {
    await engine.call('start');
    const sources = await echoRequestSourcesSeenByB(1, async () => {
      const refused = await ping('a', ['-c', '3', '-i', '0.2', '-I', HOST_A_REFUSED, HOST_B]);
      assert.equal(refused.received, 0, refused.output);
      assert.match(refused.output, /Parameter problem/i);
      // Something must cross for the capture to end: a translatable ping, which also proves the thread lives on.
      const ok = await ping('a', ['-c', '1', '-I', HOST_A, HOST_B]);
      assert.equal(ok.received, 1, ok.output);
    });
    assert.deepEqual(sources, [HOST_A_OUTSIDE_1], 'no untranslated inside source reached the outside');
    const s = await engine.stats();
    assert.equal(s.total.drop_subnet_ffff, 3);
    assert.equal(s.total.queue_verdict_drop, 3);
    assert.equal(s.total.icmp_sent, 3);
    assert.equal(s.total.queue_fail_open_accept, 0);
    assert.equal(s.mappings[0]!.dropped, 3);
    assertEveryPacketHasAVerdict(s);
  } finally {
    await engine.close();
    await removeRules();
  }
});

test('failOpen: a refused packet is accepted untranslated, counted, and a warning is emitted', { skip: !isRoot }, async () => {
  await addRules();
  const engine = await startEngine({ mappings: [{ inside: INSIDE, outside: OUTSIDE_1 }], failOpen: true });
  try {
    await engine.call('start');
    const sources = await echoRequestSourcesSeenByB(2, async () => {
      await ping('a', ['-c', '2', '-i', '0.2', '-W', '1', '-I', HOST_A_REFUSED, HOST_B]); // b has no route back
    });
    assert.deepEqual(sources, [HOST_A_REFUSED, HOST_A_REFUSED]);
    const s = await engine.stats();
    assert.equal(s.total.queue_fail_open_accept, 2);
    assert.equal(s.total.icmp_sent, 0);
    await waitFor('the failOpen warning', () => engine.events.some((e) => e.type === 'warning' && /failOpen/.test(e.message)));
  } finally {
    await engine.close();
    await removeRules();
  }
});

test('setMappings swaps the table atomically; a bad table is refused and the old one stays', { skip: !isRoot }, async () => {
  await addRules();
  const m1 = { inside: INSIDE, outside: OUTSIDE_1 };
  const m2 = { inside: 'fd01:203:406::/48', outside: OUTSIDE_2 };
  const engine = await startEngine({ mappings: [m1] });
  try {
    await engine.call('start');
    // Native validation: inside == outside cannot compile; the error names ERR_NPT66_CONFIG.
    const p = parseAddress('fd01:203:405::', 'p').toString('hex');
    await assert.rejects(engine.call('setRawMappings', { raw: [{ inside: p, insideLength: 48, outside: p, outsideLength: 48 }] }), {
      code: 'ERR_NPT66_CONFIG',
    });
    assert.deepEqual(await echoRequestSourcesSeenByB(1, () => ping('a', ['-c', '1', '-I', HOST_A, HOST_B])), [HOST_A_OUTSIDE_1]);

    // Swaps under traffic between tables that both hold m1: not one echo may be lost.
    const flow = ping('a', ['-c', '300', '-i', '0.01', '-I', HOST_A, HOST_B]);
    for (let i = 0; i < 30; i++) {
      await engine.call('setMappings', { mappings: i % 2 === 0 ? [m2, m1] : [m1] });
      await new Promise((r) => setTimeout(r, 50));
    }
    const result = await flow;
    assert.equal(result.received, 300, result.output);

    // A new outside prefix takes effect.
    await engine.call('setMappings', { mappings: [{ inside: INSIDE, outside: OUTSIDE_2 }] });
    const expected = outsideAddress(INSIDE, OUTSIDE_2, HOST_A);
    const sources = await echoRequestSourcesSeenByB(2, async () => {
      const out = await ping('a', ['-c', '2', '-i', '0.2', '-I', HOST_A, HOST_B]);
      assert.equal(out.received, 2, out.output);
    });
    assert.deepEqual(sources, [expected, expected]);
    const s = await engine.stats();
    assert.equal(s.mappings.length, 1);
    assertEveryPacketHasAVerdict(s);
    assert.equal(s.total.queue_verdict_drop, 0);
  } finally {
    await engine.close();
    await removeRules();
  }
});

test('stop during traffic: rules removed, queue drained, every packet has its verdict before unbind', { skip: !isRoot }, async () => {
  await addRules();
  const engine = await startEngine({ mappings: [{ inside: INSIDE, outside: OUTSIDE_1 }] });
  let rulesRemoved = false;
  const flood = topo.spawn('a', ['ping', '-n', '-q', '-f', '-l', '16', '-w', '30', '-I', HOST_A, HOST_B]);
  try {
    await engine.call('start');
    await waitFor('traffic through the queue', async () => (await engine.stats()).total.queue_received! > 2000, 20_000);
    await removeRules();
    rulesRemoved = true;
    await engine.call('stop', { drainMs: 200 });
    const s = await engine.stats();
    assert.equal(s.total.queue_unbind_pending, 0, 'nothing was left in the kernel queue at unbind');
    assertEveryPacketHasAVerdict(s);
    assert.equal(s.total.queue_verdict_drop, 0);
    assert.equal(s.queues[0]!.kernel, null, 'the queue is unbound');
    assert.ok(engine.events.some((e) => e.type === 'state' && /0 packets left in the kernel queue/.test(e.message)));
  } finally {
    flood.kill('SIGKILL');
    await engine.close();
    if (!rulesRemoved) await removeRules();
  }
});

test('a flood into a tiny socket buffer: the kernel drops, the engine counts and keeps translating', { skip: !isRoot }, async () => {
  await addRules();
  const engine = await startEngine({ mappings: [{ inside: INSIDE, outside: OUTSIDE_1 }], socketBufferBytes: 64 << 10, queueMaxLen: 64 });
  try {
    await engine.call('start');
    // Bursts of 1000 large echoes at once overrun a 64 KiB socket buffer and a 64-packet queue.
    await ping('a', ['-q', '-f', '-l', '1000', '-c', '20000', '-s', '1400', '-w', '20', '-I', HOST_A, HOST_B]);
    const during = await engine.stats();
    const k = during.queues[0]!.kernel!;
    assert.ok(k.userDropped + k.queueDropped > 0, `the flood overran the queue: ${JSON.stringify(k)}`);
    const after = await ping('a', ['-c', '3', '-i', '0.2', '-I', HOST_A, HOST_B]);
    assert.equal(after.received, 3, after.output);
    const s = await engine.stats();
    assert.ok(s.total.nptv6_outbound! >= during.total.nptv6_outbound! + 3);
    assertEveryPacketHasAVerdict(s);
    assert.ok(!engine.events.some((e) => e.type === 'error'), JSON.stringify(engine.events));
  } finally {
    await engine.close();
    await removeRules();
  }
});

test('a queue range (--queue-balance): one thread per queue, each bound and counted', { skip: !isRoot }, async () => {
  const balanced = (rule: string[]): string[] => [...rule.slice(0, -2), '--queue-balance', '2:3'];
  const rules = [balanced(rulesOut), balanced(rulesIn1)];
  for (const r of rules) await topo.ns('r').ip6tables(withOp('-A', r));
  const engine = await startEngine({ queueFirst: 2, queueCount: 2, mappings: [{ inside: INSIDE, outside: OUTSIDE_1 }] });
  try {
    await engine.call('start');
    const out = await ping('a', ['-c', '5', '-i', '0.2', '-I', HOST_A, HOST_B]);
    assert.equal(out.received, 5, out.output);
    const s = await engine.stats();
    assert.deepEqual(s.queues.map((q) => q.queue), [2, 3]);
    for (const q of s.queues) assert.equal(q.kernel?.copyMode, 2, `queue ${q.queue} is bound in COPY_PACKET mode`);
    // The hash is symmetric over addresses: the flow's 10 packets all went to one of the two queues.
    assert.deepEqual(s.queues.map((q) => q.counters.queue_received).sort(), [0, 10]);
    assert.equal(s.total.queue_verdict_accept_mangled, 10);
  } finally {
    await engine.close();
    for (const r of rules) await topo.ns('r').ip6tables(withOp('-D', r));
  }
});

test('start fails with ERR_NPT66_QUEUE when the queue is taken, and binds nothing', { skip: !isRoot }, async () => {
  const first = await startEngine({ queueFirst: 7, queueCount: 1, mappings: [{ inside: INSIDE, outside: OUTSIDE_1 }] });
  const second = await startEngine({ queueFirst: 5, queueCount: 3, mappings: [{ inside: INSIDE, outside: OUTSIDE_1 }] });
  try {
    await first.call('start');
    // 5 and 6 bind, 7 is busy: start must fail and unbind 5 and 6 again.
    await assert.rejects(second.call('start'), (e: { code: string; errno: number; syscall: string }) => {
      assert.equal(e.code, 'ERR_NPT66_QUEUE');
      // The kernel answers EPERM, not EBUSY, when the queue belongs to another socket (nfqnl_recv_config).
      assert.equal(e.errno, -1);
      assert.equal(e.syscall, 'NFQNL_CFG_CMD_BIND');
      return true;
    });
    const s = await first.stats();
    assert.equal(s.queues[0]!.kernel!.queueTotal, 0);
    const proc = await topo.ns('r').exec(['cat', '/proc/net/netfilter/nfnetlink_queue']);
    const bound = proc.stdout.split('\n').filter(Boolean).map((l) => Number(l.trim().split(/\s+/)[0]));
    assert.deepEqual(bound, [7]);
  } finally {
    await second.close();
    await first.close();
  }
});
