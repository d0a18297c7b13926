// The native queue Engine with NAT66 masquerade against the real kernel, on the seed's Docker host:
// inside hosts ni-c (fd5a:ceb9:ed8d:1::2) and ni-c2 (::3) on a bridge in ni-h, the "Docker host", which runs the
// Engine and masquerades to its own outside address; ni-o, an outside host standing for dns.google, knows no route
// to the inside prefix, so only masqueraded traffic can get an answer. The host keeps a stateful firewall
// (FORWARD policy DROP, ESTABLISHED,RELATED accepted), so kernel conntrack must see consistent flows.
// Root only. Every namespace, rule and process is removed in `after` (namespaces take their rules with them),
// also on failure (and on exit/signals, through Topology's exit hook).
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import { after, before, test } from 'node:test';

import { native, type NativeMasquerade } from '../../src/native';
import { Topology, waitFor } from '../../src/netns';
import { parseAddress, parsePrefix } from '../../src/prefix';
import type { DriverMasquerade } from './lib/engine_driver';
import { assertEveryPacketHasAVerdict, echoRequestSources, ENGINE_DEFAULTS, EngineProcess, ping as pingIn, type EngineProcessOptions } from './lib/engine_process';

const PREFIX = 'ni-';
const INSIDE = 'fd5a:ceb9:ed8d:1::/64';
const CONTAINER = 'fd5a:ceb9:ed8d:1::2';
const CONTAINER2 = 'fd5a:ceb9:ed8d:1::3';
const HOST_ADDR = 'fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5';
const OUTSIDE_LINK = 'fd5a:ceb9:ed8d:fe0a::8'; // the outside host's address on the host's outside link
const DNS = '2001:4860:4860::8888'; // on the outside host's loopback
const PORTS = '20000:29999';
const HAIRPIN_MARK = '0x66/0x66';

const isRoot = process.getuid?.() === 0;
let topo: Topology;

const MASQUERADE: DriverMasquerade = {
  sources: [INSIDE],
  addresses: [HOST_ADDR],
  portMin: 20000,
  portMax: 29999,
  filtering: 'address-dependent',
  timeouts: { udpMs: 300_000, tcpEstablishedMs: 7_440_000, tcpTransitoryMs: 240_000, icmpMs: 60_000 },
  maxMappings: 10_000,
  maxPerHost64: 10_000,
  inboundRefresh: true,
};

// The engine lives in its own process inside the Docker host namespace.
const startEngine = (options: EngineProcessOptions) => EngineProcess.create(topo, 'h', options);

// --- rules in the Docker host (REFERENCE s3): outbound in mangle POSTROUTING, inbound in raw PREROUTING ---

function rules(queue: string[]): string[][] {
  const q = ['-j', 'NFQUEUE', ...queue];
  const inbound = ['-t', 'raw', 'PREROUTING', '-i', 'eth1', '-d', HOST_ADDR];
  const hairpin = ['-t', 'raw', 'PREROUTING', '-i', 'br0', '-s', INSIDE, '-d', HOST_ADDR];
  return [
    ['-t', 'mangle', 'POSTROUTING', '-o', 'eth1', '-s', INSIDE, ...q],
    [...inbound, '-p', 'udp', '--dport', PORTS, ...q],
    [...inbound, '-p', 'tcp', '--dport', PORTS, ...q],
    [...inbound, '-p', 'icmpv6', '--icmpv6-type', 'echo-reply', ...q],
    ...['destination-unreachable', 'packet-too-big', 'time-exceeded', 'parameter-problem'].map((t) => [...inbound, '-p', 'icmpv6', '--icmpv6-type', t, ...q]),
    // Hairpinning (RFC 4787 REQ-9): inside -> our own outside address+port, marked, queued inbound; the marked
    // packet is queued again on its way out (the engine finds nothing left to do then).
    ...['udp', 'tcp'].flatMap((p) => [
      [...hairpin, '-p', p, '--dport', PORTS, '-j', 'MARK', '--set-xmark', HAIRPIN_MARK],
      [...hairpin, '-p', p, '--dport', PORTS, ...q],
    ]),
    ['-t', 'mangle', 'POSTROUTING', '-m', 'mark', '--mark', HAIRPIN_MARK, ...q],
  ];
}
const withOp = (op: string, rule: string[]): string[] => [rule[0]!, rule[1]!, op, ...rule.slice(2)];

async function withRules<T>(queue: string[], body: () => Promise<T>): Promise<T> {
  const list = rules(queue);
  const added: string[][] = [];
  try {
    for (const r of list) {
      await topo.ns('h').ip6tables(withOp('-A', r));
      added.push(r);
    }
    return await body();
  } finally {
    for (const r of added.reverse()) await topo.ns('h').ip6tables(withOp('-D', r));
  }
}

// --- traffic: small node programs run inside the namespaces ---

// Bound to the service address: an unbound socket would answer from the address source selection picks for the
// host's link (fd5a:ceb9:ed8d:fe0a::8), which address-dependent filtering rightly refuses.
const UDP_ECHO = `
const s = require('dgram').createSocket('udp6');
s.on('message', (m, r) => { console.log(JSON.stringify({ from: r.address, port: r.port })); s.send(m, r.port, r.address); });
s.bind(Number(process.argv[1]), '${DNS}', () => console.log(JSON.stringify({ listening: true })));`;

// Flows "addr,port" each send `count` datagrams to dst:dport and count the echoes; prints {"addr,port": echoes}
// for all flows once every echo is back or after the deadline. Flows start 3 ms apart and send every 100 ms, so
// the echo server's socket buffer (a few hundred small datagrams) never overflows.
const UDP_FLOWS = `
const dgram = require('dgram');
const [dst, dport, count, deadline, ...flows] = process.argv.slice(1);
const got = {};
let done = 0;
const finish = () => { console.log(JSON.stringify(got)); process.exit(0); };
setTimeout(finish, Number(deadline));
flows.forEach((f, j) => {
  const [a, p] = f.split(',');
  const s = dgram.createSocket('udp6');
  got[f] = 0;
  s.on('message', () => { if (++got[f] === Number(count) && ++done === flows.length) finish(); });
  s.bind(Number(p), a, () => { for (let i = 0; i < Number(count); i++) setTimeout(() => s.send(Buffer.from('m' + i), Number(dport), dst), 3 * j + 100 * i); });
});`;

const TCP_ECHO = `
require('net').createServer((c) => { console.log(JSON.stringify({ from: c.remoteAddress, port: c.remotePort })); c.pipe(c); })
  .listen(Number(process.argv[1]), '::', () => console.log(JSON.stringify({ listening: true })));`;

// Sends `bytes` random bytes from localAddress:localPort, reads them back, compares SHA-256, prints the result.
const TCP_CLIENT = `
const crypto = require('crypto');
const [dst, port, localAddress, localPort, bytes] = process.argv.slice(1);
const data = crypto.randomBytes(Number(bytes));
const back = [];
let n = 0;
const c = require('net').connect({ host: dst, port: Number(port), localAddress, localPort: Number(localPort) }, () => c.write(data));
c.on('data', (d) => { back.push(d); n += d.length; if (n >= data.length) c.end(); });
c.on('close', () => {
  const same = crypto.createHash('sha256').update(data).digest('hex') === crypto.createHash('sha256').update(Buffer.concat(back)).digest('hex');
  console.log(JSON.stringify({ same, bytes: n }));
});
c.on('error', (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });`;

// Runs a node program in a namespace and returns its last stdout line, parsed.
async function runNode<T>(ns: string, program: string, args: (string | number)[], timeoutMs = 60_000): Promise<T> {
  const r = await topo.ns(ns).exec(['node', '-e', program, ...args.map(String)], { timeoutMs, allowFailure: true });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  assert.ok(last.startsWith('{'), `no result from ${ns}: ${r.stdout}${r.stderr}`);
  return JSON.parse(last) as T;
}

// A long-running node server; resolves once it printed {"listening":true}; `lines` collects the rest.
async function startServer(ns: string, program: string, port: number): Promise<{ child: ChildProcess; lines: { from: string; port: number }[] }> {
  const child = topo.spawn(ns, ['node', '-e', program, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: { from: string; port: number }[] = [];
  let listening = false;
  readline.createInterface({ input: child.stdout! }).on('line', (l) => {
    const m = JSON.parse(l) as { listening?: boolean; from?: string; port?: number };
    if (m.listening) listening = true;
    else lines.push(m as { from: string; port: number });
  });
  await waitFor(`${ns} server on port ${port}`, () => listening);
  return { child, lines };
}

const ping = (ns: string, args: string[]) => pingIn(topo, ns, args);
// Captures the sources of `count` ICMPv6 echo requests arriving at the outside host while `traffic` runs.
const echoRequestSourcesSeenOutside = (count: number, traffic: () => Promise<unknown>) => echoRequestSources(topo, 'o', count, traffic);

before(async () => {
  if (!isRoot) return;
  Topology.removeStale(PREFIX);
  topo = new Topology(PREFIX);
  await topo.addNamespace('c');
  await topo.addNamespace('c2');
  await topo.addNamespace('h', { forwarding: true });
  await topo.addNamespace('o');
  // Docker's bridge: the containers' veths enslaved to br0, which holds the gateway address ::1.
  const h = topo.ns('h');
  await h.exec(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
  await h.exec(['ip', 'link', 'set', 'br0', 'up']);
  await topo.link('c', 'eth0', 'h', 'vc');
  await topo.link('c2', 'eth0', 'h', 'vc2');
  for (const port of ['vc', 'vc2']) await h.exec(['ip', 'link', 'set', port, 'master', 'br0']);
  await topo.link('h', 'eth1', 'o', 'eth0');
  await topo.addAddress('h', 'br0', 'fd5a:ceb9:ed8d:1::1/64');
  await topo.addAddress('c', 'eth0', `${CONTAINER}/64`);
  await topo.addAddress('c2', 'eth0', `${CONTAINER2}/64`);
  // More inside addresses for the many-flows test: --queue-balance hashes addresses only.
  for (let i = 0x10; i < 0x20; i++) await topo.addAddress('c', 'eth0', `fd5a:ceb9:ed8d:1::${i.toString(16)}/64`);
  await topo.addAddress('h', 'eth1', `${HOST_ADDR}/64`);
  await topo.addAddress('o', 'eth0', `${OUTSIDE_LINK}/64`);
  await topo.addAddress('o', 'lo', `${DNS}/128`);
  await topo.addRoute('c', 'default', 'fd5a:ceb9:ed8d:1::1');
  await topo.addRoute('c2', 'default', 'fd5a:ceb9:ed8d:1::1');
  await topo.addRoute('h', '2001:4860:4860::/48', OUTSIDE_LINK);
  // A stateful firewall on the host: only what conntrack recognises as a reply comes back in.
  await h.ip6tables(['-P', 'FORWARD', 'DROP']);
  await h.ip6tables(['-A', 'FORWARD', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  await h.ip6tables(['-A', 'FORWARD', '-i', 'br0', '-j', 'ACCEPT']);
  // Wait for the bridge to forward (its ports go through listening/learning unless STP is off, which it is).
  await waitFor('the bridge', async () => (await ping('c', ['-c', '1', '-W', '1', 'fd5a:ceb9:ed8d:1::1'])).received === 1, 20_000);
});

after(async () => {
  if (topo) await topo.destroy();
});

test('masquerade: ping6, UDP and TCP from inside leave with the host address; mappings(), NEW events, conntrack', { skip: !isRoot }, async () => {
  await withRules(['--queue-num', '0'], async () => {
    const engine = await startEngine({ masquerade: [MASQUERADE] });
    const udp = await startServer('o', UDP_ECHO, 7777);
    const tcp = await startServer('o', TCP_ECHO, 8888);
    try {
      await engine.call('start');
      // ping6: the outside host sees the host's address (it has no route to the inside prefix at all).
      const sources = await echoRequestSourcesSeenOutside(3, async () => {
        const out = await ping('c', ['-c', '3', '-i', '0.2', '-I', CONTAINER, DNS]);
        assert.equal(out.received, 3, out.output);
      });
      assert.deepEqual(sources, [HOST_ADDR, HOST_ADDR, HOST_ADDR]);

      // UDP from a port inside the range: preserved (nf_nat_core's rule, REFERENCE s4).
      const u = await runNode<Record<string, number>>('c', UDP_FLOWS, [DNS, 7777, 3, 20_000, `${CONTAINER},21234`]);
      assert.deepEqual(u, { [`${CONTAINER},21234`]: 3 });
      assert.deepEqual(udp.lines, Array(3).fill({ from: HOST_ADDR, port: 21234 }));

      // TCP from a port outside the range: mapped into it; the bytes come back intact.
      const t = await runNode<{ same: boolean; bytes: number }>('c', TCP_CLIENT, [DNS, 8888, CONTAINER, 40000, 1 << 20]);
      assert.deepEqual(t, { same: true, bytes: 1 << 20 });
      assert.equal(tcp.lines.length, 1);
      assert.equal(tcp.lines[0]!.from, HOST_ADDR);
      const tcpPort = tcp.lines[0]!.port;
      assert.ok(tcpPort >= 20000 && tcpPort <= 29999, `outside port ${tcpPort} in the masquerade range`);

      const list = await engine.mappings();
      const find = (protocol: string) => list.filter((m) => m.protocol === protocol);
      assert.equal(list.length, 3, JSON.stringify(list));
      const [mu] = find('udp');
      assert.ok(mu);
      assert.deepEqual(
        { ...mu, created: 0, lastUsed: 0, expires: 0, remotes: mu.remotes?.map((r) => ({ ...r, expires: 0 })) },
        {
          masquerade: 0, protocol: 'udp', state: 'udp', inside: CONTAINER, insidePort: 21234, outside: HOST_ADDR, outsidePort: 21234,
          remote: DNS, remotePort: 7777, created: 0, lastUsed: 0, expires: 0, packetsOut: 3, packetsIn: 3, bytesOut: 3 * 50, bytesIn: 3 * 50,
          remoteCount: 1, remotes: [{ address: DNS, port: 7777, expires: 0 }],
        },
      );
      assert.ok(mu.created <= mu.lastUsed && mu.lastUsed < mu.expires, JSON.stringify(mu));
      assert.ok(Math.abs(mu.lastUsed - Date.now()) < 600_000, 'times are Unix epoch milliseconds');
      const [mt] = find('tcp');
      assert.ok(mt);
      assert.equal(mt.inside, CONTAINER);
      assert.equal(mt.insidePort, 40000);
      assert.equal(mt.outsidePort, tcpPort);
      assert.equal(mt.state, 'tcp_transitory', 'closed with FIN both ways (RFC 7857 s2.2)');
      const [mi] = find('icmpv6');
      assert.ok(mi);
      assert.equal(mi.state, 'icmp');
      assert.equal(mi.packetsOut, 3);
      assert.equal(mi.packetsIn, 3);

      // NEW for each, UPDATE for the TCP state changes; delivered in batches by the housekeeping thread.
      await waitFor('NEW events', () => engine.mappingEvents().filter((e) => e.event === 'NEW').length === 3);
      const news = engine.mappingEvents().filter((e) => e.event === 'NEW');
      assert.deepEqual(news.map((e) => e.mapping.protocol).sort(), ['icmpv6', 'tcp', 'udp']);
      for (const e of news) assert.equal(e.mapping.inside, CONTAINER);
      await waitFor('UPDATE events', () => engine.mappingEvents().some((e) => e.event === 'UPDATE' && e.mapping.protocol === 'tcp'));

      const s = await engine.stats();
      assert.equal(s.masquerade.length, 1);
      assert.equal(s.masquerade[0]!.live, 3);
      assert.deepEqual(s.masquerade[0]!.byState, { udp: 1, tcp_transitory: 1, tcp_established: 0, icmp: 1 });
      assert.equal(s.total.nat66_mapping_created, 3);
      assert.equal(s.total.queue_verdict_drop, 0);
      assert.equal(s.total.nat66_outbound! + s.total.nat66_inbound!, s.total.queue_verdict_accept_mangled);
      assert.equal(s.masquerade[0]!.outbound, s.total.nat66_outbound);
      assert.equal(s.masquerade[0]!.inbound, s.total.nat66_inbound);
      assert.ok(s.total.engine_mapping_events! >= 4);
      assertEveryPacketHasAVerdict(s);

      // Kernel conntrack saw the inside address (outbound translation after conntrack, inbound before it),
      // and the stateful firewall let the replies through as ESTABLISHED.
      const ct = (await topo.ns('h').exec(['conntrack', '-L', '-f', 'ipv6', '-p', 'udp'], { allowFailure: true })).stdout;
      assert.match(ct, new RegExp(`src=${CONTAINER} dst=${DNS} sport=21234 dport=7777 .*src=${DNS} dst=${CONTAINER} sport=7777 dport=21234`), ct);
      const ctTcp = (await topo.ns('h').exec(['conntrack', '-L', '-f', 'ipv6', '-p', 'tcp'], { allowFailure: true })).stdout;
      assert.match(ctTcp, new RegExp(`src=${CONTAINER} dst=${DNS} sport=40000 dport=8888 .*src=${DNS} dst=${CONTAINER} sport=8888 dport=40000`), ctTcp);
      assert.doesNotMatch(ct + ctTcp, new RegExp(HOST_ADDR), 'conntrack never sees the outside address');
    } finally {
      await engine.close();
      udp.child.kill('SIGKILL');
      tcp.child.kill('SIGKILL');
    }
  });
});

test('masquerade: an ICMP echo mapping expires after its (shortened) timeout: DESTROY, gone from mappings()', { skip: !isRoot }, async () => {
  await withRules(['--queue-num', '0'], async () => {
    const engine = await startEngine({ masquerade: [{ ...MASQUERADE, timeouts: { ...MASQUERADE.timeouts, icmpMs: 1500 } }] });
    try {
      await engine.call('start');
      const out = await ping('c', ['-c', '1', '-I', CONTAINER, DNS]);
      assert.equal(out.received, 1, out.output);
      await waitFor('NEW', () => engine.mappingEvents().some((e) => e.event === 'NEW'));
      await waitFor('DESTROY', () => engine.mappingEvents().some((e) => e.event === 'DESTROY'), 20_000);
      const [created] = engine.mappingEvents().filter((e) => e.event === 'NEW');
      const [destroyed] = engine.mappingEvents().filter((e) => e.event === 'DESTROY');
      assert.equal(destroyed!.mapping.protocol, 'icmpv6');
      assert.equal(destroyed!.mapping.outsidePort, created!.mapping.outsidePort);
      assert.equal(destroyed!.mapping.packetsOut, 1);
      assert.equal(destroyed!.mapping.packetsIn, 1);
      assert.deepEqual(await engine.mappings(), []);
      const s = await engine.stats();
      assert.equal(s.masquerade[0]!.live, 0);
      assert.equal(s.total.nat66_mapping_expired, 1);
    } finally {
      await engine.close();
    }
  });
});

test('masquerade: when the table is full a new flow is refused with administratively prohibited; the old one keeps working', { skip: !isRoot }, async () => {
  await withRules(['--queue-num', '0'], async () => {
    const engine = await startEngine({ masquerade: [{ ...MASQUERADE, maxMappings: 1 }] });
    try {
      await engine.call('start');
      const first = await ping('c', ['-c', '2', '-i', '0.2', '-e', '4242', DNS]);
      assert.equal(first.received, 2, first.output);
      const refused = await ping('c', ['-c', '2', '-i', '0.2', '-W', '1', '-e', '4343', DNS]);
      assert.equal(refused.received, 0, refused.output);
      assert.match(refused.output, /Administratively prohibited/i);
      const again = await ping('c', ['-c', '1', '-e', '4242', DNS]);
      assert.equal(again.received, 1, again.output);
      const s = await engine.stats();
      assert.equal(s.total.drop_nat66_table_full, 2);
      assert.equal(s.total.icmp_admin_prohibited_built, 2);
      assert.equal(s.total.icmp_sent, 2);
      assert.equal(s.masquerade[0]!.dropped, 2);
      assert.equal(s.masquerade[0]!.live, 1);
      assertEveryPacketHasAVerdict(s);
    } finally {
      await engine.close();
    }
  });
});

test('masquerade: hairpinning, one container reaches another through the host address and port', { skip: !isRoot }, async () => {
  await withRules(['--queue-num', '0'], async () => {
    const engine = await startEngine({ masquerade: [{ ...MASQUERADE, filtering: 'endpoint-independent' }] });
    const udp = await startServer('o', UDP_ECHO, 7777);
    // c2 opens a mapping towards the world from port 21000, then listens on it.
    const c2 = topo.spawn('c2', ['node', '-e', `
      const s = require('dgram').createSocket('udp6');
      s.on('message', (m, r) => { if (r.port !== 7777) console.log(JSON.stringify({ from: r.address, port: r.port, text: m.toString() })); });
      s.bind(21000, '${CONTAINER2}', () => s.send('open', 7777, '${DNS}'));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const seen: { from: string; port: number; text: string }[] = [];
    readline.createInterface({ input: c2.stdout! }).on('line', (l) => seen.push(JSON.parse(l) as (typeof seen)[number]));
    try {
      await engine.call('start');
      await waitFor('the mapping for c2', async () => (await engine.mappings()).some((m) => m.inside === CONTAINER2 && m.outsidePort === 21000));
      await topo.ns('c').exec(['node', '-e', `
        const s = require('dgram').createSocket('udp6');
        s.bind(22000, '${CONTAINER}', () => s.send('hello', 21000, '${HOST_ADDR}', () => s.close()));`]);
      await waitFor('the hairpinned datagram at c2', () => seen.length > 0);
      // RFC 4787 REQ-9: the source is the sender's outside address and port, not its inside one.
      assert.deepEqual(seen, [{ from: HOST_ADDR, port: 22000, text: 'hello' }]);
      const s = await engine.stats();
      assert.equal(s.total.nat66_hairpin, 1);
      assert.equal(s.total.queue_verdict_drop, 0);
      assertEveryPacketHasAVerdict(s);
    } finally {
      c2.kill('SIGKILL');
      udp.child.kill('SIGKILL');
      await engine.close();
    }
  });
});

test('masquerade under load: two queues (--queue-balance), many flows whose two directions land on different threads', { skip: !isRoot }, async () => {
  await withRules(['--queue-balance', '0:1'], async () => {
    const engine = await startEngine({ queueCount: 2, masquerade: [MASQUERADE] });
    const udp = await startServer('o', UDP_ECHO, 7777);
    try {
      await engine.call('start');
      const flows: string[] = [];
      for (let a = 0x10; a < 0x20; a++) for (let p = 0; p < 12; p++) flows.push(`fd5a:ceb9:ed8d:1::${a.toString(16)},${41000 + p}`);
      const [got, pinged] = await Promise.all([
        runNode<Record<string, number>>('c', UDP_FLOWS, [DNS, 7777, 5, 60_000, ...flows], 90_000),
        ping('c', ['-q', '-c', '2000', '-i', '0.001', '-I', 'fd5a:ceb9:ed8d:1::10', DNS]),
      ]);
      assert.equal(Object.values(got).filter((n) => n === 5).length, flows.length, JSON.stringify(got));
      assert.equal(pinged.received, 2000, pinged.output);
      const list = await engine.mappings();
      assert.equal(list.filter((m) => m.protocol === 'udp').length, flows.length);
      for (const m of list.filter((x) => x.protocol === 'udp')) {
        assert.equal(m.packetsOut, 5, JSON.stringify(m));
        assert.equal(m.packetsIn, 5, JSON.stringify(m));
      }
      const s = await engine.stats();
      // The hash covers addresses only: every reply (outside host -> host address) lands on one queue, while the
      // 16 inside sources spread over both, so flows have their two directions on different threads.
      assert.deepEqual(s.queues.map((q) => q.queue), [0, 1]);
      for (const q of s.queues) assert.ok(q.counters.nat66_outbound! > 0, `queue ${q.queue} translated outbound packets`);
      assert.equal(s.queues.filter((q) => q.counters.nat66_inbound! > 0).length, 1, 'one queue took every reply');
      assert.equal(s.total.nat66_outbound, flows.length * 5 + 2000);
      assert.equal(s.total.nat66_inbound, flows.length * 5 + 2000);
      assert.equal(s.total.queue_verdict_drop, 0);
      assert.equal(s.masquerade[0]!.live, flows.length + 1);
      assertEveryPacketHasAVerdict(s);
    } finally {
      udp.child.kill('SIGKILL');
      await engine.close();
    }
  });
});

// No namespaces needed: an Engine that is never started binds nothing.
test('masquerade options are compiled natively; errors are ERR_NPT66_CONFIG naming masquerade[i].field', () => {
  const ok: NativeMasquerade = {
    ...MASQUERADE,
    sources: [{ prefix: parsePrefix(INSIDE, 's').bytes, length: 64 }],
    addresses: [parseAddress(HOST_ADDR, 'a')],
  };
  const create = (masquerade: unknown[]) =>
    new native.Engine({ ...ENGINE_DEFAULTS, mappings: [], masquerade: masquerade as NativeMasquerade[], onEvents: () => undefined });
  const refused: [unknown[], RegExp][] = [
    [[{ ...ok, portMin: 80 }], /^masquerade\[0\]\.portMin must be an integer from 1024 to 65535$/],
    [[{ ...ok, portMin: 30000 }], /^masquerade\[0\]\.portMin must not be above portMax$/],
    [[{ ...ok, timeouts: { ...ok.timeouts, udpMs: 60_000 } }], /^masquerade\[0\]\.timeouts\.udpMs must be an integer from 120000/],
    [[{ ...ok, timeouts: { ...ok.timeouts, icmpMs: undefined } }], /^masquerade\[0\]\.timeouts\.icmpMs is required$/],
    [[{ ...ok, filtering: 'full-cone' }], /^masquerade\[0\]\.filtering must be 'address-dependent' or 'endpoint-independent'$/],
    [[{ ...ok, addresses: [] }], /^masquerade\[0\]\.addresses must hold at least one outside address$/],
    [[{ ...ok, addresses: [Buffer.alloc(4)] }], /^masquerade\[0\]\.addresses\[0\] must be a 16-byte Buffer$/],
    [[{ ...ok, sources: [{ prefix: parseAddress(CONTAINER, 'a'), length: 64 }] }], /^masquerade\[0\]\.sources: source prefix .* has bits set/],
    [[{ ...ok, addresses: [parseAddress('fd5a:ceb9:ed8d:1::9', 'a')] }], /^masquerade\[0\]\.addresses: outside address .* lies inside the source prefix/],
    [[ok, { ...ok, inboundRefresh: 'yes' }], /^masquerade\[1\]\.inboundRefresh must be a boolean$/],
  ];
  for (const [masquerade, message] of refused) assert.throws(() => create(masquerade), { code: 'ERR_NPT66_CONFIG', message });
  const engine = create([ok]);
  const s = engine.stats();
  assert.deepEqual(s.masquerade, [
    { index: 0, live: 0, byState: { udp: 0, tcp_transitory: 0, tcp_established: 0, icmp: 0 }, outbound: 0, inbound: 0, dropped: 0, outboundBytes: 0, inboundBytes: 0 },
  ]);
  assert.deepEqual(engine.mappings(), []);
  assert.deepEqual(create([]).stats().masquerade, []);
});
