// npt66 stats: the running daemon's counters, read through its root-only control socket.
import type { GatewayStats } from '../gateway';
import { DEFAULT_SOCKET } from '../gateway-config';
import { counterHelp } from '../counters';
import { askDaemon, controlSocket, parseCommandLine } from './common';

export const summary = "print the running gateway's counters (per queue, per mapping, masquerade table, drops by reason)";

const usage = `usage: npt66 stats [--json] [--explain] [--socket PATH | -c FILE]

Reads the counters of the running \`npt66 run\` through its control socket (root only).
  --json            print the whole snapshot as JSON
  --explain         add each counter's one-line description
  --socket PATH     the daemon's control socket (default ${DEFAULT_SOCKET}; /run/npt66/NAME.sock inside
                    network namespace NAME, where the daemon's default is the same)
  -c, --config FILE take the socket path from the daemon's configuration file
Exit status: 0 printed, 1 no daemon reachable, 2 bad usage.
`;

function table(entries: [string, number][], explain: ReadonlyMap<string, string> | null, indent = '    '): string[] {
  if (entries.length === 0) return [`${indent}(none)`];
  const width = Math.max(...entries.map(([n]) => n.length));
  const digits = Math.max(...entries.map(([, v]) => String(v).length));
  return entries.map(([n, v]) => `${indent}${n.padEnd(width)}  ${String(v).padStart(digits)}${explain ? `  ${explain.get(n) ?? ''}` : ''}`);
}

export function formatStats(s: GatewayStats, explain: boolean): string {
  const help = explain ? counterHelp : null;
  const nonZero = (r: Record<string, number>) => Object.entries(r).filter(([, v]) => v !== 0);
  const lines = [
    `npt66 ${s.state} since ${s.startedAt} (${s.uptimeSeconds} s), rules: ${s.rules}, failOpen: ${s.failOpen}`,
    '',
    'mappings:',
    ...(s.mappings.length ? s.mappings.map((m) => `  [${m.index}] ${m.inside} <-> ${m.outside ?? '(no outside prefix yet)'} on ${m.interface}: ${m.outbound} outbound, ${m.inbound} inbound, ${m.dropped} dropped`) : ['  (none)']),
  ];
  // A daemon from before masquerade existed answers without the section.
  const masquerade = s.masquerade ?? [];
  if (masquerade.length) {
    lines.push('', 'masquerade:');
    for (const m of masquerade) {
      const states = Object.entries(m.byState).filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v}`);
      lines.push(
        `  [${m.index}] ${m.source.join(', ')} -> ${m.address ?? '(no address now: new flows dropped)'}${m.keptAddresses?.length ? ` (kept: ${m.keptAddresses.join(', ')})` : ''} ports ${m.ports}${m.keptPorts?.length ? ` (kept: ${m.keptPorts.join(', ')})` : ''} on ${m.interface}: ${m.live} live mappings${states.length ? ` (${states.join(', ')})` : ''}; ` +
          `${m.outbound ?? 0} outbound, ${m.inbound ?? 0} inbound, ${m.dropped ?? 0} dropped`,
      );
    }
  }
  lines.push('', 'queues:');
  for (const q of s.queues) {
    const k = q.kernel;
    lines.push(
      `  queue ${q.queue}: ` +
        (k
          ? `kernel: ${k.queueTotal} waiting, ${k.queueDropped} dropped (queue full), ${k.userDropped} dropped (netlink buffer full), ${k.idSequence} packets queued so far`
          : 'kernel: not listed in /proc/net/netfilter/nfnetlink_queue'),
    );
    lines.push(...table(nonZero(q.counters), help));
  }
  lines.push('', 'drops by reason:', ...table(nonZero(s.drops), help, '  '));
  lines.push('', 'all counters (non-zero):', ...table(nonZero(s.total), help, '  '));
  if (explain) {
    const zero = Object.entries(s.total).filter(([, v]) => v === 0);
    lines.push('', 'counters still at zero:', ...table(zero, help, '  '));
  }
  return `${lines.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, usage, {
    json: { type: 'boolean', default: false },
    explain: { type: 'boolean', default: false },
    socket: { type: 'string' },
    config: { type: 'string', short: 'c' },
  });
  if (!parsed) return 0;
  const { values } = parsed;
  const stats = await askDaemon<GatewayStats>('stats', controlSocket(values), 'stats');
  if (!stats) return 1;
  if (values.json) {
    const doc = values.explain ? { ...stats, descriptions: Object.fromEntries(counterHelp) } : stats;
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    process.stdout.write(formatStats(stats, values.explain));
  }
  return 0;
}
