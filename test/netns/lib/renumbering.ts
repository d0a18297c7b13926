// What the renumbering tests (an outside prefix or a masquerade address following its interface) watch: a numbered
// UDP stream from an inside host, captured on the gateway's outside interface while the addresses change under it.
import assert from 'node:assert/strict';
import { Capture, type CapturedPacket } from './capture';
import { IPPROTO_UDP } from './ipv6_decode';
import type { NetnsLab } from './netns_lab';
import { growth } from './npt66_daemon';
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

// `count` datagrams from the inside host while the gateway has nothing to translate them to (no prefix, no
// address): waits until `counter` grew by `count` (the engine took them all, 5 s at most), then returns the
// counters' growth and what the outside wire saw meanwhile.
export async function sendWhileNothingToTranslate<N extends string>(
  lab: NetnsLab<N>,
  daemon: { counters(): Promise<Record<string, number>> },
  o: Omit<StreamOnWire<N>, 'to'>,
  counter: string,
  count = 20,
): Promise<{ grown: Record<string, number>; packets: CapturedPacket[] }> {
  const before = await daemon.counters();
  const wire = await Capture.start(lab, o.at, o.iface, ['ip6']);
  const send = startTool(lab, o.from, ['udp-send', o.toAddr, o.port, 40100, count]);
  await send.waitExit(5000);
  let grown: Record<string, number> = {};
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    grown = growth(before, await daemon.counters());
    if ((grown[counter] ?? 0) >= count) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { grown, packets: await wire.stop() };
}
