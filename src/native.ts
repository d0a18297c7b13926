// The whole native surface in one place: what build/Release/npt66.node exports, typed.
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import type { CompiledNptv6Mapping } from './config';
import type { CounterDescription } from './counters';
import type { KernelQueueFigures, MappingEventType, MappingRecord, QueueStats } from './engine-records';
import { fromNativeError } from './errors';

export type Direction = 'outbound' | 'inbound';
export type Action = 'translated' | 'not-ours' | 'drop';

export type NativeMapping = CompiledNptv6Mapping; // validateNptv6's output (src/config.ts)

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


// The queue engine (native/nfq, issue 3): one native thread per netfilter queue, translating in place.
export interface NativeEngineOptions {
  queueFirst: number;
  queueCount: number;
  queueMaxLen: number; // NFQA_CFG_QUEUE_MAXLEN, default 4096
  socketBufferBytes: number; // SO_RCVBUFFORCE/SO_SNDBUFFORCE per queue socket, default 8 MiB
  failOpen: boolean; // accept untranslatable packets untranslated (and set NFQA_CFG_F_FAIL_OPEN); default false
  // NFQA_CFG_F_GSO: GSO/GRO super-packets are queued whole (native/core/checksum_offload.h); default true.
  // false makes the kernel segment them first: one message per MTU-sized packet, several times slower on TCP.
  gso?: boolean;
  icmpRateLimit: number; // ICMPv6 Parameter Problem replies per second, all queues together, default 100; 0 = none
  // Queue thread placement (native/nfq/thread_placement.h): thread i runs on queueCpus[i % length] (default: not
  // pinned), at nice queueNice (-20..19, default -20: under overload the threads keep their CPU against ksoftirqd
  // and ordinary tasks, bench/README.md "Overload") or under SCHED_FIFO at queueFifoPriority (1..99; default 0 =
  // off; never on a CPU that does receive work: it livelocks there). A placement the kernel refuses (no
  // CAP_SYS_NICE) is reported as a warning event; the threads keep translating.
  queueCpus?: number[];
  queueNice?: number;
  queueFifoPriority?: number;
  mappings: NativeMapping[]; // compiled natively; throws ERR_NPT66_CONFIG
  masquerade?: NativeMasquerade[]; // one NAT66 table each, compiled natively; errors throw ERR_NPT66_CONFIG naming masquerade[i].field
  // The outside interfaces by name, resolved natively to ifindexes (again on setOutsideInterfaces and about once a
  // second); one that does not exist yet is a warning event. A packet arriving on one with a source in an inside
  // prefix is dropped (drop_spoofed_inside_source). Left out: hairpin is decided by the source alone.
  outsideInterfaces?: string[];
  onEvents: (events: NativeEngineEvent[]) => void; // batched via one ThreadSafeFunction, rare events only
}

// NAT66 masquerade (issue 4): one table per entry, kept for the engine's life (setMappings leaves them alone;
// adding or removing one means a new engine; the setMasquerade* methods change one while running). Ports below 1024 stay below 1024; others and ICMPv6 echo ids use
// [portMin, portMax].
export interface NativeMasquerade {
  sources: { prefix: Buffer; length: number }[]; // inside prefixes
  addresses: Buffer[]; // outside address pool (16 bytes each), >= 1
  portMin: number;
  portMax: number;
  filtering: 'address-dependent' | 'endpoint-independent';
  timeouts: { udpMs: number; tcpEstablishedMs: number; tcpTransitoryMs: number; icmpMs: number }; // udpMs >= 120000 (RFC 4787 REQ-5)
  maxMappings: number;
  maxPerHost64: number;
  maxRemotesPerMapping?: number; // left out: Nat66Config's default (the schema always gives it)
  inboundRefresh: boolean;
  // true (default): inside ports 1-1023 keep an outside port below 1024 (replies to 1-1023 must be queued);
  // false: they take a port from portMin-portMax like any other.
  privilegedPorts?: boolean;
  // Published ports (native/core/nat66_forwards.h); left out: none.
  forwards?: { protocol: 'tcp' | 'udp'; port: number; inside: Buffer; insidePort: number }[];
}

// The engine's reports have the public API's shapes (src/engine-records.ts); these names are the addon's view.
export type NativeMappingRecord = MappingRecord;
export type NativeKernelQueueFigures = KernelQueueFigures;
export type NativeQueueStats = QueueStats;

// Rare events: warnings, state changes, errors, and masquerade mapping events (conntrack -E style: NEW on
// creation, UPDATE on a TCP state change, DESTROY on expiry), gathered natively and handed over in batches at
// most every ~100 ms, never per packet.
export interface NativeEngineNotice {
  type: 'warning' | 'state' | 'error';
  message: string;
  queue?: number;
  time: number; // ms since the Unix epoch
}

export interface NativeMappingEvent {
  type: 'mapping';
  event: MappingEventType;
  mapping: NativeMappingRecord;
  message: string; // a conntrack-like one-line summary
  time: number; // ms since the Unix epoch, when the table queued the event
}

// One nptv6 entry with proxy NDP, for setProxyNdp: its compiled prefixes, its outside interface, and in
// "neighbours" mode the outside addresses answered for (16-byte Buffers; ignored in "prefix" mode).
export interface NativeProxyNdpEntry {
  inside: Buffer;
  insideLength: number;
  outside: Buffer;
  outsideLength: number;
  interface: string;
  mode: 'neighbours' | 'prefix';
  neighbours: Buffer[];
}

// An interface's global IPv6 addresses changed (after watchAddresses(); rtnetlink RTM_NEWADDR/RTM_DELADDR).
export interface NativeAddressEvent {
  type: 'address';
  interface: string; // "" when unknown or when notices were lost: read every interface again
  message: string;
  time: number;
}

export type NativeEngineEvent = NativeEngineNotice | NativeMappingEvent | NativeAddressEvent;

export interface NativeEngineStats {
  queues: NativeQueueStats[];
  total: Record<string, number>;
  // outboundBytes/inboundBytes: the IPv6 packet lengths of the translated packets (absent from older addons)
  mappings: { index: number; outbound: number; inbound: number; dropped: number; outboundBytes?: number; inboundBytes?: number }[];
  // One per masquerade table: live mappings (in all and by state: udp, tcp_transitory, tcp_established, icmp)
  // and the packets it translated out (hairpinned ones included), in, or dropped. NAT66 counters (nat66_*,
  // drop_nat66_*) are in `total` and the per-queue counters; nat66_mapping_expired only in `total`.
  masquerade: {
    index: number;
    live: number;
    byState: Record<string, number>;
    outbound: number;
    inbound: number;
    dropped: number;
    outboundBytes?: number;
    inboundBytes?: number;
  }[];
}

// Errors: ERR_NPT66_CONFIG (options, mappings), ERR_NPT66_INVALID_ARG (argument shapes), ERR_NPT66_STATE (start
// twice), ERR_NPT66_QUEUE from start() with `errno` (negative, as Node's system errors), `syscall` and `queue`.
export interface NativeEngine {
  start(): void; // binds every queue, starts threads; throws ERR_NPT66_QUEUE and leaves nothing bound
  setMappings(mappings: NativeMapping[]): void; // atomic swap; on error throws ERR_NPT66_CONFIG and the old table stays
  setOutsideInterfaces?(names: string[]): void; // resolves the names again (see NativeEngineOptions.outsideInterfaces)
  // Masquerade entry `index`'s source prefixes from now on (may be empty); mappings of a source that went are
  // removed (nat66_mapping_unsourced). Throws ERR_NPT66_CONFIG, sources unchanged, when the table refuses them.
  setMasqueradeSources?(index: number, sources: NativeMasquerade['sources']): void;
  // Masquerade entry `index`'s published ports from now on (may be empty); flows through a forward that went stop
  // being translated. Throws ERR_NPT66_CONFIG, forwards unchanged, when the table refuses them.
  setMasqueradeForwards?(index: number, forwards: NonNullable<NativeMasquerade['forwards']>): void;
  // Masquerade entry `index`'s outside addresses from now on: new flows take one of `use` (none: refused,
  // drop_nat66_no_address), mappings on `keep` live on, those on any other address are removed
  // (nat66_mapping_address_gone). Throws ERR_NPT66_CONFIG, addresses unchanged, when the table refuses them.
  setMasqueradeAddresses?(index: number, use: Buffer[], keep: Buffer[]): void;
  // Masquerade entry `index`'s port range, privilegedPorts, filtering, inboundRefresh, timeouts and limits from now
  // on, taken from a whole entry (its sources and addresses are only checked); with `forwards`, those forwards too
  // (the full set, checked against the new range together). Live mappings stay (native/core/nat66_table.h,
  // "Tunables"). Throws ERR_NPT66_CONFIG, nothing changed, when the table refuses them.
  setMasqueradeTunables?(index: number, masquerade: NativeMasquerade): void;
  // Whether a mapping of entry `index` holds a TCP or UDP outside port of [min, max] (a scan: rare calls only).
  masqueradeHoldsPorts?(index: number, min: number, max: number): boolean;
  // From now on (subscribed before it returns) an 'address' event whenever an interface's global IPv6 addresses
  // change; throws ERR_NPT66_QUEUE when rtnetlink cannot be opened. Ends with stop().
  watchAddresses?(): void;
  // The proxy NDP entries answered from now on by the native responder (native/nfq/ndp_responder.h); [] stops
  // answering. Throws ERR_NPT66_CONFIG (entries unchanged) when their prefixes do not compile.
  setProxyNdp?(entries: NativeProxyNdpEntry[]): void;
  stats(): NativeEngineStats;
  mappings(): NativeMappingRecord[]; // snapshot of every live masquerade mapping
  stop(drainMs?: number): Promise<void>; // drain (default 200 ms quiet), verdict for everything, unbind, join
}

export interface NativeAddon {
  Translator: new (mappings: NativeMapping[]) => NativeTranslator;
  Engine: new (options: NativeEngineOptions) => NativeEngine;
  counterDescriptions: CounterDescription[];
  // One sd_notify(3) datagram to $NOTIFY_SOCKET (native/nfq/sd_notify.h); absent from addons built before it.
  sdNotify?: (state: string) => { sent: boolean; error: string };
}

// Calls into the addon, turning its coded Errors into Npt66Errors (anything else, e.g. a bug, passes unchanged).
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromNativeError(e);
  }
}

// Which addon to load, first found: NPT66_ADDON (any file); <package root>/build/Release/npt66.node (a checkout's
// cmake-js build, or the package's node-gyp build from source); build-gyp/npt66.node (a checkout's
// `npm run build:gyp`); then node-gyp-build's choice, i.e. the package's prebuilds/<platform>-<arch>/ (when none
// fits, its error names the platform and ABI it looked for).
function findAddon(): string {
  if (process.env.NPT66_ADDON) return process.env.NPT66_ADDON;
  const root = path.resolve(__dirname, '..', '..'); // dist/src/native.js -> <package root>
  for (const built of [path.join(root, 'build', 'Release', 'npt66.node'), path.join(root, 'build-gyp', 'npt66.node')]) {
    if (existsSync(built)) return built;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node-gyp-build') as { path(dir: string): string }).path(root);
}

export const addonPath = findAddon();

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: NativeAddon = require(addonPath);
