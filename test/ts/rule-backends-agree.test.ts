// The ip6tables commands and the nft table are two spellings of one rule plan. Both are rendered from the same
// plan and run, by a small interpreter of each syntax, over the same probe packets: every packet must get the same
// verdict (accepted, or queued to the same queues) and the same mark, in the same hook. The interpreters throw on
// anything they cannot read, so a renderer cannot add a rule the comparison silently ignores. Where the `nft`
// binary exists and the kernel has nft_queue, `nft -c` checks the nft text too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

import { buildRulePlan, installArgv, nftProbeScript, renderIp6tables, renderNftRuleset, nftReplaceScript, type RuleConfig, type RulePlan } from '../../src/rules';

interface Packet {
  hook: 'prerouting' | 'postrouting' | 'output';
  iif?: string;
  oif?: string;
  saddr: string;
  daddr: string;
  proto: 'tcp' | 'udp' | 'icmpv6';
  dport?: number;
  icmpType?: number;
  mark: number;
}
type Outcome = { verdict: string; mark: number };

// ---- addresses ----
function parseAddress(text: string): bigint {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  assert.equal(groups.length, 8, text);
  return groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n);
}
function inPrefix(addr: string, prefix: string): boolean {
  const [p, l] = prefix.includes('/') ? prefix.split('/') : [prefix, '128'];
  const shift = 128n - BigInt(Number(l));
  return parseAddress(addr) >> shift === parseAddress(p!) >> shift;
}
const hostIn = (prefix: string) => {
  const [p] = prefix.split('/');
  return p!.endsWith('::') ? `${p}1` : p!;
};

// ---- ip6tables ----
function readIp6tables(argv: string[][]) {
  const chains = new Map<string, string[][]>();
  const hooks = new Map<string, string>(); // "table/hook" -> our chain
  for (const a of argv) {
    const [, , , table, op, chain, ...rest] = a;
    if (op === '-N') chains.set(chain!, []);
    else if (op === '-A') chains.get(chain!)!.push(rest);
    else if (op === '-I') hooks.set(`${table}/${chain!.toLowerCase()}`, rest.at(-1)!);
    else throw new Error(`unread command ${a.join(' ')}`);
  }
  return { chains, hooks };
}
function runIp6tables({ chains, hooks }: ReturnType<typeof readIp6tables>, pkt: Packet): { hookOf: Map<string, string>; outcome: Outcome } {
  let mark = pkt.mark;
  const matches = (args: string[]): { ok: boolean; target: string[] } => {
    let ok = true;
    for (let i = 0; i < args.length; i++) {
      const v = args[i + 1]!;
      switch (args[i]) {
        case '-d': ok &&= inPrefix(pkt.daddr, v); i++; break;
        case '-s': ok &&= inPrefix(pkt.saddr, v); i++; break;
        case '-i': ok &&= pkt.iif === v; i++; break;
        case '-o': ok &&= pkt.oif === v; i++; break;
        case '-p': ok &&= (v === 'ipv6-icmp' ? 'icmpv6' : v) === pkt.proto; i++; break;
        case '-m': i++; break;
        case '--dport': { const [lo, hi] = v.split(':').map(Number); ok &&= pkt.dport !== undefined && pkt.dport >= lo! && pkt.dport <= hi!; i++; break; }
        case '--icmpv6-type': ok &&= pkt.icmpType === Number(v); i++; break;
        case '--mark': { const [val, mask] = v.split('/').map(Number); ok &&= (mark & mask!) === val; i++; break; }
        case '--ctstate': ok = false; i++; break; // no probe is INVALID
        case '-j': case '-g': return { ok, target: args.slice(i) };
        default: throw new Error(`unread ip6tables argument ${args[i]} in ${args.join(' ')}`);
      }
    }
    return { ok, target: [] };
  };
  // 'return' or a terminal verdict
  const run = (name: string): string => {
    for (const rule of chains.get(name)!) {
      const { ok, target } = matches(rule);
      if (!ok || target.length === 0) continue;
      const [kind, what, ...opts] = target;
      if (what === 'RETURN') return 'return';
      if (what === 'NFQUEUE') return opts[0] === '--queue-num' ? `queue ${opts[1]}` : `queue ${opts[1]!.replace(':', '-')}`;
      if (what === 'MARK') {
        assert.equal(opts[0], '--set-xmark');
        const [val, mask] = opts[1]!.split('/').map(Number);
        mark = ((mark & ~mask!) ^ val!) >>> 0;
        continue;
      }
      assert.ok(chains.has(what!), `unread target ${target.join(' ')}`);
      const r = run(what!);
      if (r !== 'return') return r;
      if (kind === '-g') return 'return'; // goto: a return goes back past this chain
    }
    return 'return';
  };
  const entry = [...hooks].find(([k]) => k.endsWith(`/${pkt.hook}`));
  const r = entry ? run(entry[1]) : 'return';
  return { hookOf: hooks, outcome: { verdict: r === 'return' ? 'accept' : r, mark } };
}

// ---- nft ----
function parseNft(text: string) {
  const chains = new Map<string, { hook?: string; rules: string[] }>();
  let current: { hook?: string; rules: string[] } | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('table ') || line === '}') {
      if (line === '}') current = null;
      continue;
    }
    const chain = /^chain (\S+) \{$/.exec(line);
    if (chain) chains.set(chain[1]!, (current = { rules: [] }));
    else {
      const base = /^type filter hook (\S+) priority (\S+); policy accept;$/.exec(line);
      if (base) current!.hook = `${base[2]}/${base[1]}`;
      else current!.rules.push(line);
    }
  }
  return chains;
}
function runNft(chains: ReturnType<typeof parseNft>, pkt: Packet): { hooks: string[]; outcome: Outcome } {
  let mark = pkt.mark;
  const items = (s: string) => s.replace(/^\{ | \}$/g, '').split(', ').map((x) => x.replace(/^"|"$/g, ''));
  const run = (name: string): string => {
    for (const rule of chains.get(name)!.rules) {
      let rest = rule;
      let ok = true;
      const eat = (re: RegExp) => {
        const m = re.exec(rest);
        if (m) rest = rest.slice(m[0].length).trimStart();
        return m;
      };
      let verdict: string | null = null;
      while (rest && verdict === null) {
        let m: RegExpExecArray | null;
        if ((m = eat(/^ip6 (saddr|daddr) (\{[^}]*\}|\S+)/))) ok &&= items(m[2]!).some((p) => inPrefix(m![1] === 'saddr' ? pkt.saddr : pkt.daddr, p));
        else if ((m = eat(/^(iifname|oifname) (!= )?(\{[^}]*\}|"[^"]*")/))) {
          const has = items(m[3]!).includes((m[1] === 'iifname' ? pkt.iif : pkt.oif) ?? '');
          ok &&= m[2] ? !has : has;
        } else if ((m = eat(/^(tcp|udp) dport (\d+)(?:-(\d+))?/))) ok &&= pkt.proto === m[1] && pkt.dport! >= Number(m[2]) && pkt.dport! <= Number(m[3] ?? m[2]);
        else if ((m = eat(/^icmpv6 type (\{[^}]*\}|\d+)/))) ok &&= pkt.proto === 'icmpv6' && items(m[1]!).map(Number).includes(pkt.icmpType!);
        else if ((m = eat(/^meta mark & (0x[0-9a-f]+) == (0x[0-9a-f]+)/))) ok &&= (mark & Number(m[1])) === Number(m[2]);
        else if ((m = eat(/^ct state invalid/))) ok = false;
        else if (eat(/^counter/)) continue;
        else if ((m = eat(/^meta mark set meta mark \| (0x[0-9a-f]+)/))) {
          if (ok) mark = (mark | Number(m[1])) >>> 0;
        } else if ((m = eat(/^goto (\S+)/))) verdict = ok ? run(m[1]!) : null;
        else if (eat(/^return$/)) verdict = ok ? 'return' : null;
        else if ((m = eat(/^queue num (\S+)$/))) verdict = ok ? `queue ${m[1]}` : null;
        else throw new Error(`unread nft rule text "${rest}" in "${rule}"`);
        if (!ok) break;
      }
      if (ok && verdict !== null) return verdict;
    }
    return 'return';
  };
  const entry = [...chains].find(([, c]) => c.hook?.endsWith(`/${pkt.hook}`));
  const r = entry ? run(entry[0]) : 'return';
  return { hooks: [...chains.values()].flatMap((c) => (c.hook ? [c.hook] : [])), outcome: { verdict: r === 'return' ? 'accept' : r, mark } };
}

// ---- probes: every address, interface, port edge and ICMPv6 type the plan names, and some it does not ----
function probes(plan: RulePlan): Packet[] {
  const prefixes = [
    ...plan.inbound.destinations,
    ...plan.inbound.masquerade.map((m) => m.address),
    ...(plan.inbound.hairpin?.sources ?? []),
    ...plan.outbound.sources.map((s) => s.source),
    ...plan.outbound.linkScoped.sources,
    ...plan.outbound.linkScoped.destinations,
    '2001:db8:dead::/64',
  ];
  const addrs = [...new Set(prefixes.map(hostIn))];
  const ifaces = [...new Set([...plan.outbound.sources.map((s) => s.interface), ...plan.ownErrors.interfaces, 'lan0', 'lo'])];
  const ports = [...new Set([1, 80, 1023, 1024, 65535, ...plan.inbound.masquerade.flatMap((m) => m.ports.flatMap((p) => [p.min - 1, p.min, p.max, p.max + 1]))])];
  const marks = [0, ...(plan.outbound.hairpinMark ? [plan.outbound.hairpinMark] : []), ...(plan.inbound.hairpin ? [plan.inbound.hairpin.mark] : [])];
  const l4: Pick<Packet, 'proto' | 'dport' | 'icmpType'>[] = [
    ...ports.flatMap((dport) => (['tcp', 'udp'] as const).map((proto) => ({ proto, dport }))),
    ...[1, 2, 3, 4, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 143].map((icmpType) => ({ proto: 'icmpv6' as const, icmpType })),
  ];
  const out: Packet[] = [];
  for (const hook of ['prerouting', 'postrouting', 'output'] as const) {
    for (const iface of ifaces) {
      const via = hook === 'prerouting' ? { iif: iface } : { oif: iface };
      for (const saddr of addrs) {
        for (const daddr of addrs) {
          for (const p of l4) for (const mark of new Set(marks)) out.push({ hook, ...via, saddr, daddr, mark, ...p });
        }
      }
    }
  }
  return out;
}

const configs: Record<string, RuleConfig> = {
  'NPTv6, hairpin on, one queue': {
    nptv6: [{ inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' }],
    queues: { first: 0, count: 1 },
    hairpinMark: 0x10000000,
  },
  'NPTv6, two uplinks, an entry without an outside prefix, three queues, hairpin off': {
    nptv6: [
      { inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64', interface: 'eth1' },
      { inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff67::/64', interface: 'eth2' },
      { inside: 'fd5a:ceb9:ed8d:fefd::/64', outside: null, interface: 'eth2' },
    ],
    queues: { first: 4, count: 3 },
    hairpinMark: 0,
  },
  'masquerade only': {
    nptv6: [],
    queues: { first: 0, count: 1 },
    hairpinMark: 0x10000000,
    masquerade: [{ source: 'fd5a:ceb9:ed8d:1::/64', interface: 'ens192', address: '2001:db8:5::1', ports: '20000-29999' }],
  },
  'NPTv6 and masquerade on two interfaces, privileged ports, Docker subnets': {
    nptv6: [{ inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff67::/64', interface: 'eth1' }],
    queues: { first: 3, count: 2 },
    hairpinMark: 0x10,
    masquerade: [
      { source: ['fd5a:ceb9:ed8d:1::/64', 'docker'], dockerSources: ['fd5a:ceb9:ed8d:99::/64'], interface: 'eth2', address: '2001:db8:5::1', ports: '40000-40999', privilegedPorts: true },
    ],
  },
};

for (const [name, config] of Object.entries(configs)) {
  test(`one plan, two renderings, the same verdicts: ${name}`, () => {
    const plan = buildRulePlan(config);
    const argv = installArgv(renderIp6tables(plan, 1));
    const nft = renderNftRuleset(plan);
    const ip6tablesRules = readIp6tables(argv);
    const nftRules = parseNft(nft);
    const packets = probes(plan);
    let queued = 0;
    let marked = 0;
    for (const pkt of packets) {
      const a = runIp6tables(ip6tablesRules, pkt);
      const b = runNft(nftRules, pkt);
      assert.deepEqual(b.outcome, a.outcome, `${JSON.stringify(pkt)}: ip6tables ${JSON.stringify(a.outcome)}, nft ${JSON.stringify(b.outcome)}`);
      if (a.outcome.verdict !== 'accept') queued++;
      if (a.outcome.mark !== pkt.mark) marked++;
    }
    // The same hooks at the same priorities, and the probes reached both queueing and accepting paths.
    const { hookOf } = runIp6tables(ip6tablesRules, packets[0]!);
    assert.deepEqual([...hookOf.keys()].sort(), runNft(nftRules, packets[0]!).hooks.sort());
    assert.ok(queued > 0 && queued < packets.length, `${queued} of ${packets.length} queued`);
    assert.equal(marked > 0, config.hairpinMark !== 0 && config.nptv6.length > 0, 'the hairpin mark is set when, and only when, hairpin is on');
    // The defrag chain exists, never hooked, in both when masquerade is on.
    const defrag = (config.masquerade ?? []).length > 0;
    assert.equal(argv.some((a) => a.includes('--ctstate')), defrag);
    assert.equal(/\n {2}chain defrag \{\n {4}ct state invalid counter\n/.test(nft), defrag);
  });
}

test('nft -c accepts the nft rendering (where nft and the kernel\'s nft_queue exist)', (t) => {
  const nftPresent = spawnSync('nft', ['--version'], { encoding: 'utf8' });
  if (nftPresent.error) return t.skip('no nft binary here: the nft text is checked only against the ip6tables rendering above');
  const probe = spawnSync('nft', ['-c', '-f', '-'], { input: nftProbeScript(0), encoding: 'utf8' });
  if (probe.status !== 0) return t.skip(`nft -c refuses a bare queue rule here (no nft_queue in this kernel, or not root): ${probe.stderr.trim()}`);
  for (const [name, config] of Object.entries(configs)) {
    const r = spawnSync('nft', ['-c', '-f', '-'], { input: nftReplaceScript(config), encoding: 'utf8' });
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
  }
});
