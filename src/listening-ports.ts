// The host's own IPv6 sockets that a published port (masquerade[].forwards) would take traffic from: TCP sockets
// in LISTEN and bound UDP sockets, read from /proc/net/tcp6 and /proc/net/udp6 (the kernel's socket tables,
// proc(5)). A forward on such a port would send the service's clients to the inside host instead.
import { readFileSync } from 'node:fs';

export interface ListeningSocket {
  address: Buffer; // 16 bytes; all zeros for a wildcard (::) socket
  port: number;
}

const TCP_LISTEN = '0A'; // include/net/tcp_states.h: TCP_LISTEN = 10
const UDP_UNCONNECTED = '07'; // a bound, unconnected UDP socket shows TCP_CLOSE (7)

// One /proc/net/{tcp6,udp6} table: "sl local_address rem_address st ...", local_address "HEX32:PORTHEX" with
// the address as four 32-bit words in host (little-endian on every Linux npt66 runs on) order.
export function parseProcNet6(text: string, protocol: 'tcp' | 'udp'): ListeningSocket[] {
  const want = protocol === 'tcp' ? TCP_LISTEN : UDP_UNCONNECTED;
  const out: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || fields[3] !== want) continue;
    const [hex, portHex] = fields[1]!.split(':') as [string, string];
    if (hex?.length !== 32 || !portHex) continue;
    const address = Buffer.alloc(16);
    for (let w = 0; w < 4; w++) address.writeUInt32LE(Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16) >>> 0, w * 4);
    out.push({ address, port: Number.parseInt(portHex, 16) });
  }
  return out;
}

export function readListeningSockets(protocol: 'tcp' | 'udp'): ListeningSocket[] | null {
  try {
    return parseProcNet6(readFileSync(`/proc/net/${protocol}6`, 'utf8'), protocol);
  } catch {
    return null; // no IPv6 here, or not readable: not checked
  }
}
