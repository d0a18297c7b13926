// Traffic in the masquerade lab: ping6 (iputils), lib/traffic_tool.js's TCP/UDP endpoints and flow_tool.js's.
// (lib/traffic.ts does the same for the NPTv6 gateway lab; its functions are typed on that lab.)
import { resolve } from 'node:path';
import { LineProcess } from '../lib/line_process';
import { TOOL_PATH } from '../lib/traffic';
import type { MasqLab, MasqNs } from './masq_lab';

export const FLOW_TOOL_PATH = resolve(__dirname, 'flow_tool.js');

function start(lab: MasqLab, ns: MasqNs, tool: string, args: (string | number)[]): LineProcess {
  const argv = [process.execPath, tool, ...args.map(String)];
  return new LineProcess(lab.topology.spawn(ns, argv), `${ns}: ${tool.split('/').pop()} ${args.join(' ')}`);
}

// lib/traffic_tool.js (tcp-sink, tcp-send, udp-echo, udp-ping, ...).
export function startTool(lab: MasqLab, ns: MasqNs, args: (string | number)[]): LineProcess {
  return start(lab, ns, TOOL_PATH, args);
}

// masq/flow_tool.js (udp-announce, udp-send-from, tcp-echo, tcp-hold, tcp-once).
export function startFlow(lab: MasqLab, ns: MasqNs, args: (string | number)[]): LineProcess {
  return start(lab, ns, FLOW_TOOL_PATH, args);
}

// Waits until the process says it is listening (a server bound, a mapping announced).
export async function listening(p: LineProcess): Promise<LineProcess> {
  await p.waitForLine('listening', (l) => l.includes('"listening"'));
  return p;
}

export function jsonLines<T = Record<string, unknown>>(p: LineProcess, event: string): T[] {
  return p.lines.filter((l) => l.includes(`"event":"${event}"`)).map((l) => JSON.parse(l) as T);
}

export interface PingOptions {
  count?: number;
  intervalS?: number;
  waitS?: number;
  hopLimit?: number;
  size?: number;
  mtuDiscovery?: 'do' | 'dont' | 'want';
}

export interface PingResult {
  transmitted: number;
  received: number;
  output: string;
}

export async function ping(lab: MasqLab, ns: MasqNs, dst: string, o: PingOptions = {}): Promise<PingResult> {
  const argv = ['ping', '-6', '-n', '-c', String(o.count ?? 3), '-i', String(o.intervalS ?? 0.05), '-W', String(o.waitS ?? 1)];
  if (o.hopLimit !== undefined) argv.push('-t', String(o.hopLimit));
  if (o.size !== undefined) argv.push('-s', String(o.size));
  if (o.mtuDiscovery !== undefined) argv.push('-M', o.mtuDiscovery);
  argv.push(dst);
  const r = await lab.ns(ns).exec(argv, { allowFailure: true, timeoutMs: 60_000 });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  if (!m) throw new Error(`ping printed no summary (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return { transmitted: Number(m[1]), received: Number(m[2]), output: r.stdout + r.stderr };
}

export interface TcpTransferResult {
  sent: { bytes: number; sha256: string; local: string };
  received: { bytes: number; sha256: string; peer: string };
}

// BYTES of random data from `from` to a sink at `toAddr`:`port` in `to`, hashed at both ends.
export async function tcpTransfer(lab: MasqLab, from: MasqNs, to: MasqNs, toAddr: string, bytes: number, port: number, timeoutMs = 60_000): Promise<TcpTransferResult> {
  const sink = await listening(startTool(lab, to, ['tcp-sink', port]));
  const sender = startTool(lab, from, ['tcp-send', toAddr, port, bytes]);
  const [se, re] = await Promise.all([sender.waitExit(timeoutMs), sink.waitExit(timeoutMs)]);
  if (se.code !== 0) throw new Error(`tcp-send failed (${JSON.stringify(se)}): ${sender.stderr}`);
  if (re.code !== 0) throw new Error(`tcp-sink failed (${JSON.stringify(re)}): ${sink.stderr}`);
  return { sent: sender.lastJson(), received: sink.lastJson() };
}

export interface UdpExchangeResult {
  sent: number;
  received: number;
  replyFrom: string[]; // the addresses the answers came from, as the client saw them
  serverSaw: { from: string; port: number }[]; // the requests' sources, as the server saw them (distinct)
}

// COUNT request/answer exchanges from `from` (source port `srcPort`) to an echo server in `to` on `port`.
export async function udpExchange(lab: MasqLab, from: MasqNs, to: MasqNs, toAddr: string, count: number, port: number, srcPort: number): Promise<UdpExchangeResult> {
  const echo = await listening(startTool(lab, to, ['udp-echo', port]));
  try {
    const client = startTool(lab, from, ['udp-ping', toAddr, port, count, srcPort]);
    const exit = await client.waitExit(count * 1500 + 5000);
    if (exit.code !== 0) throw new Error(`udp-ping failed (${JSON.stringify(exit)}): ${client.stderr}`);
    const r = client.lastJson<{ sent: number; received: number; from: string[] }>();
    const seen = new Map<string, { from: string; port: number }>();
    for (const d of jsonLines<{ from: string; port: number }>(echo, 'datagram')) seen.set(`${d.from} ${d.port}`, { from: d.from, port: d.port });
    return { sent: r.sent, received: r.received, replyFrom: r.from, serverSaw: [...seen.values()] };
  } finally {
    echo.child.kill('SIGKILL');
    await echo.exited;
  }
}
