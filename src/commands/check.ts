// npt66 check -c FILE: validates a configuration without touching the system (no root needed).
import { chooseQueuePlacement, describePlacement } from '../cpu-placement';
import { Npt66Error } from '../errors';
import { loadGatewayConfig } from '../gateway-config';
import { systemHostFacts } from '../host-facts';
import { installArgv, nftRuleset, planRules } from '../rules';
import { parseCommandLine, requireConfigFile } from './common';

export const summary = 'validate a configuration file (exit 0 valid, 2 invalid)';

const usage = `usage: npt66 check -c FILE [--rules]

Validates FILE as \`npt66 run\` would, without touching the system (it reads net.ipv4.ip_local_port_range and,
for a masquerade entry without "address", the interface's addresses, from the network namespace it runs in).
It also prints where \`npt66 run\` would put the queue threads here (queues.cpus, "auto": the CPUs without the
queued interfaces' receive work, from their IRQ affinity and rps_cpus).
  -c, --config FILE   the configuration file (required)
  --rules             also print the ip6tables commands and the nft ruleset npt66 would install
Exit status: 0 valid, 2 invalid (the message names the field and the fix).
`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, usage, {
    config: { type: 'string', short: 'c' },
    rules: { type: 'boolean', default: false },
  });
  if (!parsed) return 0;
  const { values } = parsed;
  const file = requireConfigFile(values.config);
  let config;
  let compiled;
  try {
    compiled = loadGatewayConfig(file);
    ({ config } = compiled);
  } catch (e) {
    if (e instanceof Npt66Error) throw new Npt66Error(e.code, `${file}: ${e.message}`, { cause: e });
    throw e;
  }
  const lines = [`${file}: valid`];
  config.nptv6.forEach((m, i) => {
    // An outside prefix that follows an interface: the one in force on this host now, and where it comes from.
    const f = compiled.followed[i];
    const from = m.outsideFrom
      ? ` (subnet ${m.outsideFrom.subnet} /${m.outsideFrom.length} of ${m.outsideFrom.interface}'s ${f?.address ? `address ${f.address}` : 'prefix'} here, followed while running)`
      : '';
    const outside = m.outside ?? `no outside prefix yet: ${f?.reason}; outbound traffic from ${m.inside} is dropped until there is one`;
    lines.push(`  nptv6[${i}]: ${m.inside} <-> ${outside}${from} (outside interface ${m.interface})`);
  });
  config.masquerade.forEach((m, i) => {
    const from = m.addressFrom === 'interface' ? ` (${m.interface}'s stable global address here, followed while running)` : '';
    const sources = Array.isArray(m.source) ? m.source.join(', ') : m.source;
    const t = m.timeouts;
    lines.push(
      `  masquerade[${i}]: ${sources} -> ${m.address}${from} ports ${m.ports} on ${m.interface}, ${m.filtering} filtering, ` +
        `timeouts udp ${t.udp} s, tcp ${t.tcpEstablished}/${t.tcpTransitory} s, icmp ${t.icmp} s, at most ${m.maxMappings} mappings (${m.maxPerHost64} per inside /64)`,
    );
  });
  const { first, count } = config.queues;
  lines.push(`  queues ${count === 1 ? first : `${first}..${first + count - 1}`}, failOpen ${config.failOpen}, control socket ${config.control.socket}`);
  // What `npt66 run` would choose on this host (IRQ affinity and RPS are read here, as run reads them).
  lines.push(`  queue threads here: ${describePlacement(chooseQueuePlacement(config, systemHostFacts))}`);
  if (config.failOpen) lines.push('  warning: failOpen is true: packets are accepted untranslated when a queue is full or a packet cannot be translated');
  for (const w of compiled.warnings) lines.push(`  warning: ${w.field}: ${w.message}`);
  if (values.rules) {
    lines.push('', '# ip6tables (this kernel has no nft queue statement):');
    for (const argv of installArgv(planRules(config, 1))) lines.push(argv.join(' '));
    lines.push('', '# nft (used where the kernel has nft_queue):', nftRuleset(config).trimEnd());
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
