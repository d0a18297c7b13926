// The host's own IPv6 sockets that a published port (masquerade[].forwards) would take traffic from: TCP sockets
// in LISTEN and bound UDP sockets, read from /proc/net/tcp6 and /proc/net/udp6 (the kernel's socket tables,
// proc(5)). A forward on such a port would send the service's clients to the inside host instead.
//
// Except Docker's userland proxy: docker-proxy listens on each port published with `docker run -p` and relays
// what reaches it to the container. npt66 rewrites the destination of a published port's packets in raw
// PREROUTING, before the routing decision, so they are forwarded to the container and never delivered locally:
// docker-proxy's socket takes nothing from anyone there, and refusing its port would refuse Docker's own
// published ports (or a static forward to the same container). With "userland-proxy": false, dockerd itself
// holds the port instead, only to reserve it (masquerade-forwards.ts excuses it for Docker's own ports). Such
// sockets are told by the program that holds them (/proc/PID/comm of the process with the socket's inode among
// its /proc/PID/fd links).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ListeningSocket {
  address: Buffer; // 16 bytes; all zeros for a wildcard (::) socket
  port: number;
  inode?: number; // the socket's inode (socketProgram() finds who holds it)
}

export const DOCKER_PROXY = 'docker-proxy';

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
    const inode = Number(fields[9]);
    out.push({ address, port: Number.parseInt(portHex, 16), ...(Number.isInteger(inode) && inode > 0 ? { inode } : {}) });
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

// The name (comm) of a process holding socket `inode`, or null when none is found (gone, or /proc not readable).
// Reads every process's fd links: called only for a socket on a published port, never per packet.
export function socketProgram(inode: number, proc = '/proc'): string | null {
  const want = `socket:[${inode}]`;
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`${proc}/${pid}/fd/${fd}`) === want) return readFileSync(`${proc}/${pid}/comm`, 'utf8').trim();
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return null;
}
