// A host beyond the gateway for clients that only have busybox (`nc`, `nslookup`): `node peer_reporter.js PORT BYTES`.
//   TCP PORT:   answers each connection with the address it came from ("from ADDR\n") and closes.
//   UDP 53:     a DNS server that answers every AAAA query with the address the query came from (busybox has
//               no UDP `nc`; `nslookup -type=aaaa NAME SERVER` prints the answer), other types with no record.
//   TCP PORT+1: sends BYTES of seeded pseudo-random data slowly (64 KB every 20 ms: a transfer that lasts
//               seconds, so something can happen during it) and closes; its md5 and sha256 are printed at start.
// Prints JSON lines: {"event":"listening","md5":...,"sha256":...} once bound, {"tcp"|"udp"|"bulk": ADDR} per peer.
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

import { parseAddress } from '../../../src/prefix';

const port = Number(process.argv[2]);
const bytes = Number(process.argv[3] ?? 0);
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

// xorshift32: the same bytes every run, no randomness to carry between processes.
function data(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}
const bulk = data(bytes);
const md5 = createHash('md5').update(bulk).digest('hex');
const sha256 = createHash('sha256').update(bulk).digest('hex');

const tcp = createServer((s) => {
  print({ tcp: s.remoteAddress });
  s.end(`from ${s.remoteAddress}\n`);
  s.on('error', () => undefined);
});
const slow = createServer({ allowHalfOpen: true }, (s) => {
  print({ bulk: s.remoteAddress });
  s.on('error', () => undefined);
  let off = 0;
  const timer = setInterval(() => {
    if (off >= bulk.length) {
      clearInterval(timer);
      s.end();
      return;
    }
    s.write(bulk.subarray(off, off + 65536));
    off += 65536;
  }, 20);
  s.on('close', () => clearInterval(timer));
});
// RFC 1035 s4.1: the query's header and question, QR set, and one AAAA answer (a pointer to the question's name).
function dnsAnswer(q: Buffer, address: string): Buffer | null {
  let i = 12;
  while (i < q.length && q[i] !== 0) i += q[i]! + 1;
  if (i + 5 > q.length) return null;
  const end = i + 5;
  const aaaa = q.readUInt16BE(i + 1) === 28;
  const header = Buffer.alloc(12);
  q.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(aaaa ? 1 : 0, 6);
  const answer = Buffer.alloc(aaaa ? 28 : 0);
  if (aaaa) {
    answer.writeUInt16BE(0xc00c, 0);
    answer.writeUInt16BE(28, 2);
    answer.writeUInt16BE(1, 4);
    answer.writeUInt32BE(60, 6);
    answer.writeUInt16BE(16, 10);
    parseAddress(address, 'peer').copy(answer, 12);
  }
  return Buffer.concat([header, q.subarray(12, end), answer]);
}

const udp = createSocket({ type: 'udp6' });
udp.on('message', (m, r) => {
  print({ udp: r.address });
  const a = dnsAnswer(m, r.address);
  if (a) udp.send(a, r.port, r.address);
});

let bound = 0;
const ready = () => {
  if (++bound === 3) print({ event: 'listening', md5, sha256 });
};
tcp.listen(port, '::', ready);
slow.listen(port + 1, '::', ready);
udp.bind(53, '::', ready);
