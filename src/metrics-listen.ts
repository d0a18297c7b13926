// Where the metrics endpoint listens: "[IPv6]:PORT" or "IPv4:PORT", literal addresses only (a host name would be
// resolved at start and could change meaning). Loopback unless the configuration says otherwise: the figures name
// inside prefixes and interfaces, which are nobody else's business by default.
import { isIP } from 'node:net';

export interface MetricsListen {
  host: string; // the address without brackets, as net.Server.listen takes it
  port: number; // 1..65535
  loopback: boolean;
}

// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 (RFC 4291 s2.5.3, RFC 1122 s3.2.1.3).
export function isLoopbackAddress(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  const lower = host.toLowerCase();
  if (/^::ffff:127\.\d+\.\d+\.\d+$/.test(lower)) return true;
  // Expand to eight groups so every spelling of ::1 (0::1, 0:0:0:0:0:0:0:1) is recognised.
  const [head = '', tail = ''] = lower.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = groups(tail);
  const all = lower.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return all.length === 8 && all.slice(0, 7).every((g) => /^0{1,4}$/.test(g)) && /^0{0,3}1$/.test(all[7]!);
}

// "[::1]:9466" -> {host: "::1", port: 9466}; null when it is not a literal address with a port.
export function parseMetricsListen(text: string): MetricsListen | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const host = m[1]!;
  const port = Number(m[2]);
  const family = isIP(host);
  if (family === 0 || (family === 6) !== text.startsWith('[') || port < 1 || port > 65535) return null;
  return { host, port, loopback: isLoopbackAddress(host) };
}
