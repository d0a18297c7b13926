// What the renumbering tests (an outside prefix or a masquerade address following its interface) watch: a numbered
// UDP stream from an inside host, captured on the gateway's outside interface while the addresses change under it.
import assert from 'node:assert/strict';
import { Capture, type CapturedPacket } from './capture';
import { IPPROTO_UDP } from './ipv6_decode';
import type { NetnsLab } from './netns_lab';
import { startServer, startTool } from './traffic';

export interface StreamOnWire<N extends string> {
  from: N; // the inside host sending
  to: N; // the outside host counting
  toAddr: string;
  port: number;
  at: N; // where the capture runs (the gateway)
  iface: string; // its outside interface
}

// Runs `during` while the stream flows (one datagram every 2 ms) and the capture records everything IPv6 on the
// wire; stops both, even on failure, and returns the packets.
export async function streamOnWire<N extends string>(lab: NetnsLab<N>, o: StreamOnWire<N>, during: (wire: Capture) => Promise<void>): Promise<CapturedPacket[]> {
  const wire = await Capture.start(lab, o.at, o.iface, ['ip6']);
  const sink = await startServer(lab, o.to, ['udp-count', o.port]);
  const stream = startTool(lab, o.from, ['udp-stream', o.toAddr, o.port, 0, 2]);
  try {
    await during(wire);
  } finally {
    stream.child.kill('SIGTERM');
    await stream.waitExit(5000).catch(() => undefined);
    await sink.waitExit(5000).catch(() => undefined);
  }
  return wire.stop();
}

// The stream's sources (datagrams to `port`), in wire order.
export function streamSources(packets: CapturedPacket[], port: number): string[] {
  return packets.filter((x) => x.decoded.protocol === IPPROTO_UDP && x.decoded.dstPort === port).map((x) => x.decoded.src);
}

// The sources switch from `before` to `after` once and never back: the table is swapped at once, not packet by packet.
// Returns where `after` first appears.
export function assertSwitchesOnce(sources: string[], before: string, after: string): number {
  const first = sources.indexOf(after);
  assert.ok(first > 0, `the stream left with ${before}, then with ${after}`);
  assert.deepEqual(new Set(sources.slice(0, first)), new Set([before]));
  assert.deepEqual(new Set(sources.slice(first)), new Set([after]), `no packet with ${before} once ${after} was seen`);
  return first;
}
