// The traffic endpoints the namespace tests run inside namespaces (`node traffic_tool.js COMMAND ...`).
// Each prints JSON lines: {"event":"listening"} once a server is bound, and one result object at the end.
//
//   tcp-sink PORT                    accept one connection, hash what arrives (sha256), print it, exit
//   tcp-send ADDR PORT BYTES         send BYTES of random data, print their sha256, exit
//   udp-echo PORT                    echo every datagram back to its sender; logs each sender
//   udp-ping ADDR PORT COUNT SPORT   COUNT request/answer exchanges from source port SPORT, one at a time
//   udp-stream ADDR PORT COUNT GAPMS COUNT datagrams numbered 0..COUNT-1, one every GAPMS ms
//   udp-send ADDR PORT SPORT COUNT   COUNT fixed datagrams from source port SPORT, no answer expected
//   udp-count PORT                   count numbered datagrams until SIGTERM, then print what arrived
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createConnection, createServer } from 'node:net';

function print(obj: object): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function tcpSink(port: number): void {
  const server = createServer((sock) => {
    server.close();
    const hash = createHash('sha256');
    let bytes = 0;
    sock.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
    });
    sock.on('end', () => {
      print({ event: 'done', bytes, sha256: hash.digest('hex'), peer: sock.remoteAddress });
      sock.end();
    });
    sock.on('error', (e) => fail(`tcp-sink: ${e.message}`));
  });
  server.listen({ port, host: '::', ipv6Only: true }, () => print({ event: 'listening' }));
}

function tcpSend(addr: string, port: number, total: number): void {
  const hash = createHash('sha256');
  let sent = 0;
  let local = '';
  const sock = createConnection({ host: addr, port, family: 6 }, () => {
    local = sock.localAddress ?? '';
    const pump = (): void => {
      while (sent < total) {
        const chunk = randomBytes(Math.min(65536, total - sent));
        hash.update(chunk);
        sent += chunk.length;
        if (!sock.write(chunk)) return void sock.once('drain', pump);
      }
      sock.end();
    };
    pump();
  });
  sock.on('close', (hadError) => {
    if (!hadError) print({ event: 'done', bytes: sent, sha256: hash.digest('hex'), local });
  });
  sock.on('error', (e) => fail(`tcp-send: ${e.message}`));
}

function udpEcho(port: number): void {
  const sock = createSocket({ type: 'udp6', ipv6Only: true });
  sock.on('message', (msg, rinfo) => {
    print({ event: 'datagram', from: rinfo.address, port: rinfo.port, bytes: msg.length });
    sock.send(msg, rinfo.port, rinfo.address);
  });
  sock.bind(port, '::', () => print({ event: 'listening' }));
}

// A fixed payload per exchange, so the same exchange produces the same bytes through any translator.
function udpPing(addr: string, port: number, count: number, srcPort: number, timeoutMs = 1000): void {
  const sock = createSocket({ type: 'udp6', ipv6Only: true });
  const from = new Set<string>();
  let received = 0;
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  const next = (): void => {
    clearTimeout(timer);
    if (i === count) {
      print({ event: 'done', sent: count, received, from: [...from] });
      sock.close();
      return;
    }
    const payload = Buffer.from(`npt66-nt udp exchange ${String(i++).padStart(4, '0')}`);
    sock.send(payload, port, addr);
    timer = setTimeout(next, timeoutMs); // lost: go on with the next one
  };
  sock.on('message', (msg, rinfo) => {
    if (msg.toString().endsWith(String(i - 1).padStart(4, '0'))) {
      received++;
      from.add(rinfo.address);
      next();
    }
  });
  sock.bind(srcPort, '::', next);
}

function udpStream(addr: string, port: number, count: number, gapMs: number): void {
  const sock = createSocket({ type: 'udp6', ipv6Only: true });
  let seq = 0;
  const send = (): void => {
    const payload = Buffer.alloc(64);
    payload.writeUInt32BE(seq++, 0);
    sock.send(payload, port, addr, (err) => {
      if (err) fail(`udp-stream: ${err.message}`);
      if (seq < count) setTimeout(send, gapMs);
      else {
        print({ event: 'done', sent: count });
        sock.close();
      }
    });
  };
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
  sock.on('message', (msg, rinfo) => {
    datagrams++;
    from.add(rinfo.address);
    if (msg.length >= 4) seen.add(msg.readUInt32BE(0));
  });
  const finish = (): void => {
    const max = seen.size ? Math.max(...seen) : -1;
    const missing: number[] = [];
    for (let s = 0; s <= max && missing.length < 50; s++) if (!seen.has(s)) missing.push(s);
    print({ event: 'done', datagrams, unique: seen.size, maxSeq: max, missing, from: [...from] });
    process.exit(0);
  };
  process.on('SIGTERM', finish);
  process.on('SIGINT', finish);
  sock.bind(port, '::', () => print({ event: 'listening' }));
}

function main(argv: string[]): void {
  const [cmd, ...a] = argv;
  const n = (i: number): number => {
    const v = Number(a[i]);
    if (!Number.isInteger(v) || v < 0) fail(`${cmd}: argument ${i + 1} must be a non-negative integer, got ${a[i]}`);
    return v;
  };
  switch (cmd) {
    case 'tcp-sink':
      return tcpSink(n(0));
    case 'tcp-send':
      return tcpSend(a[0], n(1), n(2));
    case 'udp-echo':
      return udpEcho(n(0));
    case 'udp-ping':
      return udpPing(a[0], n(1), n(2), n(3));
    case 'udp-stream':
      return udpStream(a[0], n(1), n(2), n(3));
    case 'udp-send':
      return udpSend(a[0], n(1), n(2), n(3));
    case 'udp-count':
      return udpCount(n(0));
    default:
      fail(`usage: traffic_tool.js tcp-sink|tcp-send|udp-echo|udp-ping|udp-stream|udp-send|udp-count ... (got ${cmd})`);
  }
}

if (require.main === module) main(process.argv.slice(2));
