// The traffic endpoints the namespace tests run inside namespaces (`node traffic_tool.js COMMAND ...`).
// Each prints JSON lines: {"event":"listening"} once a server is bound, and one result object at the end.
//
//   tcp-sink PORT                    accept one connection, hash what arrives (sha256), print it, exit
//   tcp-send ADDR PORT BYTES         send BYTES of random data, print their sha256, exit
//   tcp-serve PORT BYTES             accept one connection, send it BYTES of random data, print their sha256
//   tcp-fetch ADDR PORT              connect, hash what arrives until the server closes, print it, exit
//                                    (tcp-serve/tcp-fetch: data towards the side that opened the connection)
//   udp-echo PORT                    echo every datagram back to its sender; logs each sender
//   udp-ping ADDR PORT COUNT SPORT [BYTES]
//                                    COUNT request/answer exchanges from source port SPORT, one at a time
//                                    (a lost one is retried up to 3 times); with BYTES, each request is BYTES
//                                    long (e.g. larger than the MTU: fragmented) and only a byte-identical answer
//                                    counts
//   udp-stream ADDR PORT COUNT GAPMS COUNT datagrams numbered 0..COUNT-1 (0: until SIGTERM), one every
//                                    GAPMS ms, progress every 100, then an end marker with the number sent
//   udp-send ADDR PORT SPORT COUNT   COUNT fixed datagrams from source port SPORT, no answer expected
//   udp-count PORT                   count numbered datagrams until the end marker (or SIGTERM), print what arrived
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createConnection, createServer, type Socket } from 'node:net';

import { fail, print, runTool, type ToolCommand } from './tool_cli';

// Hashes everything that arrives on `sock` and prints it, with `who` (peer or local address), at the end.
function hashIncoming(sock: Socket, who: Record<string, string | undefined>, what: string): void {
  const hash = createHash('sha256');
  let bytes = 0;
  sock.on('data', (d: Buffer) => {
    bytes += d.length;
    hash.update(d);
  });
  sock.on('end', () => {
    print({ event: 'done', bytes, sha256: hash.digest('hex'), ...who });
    sock.end();
  });
  sock.on('error', (e) => fail(`${what}: ${e.message}`));
}

// Sends `total` bytes of random data on `sock`, then ends it; prints their sha256 and `who` once it closed.
function sendRandom(sock: Socket, total: number, who: () => Record<string, string | undefined>, what: string): void {
  const hash = createHash('sha256');
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      const chunk = randomBytes(Math.min(65536, total - sent));
      hash.update(chunk);
      sent += chunk.length;
      if (!sock.write(chunk)) return void sock.once('drain', pump);
    }
    sock.end();
  };
  sock.on('close', (hadError) => {
    if (!hadError) print({ event: 'done', bytes: sent, sha256: hash.digest('hex'), ...who() });
  });
  sock.on('error', (e) => fail(`${what}: ${e.message}`));
  sock.resume(); // nothing is expected back; the peer's FIN must still be read for 'close'
  pump();
}

// Accepts one connection and hands it to `serve`.
function acceptOne(port: number, serve: (sock: Socket) => void): void {
  const server = createServer((sock) => {
    server.close();
    serve(sock);
  });
  server.listen({ port, host: '::', ipv6Only: true }, () => print({ event: 'listening' }));
}

function tcpSink(port: number): void {
  acceptOne(port, (sock) => hashIncoming(sock, { peer: sock.remoteAddress }, 'tcp-sink'));
}

function tcpSend(addr: string, port: number, total: number): void {
  const sock = createConnection({ host: addr, port, family: 6 }, () => {
    const local = sock.localAddress;
    sendRandom(sock, total, () => ({ local }), 'tcp-send');
  });
  sock.on('error', (e) => fail(`tcp-send: ${e.message}`));
}

function tcpServe(port: number, total: number): void {
  acceptOne(port, (sock) => {
    const peer = sock.remoteAddress;
    sendRandom(sock, total, () => ({ peer }), 'tcp-serve');
  });
}

function tcpFetch(addr: string, port: number): void {
  const sock = createConnection({ host: addr, port, family: 6 }, () => hashIncoming(sock, { local: sock.localAddress }, 'tcp-fetch'));
  sock.on('error', (e) => fail(`tcp-fetch: ${e.message}`));
}

function udpEcho(port: number): void {
  const sock = createSocket({ type: 'udp6', ipv6Only: true });
  sock.on('message', (msg, rinfo) => {
    print({ event: 'datagram', from: rinfo.address, port: rinfo.port, bytes: msg.length });
    sock.send(msg, rinfo.port, rinfo.address);
  });
  sock.bind(port, '::', () => print({ event: 'listening' }));
}

// A fixed payload per exchange, so the same exchange produces the same bytes through any translator. An
// unanswered request is sent again (up to 3 times, as a real client would): a single packet lost elsewhere on
// a busy machine does not fail a test about translation; `attempts` shows that it happened.
function udpPing(addr: string, port: number, count: number, srcPort: number, bytes?: number, timeoutMs = 500, tries = 3): void {
  const sock = createSocket({ type: 'udp6', ipv6Only: true });
  const from = new Set<string>();
  let received = 0;
  let attempts = 0;
  let i = -1;
  let tried = 0;
  let timer: NodeJS.Timeout | undefined;
  const tag = (n: number) => String(n).padStart(4, '0');
  // BYTES long: a pattern that differs per exchange and per position, ending with the tag.
  const payload = (n: number): Buffer => {
    const text = Buffer.from(`npt66-nt udp exchange ${tag(n)}`);
    if (bytes === undefined || bytes <= text.length) return text;
    const b = Buffer.alloc(bytes);
    for (let k = 0; k < bytes; k++) b[k] = (k * 7 + n * 13 + (k >> 8)) & 0xff;
    text.copy(b, bytes - text.length);
    return b;
  };
  const send = (): void => {
    tried++;
    attempts++;
    sock.send(payload(i), port, addr);
    timer = setTimeout(() => (tried < tries ? send() : next()), timeoutMs);
  };
  const next = (): void => {
    clearTimeout(timer);
    if (++i === count) {
      print({ event: 'done', sent: count, received, attempts, from: [...from] });
      sock.close();
      return;
    }
    tried = 0;
    send();
  };
  sock.on('message', (msg, rinfo) => {
    if (bytes === undefined ? msg.toString().endsWith(tag(i)) : msg.equals(payload(i))) {
      received++;
      from.add(rinfo.address);
      next();
    }
  });
  sock.bind(srcPort, '::', next);
}

// Datagrams carry their sequence number in the first 4 bytes; the end marker carries END_MARK and the number
// of datagrams sent, so the counter knows what should have arrived.
const END_MARK = 0xffffffff;

function udpStream(addr: string, port: number, count: number, gapMs: number): void {
  const sock = createSocket({ type: 'udp6', ipv6Only: true });
  let seq = 0;
  let stopping = false;
  const finish = (): void => {
    const end = Buffer.alloc(8);
    end.writeUInt32BE(END_MARK, 0);
    end.writeUInt32BE(seq, 4);
    sock.send(end, port, addr, () => {
      print({ event: 'done', sent: seq });
      sock.close();
    });
  };
  const send = (): void => {
    if (stopping || (count > 0 && seq === count)) return finish();
    const payload = Buffer.alloc(64);
    payload.writeUInt32BE(seq++, 0);
    sock.send(payload, port, addr, (err) => {
      if (err) fail(`udp-stream: ${err.message}`);
      if (seq % 100 === 0) print({ event: 'progress', sent: seq });
      setTimeout(send, gapMs);
    });
  };
  // COUNT 0: until SIGTERM/SIGINT; either way the end marker goes last.
  process.on('SIGTERM', () => (stopping = true));
  process.on('SIGINT', () => (stopping = true));
  send();
}

function udpSend(addr: string, port: number, srcPort: number, count: number): void {
  const sock = createSocket({ type: 'udp6', ipv6Only: true });
  let i = 0;
  const send = (): void => {
    if (i === count) {
      print({ event: 'done', sent: count });
      sock.close();
      return;
    }
    sock.send(Buffer.from(`npt66-nt udp datagram ${String(i++).padStart(4, '0')}`), port, addr, (err) => (err ? fail(`udp-send: ${err.message}`) : send()));
  };
  sock.on('error', () => undefined); // an ICMPv6 error answer is expected by callers; it is not ours to report
  sock.bind(srcPort, '::', send);
}

function udpCount(port: number): void {
  const sock = createSocket({ type: 'udp6', ipv6Only: true, recvBufferSize: 4 << 20 });
  const seen = new Set<number>();
  const from = new Set<string>();
  let datagrams = 0;
  let announced: number | null = null; // from the end marker
  const finish = (): void => {
    const max = seen.size ? Math.max(...seen) : -1;
    const missing: number[] = [];
    for (let s = 0; s < Math.max(max + 1, announced ?? 0) && missing.length < 50; s++) if (!seen.has(s)) missing.push(s);
    print({ event: 'done', datagrams, unique: seen.size, maxSeq: max, announced, missing, from: [...from] });
    process.exit(0);
  };
  sock.on('message', (msg, rinfo) => {
    if (msg.length >= 8 && msg.readUInt32BE(0) === END_MARK) {
      announced = msg.readUInt32BE(4);
      return finish();
    }
    datagrams++;
    from.add(rinfo.address);
    if (msg.length >= 4) seen.add(msg.readUInt32BE(0));
  });
  process.on('SIGTERM', finish);
  process.on('SIGINT', finish);
  sock.bind(port, '::', () => print({ event: 'listening' }));
}

const COMMANDS = {
  'tcp-sink': (a, n) => tcpSink(n(0)),
  'tcp-send': (a, n) => tcpSend(a[0], n(1), n(2)),
  'tcp-serve': (a, n) => tcpServe(n(0), n(1)),
  'tcp-fetch': (a, n) => tcpFetch(a[0], n(1)),
  'udp-echo': (a, n) => udpEcho(n(0)),
  'udp-ping': (a, n) => udpPing(a[0], n(1), n(2), n(3), a[4] === undefined ? undefined : n(4)),
  'udp-stream': (a, n) => udpStream(a[0], n(1), n(2), n(3)),
  'udp-send': (a, n) => udpSend(a[0], n(1), n(2), n(3)),
  'udp-count': (a, n) => udpCount(n(0)),
} satisfies Record<string, ToolCommand>;

if (require.main === module) runTool('traffic_tool.js', COMMANDS, process.argv.slice(2));
