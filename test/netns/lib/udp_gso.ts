// UDP GSO super-datagrams between a lab's hosts with test/tools/udpgso: the sender gives the kernel
// `writes` sends of `segments` datagrams each (UDP_SEGMENT), the receiver checks every datagram (sequence
// number, length, payload pattern) and can answer the same way from the same socket, back to wherever the
// datagrams came from (through a masquerade: the mapping's outside address and port).
import { findBuiltTool } from './built_tool';
import { LineProcess } from './line_process';
import type { NetnsLab } from './netns_lab';
import { listening } from './traffic';

export const UDPGSO = (): string => findBuiltTool('udpgso', 'NPT66_UDPGSO');

// What one side's checks found.
export interface UdpGsoTally {
  received: number; // distinct datagrams that arrived intact
  expected: number;
  corrupt: number; // wrong length, header or payload pattern
  duplicate: number;
  datagrams: number; // everything that arrived
  peer: string; // where the last datagram came from
  peerPort: number;
}

export interface IcmpErrorSeen {
  type: number;
  code: number;
  from: string;
  info: number; // Packet Too Big: the MTU
  count: number;
}

export interface UdpGsoOptions {
  port: number;
  writes: number;
  segments: number; // per write (UDP_SEGMENT super-datagram), at most 64
  size: number; // bytes per datagram (the UDP payload)
  reply?: { writes: number; segments: number; size: number }; // the receiver's answer
  gapUs?: number; // pause after each write, so a queue is not flooded by 8000 datagrams at once
  hopLimit?: number;
  errors?: boolean; // the sender collects the ICMPv6 errors its stack matched to its socket
  idleMs?: number; // how long either side waits for a datagram (or error) that may still come
}

export interface UdpGsoResult {
  sender: { sent: number; failedWrites: number; reply: UdpGsoTally | null; errors: IcmpErrorSeen[] | null };
  receiver: UdpGsoTally & { replied: number };
}

export async function udpGso<N extends string>(lab: NetnsLab<N>, from: N, to: N, toAddr: string, o: UdpGsoOptions): Promise<UdpGsoResult> {
  const bin = UDPGSO();
  const idle = ['--idle-ms', o.idleMs ?? 3000];
  const gap = ['--gap-us', o.gapUs ?? 1000];
  const recvArgs = ['recv', o.port, o.writes * o.segments, ...idle, ...gap, ...(o.reply ? ['--reply', o.reply.writes, o.reply.segments, o.reply.size] : [])];
  const receiver = await listening(spawn(lab, to, bin, recvArgs));
  const sendArgs = ['send', toAddr, o.port, o.writes, o.segments, o.size, ...idle, ...gap];
  if (o.reply) sendArgs.push('--expect-reply', o.reply.writes * o.reply.segments);
  if (o.hopLimit !== undefined) sendArgs.push('--hops', o.hopLimit);
  if (o.errors) sendArgs.push('--errors');
  const sender = spawn(lab, from, bin, sendArgs);
  const [se, re] = await Promise.all([sender.waitExit(120_000), receiver.waitExit(120_000)]);
  if (se.code !== 0) throw new Error(`udpgso send failed (${JSON.stringify(se)}): ${sender.stderr}`);
  if (re.code !== 0) throw new Error(`udpgso recv failed (${JSON.stringify(re)}): ${receiver.stderr}`);
  const { event: _s, role: _sr, ...s } = sender.lastJson<UdpGsoResult['sender'] & { event: string; role: string }>();
  const { event: _r, role: _rr, ...r } = receiver.lastJson<UdpGsoResult['receiver'] & { event: string; role: string }>();
  return { sender: s, receiver: r };
}

function spawn<N extends string>(lab: NetnsLab<N>, ns: N, bin: string, args: (string | number)[]): LineProcess {
  return new LineProcess(lab.topology.spawn(ns, [bin, ...args.map(String)]), `${ns}: udpgso ${args.join(' ')}`);
}
