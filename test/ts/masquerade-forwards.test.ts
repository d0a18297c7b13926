// masquerade[].forwards (published ports, issue 10 part 2): what the engine gets, and every refusal naming its
// field: a port in the dynamic range (or below 1024 with privilegedPorts), a malformed or foreign "to", a port
// the host itself listens on, two forwards on one port or one inside endpoint. And the /proc/net/*6 reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { compileGatewayConfig } from '../../src/gateway-config';
import type { HostFacts } from '../../src/host-facts';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

import type { DockerPublished } from '../../src/docker-published';
import { parseProcNet6, readListeningSockets, socketProgram, type ListeningSocket } from '../../src/listening-ports';
import { dockerForwards } from '../../src/masquerade-forwards';
import { parseAddress, parsePrefix } from '../../src/prefix';
import { buildRulePlan, ruleKey } from '../../src/rules/plan';

const address = (text: string) => parseAddress(text, 'test');
import { assertRefused } from './lib/config_refusal';

const HOST = 'fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5';
const entry = { source: 'fd5a:ceb9:ed8d:1::/64', interface: 'ens192', address: HOST, ports: '20000-29999' };
const WEB = { protocol: 'tcp', port: 8080, to: '[fd5a:ceb9:ed8d:1::2]:80' };

function facts(listening: { tcp?: ListeningSocket[]; udp?: ListeningSocket[] } = {}, programs: Record<number, string> = {}): HostFacts {
  return {
    localPortRange: () => [32768, 60999],
    interfaceAddresses: () => null,
    conntrackTimeouts: () => ({ udpStream: null, tcpEstablished: null, icmpv6: null }),
    listeningSockets: (p) => listening[p] ?? [],
    socketProgram: (inode) => programs[inode] ?? null,
  };
}

const masq = (forwards: unknown[], extra: Record<string, unknown> = {}) => ({ masquerade: [{ ...entry, ...extra, forwards }] });

function refuses(config: unknown, f: HostFacts, field: string, ...patterns: RegExp[]): string {
  return assertRefused(() => compileGatewayConfig(config, f), config, field, ...patterns);
}

test('forwards reach the engine as protocol, port, inside address bytes and inside port; none: left out', () => {
  const c = compileGatewayConfig(masq([WEB, { protocol: 'udp', port: 5353, to: '[fd5a:ceb9:ed8d:1::3]:53' }]), facts());
  assert.deepEqual(c.masquerade[0]!.forwards, [
    { protocol: 'tcp', port: 8080, inside: address('fd5a:ceb9:ed8d:1::2'), insidePort: 80 },
    { protocol: 'udp', port: 5353, inside: address('fd5a:ceb9:ed8d:1::3'), insidePort: 53 },
  ]);
  assert.equal(compileGatewayConfig(masq([]), facts()).masquerade[0]!.forwards, undefined);
  assert.equal(compileGatewayConfig({ masquerade: [entry] }, facts()).masquerade[0]!.forwards, undefined);
});

test('a forward port inside the dynamic range, or below 1024 with privilegedPorts, is refused', () => {
  refuses(masq([{ ...WEB, port: 20080 }]), facts(), 'masquerade[0].forwards[0].port', /20080 lies in masquerade\[0\]\.ports \(20000-29999\)/, /outside it/);
  refuses(masq([{ ...WEB, port: 29999 }]), facts(), 'masquerade[0].forwards[0].port', /lies in masquerade\[0\]\.ports/);
  assert.ok(compileGatewayConfig(masq([{ ...WEB, port: 30000 }]), facts()));
  refuses(masq([{ ...WEB, port: 80 }], { privilegedPorts: true }), facts(), 'masquerade[0].forwards[0].port', /below 1024/, /privilegedPorts/);
  assert.ok(compileGatewayConfig(masq([{ ...WEB, port: 80 }]), facts()));
});

test('schema: protocol, port and "to" are checked, unknown keys refused', () => {
  refuses(masq([{ ...WEB, protocol: 'sctp' }]), facts(), 'masquerade[0].forwards[0].protocol');
  refuses(masq([{ ...WEB, port: 0 }]), facts(), 'masquerade[0].forwards[0].port');
  refuses(masq([{ ...WEB, port: 70000 }]), facts(), 'masquerade[0].forwards[0].port');
  refuses(masq([{ ...WEB, extra: 1 }]), facts(), 'masquerade[0].forwards[0].extra');
  refuses(masq([{ ...WEB, to: 'fd5a:ceb9:ed8d:1::2:80' }]), facts(), 'masquerade[0].forwards[0].to', /must be "\[ADDRESS\]:PORT"/);
  refuses(masq([{ ...WEB, to: '[fd5a:ceb9:ed8d:1::2]:0' }]), facts(), 'masquerade[0].forwards[0].to', /1-65535/);
  refuses(masq([{ ...WEB, to: '[not-an-address]:80' }]), facts(), 'masquerade[0].forwards[0].to');
});

test('"to" must be an inside host of the entry (any address with "source": "docker")', () => {
  refuses(masq([{ ...WEB, to: '[fd5a:ceb9:ed8d:2::2]:80' }]), facts(), 'masquerade[0].forwards[0].to', /is in none of masquerade\[0\]\.source's prefixes/);
  refuses(masq([{ ...WEB, to: `[${HOST}]:80` }], { source: ['fd5a:ceb9:ed8d:1::/64', 'docker'] }), facts(), 'masquerade[0].forwards[0].to', /masquerade address itself/);
  const docker = compileGatewayConfig(masq([{ ...WEB, to: '[fd5a:ceb9:ed8d:2::2]:80' }], { source: 'docker' }), facts());
  assert.equal(docker.masquerade[0]!.forwards!.length, 1);
});

test('a port the host itself listens on (wildcard or the masquerade address) is refused; another protocol or address is not', () => {
  const any = { address: Buffer.alloc(16), port: 8080 };
  refuses(masq([WEB]), facts({ tcp: [any] }), 'masquerade[0].forwards[0].port', /tcp port 8080 is one this host itself listens on \(\[::\]:8080\)/, /another port/);
  refuses(masq([WEB]), facts({ tcp: [{ address: address(HOST), port: 8080 }] }), 'masquerade[0].forwards[0].port', /listens on/);
  refuses(masq([{ ...WEB, protocol: 'udp' }]), facts({ udp: [any] }), 'masquerade[0].forwards[0].port', /udp port 8080 is one this host itself has a socket bound to/);
  assert.ok(compileGatewayConfig(masq([WEB]), facts({ udp: [any] })));
  assert.ok(compileGatewayConfig(masq([WEB]), facts({ tcp: [{ address: address('::1'), port: 8080 }] })));
});

test('two forwards on one port, or to one inside endpoint, are refused', () => {
  refuses(masq([WEB, { ...WEB, to: '[fd5a:ceb9:ed8d:1::3]:80' }]), facts(), 'masquerade[0].forwards[1].port', /already published by masquerade\[0\]\.forwards\[0\]/);
  refuses(masq([WEB, { ...WEB, port: 8081 }]), facts(), 'masquerade[0].forwards[1].to', /already the target of masquerade\[0\]\.forwards\[0\]/);
  assert.ok(compileGatewayConfig(masq([WEB, { ...WEB, protocol: 'udp' }]), facts()));
});

test('/proc/net/tcp6 and udp6: listening TCP and unconnected UDP sockets, addresses in kernel word order', () => {
  const header = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  const line = (local: string, st: string) => `   0: ${local} 00000000000000000000000000000000:0000 ${st} 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n`;
  const tcp = header + line('00000000000000000000000000000000:1F90', '0A') + line('00000000000000000000000001000000:0016', '0A') + line('00000000000000000000000001000000:A000', '01');
  assert.deepEqual(parseProcNet6(tcp, 'tcp'), [
    { address: Buffer.alloc(16), port: 8080, inode: 1 },
    { address: address('::1'), port: 22, inode: 1 },
  ]);
  // fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5 as the kernel prints it: four 32-bit words, each little-endian.
  const udp = header + line('B9CE5AFD0AFE8DEDD86157EDA5ABEB20:0035', '07') + line('B9CE5AFD0AFE8DEDD86157EDA5ABEB20:0036', '01') + 'garbage\n';
  assert.deepEqual(parseProcNet6(udp, 'udp'), [{ address: address(HOST), port: 53, inode: 1 }]);
  assert.deepEqual(parseProcNet6(udp, 'tcp'), []);
});

test('rules: inbound TCP/UDP to each published port of the masquerade address is queued too, and the rules change with them', () => {
  const c = compileGatewayConfig(masq([WEB, { protocol: 'udp', port: 5353, to: '[fd5a:ceb9:ed8d:1::3]:53' }]), facts());
  const rules = { nptv6: [], hairpinMark: c.config.hairpinMark, queues: c.config.queues, masquerade: c.config.masquerade };
  const plan = buildRulePlan(rules);
  assert.deepEqual(plan.inbound.masquerade[0]!.ports, [
    { min: 20000, max: 29999 },
    { min: 8080, max: 8080 },
    { min: 5353, max: 5353 },
  ]);
  const none = compileGatewayConfig({ masquerade: [entry] }, facts());
  assert.notEqual(ruleKey(rules), ruleKey({ ...rules, masquerade: none.config.masquerade }));
});

// Docker's userland proxy listens on every port published with -p; npt66 rewrites those packets before local
// delivery, so docker-proxy's socket is no host service to protect (src/listening-ports.ts).
test('a port docker-proxy listens on is not the host\'s own: a forward there is accepted; any other program\'s is refused', () => {
  const proxy = { address: Buffer.alloc(16), port: 8080, inode: 4242 };
  assert.ok(compileGatewayConfig(masq([WEB]), facts({ tcp: [proxy] }, { 4242: 'docker-proxy' })));
  refuses(masq([WEB]), facts({ tcp: [proxy] }, { 4242: 'nginx' }), 'masquerade[0].forwards[0].port', /listens on/);
  refuses(masq([WEB]), facts({ tcp: [proxy] }), 'masquerade[0].forwards[0].port', /listens on/);
  // dockerd may serve its API on TCP: only a port Docker itself publishes may be dockerd's (see below).
  refuses(masq([WEB]), facts({ tcp: [proxy] }, { 4242: 'dockerd' }), 'masquerade[0].forwards[0].port', /listens on/);
});

test('socketProgram finds the program holding a listening socket (this test itself)', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '::', r));
  try {
    const port = (server.address() as { port: number }).port;
    const mine = (readListeningSockets('tcp') ?? []).find((s) => s.port === port);
    assert.ok(mine?.inode, 'the socket is in /proc/net/tcp6 with its inode');
    assert.equal(socketProgram(mine.inode), readFileSync('/proc/self/comm', 'utf8').trim());
    assert.equal(socketProgram(0xfffffff0), null);
  } finally {
    server.close();
  }
});

// Docker's published ports beside the static forwards (masquerade[i].forwards compiled): static wins.
test('Docker published ports become forwards to the container\'s address in a masqueraded subnet; each refusal says why', () => {
  const ctx = {
    field: 'masquerade[0]',
    address: address(HOST),
    ports: { min: 20000, max: 29999 },
    privilegedPorts: false,
    subnets: [parsePrefix('fd5a:ceb9:ed8d:1::/64', 't')],
  };
  const pub = (container: string, protocol: 'tcp' | 'udp', port: number, containerPort: number, addresses = ['fd5a:ceb9:ed8d:1::2']): DockerPublished => ({
    container,
    protocol,
    port,
    containerPort,
    addresses,
  });
  const statics = [{ protocol: 'tcp' as const, port: 9000, inside: address('fd5a:ceb9:ed8d:1::9'), insidePort: 80 }];
  const proxy = { address: Buffer.alloc(16), port: 8080, inode: 7 };
  const { forwards, refused } = dockerForwards(
    [
      pub('web', 'tcp', 8080, 80, ['fd00:4::2', 'fd5a:ceb9:ed8d:1::2']),
      pub('dns', 'udp', 5353, 53, ['fd5a:ceb9:ed8d:1::3']),
      pub('clash', 'tcp', 9000, 80),
      pub('ranged', 'tcp', 20080, 80),
      pub('v4only', 'tcp', 8081, 80, []),
      pub('again', 'tcp', 8082, 80, ['fd5a:ceb9:ed8d:1::2']),
      pub('same', 'tcp', 8083, 80, ['fd5a:ceb9:ed8d:1::9']),
      pub('busy', 'udp', 6000, 53, ['fd5a:ceb9:ed8d:1::4']),
      pub('noproxy', 'tcp', 7070, 80, ['fd5a:ceb9:ed8d:1::5']),
    ],
    statics,
    ctx,
    // With "userland-proxy": false, dockerd itself holds a published port (seen with dockerd 20.10).
    facts(
      { tcp: [proxy, { address: Buffer.alloc(16), port: 7070, inode: 9 }], udp: [{ address: Buffer.alloc(16), port: 6000, inode: 8 }] },
      { 7: 'docker-proxy', 8: 'named', 9: 'dockerd' },
    ),
  );
  assert.deepEqual(forwards, [
    { protocol: 'tcp', port: 8080, inside: address('fd5a:ceb9:ed8d:1::2'), insidePort: 80 },
    { protocol: 'udp', port: 5353, inside: address('fd5a:ceb9:ed8d:1::3'), insidePort: 53 },
    { protocol: 'tcp', port: 7070, inside: address('fd5a:ceb9:ed8d:1::5'), insidePort: 80 },
  ]);
  const why = Object.fromEntries(refused.map((r) => [r.published.container, r.why]));
  assert.deepEqual(Object.keys(why), ['clash', 'ranged', 'v4only', 'again', 'same', 'busy']);
  assert.match(why.clash!, /masquerade\[0\]\.forwards\[0\] publishes tcp port 9000 too: the static forward wins/);
  assert.match(why.ranged!, /20080 lies in masquerade\[0\]\.ports/);
  assert.match(why.v4only!, /no IPv6 address in a Docker subnet masquerade\[0\] masquerades \(no IPv6 address at all\)/);
  assert.match(why.again!, /already published on tcp port 8080/);
  assert.match(why.same!, /already the target of masquerade\[0\]\.forwards\[0\]: the static forward wins/);
  assert.match(why.busy!, /udp port 6000 is one this host itself has a socket bound to/);
});
