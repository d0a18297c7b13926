// Traffic between the lab's hosts: ping6 (iputils), and the TCP/UDP endpoints of traffic_tool.ts.
import { resolve } from 'node:path';
import type { GatewayLab } from './gateway_lab';
import { LineProcess } from './line_process';

type NsName = Parameters<GatewayLab['ns']>[0];

export const TOOL_PATH = resolve(__dirname, 'traffic_tool.js');

export function startTool(lab: GatewayLab, ns: NsName, args: (string | number)[]): LineProcess {
  const argv = [process.execPath, TOOL_PATH, ...args.map(String)];
  return new LineProcess(lab.topology.spawn(ns, argv), `${ns}: traffic_tool ${args.join(' ')}`);
}

// Starts a server command and waits until it is bound.
export async function startServer(lab: GatewayLab, ns: NsName, args: (string | number)[]): Promise<LineProcess> {
  const p = startTool(lab, ns, args);
  await p.waitForLine('listening', (l) => l.includes('"listening"'));
  return p;
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

export async function ping(lab: GatewayLab, ns: NsName, dst: string, o: PingOptions = {}): Promise<PingResult> {
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
export async function tcpTransfer(lab: GatewayLab, from: NsName, to: NsName, toAddr: string, bytes: number, port = 5001, timeoutMs = 120_000): Promise<TcpTransferResult> {
  const sink = await startServer(lab, to, ['tcp-sink', port]);
  const sender = startTool(lab, from, ['tcp-send', toAddr, port, bytes]);
  const [se, re] = await Promise.all([sender.waitExit(timeoutMs), sink.waitExit(timeoutMs)]);
  if (se.code !== 0) throw new Error(`tcp-send failed (${JSON.stringify(se)}): ${sender.stderr}`);
  if (re.code !== 0) throw new Error(`tcp-sink failed (${JSON.stringify(re)}): ${sink.stderr}`);
  return { sent: sender.lastJson(), received: sink.lastJson() };
}

export interface UdpExchangeResult {
  sent: number;
  received: number; // exchanges answered (a lost request is retried, see traffic_tool.ts)
  replyFrom: string[]; // addresses the answers came from, as the client saw them
  serverSaw: string[]; // source addresses of the requests, as the server saw them
}

// `count` request/answer exchanges from `from` (source port `srcPort`) to an echo server in `to`.
export async function udpExchange(lab: GatewayLab, from: NsName, to: NsName, toAddr: string, count: number, port = 5002, srcPort = 40002): Promise<UdpExchangeResult> {
  const echo = await startServer(lab, to, ['udp-echo', port]);
  try {
    const client = startTool(lab, from, ['udp-ping', toAddr, port, count, srcPort]);
    const exit = await client.waitExit(count * 1600 + 5000);
    if (exit.code !== 0) throw new Error(`udp-ping failed (${JSON.stringify(exit)}): ${client.stderr}`);
    const r = client.lastJson<{ sent: number; received: number; from: string[] }>();
    const serverSaw = [...new Set(echo.lines.filter((l) => l.includes('"datagram"')).map((l) => (JSON.parse(l) as { from: string }).from))];
    return { sent: r.sent, received: r.received, replyFrom: r.from, serverSaw };
  } finally {
    echo.child.kill('SIGKILL');
    await echo.exited;
  }
}
