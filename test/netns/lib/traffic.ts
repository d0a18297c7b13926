// Traffic between a lab's hosts (the gateway and the masquerade labs alike): ping6 (iputils), and the TCP/UDP
// endpoints of traffic_tool.ts or another tool of the same kind (masq/flow_tool.ts), run with node inside a
// namespace and read as JSON lines.
import { basename, resolve } from 'node:path';
import { LineProcess } from './line_process';
import type { NetnsLab } from './netns_lab';

export const TOOL_PATH = resolve(__dirname, 'traffic_tool.js');

// `node TOOL ARGS...` in namespace `ns`.
export function startNodeTool<N extends string>(lab: NetnsLab<N>, ns: N, tool: string, args: (string | number)[]): LineProcess {
  const argv = [process.execPath, tool, ...args.map(String)];
  return new LineProcess(lab.topology.spawn(ns, argv), `${ns}: ${basename(tool)} ${args.join(' ')}`);
}

// traffic_tool.js (tcp-sink, tcp-send, udp-echo, udp-ping, ...).
export function startTool<N extends string>(lab: NetnsLab<N>, ns: N, args: (string | number)[]): LineProcess {
  return startNodeTool(lab, ns, TOOL_PATH, args);
}

// Waits until the process says it is listening (a server bound, a mapping announced).
export async function listening(p: LineProcess): Promise<LineProcess> {
  await p.waitForLine('listening', (l) => l.includes('"listening"'));
  return p;
}

// Starts a server command and waits until it is bound.
export async function startServer<N extends string>(lab: NetnsLab<N>, ns: N, args: (string | number)[]): Promise<LineProcess> {
  return listening(startTool(lab, ns, args));
}

// The JSON lines a tool printed for `event`.
export function jsonLines<T = Record<string, unknown>>(p: LineProcess, event: string): T[] {
  return p.lines.filter((l) => l.includes(`"event":"${event}"`)).map((l) => JSON.parse(l) as T);
}

export interface PingOptions {
  count?: number;
  intervalS?: number; // iputils -i (below 0.002 s needs root; the tests are root)
  waitS?: number; // -W: how long to wait for each reply after the last one is sent
  hopLimit?: number; // -t
  size?: number; // -s payload bytes; ≤ 8 leaves out the timestamp, so the payload is the -p pattern only
  pattern?: string; // -p hex
  id?: number; // -e ICMPv6 echo identifier
  mtuDiscovery?: 'do' | 'dont' | 'want'; // -M
}

export interface PingResult {
  transmitted: number;
  received: number;
  output: string;
}

export async function ping<N extends string>(lab: NetnsLab<N>, ns: N, dst: string, o: PingOptions = {}): Promise<PingResult> {
  const argv = ['ping', '-6', '-n', '-c', String(o.count ?? 3), '-i', String(o.intervalS ?? 0.05), '-W', String(o.waitS ?? 1)];
  if (o.hopLimit !== undefined) argv.push('-t', String(o.hopLimit));
  if (o.size !== undefined) argv.push('-s', String(o.size));
  if (o.pattern !== undefined) argv.push('-p', o.pattern);
  if (o.id !== undefined) argv.push('-e', String(o.id));
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

// Sends `bytes` of random data from `from` to `toAddr`:`port` (a server in `to`); both ends hash the stream.
export async function tcpTransfer<N extends string>(lab: NetnsLab<N>, from: N, to: N, toAddr: string, bytes: number, port = 5001, timeoutMs = 120_000): Promise<TcpTransferResult> {
  const sink = await startServer(lab, to, ['tcp-sink', port]);
  const sender = startTool(lab, from, ['tcp-send', toAddr, port, bytes]);
  const [se, re] = await Promise.all([sender.waitExit(timeoutMs), sink.waitExit(timeoutMs)]);
  if (se.code !== 0) throw new Error(`tcp-send failed (${JSON.stringify(se)}): ${sender.stderr}`);
  if (re.code !== 0) throw new Error(`tcp-sink failed (${JSON.stringify(re)}): ${sink.stderr}`);
  return { sent: sender.lastJson(), received: sink.lastJson() };
}

export interface TcpDownloadResult {
  sent: { bytes: number; sha256: string; peer: string }; // the server's side: what it sent, whom to
  received: { bytes: number; sha256: string; local: string }; // the client's: what arrived, on which address
}

// `bytes` of random data from a server in `from` (port `port`) to a client in `to` that connects to
// `fromAddr`: the connection opens towards the sender, as a download through a masquerade does.
export async function tcpDownload<N extends string>(lab: NetnsLab<N>, from: N, to: N, fromAddr: string, bytes: number, port = 5001, timeoutMs = 120_000): Promise<TcpDownloadResult> {
  const server = await startServer(lab, from, ['tcp-serve', port, bytes]);
  const client = startTool(lab, to, ['tcp-fetch', fromAddr, port]);
  const [se, ce] = await Promise.all([server.waitExit(timeoutMs), client.waitExit(timeoutMs)]);
  if (se.code !== 0) throw new Error(`tcp-serve failed (${JSON.stringify(se)}): ${server.stderr}`);
  if (ce.code !== 0) throw new Error(`tcp-fetch failed (${JSON.stringify(ce)}): ${client.stderr}`);
  return { sent: server.lastJson(), received: client.lastJson() };
}

export interface UdpExchangeResult<Saw = string> {
  sent: number;
  received: number; // exchanges answered (a lost request is retried, see traffic_tool.ts)
  replyFrom: string[]; // addresses the answers came from, as the client saw them
  serverSaw: Saw[]; // the requests' sources as the server saw them (distinct)
}

export interface Endpoint {
  from: string;
  port: number;
}

// `count` request/answer exchanges from `from` (source port `srcPort`) to an echo server in `to`; the client gets
// `perExchangeMs` for each. serverSaw: the distinct source address and port pairs.
export async function udpExchangeEndpoints<N extends string>(lab: NetnsLab<N>, from: N, to: N, toAddr: string, count: number, port = 5002, srcPort = 40002, perExchangeMs = 1600): Promise<UdpExchangeResult<Endpoint>> {
  const echo = await startServer(lab, to, ['udp-echo', port]);
  try {
    const client = startTool(lab, from, ['udp-ping', toAddr, port, count, srcPort]);
    const exit = await client.waitExit(count * perExchangeMs + 5000);
    if (exit.code !== 0) throw new Error(`udp-ping failed (${JSON.stringify(exit)}): ${client.stderr}`);
    const r = client.lastJson<{ sent: number; received: number; from: string[] }>();
    const seen = new Map<string, Endpoint>();
    for (const d of jsonLines<Endpoint>(echo, 'datagram')) seen.set(`${d.from} ${d.port}`, { from: d.from, port: d.port });
    return { sent: r.sent, received: r.received, replyFrom: r.from, serverSaw: [...seen.values()] };
  } finally {
    echo.child.kill('SIGKILL');
    await echo.exited;
  }
}

// The same, with serverSaw as the distinct source addresses.
export async function udpExchange<N extends string>(lab: NetnsLab<N>, from: N, to: N, toAddr: string, count: number, port = 5002, srcPort = 40002): Promise<UdpExchangeResult> {
  const r = await udpExchangeEndpoints(lab, from, to, toAddr, count, port, srcPort);
  return { ...r, serverSaw: [...new Set(r.serverSaw.map((e) => e.from))] };
}
