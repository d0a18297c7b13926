// The whole native surface in one place: what build/Release/npt66.node exports, typed.
import * as path from 'node:path';

export type Direction = 'outbound' | 'inbound';
export type Action = 'translated' | 'not-ours' | 'drop';

export interface NativeMapping {
  inside: Buffer;
  insideLength: number;
  outside: Buffer;
  outsideLength: number;
}

export interface NativeMapResult {
  output: Buffer | null;
  reason: string | null;
  mapping: number;
}

export interface NativeTranslateResult {
  action: Action;
  reason: string;
  mapping: number;
  pointer: number;
  packet: Buffer;
}

export interface NativeTranslator {
  mapAddress(address: Buffer, direction: Direction): NativeMapResult;
  translate(packet: Buffer, direction: Direction): NativeTranslateResult;
  counters(): Record<string, number>;
}

export interface CounterDescription {
  name: string;
  kind: 'event' | 'drop';
  help: string;
}

// The queue engine (native/nfq, issue 3): one native thread per netfilter queue, translating in place.
export interface NativeEngineOptions {
  queueFirst: number;
  queueCount: number;
  queueMaxLen: number; // NFQA_CFG_QUEUE_MAXLEN, default 4096
  socketBufferBytes: number; // SO_RCVBUFFORCE/SO_SNDBUFFORCE per queue socket, default 8 MiB
  failOpen: boolean; // accept untranslatable packets untranslated (and set NFQA_CFG_F_FAIL_OPEN); default false
  icmpRateLimit: number; // ICMPv6 Parameter Problem replies per second, all queues together, default 100; 0 = none
  mappings: NativeMapping[]; // compiled natively; throws ERR_NPT66_CONFIG
  onEvents: (events: NativeEngineEvent[]) => void; // batched via one ThreadSafeFunction, rare events only
}

export interface NativeEngineEvent {
  type: 'warning' | 'state' | 'error';
  message: string;
  queue?: number;
  time: number; // ms since the Unix epoch
}

export interface NativeKernelQueueFigures {
  portId: number;
  queueTotal: number; // packets waiting for a verdict now
  copyMode: number; // 2 = COPY_PACKET
  copyRange: number;
  queueDropped: number; // dropped by the kernel: queue full
  userDropped: number; // dropped by the kernel: netlink socket buffer full
  idSequence: number;
}

export interface NativeQueueStats {
  queue: number;
  counters: Record<string, number>;
  kernel: NativeKernelQueueFigures | null; // from /proc/net/netfilter/nfnetlink_queue; null when not bound by us
}

export interface NativeEngineStats {
  queues: NativeQueueStats[];
  total: Record<string, number>;
  mappings: { index: number; outbound: number; inbound: number; dropped: number }[];
}

// Errors: ERR_NPT66_CONFIG (options, mappings), ERR_NPT66_INVALID_ARG (argument shapes), ERR_NPT66_STATE (start
// twice), ERR_NPT66_QUEUE from start() with `errno` (negative, as Node's system errors), `syscall` and `queue`.
export interface NativeEngine {
  start(): void; // binds every queue, starts threads; throws ERR_NPT66_QUEUE and leaves nothing bound
  setMappings(mappings: NativeMapping[]): void; // atomic swap; on error throws ERR_NPT66_CONFIG and the old table stays
  stats(): NativeEngineStats;
  stop(drainMs?: number): Promise<void>; // drain (default 200 ms quiet), verdict for everything, unbind, join
}

export interface NativeAddon {
  Translator: new (mappings: NativeMapping[]) => NativeTranslator;
  Engine: new (options: NativeEngineOptions) => NativeEngine;
  counterDescriptions: CounterDescription[];
}

// dist/src/native.js -> <package root>/build/Release/npt66.node; NPT66_ADDON points elsewhere (e.g. a node-gyp build).
export const addonPath = process.env.NPT66_ADDON ?? path.resolve(__dirname, '..', '..', 'build', 'Release', 'npt66.node');

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: NativeAddon = require(addonPath);
