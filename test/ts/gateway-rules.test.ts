// The netfilter rules as pure data: given a configuration, the exact ip6tables argv lists and nft ruleset; and the
// backends' command sequences (install before removing on reload, rollback on failure, stale cleanup) against a
// recording runner, so no root is needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  chooseRuleBackend,
  installArgv,
  Ip6tablesRules,
  nftReplaceScript,
  nftRuleset,
  NftRules,
  planRules,
  removeArgv,
  staleArgv,
  type CommandResult,
  type RuleConfig,
} from '../../src/rules';

const one: RuleConfig = {
  nptv6: [{ inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' }],
  queues: { first: 0, count: 1 },
  hairpinMark: 0x10000000,
};

const two: RuleConfig = {
  nptv6: [
    { inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' },
    { inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff67::/64', interface: 'eth2' },
  ],
  queues: { first: 4, count: 3 },
  hairpinMark: 0,
};

const W = ['ip6tables', '-w'];
const ND_MLD = [130, 131, 132, 133, 134, 135, 136, 137, 143];
const neverQueued = (table: string, chain: string) =>
  ND_MLD.map((t) => [...W, '-t', table, '-A', chain, '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', String(t), '-j', 'RETURN']);
// Outbound ND/MLD goes to its own chain: link-scoped ones returned, the rest queued (the engine drops them).
const outboundNd = (gen: number, queue: string[]) => [
  ...ND_MLD.map((t) => [...W, '-t', 'mangle', '-A', `NPT66-OUTQ-${gen}`, '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', String(t), '-g', `NPT66-NDOUT-${gen}`]),
  [...W, '-t', 'mangle', '-A', `NPT66-OUTQ-${gen}`, ...queue],
  [...W, '-t', 'mangle', '-A', `NPT66-NDOUT-${gen}`, '-s', 'fe80::/10', '-j', 'RETURN'],
  [...W, '-t', 'mangle', '-A', `NPT66-NDOUT-${gen}`, '-s', '::/128', '-j', 'RETURN'],
  [...W, '-t', 'mangle', '-A', `NPT66-NDOUT-${gen}`, '-d', 'ff00::/8', '-j', 'RETURN'],
  [...W, '-t', 'mangle', '-A', `NPT66-NDOUT-${gen}`, '-d', 'fe80::/10', '-j', 'RETURN'],
  [...W, '-t', 'mangle', '-A', `NPT66-NDOUT-${gen}`, ...queue],
];

// The gateway's own ICMPv6 errors (types 1-4) leaving by an outside interface, queued in mangle OUTPUT.
const ownErrors = (gen: number, iface: string, queue: string[]) =>
  [1, 2, 3, 4].map((t) => [...W, '-t', 'mangle', '-A', `NPT66-ERR-${gen}`, '-o', iface, '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', String(t), ...queue]);

test('one mapping, one queue, hairpin on: the exact ip6tables commands, in order', () => {
  assert.deepEqual(installArgv(planRules(one, 1)), [
    [...W, '-t', 'raw', '-N', 'NPT66-INQ-1'],
    [...W, '-t', 'raw', '-N', 'NPT66-IN-1'],
    [...W, '-t', 'mangle', '-N', 'NPT66-NDOUT-1'],
    [...W, '-t', 'mangle', '-N', 'NPT66-OUTQ-1'],
    [...W, '-t', 'mangle', '-N', 'NPT66-OUT-1'],
    [...W, '-t', 'mangle', '-N', 'NPT66-ERR-1'],
    [...W, '-t', 'raw', '-A', 'NPT66-IN-1', '-d', '2001:db8:ff66::/64', '-g', 'NPT66-INQ-1'],
    ...neverQueued('raw', 'NPT66-INQ-1'),
    [...W, '-t', 'raw', '-A', 'NPT66-INQ-1', '-i', 'eth1', '-j', 'NFQUEUE', '--queue-num', '0'],
    [...W, '-t', 'raw', '-A', 'NPT66-INQ-1', '-s', 'fd5a:ceb9:ed8d:fe0a::/64', '-j', 'MARK', '--set-xmark', '0x10000000/0x10000000'],
    [...W, '-t', 'raw', '-A', 'NPT66-INQ-1', '-j', 'NFQUEUE', '--queue-num', '0'],
    [...W, '-t', 'mangle', '-A', 'NPT66-OUT-1', '-o', 'eth1', '-s', 'fd5a:ceb9:ed8d:fe0a::/64', '-g', 'NPT66-OUTQ-1'],
    [...W, '-t', 'mangle', '-A', 'NPT66-OUT-1', '-m', 'mark', '--mark', '0x10000000/0x10000000', '-g', 'NPT66-OUTQ-1'],
    ...outboundNd(1, ['-j', 'NFQUEUE', '--queue-num', '0']),
    ...ownErrors(1, 'eth1', ['-j', 'NFQUEUE', '--queue-num', '0']),
    // The jumps last: the chains are complete before any packet reaches them.
    [...W, '-t', 'raw', '-I', 'PREROUTING', '1', '-j', 'NPT66-IN-1'],
    [...W, '-t', 'mangle', '-I', 'POSTROUTING', '1', '-j', 'NPT66-OUT-1'],
    [...W, '-t', 'mangle', '-I', 'OUTPUT', '1', '-j', 'NPT66-ERR-1'],
  ]);
});

test('two mappings on two interfaces, three queues, hairpin off', () => {
  const argv = installArgv(planRules(two, 7));
  const rules = argv.filter((a) => a[4] === '-A' && !a.includes('--icmpv6-type') && a[5] !== 'NPT66-NDOUT-7');
  assert.deepEqual(rules, [
    [...W, '-t', 'raw', '-A', 'NPT66-IN-7', '-d', '2001:db8:ff66::/64', '-g', 'NPT66-INQ-7'],
    [...W, '-t', 'raw', '-A', 'NPT66-IN-7', '-d', '2001:db8:ff67::/64', '-g', 'NPT66-INQ-7'],
    [...W, '-t', 'raw', '-A', 'NPT66-INQ-7', '-j', 'NFQUEUE', '--queue-balance', '4:6'],
    [...W, '-t', 'mangle', '-A', 'NPT66-OUT-7', '-o', 'eth1', '-s', 'fd5a:ceb9:ed8d:fe0a::/64', '-g', 'NPT66-OUTQ-7'],
    [...W, '-t', 'mangle', '-A', 'NPT66-OUT-7', '-o', 'eth2', '-s', 'fd5a:ceb9:ed8d:fefc::/64', '-g', 'NPT66-OUTQ-7'],
    [...W, '-t', 'mangle', '-A', 'NPT66-OUTQ-7', '-j', 'NFQUEUE', '--queue-balance', '4:6'],
  ]);
  assert.ok(!argv.flat().includes('--queue-bypass'), 'fail-closed: never --queue-bypass');
  assert.ok(!argv.flat().includes('MARK') && !argv.flat().includes('mark'), 'hairpinMark 0: no mark rules');
});

// Issue 9 item 1: hairpin comes from inside. A packet from an outside interface (NPTv6's or masquerade's) with a
// forged inside source must not get the hairpin mark, yet must still be queued: the engine drops and counts it.
test('hairpin mark only for packets not arriving on an outside interface; the inbound rules still queue those', () => {
  const cfg: RuleConfig = {
    ...one,
    masquerade: [{ source: 'fd5a:ceb9:ed8d:1::/64', interface: 'eth2', address: '2001:db8:5::1', ports: '40000-40999' }],
  };
  const plan = planRules(cfg, 1);
  const inq = plan.rules.filter((r) => r.chain === 'NPT66-INQ-1' && !r.args.includes('RETURN')).map((r) => r.args);
  assert.deepEqual(inq, [
    ['-i', 'eth1', '-j', 'NFQUEUE', '--queue-num', '0'],
    ['-i', 'eth2', '-j', 'NFQUEUE', '--queue-num', '0'],
    ['-s', 'fd5a:ceb9:ed8d:fe0a::/64', '-j', 'MARK', '--set-xmark', '0x10000000/0x10000000'],
    ['-j', 'NFQUEUE', '--queue-num', '0'],
  ]);
  const inbound = plan.rules.filter((r) => r.chain === 'NPT66-IN-1').map((r) => r.args);
  // The one -i: what the host sends to its own masquerade address (plan.ts, Loopback).
  assert.deepEqual(inbound[0], ['-i', 'lo', '-d', '2001:db8:5::1', '-j', 'RETURN']);
  assert.ok(inbound.length > 1 && inbound.slice(1).every((a) => !a.includes('-i')), 'no -i on the inbound rules: forged packets reach the engine');
  assert.match(nftRuleset(cfg), /\n {4}iifname != \{ "eth1", "eth2" \} ip6 saddr fd5a:ceb9:ed8d:fe0a::\/64 meta mark set meta mark \| 0x10000000\n {4}queue num 0\n/);
});

test('ND and MLD: returned inbound; outbound only when link-scoped (RFC 4861 s6.1/s7.1), otherwise queued', () => {
  const plan = planRules(one, 1);
  const chain = (name: string) => plan.rules.filter((r) => r.chain === name).map((r) => r.args);
  const inbound = chain('NPT66-INQ-1');
  // Every ND/MLD RETURN comes before the first queue rule (from an outside interface, or the last one).
  assert.equal(inbound.findIndex((a) => a.includes('NFQUEUE')), inbound.filter((a) => a.includes('RETURN')).length);
  assert.ok(inbound[inbound.length - 1]!.includes('NFQUEUE'));
  const returned = inbound.filter((a) => a.includes('RETURN')).map((a) => Number(a[a.indexOf('--icmpv6-type') + 1]));
  assert.deepEqual(returned, ND_MLD);
  // Outbound: no ND/MLD type is returned unconditionally; each goes to the scope chain before the queue rule.
  const outbound = chain('NPT66-OUTQ-1');
  assert.ok(!outbound.some((a) => a.includes('RETURN')), 'an inside source to a global address must reach the queue');
  assert.deepEqual(outbound.filter((a) => a.at(-1) === 'NPT66-NDOUT-1').map((a) => Number(a[a.indexOf('--icmpv6-type') + 1])), ND_MLD);
  assert.equal(outbound.findIndex((a) => a.includes('NFQUEUE')), outbound.length - 1);
  assert.deepEqual(chain('NPT66-NDOUT-1').map((a) => a.join(' ')), [
    '-s fe80::/10 -j RETURN',
    '-s ::/128 -j RETURN',
    '-d ff00::/8 -j RETURN',
    '-d fe80::/10 -j RETURN',
    '-j NFQUEUE --queue-num 0',
  ]);
  assert.ok(!plan.chains.some((c) => c.name.startsWith('NPT66-DEFRAG-')), 'NPTv6 alone needs no reassembly');
});

test('the gateway\'s own ICMPv6 errors: types 1-4 leaving by each outside interface, queued from mangle OUTPUT', () => {
  const plan = planRules(two, 7);
  assert.deepEqual(
    installArgv(plan).filter((a) => a[5] === 'NPT66-ERR-7' || a.at(-1) === 'NPT66-ERR-7'),
    [
      [...W, '-t', 'mangle', '-N', 'NPT66-ERR-7'],
      ...ownErrors(7, 'eth1', ['-j', 'NFQUEUE', '--queue-balance', '4:6']),
      ...ownErrors(7, 'eth2', ['-j', 'NFQUEUE', '--queue-balance', '4:6']),
      [...W, '-t', 'mangle', '-I', 'OUTPUT', '1', '-j', 'NPT66-ERR-7'],
    ],
  );
  // They come from the gateway's own address: no rule that needs an inside source can see them.
  assert.ok(plan.rules.filter((r) => r.chain === 'NPT66-ERR-7').every((r) => !r.args.includes('-s')));
  const shared: RuleConfig = { ...two, nptv6: [two.nptv6[0]!, { ...two.nptv6[1]!, interface: 'eth1' }] };
  assert.equal(planRules(shared, 1).rules.filter((r) => r.chain === 'NPT66-ERR-1').length, 4, 'one set per interface');
});

test('an outside prefix shared by two mappings gets one inbound rule', () => {
  const shared: RuleConfig = { ...one, nptv6: [one.nptv6[0]!, { ...one.nptv6[0]!, interface: 'eth2' }] };
  const inbound = planRules(shared, 1).rules.filter((r) => r.chain === 'NPT66-IN-1');
  assert.equal(inbound.length, 1);
});

test('removal: jumps first, then flush, then delete (queue chains after the chains that jump to them)', () => {
  assert.deepEqual(removeArgv(planRules(one, 2)), [
    [...W, '-t', 'raw', '-D', 'PREROUTING', '-j', 'NPT66-IN-2'],
    [...W, '-t', 'mangle', '-D', 'POSTROUTING', '-j', 'NPT66-OUT-2'],
    [...W, '-t', 'mangle', '-D', 'OUTPUT', '-j', 'NPT66-ERR-2'],
    [...W, '-t', 'raw', '-F', 'NPT66-INQ-2'],
    [...W, '-t', 'raw', '-F', 'NPT66-IN-2'],
    [...W, '-t', 'mangle', '-F', 'NPT66-NDOUT-2'],
    [...W, '-t', 'mangle', '-F', 'NPT66-OUTQ-2'],
    [...W, '-t', 'mangle', '-F', 'NPT66-OUT-2'],
    [...W, '-t', 'mangle', '-F', 'NPT66-ERR-2'],
    [...W, '-t', 'mangle', '-X', 'NPT66-ERR-2'],
    [...W, '-t', 'mangle', '-X', 'NPT66-OUT-2'],
    [...W, '-t', 'mangle', '-X', 'NPT66-OUTQ-2'],
    [...W, '-t', 'mangle', '-X', 'NPT66-NDOUT-2'],
    [...W, '-t', 'raw', '-X', 'NPT66-IN-2'],
    [...W, '-t', 'raw', '-X', 'NPT66-INQ-2'],
  ]);
});

test('stale rules from a crashed run are found in `ip6tables -S` output; other rules are left alone', () => {
  const listing = [
    '-P PREROUTING ACCEPT',
    '-N NPT66-IN-3',
    '-N NPT66-INQ-3',
    '-N OTHER',
    '-A PREROUTING -j NPT66-IN-3',
    '-A PREROUTING -i eth0 -j OTHER',
    '-A OTHER -s fd00::/8 -j NPT66-IN-3',
    '-A NPT66-IN-3 -d 2001:db8:ff66::/64 -g NPT66-INQ-3',
    '-A NPT66-INQ-3 -j NFQUEUE --queue-num 0',
  ].join('\n');
  assert.deepEqual(staleArgv('raw', listing), [
    [...W, '-t', 'raw', '-D', 'PREROUTING', '-j', 'NPT66-IN-3'],
    [...W, '-t', 'raw', '-D', 'OTHER', '-s', 'fd00::/8', '-j', 'NPT66-IN-3'],
    [...W, '-t', 'raw', '-F', 'NPT66-IN-3'],
    [...W, '-t', 'raw', '-F', 'NPT66-INQ-3'],
    [...W, '-t', 'raw', '-X', 'NPT66-IN-3'],
    [...W, '-t', 'raw', '-X', 'NPT66-INQ-3'],
  ]);
  assert.deepEqual(staleArgv('mangle', '-P POSTROUTING ACCEPT\n-N FOO\n-A POSTROUTING -j FOO\n'), []);
});

test('the nft ruleset: same chains, priorities raw and mangle, no bypass', () => {
  assert.equal(
    nftRuleset(one),
    `table ip6 npt66 {
  chain inbound {
    type filter hook prerouting priority raw; policy accept;
    ip6 daddr 2001:db8:ff66::/64 goto inbound_queue
  }
  chain inbound_queue {
    icmpv6 type { 130, 131, 132, 133, 134, 135, 136, 137, 143 } return
    iifname != { "eth1" } ip6 saddr fd5a:ceb9:ed8d:fe0a::/64 meta mark set meta mark | 0x10000000
    queue num 0
  }
  chain outbound {
    type filter hook postrouting priority mangle; policy accept;
    oifname "eth1" ip6 saddr fd5a:ceb9:ed8d:fe0a::/64 goto outbound_queue
    meta mark & 0x10000000 == 0x10000000 goto outbound_queue
  }
  chain outbound_queue {
    icmpv6 type { 130, 131, 132, 133, 134, 135, 136, 137, 143 } ip6 saddr { fe80::/10, ::/128 } return
    icmpv6 type { 130, 131, 132, 133, 134, 135, 136, 137, 143 } ip6 daddr { ff00::/8, fe80::/10 } return
    queue num 0
  }
  chain own_errors {
    type filter hook output priority mangle; policy accept;
    oifname "eth1" icmpv6 type { 1, 2, 3, 4 } queue num 0
  }
}
`,
  );
  const multi = nftRuleset(two);
  assert.match(multi, /queue num 4-6\n/);
  assert.doesNotMatch(multi, /mark|bypass/);
  assert.ok(nftReplaceScript(one).startsWith('table ip6 npt66\ndelete table ip6 npt66\ntable ip6 npt66 {'));
});

// A runner that records every command and answers from a script.
function recorder(answer: (argv: string[], input?: string) => Partial<CommandResult> = () => ({})) {
  const calls: { argv: string[]; input?: string }[] = [];
  const runner = async (argv: string[], input?: string): Promise<CommandResult> => {
    calls.push({ argv, ...(input !== undefined ? { input } : {}) });
    return { code: 0, stdout: '', stderr: '', ...answer(argv, input) };
  };
  return { calls, runner };
}

test('install numbers its chains past stale ones, installs, then removes the stale ones', async () => {
  const stale = '-N NPT66-IN-5\n-N NPT66-INQ-5\n-A PREROUTING -j NPT66-IN-5\n';
  const { calls, runner } = recorder((argv) => (argv.includes('-S') && argv.includes('raw') ? { stdout: stale } : {}));
  const removed = await new Ip6tablesRules(runner).install(one);
  assert.deepEqual(removed, ['raw/NPT66-IN-5', 'raw/NPT66-INQ-5']);
  const lines = calls.map((c) => c.argv.slice(2).join(' '));
  const lastInstall = lines.indexOf('-t mangle -I POSTROUTING 1 -j NPT66-OUT-6');
  const firstStale = lines.indexOf('-t raw -D PREROUTING -j NPT66-IN-5');
  assert.ok(lines.includes('-t raw -N NPT66-IN-6'), lines.join('\n'));
  assert.ok(lastInstall > 0 && firstStale > lastInstall, 'stale rules go only once the new ones are live (until then they drop)');
});

test('replace: the new chains go live before the old ones are removed', async () => {
  const { calls, runner } = recorder();
  const rules = new Ip6tablesRules(runner);
  await rules.install(one);
  calls.length = 0;
  await rules.replace(two);
  const lines = calls.map((c) => c.argv.slice(2).join(' '));
  const newJump = lines.indexOf('-t raw -I PREROUTING 1 -j NPT66-IN-2');
  const oldJumpGone = lines.indexOf('-t raw -D PREROUTING -j NPT66-IN-1');
  assert.ok(newJump >= 0 && oldJumpGone > newJump, lines.join('\n'));
  assert.equal(lines.at(-1), '-t raw -X NPT66-INQ-1');
  calls.length = 0;
  await rules.remove();
  assert.ok(calls.every((c) => c.argv.some((a) => a.endsWith('-2'))), 'remove() removes the current generation');
});

test('a failing install is rolled back and reported with the command and its error', async () => {
  const { calls, runner } = recorder((argv) =>
    argv.includes('NFQUEUE') && argv.includes('mangle') ? { code: 2, stderr: "ip6tables v1.8.9 (nf_tables): Couldn't load target `NFQUEUE'" } : {},
  );
  const rules = new Ip6tablesRules(runner);
  await assert.rejects(rules.install(one), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_NPT66_RULES');
    assert.match(e.message, /ip6tables -w -t mangle -A NPT66-OUTQ-1 -j NFQUEUE --queue-num 0 failed \(exit 2\): .*Couldn't load target/);
    return true;
  });
  const lines = calls.map((c) => c.argv.slice(2).join(' '));
  assert.ok(!lines.some((l) => l.includes('-I PREROUTING')), 'no jump was inserted');
  assert.ok(lines.includes('-t raw -X NPT66-INQ-1') && lines.includes('-t mangle -X NPT66-OUT-1'), 'the half-made chains are removed');
});

test('the backend probe: nft when `nft -c` accepts a queue rule, else ip6tables', async () => {
  const saved = process.env.NPT66_RULES;
  delete process.env.NPT66_RULES;
  try {
    const no = recorder((argv) => (argv[0] === 'nft' ? { code: 1, stderr: 'Error: Could not process rule: No such file or directory' } : {}));
    assert.equal((await chooseRuleBackend(3, no.runner)).name, 'ip6tables');
    assert.deepEqual(no.calls[0]!.argv, ['nft', '-c', '-f', '-']);
    assert.match(no.calls[0]!.input ?? '', /queue num 3/);
    const yes = recorder();
    const backend = await chooseRuleBackend(0, yes.runner);
    assert.ok(backend instanceof NftRules);
  } finally {
    if (saved === undefined) delete process.env.NPT66_RULES;
    else process.env.NPT66_RULES = saved;
  }
});

test('nft backend: one transaction per install/replace, table deleted on remove', async () => {
  const { calls, runner } = recorder((argv) => (argv.join(' ') === 'nft list table ip6 npt66' ? { code: 1 } : {}));
  const rules = new NftRules(runner);
  assert.deepEqual(await rules.install(one), []);
  const applied = calls.find((c) => c.argv.join(' ') === 'nft -f -');
  assert.equal(applied?.input, nftReplaceScript(one));
  await rules.remove();
  assert.deepEqual(calls.at(-1)!.argv, ['nft', 'delete', 'table', 'ip6', 'npt66']);
});
