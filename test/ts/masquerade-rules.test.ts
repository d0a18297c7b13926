// Masquerade's netfilter rules as exact argv lists (and nft lines): outbound by source and interface, inbound only
// what can belong to a mapping (the port range, echo replies, ICMPv6 errors), ND/MLD never queued.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { installArgv, nftRuleset, planRules, ruleKey, type RuleConfig } from '../../src/rules';

const HOST = 'fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5';
const W = ['ip6tables', '-w'];

const docker: RuleConfig = {
  nptv6: [],
  queues: { first: 0, count: 1 },
  hairpinMark: 0x10000000,
  masquerade: [{ source: 'fd5a:ceb9:ed8d:1::/64', interface: 'ens192', address: HOST, ports: '20000-29999' }],
};

test('masquerade only: the exact ip6tables commands, in order', () => {
  const raw = (chain: string, ...args: string[]) => [...W, '-t', 'raw', '-A', chain, ...args];
  const icmp = (t: number) => raw('NPT66-IN-1', '-d', HOST, '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', String(t), '-g', 'NPT66-INQ-1');
  const never = (table: string, chain: string) =>
    [130, 131, 132, 133, 134, 135, 136, 137, 143].map((t) => [...W, '-t', table, '-A', chain, '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', String(t), '-j', 'RETURN']);
  assert.deepEqual(installArgv(planRules(docker, 1)), [
    [...W, '-t', 'raw', '-N', 'NPT66-INQ-1'],
    [...W, '-t', 'raw', '-N', 'NPT66-IN-1'],
    [...W, '-t', 'mangle', '-N', 'NPT66-NDOUT-1'],
    [...W, '-t', 'mangle', '-N', 'NPT66-OUTQ-1'],
    [...W, '-t', 'mangle', '-N', 'NPT66-OUT-1'],
    [...W, '-t', 'mangle', '-N', 'NPT66-ERR-1'],
    [...W, '-t', 'raw', '-N', 'NPT66-DEFRAG-1'],
    // The host's own packets to its masquerade address (on lo) are its own business (plan.ts, Loopback).
    raw('NPT66-IN-1', '-i', 'lo', '-d', HOST, '-j', 'RETURN'),
    raw('NPT66-IN-1', '-d', HOST, '-p', 'tcp', '-m', 'tcp', '--dport', '20000:29999', '-g', 'NPT66-INQ-1'),
    raw('NPT66-IN-1', '-d', HOST, '-p', 'udp', '-m', 'udp', '--dport', '20000:29999', '-g', 'NPT66-INQ-1'),
    icmp(1), // destination unreachable
    icmp(2), // packet too big
    icmp(3), // time exceeded
    icmp(4), // parameter problem
    icmp(129), // echo reply
    ...never('raw', 'NPT66-INQ-1'),
    raw('NPT66-INQ-1', '-j', 'NFQUEUE', '--queue-num', '0'),
    [...W, '-t', 'mangle', '-A', 'NPT66-OUT-1', '-o', 'ens192', '-s', 'fd5a:ceb9:ed8d:1::/64', '-g', 'NPT66-OUTQ-1'],
    [...W, '-t', 'mangle', '-A', 'NPT66-OUT-1', '-m', 'mark', '--mark', '0x10000000/0x10000000', '-g', 'NPT66-OUTQ-1'],
    ...[130, 131, 132, 133, 134, 135, 136, 137, 143].map((t) => [...W, '-t', 'mangle', '-A', 'NPT66-OUTQ-1', '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', String(t), '-g', 'NPT66-NDOUT-1']),
    [...W, '-t', 'mangle', '-A', 'NPT66-OUTQ-1', '-j', 'NFQUEUE', '--queue-num', '0'],
    [...W, '-t', 'mangle', '-A', 'NPT66-NDOUT-1', '-s', 'fe80::/10', '-j', 'RETURN'],
    [...W, '-t', 'mangle', '-A', 'NPT66-NDOUT-1', '-s', '::/128', '-j', 'RETURN'],
    [...W, '-t', 'mangle', '-A', 'NPT66-NDOUT-1', '-d', 'ff00::/8', '-j', 'RETURN'],
    [...W, '-t', 'mangle', '-A', 'NPT66-NDOUT-1', '-d', 'fe80::/10', '-j', 'RETURN'],
    [...W, '-t', 'mangle', '-A', 'NPT66-NDOUT-1', '-j', 'NFQUEUE', '--queue-num', '0'],
    // The host's own ICMPv6 errors leaving by the outside interface (quoting a container's address and port).
    ...[1, 2, 3, 4].map((t) => [...W, '-t', 'mangle', '-A', 'NPT66-ERR-1', '-o', 'ens192', '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', String(t), '-j', 'NFQUEUE', '--queue-num', '0']),
    // Never jumped to: the conntrack match keeps the kernel's IPv6 reassembly on while the rule exists.
    [...W, '-t', 'raw', '-A', 'NPT66-DEFRAG-1', '-m', 'conntrack', '--ctstate', 'INVALID'],
    [...W, '-t', 'raw', '-I', 'PREROUTING', '1', '-j', 'NPT66-IN-1'],
    [...W, '-t', 'mangle', '-I', 'POSTROUTING', '1', '-j', 'NPT66-OUT-1'],
    [...W, '-t', 'mangle', '-I', 'OUTPUT', '1', '-j', 'NPT66-ERR-1'],
  ]);
});

test('never queued inbound: echo requests, ND, MLD, and TCP/UDP outside the range (the host\'s own sockets)', () => {
  const all = planRules(docker, 1).rules.filter((r) => r.chain === 'NPT66-IN-1').map((r) => r.args.join(' '));
  assert.equal(all[0], `-i lo -d ${HOST} -j RETURN`, 'the host\'s own packets to the address first: never queued');
  const args = all.slice(1);
  for (const t of [128, 130, 133, 134, 135, 136, 137, 143]) assert.ok(!args.some((a) => a.endsWith(`--icmpv6-type ${t} -g NPT66-INQ-1`)), `type ${t}`);
  assert.ok(args.every((a) => a.startsWith(`-d ${HOST} `)), 'only packets to the masquerade address');
  assert.ok(!args.some((a) => a.includes('-i ')), 'no -i: inside hosts reaching the address are queued too (hairpinning)');
  assert.deepEqual(args.filter((a) => a.includes('--dport')).map((a) => a.split(' ').slice(2, 8).join(' ')), ['-p tcp -m tcp --dport 20000:29999', '-p udp -m udp --dport 20000:29999']);
});

test('NPTv6 and masquerade together; several sources; privilegedPorts adds 1:1023; the hairpin mark stays NPTv6-only', () => {
  const both: RuleConfig = {
    nptv6: [{ inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff67::/64', interface: 'eth1' }],
    queues: { first: 3, count: 2 },
    hairpinMark: 0x10000000,
    masquerade: [{ source: ['fd5a:ceb9:ed8d:1::/64', 'fd5a:ceb9:ed8d:2::/64'], interface: 'eth1', address: '2001:db8:5::1', ports: '40000-40999', privilegedPorts: true }],
  };
  const rules = installArgv(planRules(both, 2)).filter((a) => a[4] === '-A' && !a.includes('RETURN') && !a.includes('icmp6') && !['NPT66-NDOUT-2', 'NPT66-DEFRAG-2'].includes(a[5]!));
  assert.deepEqual(rules.map((a) => a.slice(2)), [
    ['-t', 'raw', '-A', 'NPT66-IN-2', '-d', '2001:db8:ff67::/64', '-g', 'NPT66-INQ-2'],
    ['-t', 'raw', '-A', 'NPT66-IN-2', '-d', '2001:db8:5::1', '-p', 'tcp', '-m', 'tcp', '--dport', '1:1023', '-g', 'NPT66-INQ-2'],
    ['-t', 'raw', '-A', 'NPT66-IN-2', '-d', '2001:db8:5::1', '-p', 'udp', '-m', 'udp', '--dport', '1:1023', '-g', 'NPT66-INQ-2'],
    ['-t', 'raw', '-A', 'NPT66-IN-2', '-d', '2001:db8:5::1', '-p', 'tcp', '-m', 'tcp', '--dport', '40000:40999', '-g', 'NPT66-INQ-2'],
    ['-t', 'raw', '-A', 'NPT66-IN-2', '-d', '2001:db8:5::1', '-p', 'udp', '-m', 'udp', '--dport', '40000:40999', '-g', 'NPT66-INQ-2'],
    ['-t', 'raw', '-A', 'NPT66-INQ-2', '-i', 'eth1', '-j', 'NFQUEUE', '--queue-balance', '3:4'],  // from outside: never hairpin
    ['-t', 'raw', '-A', 'NPT66-INQ-2', '-s', 'fd5a:ceb9:ed8d:fefc::/64', '-j', 'MARK', '--set-xmark', '0x10000000/0x10000000'],
    ['-t', 'raw', '-A', 'NPT66-INQ-2', '-j', 'NFQUEUE', '--queue-balance', '3:4'],
    ['-t', 'mangle', '-A', 'NPT66-OUT-2', '-o', 'eth1', '-s', 'fd5a:ceb9:ed8d:fefc::/64', '-g', 'NPT66-OUTQ-2'],
    ['-t', 'mangle', '-A', 'NPT66-OUT-2', '-o', 'eth1', '-s', 'fd5a:ceb9:ed8d:1::/64', '-g', 'NPT66-OUTQ-2'],
    ['-t', 'mangle', '-A', 'NPT66-OUT-2', '-o', 'eth1', '-s', 'fd5a:ceb9:ed8d:2::/64', '-g', 'NPT66-OUTQ-2'],
    ['-t', 'mangle', '-A', 'NPT66-OUT-2', '-m', 'mark', '--mark', '0x10000000/0x10000000', '-g', 'NPT66-OUTQ-2'],
    ['-t', 'mangle', '-A', 'NPT66-OUTQ-2', '-j', 'NFQUEUE', '--queue-balance', '3:4'],
  ]);
});

test('the nft ruleset carries the same masquerade rules', () => {
  const text = nftRuleset(docker);
  assert.match(
    text,
    new RegExp(
      [
        `    ip6 daddr ${HOST} tcp dport 20000-29999 goto inbound_queue`,
        `    ip6 daddr ${HOST} udp dport 20000-29999 goto inbound_queue`,
        `    ip6 daddr ${HOST} icmpv6 type \\{ 1, 2, 3, 4, 129 \\} goto inbound_queue`,
      ].join('\n'),
    ),
  );
  assert.match(text, /    oifname "ens192" ip6 saddr fd5a:ceb9:ed8d:1::\/64 goto outbound_queue\n/);
  assert.match(text, /\n  chain own_errors \{\n    type filter hook output priority mangle; policy accept;\n    oifname "ens192" icmpv6 type \{ 1, 2, 3, 4 \} queue num 0\n  \}\n/);
  assert.match(text, /\n  chain defrag \{\n    ct state invalid counter\n  \}\n\}\n$/);
  assert.doesNotMatch(text, /goto defrag|jump defrag/, 'nothing jumps to it: it only has to exist');
});

test('masquerade keeps the kernel\'s IPv6 reassembly on: a conntrack match in a chain nothing jumps to', () => {
  const plan = planRules(docker, 4);
  assert.deepEqual(plan.chains.at(-1), { table: 'raw', name: 'NPT66-DEFRAG-4' });
  assert.deepEqual(plan.rules.filter((r) => r.chain === 'NPT66-DEFRAG-4').map((r) => r.args), [['-m', 'conntrack', '--ctstate', 'INVALID']]);
  assert.ok(!plan.rules.some((r) => r.args.includes('NPT66-DEFRAG-4')), 'never jumped to: no packet pays for it');
  assert.ok(!plan.jumps.some((j) => j.chain === 'NPT66-DEFRAG-4'));
});

test('ruleKey changes with the masquerade rules and not with table-only settings', () => {
  const moved = { ...docker, masquerade: [{ ...docker.masquerade![0]!, ports: '20000-20999' }] };
  assert.notEqual(ruleKey(docker), ruleKey(moved));
  assert.equal(ruleKey({ ...docker, masquerade: [{ ...docker.masquerade![0]!, privilegedPorts: false }] }), ruleKey(docker));
});

// An address that follows its interface (issue 10): every address in force is queued inbound and returned on lo;
// none (the interface has no address now): nothing is queued inbound for the entry, outbound still is (dropped).
test('the outside addresses in force: the one in use and those kept each get the inbound rules; none: only outbound', () => {
  const B = 'fd5a:ceb9:ed8d:fe0a::b';
  const live = (addresses: string[]): RuleConfig => ({ ...docker, masquerade: [{ ...docker.masquerade![0]!, addresses }] });
  const inbound = (c: RuleConfig) => installArgv(planRules(c, 1)).filter((a) => a.includes('NPT66-IN-1') && a.includes('-d')).map((a) => a[a.indexOf('-d') + 1]);
  const both = inbound(live([B, HOST]));
  assert.deepEqual([...new Set(both)], [B, HOST]);
  assert.equal(both.filter((d) => d === B).length, both.filter((d) => d === HOST).length, 'the same rules for each');
  assert.deepEqual(inbound(live([])), []);
  assert.ok(installArgv(planRules(live([]), 1)).some((a) => a.includes('NPT66-OUT-1') && a.includes('-s')), 'outbound still queued');
  assert.notEqual(ruleKey(live([B])), ruleKey(live([B, HOST])));
});

// A reload that moved the port range (issue 10 part 3): ports mappings of the earlier range still hold stay queued
// inbound beside the new range, by both renderers, until none is held (src/masquerade-kept-ports.ts).
test('kept ports of an earlier range are queued inbound beside the range, and change the rule key', () => {
  const kept: RuleConfig = { ...docker, masquerade: [{ ...docker.masquerade![0]!, ports: '21000-21999', keptPorts: [{ min: 20000, max: 20999 }, { min: 22000, max: 29999 }] }] };
  const dports = installArgv(planRules(kept, 1)).filter((a) => a.includes('--dport')).map((a) => `${a[a.indexOf('-p') + 1]} ${a[a.indexOf('--dport') + 1]}`);
  assert.deepEqual(dports, ['tcp 21000:21999', 'udp 21000:21999', 'tcp 20000:20999', 'udp 20000:20999', 'tcp 22000:29999', 'udp 22000:29999']);
  assert.match(nftRuleset(kept), new RegExp(`ip6 daddr ${HOST} tcp dport 22000-29999 goto inbound_queue`));
  assert.notEqual(ruleKey(kept), ruleKey({ ...kept, masquerade: [{ ...kept.masquerade![0]!, keptPorts: [] }] }));
});
