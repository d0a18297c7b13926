// What the queue engine reports, in the public API's terms: live masquerade mappings and per-queue figures.
// The addon returns exactly these shapes (src/native.ts refers to them); Gateway hands them on.

// conntrack -E's NEW, UPDATE (e.g. TCP established), DESTROY; REMOTE: the mapping's inside endpoint sent to a
// remote it was not sending to (never per packet); LIMIT: a packet to one more was refused at maxRemotesPerMapping
// (at most every 10 s per masquerade entry).
export type MappingEventType = 'NEW' | 'UPDATE' | 'DESTROY' | 'REMOTE' | 'LIMIT';

export interface MappingRecord {
  masquerade: number; // index into the configuration's masquerade entries
  protocol: 'tcp' | 'udp' | 'icmpv6';
  state: 'udp' | 'tcp_transitory' | 'tcp_established' | 'icmp';
  inside: string; // RFC 5952 text
  insidePort: number; // ICMPv6: the echo identifier
  outside: string;
  outsidePort: number;
  remote: string; // the last remote the inside endpoint sent to (REMOTE/LIMIT events: the one added or refused)
  remotePort: number;
  remoteCount: number; // live remotes (addresses; TCP: connections) filtering lets in
  // mappings() only: each live remote with its deadline (ms since the Unix epoch); TCP: the connection's state
  remotes?: { address: string; port: number; state?: 'tcp_transitory' | 'tcp_established'; expires: number }[];
  created: number; // ms since the Unix epoch (converted from the engine's monotonic clock)
  lastUsed: number;
  expires: number;
  packetsOut: number;
  packetsIn: number;
  bytesOut: number;
  bytesIn: number;
}

// One line of /proc/net/netfilter/nfnetlink_queue.
export interface KernelQueueFigures {
  portId: number;
  queueTotal: number; // packets waiting for a verdict now
  copyMode: number; // 2 = COPY_PACKET
  copyRange: number;
  queueDropped: number; // dropped by the kernel: queue full
  userDropped: number; // dropped by the kernel: netlink socket buffer full
  idSequence: number;
}

export interface QueueStats {
  queue: number;
  counters: Record<string, number>;
  kernel: KernelQueueFigures | null; // from /proc/net/netfilter/nfnetlink_queue; null when not bound by us
}
