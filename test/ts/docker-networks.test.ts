// "source": "docker" without Docker (no root): DOCKER_HOST parsing, which subnets count, the watcher against a
// fake Engine API on a unix socket (list on connect, list again on events, a resync after the stream drops, the
// last subnets kept while Docker is away), and the Gateway: what the engine and the rules get as Docker's networks
// and a reload change the sources, in which order, and what stays when the engine refuses.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { dockerEndpoint, DockerNetworks, ipv6Subnets, type DockerNetwork } from '../../src/docker-networks';
import { publishedPorts, type DockerContainer, type DockerPublished } from '../../src/docker-published';
import { Gateway, type GatewayEvent } from '../../src/gateway';
import type { HostFacts } from '../../src/host-facts';
import type { NativeEngine, NativeEngineOptions, NativeEngineStats, NativeMasquerade } from '../../src/native';
import { planRules, type RuleBackend, type RuleConfig } from '../../src/rules';
import { waitFor } from '../../src/netns';

const dir = mkdtempSync(join(tmpdir(), 'npt66-docker-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const net = (Name: string, subnets: string[], EnableIPv6 = true, Driver = 'bridge'): DockerNetwork => ({
  Name,
  Driver,
  EnableIPv6,
  IPAM: { Config: subnets.map((Subnet) => ({ Subnet })) },
});

// docker run -p 8080:80 -p 5353:53/udp on a network with an IPv6 subnet, as GET /containers/json lists it.
const web = (Id: string, ports: [number, number, 'tcp' | 'udp', string?][], v6 = 'fd5a:ceb9:ed8d:1::2'): DockerContainer => ({
  Id,
  Names: [`/${Id}`],
  Ports: ports.flatMap(([PublicPort, PrivatePort, Type, IP]) =>
    IP !== undefined ? [{ IP, PrivatePort, PublicPort, Type }] : [{ IP: '0.0.0.0', PrivatePort, PublicPort, Type }, { IP: '::', PrivatePort, PublicPort, Type }],
  ),
  NetworkSettings: { Networks: { br_ipv6_nw: { GlobalIPv6Address: v6 } } },
});

test('published ports: every -p binding on all host addresses once, with the container\'s IPv6 addresses; single-address bindings left to Docker', () => {
  const containers: DockerContainer[] = [
    web('cnt01', [[8080, 80, 'tcp'], [5353, 53, 'udp']]),
    web('local', [[9000, 80, 'tcp', '127.0.0.1'], [9001, 80, 'tcp', '::1'], [9002, 80, 'tcp', '']]),
    { Id: 'abcdef0123456789', Ports: [{ PrivatePort: 80, Type: 'tcp' }], NetworkSettings: { Networks: { a: { GlobalIPv6Address: '' }, b: null } } },
    { Id: 'two', Names: ['/two'], Ports: [{ IP: '::', PrivatePort: 443, PublicPort: 8443, Type: 'tcp' }], NetworkSettings: { Networks: { zz: { GlobalIPv6Address: 'FD00:2::5' }, aa: { GlobalIPv6Address: 'fd00:1::5' } } } },
  ];
  const want: DockerPublished[] = [
    { container: 'cnt01', protocol: 'tcp', port: 8080, containerPort: 80, addresses: ['fd5a:ceb9:ed8d:1::2'] },
    { container: 'two', protocol: 'tcp', port: 8443, containerPort: 443, addresses: ['fd00:1::5', 'fd00:2::5'] },
    { container: 'local', protocol: 'tcp', port: 9002, containerPort: 80, addresses: ['fd5a:ceb9:ed8d:1::2'] },
    { container: 'cnt01', protocol: 'udp', port: 5353, containerPort: 53, addresses: ['fd5a:ceb9:ed8d:1::2'] },
  ];
  assert.deepEqual(publishedPorts(containers), want);
});

test('DOCKER_HOST as the docker CLI reads it', () => {
  assert.deepEqual(dockerEndpoint({}), { socketPath: '/var/run/docker.sock', text: 'unix:///var/run/docker.sock' });
  assert.equal(dockerEndpoint({ DOCKER_HOST: 'unix:///tmp/d.sock' }).socketPath, '/tmp/d.sock');
  assert.deepEqual(dockerEndpoint({ DOCKER_HOST: 'tcp://[::1]:2375' }), { host: '::1', port: 2375, text: 'tcp://[::1]:2375' });
  assert.throws(() => dockerEndpoint({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1' }), /TLS/);
  assert.throws(() => dockerEndpoint({ DOCKER_HOST: 'ssh://me@h' }), /not unix/);
});

test('only the IPv6 subnets of IPv6-enabled bridge networks count', () => {
  assert.deepEqual(
    ipv6Subnets([
      net('bridge', ['172.17.0.0/16', 'FD5A:CEB9:ED8D:FF::/64']),
      net('br_ipv6_nw', ['fd5a:ceb9:ed8d:1::/64', '172.18.0.0/16']),
      net('v4only', ['fd00:9::/64'], false),
      net('overlay', ['fd00:8::/64'], true, 'overlay'),
      net('again', ['fd5a:ceb9:ed8d:1::/64']),
      { Name: 'host', Driver: 'host', EnableIPv6: false, IPAM: { Config: null } },
    ]),
    ['fd5a:ceb9:ed8d:1::/64', 'fd5a:ceb9:ed8d:ff::/64'],
  );
});

// The two endpoints npt66 uses. `networks` is what GET /networks answers; push() sends an event on every open
// stream; drop() ends them (as a dockerd restart does).
class FakeDocker {
  networks: DockerNetwork[] = [];
  containers: DockerContainer[] = []; // GET /containers/json: the running ones
  lists = 0;
  private streams = new Set<http.ServerResponse>();
  readonly server: http.Server;
  constructor(readonly socketPath: string) {
    this.server = http.createServer((req, res) => {
      if (req.url === '/networks') {
        this.lists++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(this.networks));
      } else if (req.url === '/containers/json') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(this.containers));
      } else if (req.url?.startsWith('/events?filters=')) {
        const filters = JSON.parse(decodeURIComponent(req.url.slice('/events?filters='.length))) as { type: string[] };
        assert.deepEqual(filters.type, ['network', 'container']);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        this.streams.add(res);
        res.on('close', () => this.streams.delete(res));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
  }
  listen(): Promise<void> {
    return new Promise((r) => this.server.listen(this.socketPath, r));
  }
  push(network: DockerNetwork, action: 'create' | 'destroy'): void {
    if (action === 'create') this.networks.push(network);
    else this.networks = this.networks.filter((n) => n.Name !== network.Name);
    for (const s of this.streams) s.write(`${JSON.stringify({ Type: 'network', Action: action, Actor: { Attributes: { name: network.Name } } })}\n`);
  }
  // A container started (with its ports and addresses) or gone (die). `listedAfterDie`: as Docker does, the list
  // made on the event still has it running.
  container(c: DockerContainer, action: 'start' | 'die', listedAfterDie = false): void {
    if (!listedAfterDie) this.containers = this.containers.filter((x) => x.Id !== c.Id);
    if (action === 'start') this.containers.push(c);
    for (const s of this.streams) s.write(`${JSON.stringify({ Type: 'container', Action: action, Actor: { ID: c.Id } })}\n`);
  }
  close(): Promise<void> {
    for (const s of this.streams) s.destroy();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

test('the watcher: a list on connect, again on events, the last subnets kept while Docker is away, a resync on return', async () => {
  const socketPath = join(dir, 'w.sock');
  let docker = new FakeDocker(socketPath);
  docker.networks = [net('bridge', ['fd5a:ceb9:ed8d:ff::/64'])];
  await docker.listen();
  const seen: string[][] = [];
  const warnings: string[] = [];
  const w = new DockerNetworks({ endpoint: { socketPath, text: `unix://${socketPath}` }, retryMinMs: 20, retryMaxMs: 40 });
  w.on('subnets', (s: string[]) => seen.push(s));
  w.on('warning', (e: { message: string }) => warnings.push(e.message));
  try {
    w.start();
    await waitFor('the first list', () => seen.length === 1);
    assert.deepEqual(seen[0], ['fd5a:ceb9:ed8d:ff::/64']);
    docker.push(net('br_ipv6_nw', ['fd5a:ceb9:ed8d:1::/64']), 'create');
    await waitFor('the created network', () => seen.length === 2);
    assert.deepEqual(w.current, ['fd5a:ceb9:ed8d:1::/64', 'fd5a:ceb9:ed8d:ff::/64']);
    const published: DockerPublished[][] = [];
    w.on('published', (p: DockerPublished[]) => published.push(p));
    docker.container(web('cnt01', [[8080, 80, 'tcp']]), 'start');
    await waitFor('the started container', () => published.length === 1);
    assert.deepEqual(w.currentPublished.map((p) => `${p.container} ${p.protocol}/${p.port}`), ['cnt01 tcp/8080']);
    docker.container(web('cnt01', []), 'die');
    await waitFor('the stopped container', () => published.length === 2);
    assert.deepEqual(w.currentPublished, []);
    docker.push(net('br_ipv6_nw', []), 'destroy');
    await waitFor('the removed network', () => seen.length === 3);
    assert.deepEqual(w.current, ['fd5a:ceb9:ed8d:ff::/64']);

    // Docker goes away: a warning, the subnets stay.
    await docker.close();
    await waitFor('a warning', () => warnings.length >= 1);
    assert.match(warnings[0]!, /unreachable .*stay as last seen \(fd5a:ceb9:ed8d:ff::\/64\); retrying/);
    assert.deepEqual(w.current, ['fd5a:ceb9:ed8d:ff::/64']);
    // It comes back with a network created meanwhile, and no event for it: the resync finds it.
    rmSync(socketPath, { force: true });
    docker = new FakeDocker(socketPath);
    docker.networks = [net('bridge', ['fd5a:ceb9:ed8d:ff::/64']), net('n2', ['fd5a:ceb9:ed8d:2::/64'])];
    docker.containers = [web('cnt02', [[8443, 443, 'tcp']], 'fd5a:ceb9:ed8d:2::2')]; // started while away
    await docker.listen();
    await waitFor('the resync', () => seen.length === 4, 5_000);
    assert.deepEqual(w.current, ['fd5a:ceb9:ed8d:2::/64', 'fd5a:ceb9:ed8d:ff::/64']);
    await waitFor('its published port in the resync', () => published.length === 3);
    assert.deepEqual((w.currentPublished as DockerPublished[]).map((p) => `${p.container} ${p.protocol}/${p.port}`), ['cnt02 tcp/8443']);
  } finally {
    w.stop();
    await docker.close();
  }
});

test('gateway: Docker unreachable at start: the rules go in without its subnets, the gateway runs, a warning says so', async () => {
  const { gateway, engine, events } = await startGateway(join(dir, 'absent.sock'), 'docker');
  try {
    assert.deepEqual(engine.calls, ['rules docker,|']);
    await waitFor('the warning', () => events.some((e) => /Docker Engine at unix:\/\/.*absent\.sock unreachable/.test(e.message)));
    assert.equal(gateway.currentState, 'running');
  } finally {
    await gateway.stop();
  }
});

test('Docker unreachable at start: a warning and retries, never an error', async () => {
  const w = new DockerNetworks({ endpoint: { socketPath: join(dir, 'none.sock'), text: 'unix:///none' }, retryMinMs: 10, retryMaxMs: 20 });
  const warnings: string[] = [];
  w.on('warning', (e: { message: string }) => warnings.push(e.message));
  w.start();
  await waitFor('two attempts', () => warnings.length >= 2);
  w.stop();
  assert.match(warnings[0]!, /Docker Engine at unix:\/\/\/none unreachable .*none known yet/);
  assert.deepEqual(w.current, []);
});

test('rules: an entry naming "docker" queues the Docker subnets it is given, none before', () => {
  const m = { source: ['docker', 'fd00:7::/64'], interface: 'eth0', address: '2001:db8::1', ports: '20000-29999' };
  const sources = (c: RuleConfig) =>
    planRules(c, 1)
      .rules.filter((r) => r.chain.startsWith('NPT66-OUT-') && r.args.includes('-s'))
      .map((r) => r.args[r.args.indexOf('-s') + 1]);
  const base = { nptv6: [], hairpinMark: 0, queues: { first: 0, count: 1 } };
  assert.deepEqual(sources({ ...base, masquerade: [m] }), ['fd00:7::/64']);
  assert.deepEqual(sources({ ...base, masquerade: [{ ...m, dockerSources: ['fd5a:ceb9:ed8d:1::/64'] }] }), ['fd00:7::/64', 'fd5a:ceb9:ed8d:1::/64']);
});

// ---- the Gateway ----

const HOST = '2001:db8:f::1';
const listening: { tcp: { address: Buffer; port: number }[] } = { tcp: [] }; // the host's own sockets, per test
const facts: HostFacts = {
  localPortRange: () => [32768, 60999],
  interfaceAddresses: (name) => (name === 'eth0' ? [{ address: HOST, prefixLength: 64, flags: [] }] : null),
  conntrackTimeouts: () => ({ udpStream: 300, tcpEstablished: 7440, icmpv6: 60 }),
  listeningSockets: (p) => (p === 'tcp' ? listening.tcp : []),
};

const text = (s: NativeMasquerade['sources']) => s.map((p) => `${p.prefix.toString('hex')}/${p.length}`);
const hex = (prefix: string) => `${prefix}/64`;

class SourcesEngine implements NativeEngine {
  calls: string[] = []; // in order: "sources i [..]" and "rules [..]"
  refuse = false;
  constructor(readonly options: NativeEngineOptions) {}
  start(): void {}
  setMappings(): void {}
  watchAddresses(): void {}
  setMasqueradeAddresses(): void {}
  setMasqueradeSources(index: number, sources: NativeMasquerade['sources']): void {
    if (this.refuse) throw Object.assign(new Error('masquerade[0]: refused'), { code: 'ERR_NPT66_CONFIG' });
    this.calls.push(`sources ${index} ${text(sources).join(',')}`);
  }
  setMasqueradeForwards(index: number, forwards: NonNullable<NativeMasquerade['forwards']>): void {
    if (this.refuse) throw Object.assign(new Error('masquerade[0]: refused'), { code: 'ERR_NPT66_CONFIG' });
    this.calls.push(`forwards ${index} ${forwards.map((f) => `${f.protocol}/${f.port}>${f.inside.toString('hex').slice(-4)}:${f.insidePort}`).join(',')}`);
  }
  stats(): NativeEngineStats {
    return { queues: [], total: {}, mappings: [], masquerade: [] };
  }
  mappings() {
    return [];
  }
  async stop(): Promise<void> {}
}

class LogRules implements RuleBackend {
  readonly name = 'ip6tables';
  constructor(private readonly calls: () => string[]) {}
  async removeStale(): Promise<string[]> {
    return [];
  }
  async install(c: RuleConfig): Promise<string[]> {
    this.log(c);
    return [];
  }
  async replace(c: RuleConfig): Promise<void> {
    this.log(c);
  }
  private log(c: RuleConfig) {
    const ports = (c.masquerade ?? []).flatMap((m) => (m.forwards ?? []).map((f) => f.port));
    const kept = (c.masquerade ?? []).flatMap((m) => (m.keptPorts ?? []).map((r) => `${r.min}-${r.max}`));
    this.calls().push(
      `rules ${(c.masquerade ?? []).map((m) => [...(Array.isArray(m.source) ? m.source : [m.source]), '|', ...(m.dockerSources ?? [])].join(',')).join(';')}${ports.length ? ` ports ${ports.join(',')}` : ''}${kept.length ? ` kept ${kept.join(',')}` : ''}`,
    );
  }
  async remove(): Promise<void> {}
  removeSync(): void {}
}

async function startGateway(socketPath: string, source: string | string[], forwards?: unknown[]) {
  let engine: SourcesEngine | null = null;
  const events: GatewayEvent[] = [];
  const config = { masquerade: [{ source, interface: 'eth0', ...(forwards ? { forwards } : {}) }], control: { socket: join(dir, 'ctl.sock') } };
  const gateway = await Gateway.start(config, {
    rules: new LogRules(() => engine!.calls),
    facts,
    createEngine: (o) => (engine = new SourcesEngine(o)),
    docker: { endpoint: { socketPath, text: `unix://${socketPath}` }, retryMinMs: 20, retryMaxMs: 40 },
    on: { state: (e) => events.push(e), warning: (e) => events.push(e), error: (e) => events.push(e) },
  });
  return { gateway, engine: engine!, events, config };
}

test('gateway: Docker subnets go to the table before the rules; one overlapping a configured source is refused', async () => {
  const socketPath = join(dir, 'g.sock');
  const docker = new FakeDocker(socketPath);
  docker.networks = [net('n1', ['fd5a:ceb9:ed8d:1::/64']), net('clash', ['fd00:7::/64'])];
  await docker.listen();
  const { gateway, engine, events } = await startGateway(socketPath, ['docker', 'fd00:7::/64']);
  try {
    // The table starts with the configured prefix only (the binding gets it at construction).
    assert.deepEqual(text(engine.options.masquerade![0]!.sources), ['fd000007000000000000000000000000/64']);
    // Docker's subnets are in the table before the rules first go in (no window where a container's packets
    // would leave untranslated); the watcher's own first list then finds nothing new.
    assert.deepEqual(engine.calls, [
      `sources 0 fd000007000000000000000000000000/64,${hex('fd5aceb9ed8d00010000000000000000')}`,
      'rules docker,fd00:7::/64,|,fd5a:ceb9:ed8d:1::/64',
    ]);
    assert.deepEqual(gateway.stats().masquerade[0]!.dockerSubnets, ['fd5a:ceb9:ed8d:1::/64']);
    assert.ok(events.some((e) => /Docker subnet fd00:7::\/64 not masqueraded: it overlaps masquerade\[0\]\.source/.test(e.message)));
    assert.ok(events.some((e) => /Docker's IPv6 subnets now fd5a:ceb9:ed8d:1::\/64$/.test(e.message)));

    docker.push(net('n1', []), 'destroy');
    await waitFor('the removal applied', () => engine.calls.length === 4);
    assert.deepEqual(engine.calls.slice(2), ['sources 0 fd000007000000000000000000000000/64', 'rules docker,fd00:7::/64,|']);
  } finally {
    await gateway.stop();
    await docker.close();
  }
});

test('gateway reload: a source added and removed keeps the Docker subnets; a refused set leaves sources and rules', async () => {
  const socketPath = join(dir, 'r.sock');
  const docker = new FakeDocker(socketPath);
  docker.networks = [net('n1', ['fd5a:ceb9:ed8d:1::/64'])];
  await docker.listen();
  const { gateway, engine, config } = await startGateway(socketPath, 'docker');
  try {
    assert.equal(engine.calls.length, 2, 'the first list, then the rules');
    engine.calls.length = 0;
    const added = { ...config, masquerade: [{ ...config.masquerade[0]!, source: ['docker', 'fd00:99::/64'] }] };
    assert.deepEqual(await gateway.reload(added), { mappingsChanged: false, rulesChanged: true });
    assert.deepEqual(engine.calls, [
      `sources 0 fd000099000000000000000000000000/64,${hex('fd5aceb9ed8d00010000000000000000')}`,
      'rules docker,fd00:99::/64,|,fd5a:ceb9:ed8d:1::/64',
    ]);
    engine.calls.length = 0;
    engine.refuse = true;
    await assert.rejects(gateway.reload(config), /refused/);
    assert.deepEqual(engine.calls, [], 'no rules replaced when the table refuses');
    assert.deepEqual(gateway.config.masquerade[0]!.source, ['docker', 'fd00:99::/64']);
    engine.refuse = false;
    assert.deepEqual(await gateway.reload(config), { mappingsChanged: false, rulesChanged: true });
    assert.deepEqual(engine.calls, [`sources 0 ${hex('fd5aceb9ed8d00010000000000000000')}`, 'rules docker,|,fd5a:ceb9:ed8d:1::/64']);
  } finally {
    await gateway.stop();
    await docker.close();
  }
});

test('gateway: Docker\'s published ports become forwards (table, then rules); a static forward on the same port wins; stopped: the forward goes', async () => {
  const socketPath = join(dir, 'p.sock');
  const docker = new FakeDocker(socketPath);
  docker.networks = [net('n1', ['fd5a:ceb9:ed8d:1::/64'])];
  docker.containers = [web('cnt01', [[8080, 80, 'tcp'], [9000, 90, 'tcp']])];
  await docker.listen();
  const { gateway, engine, events } = await startGateway(socketPath, 'docker', [{ protocol: 'tcp', port: 9000, to: '[fd5a:ceb9:ed8d:1::9]:80' }]);
  try {
    assert.deepEqual(engine.calls, [
      `sources 0 ${hex('fd5aceb9ed8d00010000000000000000')}`,
      'forwards 0 tcp/9000>0009:80,tcp/8080>0002:80',
      'rules docker,|,fd5a:ceb9:ed8d:1::/64 ports 9000,8080',
    ]);
    assert.deepEqual(gateway.stats().masquerade[0]!.dockerForwards, ['tcp/8080 -> [fd5a:ceb9:ed8d:1::2]:80']);
    const clash = events.filter((e) => /cnt01's published tcp port 9000 not forwarded: masquerade\[0\]\.forwards\[0\] publishes tcp port 9000 too: the static forward wins/.test(e.message));
    assert.equal(clash.length, 1, 'the conflict is a warning, said once');
    engine.calls.length = 0;

    docker.container(web('cnt02', [[5353, 53, 'udp']], 'fd5a:ceb9:ed8d:1::3'), 'start');
    await waitFor('the new container forwarded', () => engine.calls.length === 2);
    assert.deepEqual(engine.calls, ['forwards 0 tcp/9000>0009:80,tcp/8080>0002:80,udp/5353>0003:53', 'rules docker,|,fd5a:ceb9:ed8d:1::/64 ports 9000,8080,5353']);
    engine.calls.length = 0;
    docker.container(web('cnt01', []), 'die', true);
    await waitFor('the stopped container\'s forward gone', () => engine.calls.length === 2);
    assert.deepEqual(engine.calls, ['forwards 0 tcp/9000>0009:80,udp/5353>0003:53', 'rules docker,|,fd5a:ceb9:ed8d:1::/64 ports 9000,5353']);
    assert.ok(events.some((e) => /Docker's published ports forwarded now udp\/5353 -> \[fd5a:ceb9:ed8d:1::3\]:53$/.test(e.message)));
  } finally {
    await gateway.stop();
    await docker.close();
  }
});

// Issue 10 part 3: after a reload moved the range, a port of the old one a mapping still holds is not forwarded
// (the forward would take the mapping's replies) until no mapping holds it.
test('gateway: a published port a mapping of the earlier range holds waits until it is free', async () => {
  const socketPath = join(dir, 'k.sock');
  const docker = new FakeDocker(socketPath);
  docker.networks = [net('n1', ['fd5a:ceb9:ed8d:1::/64'])];
  await docker.listen();
  const { gateway, engine, events, config } = await startGateway(socketPath, 'docker');
  const held = new Set<number>([25000]);
  Object.assign(engine, {
    setMasqueradeTunables: (i: number, m: NativeMasquerade) =>
      engine.calls.push(`tunables ${i} ${m.portMin}-${m.portMax} forwards=${(m.forwards ?? []).map((f) => `${f.protocol}/${f.port}`).join(',')}`),
    masqueradeHoldsPorts: (_i: number, min: number, max: number) => [...held].some((p) => p >= min && p <= max),
  });
  try {
    engine.calls.length = 0;
    assert.deepEqual(await gateway.reload({ ...config, masquerade: [{ ...config.masquerade[0]!, ports: '30000-30999' }] }), { mappingsChanged: false, rulesChanged: true });
    assert.deepEqual(engine.calls, ['tunables 0 30000-30999 forwards=', 'rules docker,|,fd5a:ceb9:ed8d:1::/64 kept 20000-29999']);
    engine.calls.length = 0;
    docker.container(web('cnt03', [[25000, 80, 'tcp'], [8080, 81, 'tcp']]), 'start');
    await waitFor('the free port forwarded', () => engine.calls.length === 2);
    assert.deepEqual(engine.calls, ['forwards 0 tcp/8080>0002:81', 'rules docker,|,fd5a:ceb9:ed8d:1::/64 ports 8080 kept 20000-29999']);
    assert.ok(events.some((e) => /published tcp port 25000 not forwarded yet: a mapping made under the earlier port range holds it/.test(e.message)), JSON.stringify(events.map((e) => e.message)));
    // The mapping gone: the next check lets the old range go and forwards the port.
    engine.calls.length = 0;
    held.clear();
    await gateway.reload({ ...config, masquerade: [{ ...config.masquerade[0]!, ports: '30000-30999' }] });
    assert.deepEqual(engine.calls, ['forwards 0 tcp/8080>0002:81,tcp/25000>0002:80', 'rules docker,|,fd5a:ceb9:ed8d:1::/64 ports 8080,25000']);
  } finally {
    await gateway.stop();
    await docker.close();
  }
});

test('gateway reload: forwards added and removed go to the table before the rules; a refused set leaves forwards and rules; a range change needs an addon that can; an entry added needs a restart', async () => {
  const socketPath = join(dir, 'f.sock');
  const docker = new FakeDocker(socketPath);
  docker.networks = [net('n1', ['fd5a:ceb9:ed8d:1::/64'])];
  await docker.listen();
  const { gateway, engine, config } = await startGateway(socketPath, ['docker', 'fd00:7::/64']);
  try {
    engine.calls.length = 0;
    const withForward = { ...config, masquerade: [{ ...config.masquerade[0]!, forwards: [{ protocol: 'tcp', port: 8080, to: '[fd00:7::2]:80' }] }] };
    assert.deepEqual(await gateway.reload(withForward), { mappingsChanged: false, rulesChanged: true });
    assert.deepEqual(engine.calls, ['forwards 0 tcp/8080>0002:80', 'rules docker,fd00:7::/64,|,fd5a:ceb9:ed8d:1::/64 ports 8080']);
    engine.calls.length = 0;
    engine.refuse = true;
    await assert.rejects(gateway.reload(config), /refused/);
    assert.deepEqual(engine.calls, [], 'no rules replaced when the table refuses');
    assert.equal(gateway.config.masquerade[0]!.forwards?.length, 1);
    engine.refuse = false;
    // An addon built before setMasqueradeTunables: the range cannot change while running.
    await assert.rejects(
      gateway.reload({ ...withForward, masquerade: [{ ...withForward.masquerade[0]!, ports: '21000-29999' }] }),
      (e: Error & { code?: string }) => e.code === 'ERR_NPT66_ENGINE_UNAVAILABLE' && /rebuild it/.test(e.message),
    );
    // An entry added needs a restart whatever the addon.
    await assert.rejects(
      gateway.reload({ ...withForward, masquerade: [...withForward.masquerade, { source: 'fd00:8::/64', interface: 'eth0', address: '2001:db8:1::8' }] }),
      /adding or removing a masquerade entry needs a restart/,
    );
    assert.deepEqual(await gateway.reload(config), { mappingsChanged: false, rulesChanged: true });
    assert.deepEqual(engine.calls, ['forwards 0 ', 'rules docker,fd00:7::/64,|,fd5a:ceb9:ed8d:1::/64']);
  } finally {
    await gateway.stop();
    await docker.close();
  }
});

test('gateway reload: a forward to a port the host itself listens on is refused, naming the field; nothing changes', async () => {
  const socketPath = join(dir, 'l.sock');
  const docker = new FakeDocker(socketPath);
  await docker.listen();
  const { gateway, engine, config } = await startGateway(socketPath, ['docker', 'fd00:7::/64']);
  try {
    engine.calls.length = 0;
    listening.tcp = [{ address: Buffer.alloc(16), port: 8080 }]; // a service of the host's own, started since
    const next = { ...config, masquerade: [{ ...config.masquerade[0]!, forwards: [{ protocol: 'tcp', port: 8080, to: '[fd00:7::2]:80' }] }] };
    await assert.rejects(gateway.reload(next), (e: Error & { field?: string }) => {
      assert.equal(e.field, 'masquerade[0].forwards[0].port');
      assert.match(e.message, /tcp port 8080 is one this host itself listens on \(\[::\]:8080\)/);
      return true;
    });
    assert.deepEqual(engine.calls, [], 'neither the table nor the rules touched');
    assert.equal(gateway.config.masquerade[0]!.forwards, undefined);
  } finally {
    listening.tcp = [];
    await gateway.stop();
    await docker.close();
  }
});
