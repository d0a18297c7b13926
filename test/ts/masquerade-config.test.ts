// The "masquerade" configuration: defaults, the address taken from the interface, the port range against a given
// net.ipv4.ip_local_port_range, NPTv6 overlaps, unknown keys, the UDP timeout floor, and the conntrack warnings.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { compileGatewayConfig } from '../../src/gateway-config';
import { parseIpAddrJson, type HostFacts, type InterfaceAddress } from '../../src/host-facts';
import { conntrackWarnings, stableAddress } from '../../src/masquerade-config';
import { assertRefused } from './lib/config_refusal';

const HOST = 'fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5';
const entry = { source: 'fd5a:ceb9:ed8d:1::/64', interface: 'ens192', address: HOST, ports: '20000-29999' };
const nptv6 = { inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' };

function facts(over: Partial<{ range: [number, number] | null; addresses: Record<string, InterfaceAddress[]>; conntrack: ReturnType<HostFacts['conntrackTimeouts']> }> = {}): HostFacts {
  return {
    localPortRange: () => (over.range === undefined ? [32768, 60999] : over.range),
    interfaceAddresses: (name) => over.addresses?.[name] ?? null,
    conntrackTimeouts: () => over.conntrack ?? { udpStream: null, tcpEstablished: null, icmpv6: null },
  };
}

function refuses(config: unknown, f: HostFacts, field: string, ...patterns: RegExp[]): string {
  return assertRefused(() => compileGatewayConfig(config, f), config, field, ...patterns);
}

const masq = (extra: Record<string, unknown> = {}) => ({ masquerade: [{ ...entry, ...extra }] });

test('the issue example alone is a valid configuration; every default is filled in; the engine gets milliseconds', () => {
  const c = compileGatewayConfig(masq(), facts());
  assert.deepEqual(c.config.nptv6, []);
  assert.deepEqual(c.config.masquerade, [
    {
      ...entry,
      filtering: 'address-dependent',
      timeouts: { udp: 300, tcpEstablished: 7440, tcpTransitory: 240, icmp: 60 },
      maxMappings: 1048576,
      maxPerHost64: 2000,
      maxRemotesPerMapping: 1024,
      inboundRefresh: true,
      privilegedPorts: false,
    },
  ]);
  assert.equal(c.config.masquerade[0]!.addressFrom, undefined);
  assert.deepEqual(c.warnings, []);
  assert.deepEqual(c.masquerade, [
    {
      sources: [{ prefix: Buffer.from('fd5aceb9ed8d00010000000000000000', 'hex'), length: 64 }],
      addresses: [Buffer.from('fd5aceb9ed8dfe0aed5761d820ebaba5', 'hex')],
      portMin: 20000,
      portMax: 29999,
      filtering: 'address-dependent',
      timeouts: { udpMs: 300000, tcpEstablishedMs: 7440000, tcpTransitoryMs: 240000, icmpMs: 60000 },
      maxMappings: 1048576,
      maxPerHost64: 2000,
      maxRemotesPerMapping: 1024,
      inboundRefresh: true,
      privilegedPorts: false,
    },
  ]);
});

test('explicit options are kept; the address is printed canonically; several sources in one entry', () => {
  const c = compileGatewayConfig(
    masq({
      source: ['fd5a:ceb9:ed8d:1::/64', 'fd5a:ceb9:ed8d:2::/64'],
      address: 'FD5A:CEB9:ED8D:FE0A:ED57:61D8:20EB:ABA5',
      ports: '1024-1024',
      filtering: 'endpoint-independent',
      timeouts: { udp: 120, tcpEstablished: 8000, tcpTransitory: 300, icmp: 90 },
      maxMappings: 10,
      maxPerHost64: 2,
      maxRemotesPerMapping: 3,
      inboundRefresh: false,
      privilegedPorts: true,
    }),
    facts(),
  );
  const m = c.config.masquerade[0]!;
  assert.equal(m.address, HOST);
  assert.equal(c.masquerade[0]!.sources.length, 2);
  assert.equal(c.masquerade[0]!.filtering, 'endpoint-independent');
  assert.equal(c.masquerade[0]!.maxRemotesPerMapping, 3);
  assert.deepEqual(c.masquerade[0]!.timeouts, { udpMs: 120000, tcpEstablishedMs: 8000000, tcpTransitoryMs: 300000, icmpMs: 90000 });
  assert.deepEqual([c.masquerade[0]!.portMin, c.masquerade[0]!.portMax, c.masquerade[0]!.maxPerHost64], [1024, 1024, 2]);
  assert.equal(c.masquerade[0]!.inboundRefresh, false);
});

test('maxPerHost64: 2000 by default, well below the default range; at or above the range size a warning (RFC 6888 REQ-4)', () => {
  const byDefault = compileGatewayConfig(masq({ ports: undefined }), facts());
  assert.equal(byDefault.config.masquerade[0]!.ports, '20000-29999');
  assert.equal(byDefault.masquerade[0]!.maxPerHost64, 2000);
  assert.deepEqual(byDefault.warnings, []);
  const greedy = compileGatewayConfig(masq({ maxPerHost64: 10000 }), facts());
  assert.deepEqual(greedy.warnings, [
    {
      field: 'masquerade[0].maxPerHost64',
      message:
        '10000 is not below the 10000 ports of "20000-29999": one inside host (one /64) can take every outside port and ICMPv6 echo identifier and lock every other host out (RFC 6888 REQ-4); lower it well below 10000 (the default is 2000) or widen "ports"',
    },
  ]);
  assert.equal(greedy.masquerade[0]!.maxPerHost64, 10000, 'a warning, not a refusal');
  // The default against a narrow range: warned too, naming that range.
  const narrow = compileGatewayConfig(masq({ ports: '20000-21999' }), facts());
  assert.deepEqual(narrow.warnings.map((w) => [w.field, w.message.split(':')[0]]), [['masquerade[0].maxPerHost64', '2000 is not below the 2000 ports of "20000-21999"']]);
  assert.deepEqual(compileGatewayConfig(masq({ ports: '20000-22000' }), facts()).warnings, []);
  assert.deepEqual(compileGatewayConfig(masq({ maxPerHost64: 9999 }), facts()).warnings, []);
});

test('"address" omitted: the interface\'s first stable global address; temporary, deprecated, tentative skipped', () => {
  const addresses = {
    ens192: [
      { address: '2001:db8:1::aaaa', prefixLength: 64, flags: ['temporary'] },
      { address: '2001:db8:1::bbbb', prefixLength: 64, flags: ['deprecated'] },
      { address: '2001:db8:1::cccc', prefixLength: 64, flags: ['tentative'] },
      { address: HOST, prefixLength: 64, flags: ['nodad'] },
      { address: '2001:db8:1::dddd', prefixLength: 64, flags: [] },
    ],
  };
  const c = compileGatewayConfig(masq({ address: undefined }), facts({ addresses }));
  assert.equal(c.config.masquerade[0]!.address, HOST);
  assert.equal(c.config.masquerade[0]!.addressFrom, 'interface');
});

test('"address" omitted: a clear error when the interface is missing or has no stable global address', () => {
  refuses(masq({ address: undefined }), facts(), 'masquerade[0].address', /is not given and interface "ens192" does not exist here/, /give "address" explicitly/);
  refuses(masq({ address: undefined }), facts({ addresses: { ens192: [] } }), 'masquerade[0].address', /has no stable global IPv6 address to default to \(it has no global IPv6 address;/, /ip -6 addr add ADDRESS\/64 dev ens192/);
  refuses(
    masq({ address: undefined }),
    facts({ addresses: { ens192: [{ address: '2001:db8::1', prefixLength: 64, flags: ['temporary', 'deprecated'] }] } }),
    'masquerade[0].address',
    /it has only 2001:db8::1 \(temporary, deprecated\)/,
  );
});

test('`ip -j -6 addr show` output is read with its flags (and iproute2\'s trailing empty object)', () => {
  const text =
    '[{"ifindex":3,"ifname":"v0","addr_info":[{"family":"inet6","local":"2001:db8::7","prefixlen":64,"scope":"global","tentative":true,"valid_life_time":4294967295,"preferred_life_time":4294967295},' +
    '{"family":"inet6","local":"2001:db8::6","prefixlen":64,"scope":"global","nodad":true,"valid_life_time":4294967295,"preferred_life_time":0},' +
    '{"family":"inet6","local":"2001:db8::5","prefixlen":64,"scope":"global","nodad":true,"valid_life_time":4294967295,"preferred_life_time":4294967295},{}]}]';
  const parsed = parseIpAddrJson(text);
  assert.deepEqual(parsed, [
    { address: '2001:db8::7', prefixLength: 64, flags: ['tentative'] },
    { address: '2001:db8::6', prefixLength: 64, flags: ['nodad', 'deprecated'] },
    { address: '2001:db8::5', prefixLength: 64, flags: ['nodad'] },
  ]);
  assert.equal(stableAddress(parsed), '2001:db8::5');
});

test('ports: a range overlapping net.ipv4.ip_local_port_range is refused, with a free range and the sysctl to move it', () => {
  const msg = refuses(
    masq({ ports: '30000-39999' }),
    facts({ range: [32768, 60999] }),
    'masquerade[0].ports',
    /30000-39999 overlaps net\.ipv4\.ip_local_port_range \(32768-60999\), the ports this host's own sockets \(IPv6 ones too\) pick from/,
    /Pick a range outside 32768-60999, e\.g\. "22768-32767"/,
    /or move the local range: sysctl -w net\.ipv4\.ip_local_port_range="40000 60999"/,
  );
  assert.match(msg, /\/etc\/sysctl\.d\//);
  // Touching one end is an overlap too; just below is not.
  refuses(masq({ ports: '20000-32768' }), facts({ range: [32768, 60999] }), 'masquerade[0].ports', /overlaps/);
  refuses(masq({ ports: '60999-61000' }), facts({ range: [32768, 60999] }), 'masquerade[0].ports', /overlaps/, /e\.g\. "61000-61001"|e\.g\. "32766-32767"/);
  assert.equal(compileGatewayConfig(masq({ ports: '20000-32767' }), facts({ range: [32768, 60999] })).masquerade[0]!.portMax, 32767);
  // Another host's range: what counts is the namespace the daemon runs in.
  assert.equal(compileGatewayConfig(masq({ ports: '40000-49999' }), facts({ range: [50000, 60999] })).masquerade[0]!.portMin, 40000);
  refuses(masq(), facts({ range: [1024, 65535] }), 'masquerade[0].ports', /overlaps net\.ipv4\.ip_local_port_range \(1024-65535\)/, /sysctl -w net\.ipv4\.ip_local_port_range="30000 65535"/);
  // Unreadable (not Linux): not checked.
  assert.equal(compileGatewayConfig(masq({ ports: '32768-40000' }), facts({ range: null })).masquerade[0]!.portMin, 32768);
});

test('ports: syntax and bounds', () => {
  refuses(masq({ ports: '20000' }), facts(), 'masquerade[0].ports', /must be a string "MIN-MAX" with 1024 <= MIN <= MAX <= 65535/, /got "20000"/);
  refuses(masq({ ports: 20000 }), facts(), 'masquerade[0].ports', /got 20000/);
  refuses(masq({ ports: '1000-2000' }), facts(), 'masquerade[0].ports', /"1000-2000" must be MIN-MAX with 1024 <= MIN <= MAX <= 65535 \(inside ports below 1024 are kept below 1024 automatically\)/);
  refuses(masq({ ports: '29999-20000' }), facts(), 'masquerade[0].ports', /"29999-20000" must be MIN-MAX/);
  refuses(masq({ ports: '20000-70000' }), facts(), 'masquerade[0].ports', /"20000-70000" must be MIN-MAX/);
});

test('NPTv6 overlaps that would make a packet ambiguous are refused, naming the field and the fix', () => {
  // A masquerade source inside an NPTv6 inside prefix (and the other way round).
  refuses(
    { nptv6: [nptv6], ...masq({ source: 'fd5a:ceb9:ed8d:fe0a:1::/80' }) },
    facts(),
    'masquerade[0].source',
    /fd5a:ceb9:ed8d:fe0a:1::\/80 overlaps nptv6\[0\]\.inside \(fd5a:ceb9:ed8d:fe0a::\/64\)/,
    /could be NPTv6-translated or masqueraded/,
    /masquerade only prefixes outside the NPTv6 inside prefixes/,
  );
  refuses({ nptv6: [nptv6], ...masq({ source: 'fd5a:ceb9:ed8d::/48' }) }, facts(), 'masquerade[0].source', /overlaps nptv6\[0\]\.inside/);
  refuses({ nptv6: [nptv6], ...masq({ source: ['fd5a:ceb9:ed8d:1::/64', 'fd5a:ceb9:ed8d:fe0a::/64'] }) }, facts(), 'masquerade[0].source[1]', /overlaps nptv6\[0\]\.inside/);
  // A masquerade address inside an NPTv6 outside prefix.
  refuses(
    { nptv6: [nptv6], ...masq({ address: '2001:db8:ff66::1' }) },
    facts(),
    'masquerade[0].address',
    /2001:db8:ff66::1 lies inside nptv6\[0\]\.outside \(2001:db8:ff66::\/64\)/,
    /could be a reply to NPTv6 or to masquerade/,
    /use an address outside every NPTv6 outside prefix/,
  );
  // Not ambiguous: the masquerade address inside an NPTv6 INSIDE prefix (the seed's Docker host address is one).
  assert.equal(compileGatewayConfig({ nptv6: [nptv6], ...masq() }, facts()).config.masquerade[0]!.address, HOST);
});

test('masquerade entries among themselves: overlapping sources, a shared address, an address in its own source', () => {
  const second = { ...entry, source: 'fd5a:ceb9:ed8d:1:8000::/65', address: '2001:db8::2' };
  refuses({ masquerade: [entry, second] }, facts(), 'masquerade[1].source', /overlaps masquerade\[0\]\.source \(fd5a:ceb9:ed8d:1::\/64\)/);
  refuses(
    { masquerade: [entry, { ...entry, source: 'fd5a:ceb9:ed8d:2::/64' }] },
    facts(),
    'masquerade[1].address',
    /is already the address of masquerade\[0\]/,
    /give both sources in one entry \("source": \["PREFIX1", "PREFIX2"\]\)/,
  );
  refuses(masq({ address: 'fd5a:ceb9:ed8d:1::1' }), facts(), 'masquerade[0].address', /lies inside the source prefix fd5a:ceb9:ed8d:1::\/64/);
  assert.equal(compileGatewayConfig({ masquerade: [entry, { ...entry, source: 'fd5a:ceb9:ed8d:2::/64', address: '2001:db8::2' }] }, facts()).masquerade.length, 2);
});

test('source and address kinds', () => {
  refuses(masq({ source: 'fd5a:ceb9:ed8d:1::1/64' }), facts(), 'masquerade[0].source', /host bits set; did you mean fd5a:ceb9:ed8d:1::\/64\?/);
  refuses(masq({ source: 'fe80::/64' }), facts(), 'masquerade[0].source', /is link-local/);
  refuses(masq({ source: 'ff02::/16' }), facts(), 'masquerade[0].source', /is multicast/);
  refuses(masq({ source: 42 }), facts(), 'masquerade[0].source', /must be the inside prefix to masquerade/, /got 42/);
  refuses(masq({ source: [] }), facts(), 'masquerade[0].source', /got an array/);
  refuses(masq({ address: 'fe80::1' }), facts(), 'masquerade[0].address', /is link-local, which remote hosts cannot reach/);
  refuses(masq({ address: 'ff02::1' }), facts(), 'masquerade[0].address', /is multicast/);
  refuses(masq({ address: '2001:db8::/64' }), facts(), 'masquerade[0].address', /is a prefix; give a single address/);
  refuses(masq({ interface: 'ens192+' }), facts(), 'masquerade[0].interface', /1 to 15 characters/);
  refuses(masq({ filtering: 'symmetric' }), facts(), 'masquerade[0].filtering', /"address-dependent" \(default/, /got "symmetric"/);
});

test('unknown keys stay errors, with suggestions, at every level of an entry', () => {
  refuses(masq({ adress: HOST }), facts(), 'masquerade[0].adress', /unknown key; did you mean "address"\?/, /"source", "interface", "address", "ports"/);
  refuses(masq({ timeouts: { udp: 300, tcp: 7440 } }), facts(), 'masquerade[0].timeouts.tcp', /unknown key/, /"udp", "tcpEstablished", "tcpTransitory", "icmp"/);
  refuses({ masquerad: [entry] }, facts(), 'masquerad', /did you mean "masquerade"\?/);
});

test('timeouts: seconds; UDP never below 120 s (RFC 4787 REQ-5); short TCP/ICMP timers are warnings', () => {
  refuses(masq({ timeouts: { udp: 119 } }), facts(), 'masquerade[0].timeouts.udp', /from 120 to 604800/, /never below 120, RFC 4787 REQ-5/, /got 119/);
  refuses(masq({ timeouts: { udp: 300.5 } }), facts(), 'masquerade[0].timeouts.udp', /got 300\.5/);
  refuses(masq({ timeouts: { icmp: 0 } }), facts(), 'masquerade[0].timeouts.icmp', /got 0/);
  const c = compileGatewayConfig(masq({ timeouts: { udp: 120, tcpEstablished: 30, icmp: 5 } }), facts());
  assert.deepEqual(c.config.masquerade[0]!.timeouts, { udp: 120, tcpEstablished: 30, tcpTransitory: 240, icmp: 5 });
  assert.deepEqual(c.warnings, [
    { field: 'masquerade[0].timeouts.tcpEstablished', message: '30 s is below the 7440 s of RFC 5382 REQ-5 (2 h 4 min): mappings may expire while the flow is still alive' },
    { field: 'masquerade[0].timeouts.icmp', message: '5 s is below the 60 s of RFC 5508 REQ-1 (60 s): mappings may expire while the flow is still alive' },
  ]);
});

test('kernel conntrack timeouts shorter than the table are warned about, with the sysctl that fixes it', () => {
  const { config } = compileGatewayConfig(masq(), facts());
  const warnings = conntrackWarnings(config.masquerade, facts({ conntrack: { udpStream: 120, tcpEstablished: 432000, icmpv6: 30 } }));
  assert.deepEqual(
    warnings.map((w) => [w.sysctl, w.kernelSeconds, w.tableSeconds]),
    [
      ['net.netfilter.nf_conntrack_udp_timeout_stream', 120, 300],
      ['net.netfilter.nf_conntrack_icmpv6_timeout', 30, 60],
    ],
  );
  assert.equal(
    warnings[0]!.message,
    'kernel conntrack forgets UDP flows after 120 s (net.netfilter.nf_conntrack_udp_timeout_stream) but masquerade keeps their mappings 300 s: ' +
      'a stateful firewall would drop replies to a mapping idle for longer; raise it: sysctl -w net.netfilter.nf_conntrack_udp_timeout_stream=300 (or lower "timeouts.udp")',
  );
  assert.deepEqual(conntrackWarnings(config.masquerade, facts({ conntrack: { udpStream: 300, tcpEstablished: 7440, icmpv6: 60 } })), []);
  assert.deepEqual(conntrackWarnings(config.masquerade, facts()), [], 'no conntrack loaded: nothing to compare');
  assert.deepEqual(conntrackWarnings([], facts({ conntrack: { udpStream: 1, tcpEstablished: 1, icmpv6: 1 } })), []);
});
