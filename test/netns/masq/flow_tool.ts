// Endpoints the masquerade tests need beyond lib/traffic_tool.ts (`node flow_tool.js COMMAND ...`); JSON lines
// on stdout, {"event":"listening"} once a server is bound (or a mapping announced).
//
//   udp-announce PORT ADDR DPORT     bind PORT, send one datagram to ADDR:DPORT (creating the mapping), then
//                                    log every datagram that arrives ({"event":"datagram",from,port,text}) and
//                                    echo it back
//   udp-send-from SRC SPORT DST DPORT TEXT   one datagram from SRC:SPORT, then exit
//   tcp-echo PORT                    echo server for any number of connections; logs each connection
//   tcp-hold ADDR PORT N             open N connections one after the other (each: ok, or the error code); keep
//                                    them; on SIGUSR1 send a line on each open one and report which echoed
//   tcp-once ADDR PORT BYTES fin|rst one connection: BYTES echoed back, then closed with FIN or reset (RST)
//   udp-fanout SPORT DPORT ADDRS [KEEP] [EVERY_MS]   one socket bound to SPORT sends "hello" to every address in
//                                    ADDRS (comma-separated) on DPORT, then every EVERY_MS (default 1000) to
//                                    those in KEEP; logs each datagram that arrives ({"event":"datagram",from,
//                                    port,text}); {"event":"listening"} once all were sent
//   udp-echo-each PORT ADDRS         one socket per address (so each answers from the address it was sent to),
//                                    echoing every datagram
//   tcp-two LPORT ADDR1 ADDR2 PORT BYTES PAUSE_MS   two connections from one local port (SO_REUSEADDR) to an
//                                    echo server on two addresses: the first echoes 1000 bytes and closes with
//                                    FIN; the second sends BYTES in two halves with PAUSE_MS between (after the
//                                    first has closed) and reports {"event":"done",sent,received} (sha256)
//   tcp-paced ADDR PORT BYTES        one connection to an echo server: the first half of BYTES, then
//                                    {"event":"half",localPort} once it came back; the second half on SIGUSR1;
//                                    {"event":"done",bytes,sent,received} (sha256) once all came back
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createConnection, createServer, type Socket } from 'node:net';

import { fail, print, runTool, type ToolCommand } from '../lib/tool_cli';

function udpAnnounce(port: number, addr: string, dport: number): void {
  const sock = createSocket({ type: 'udp6', ipv6Only: true });
  sock.on('message', (msg, rinfo) => {
    print({ event: 'datagram', from: rinfo.address, port: rinfo.port, text: msg.toString() });
    sock.send(msg, rinfo.port, rinfo.address);
  });
  sock.on('error', () => undefined); // ICMPv6 errors about the announce are expected (nothing listens there)
  sock.bind(port, '::', () => {
    sock.send(Buffer.from('announce'), dport, addr, (err) => {
      if (err) fail(`udp-announce: ${err.message}`);
      print({ event: 'listening' });
    });
  });
}

function udpSendFrom(src: string, sport: number, dst: string, dport: number, text: string): void {
  const sock = createSocket({ type: 'udp6', ipv6Only: true, reuseAddr: true });
  sock.bind(sport, src, () => {
    sock.send(Buffer.from(text), dport, dst, (err) => {
      if (err) fail(`udp-send-from: ${err.message}`);
      print({ event: 'done' });
      sock.close();
    });
  });
}

function tcpEcho(port: number): void {
  const server = createServer((sock) => {
    print({ event: 'connection', from: sock.remoteAddress, port: sock.remotePort });
    sock.on('error', () => undefined); // resets are part of the tests
    sock.pipe(sock);
  });
  server.listen({ port, host: '::', ipv6Only: true }, () => print({ event: 'listening' }));
}

// Waits for `n` bytes echoed on `sock`, or fails after `timeoutMs`.
function echoed(sock: Socket, n: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (d: Buffer) => {
      got += d.length;
      if (got >= n) done(true);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.off('data', onData);
      resolve(ok);
    };
    sock.on('data', onData);
  });
}

function connect(addr: string, port: number, timeoutMs = 5000): Promise<{ sock?: Socket; error?: string }> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: addr, port, family: 6 });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ error: 'ETIMEDOUT' });
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve({ sock });
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ error: e.code ?? e.message });
    });
  });
}

async function tcpHold(addr: string, port: number, n: number): Promise<void> {
  const open: { i: number; sock: Socket }[] = [];
  for (let i = 0; i < n; i++) {
    const r = await connect(addr, port);
    if (r.sock) {
      r.sock.on('error', () => undefined);
      open.push({ i, sock: r.sock });
      print({ event: 'connect', i, ok: true, localPort: r.sock.localPort });
    } else {
      print({ event: 'connect', i, ok: false, error: r.error });
    }
  }
  print({ event: 'opened', ok: open.length });
  process.on('SIGUSR1', () => {
    void (async () => {
      const results = await Promise.all(
        open.map(async ({ i, sock }) => {
          const line = `round on connection ${i}\n`;
          const wait = echoed(sock, line.length, 5000);
          sock.write(line);
          return { i, ok: await wait };
        }),
      );
      print({ event: 'round', echoed: results.filter((r) => r.ok).map((r) => r.i), failed: results.filter((r) => !r.ok).map((r) => r.i) });
    })();
  });
  process.on('SIGTERM', () => {
    for (const { sock } of open) sock.destroy();
    process.exit(0);
  });
}

async function tcpOnce(addr: string, port: number, bytes: number, close: string): Promise<void> {
  if (close !== 'fin' && close !== 'rst') fail(`tcp-once: close must be fin or rst, got ${close}`);
  const r = await connect(addr, port);
  if (!r.sock) fail(`tcp-once: connect failed: ${r.error}`);
  const sock = r.sock;
  print({ event: 'connected', localPort: sock.localPort });
  const wait = echoed(sock, bytes, 30_000);
  sock.write(Buffer.alloc(bytes, 0x61));
  if (!(await wait)) fail('tcp-once: the data did not come back');
  sock.on('error', () => undefined);
  sock.once('close', () => print({ event: 'done', localPort: r.sock?.localPort, close }));
  if (close === 'fin') {
    sock.end(); // FIN; the echo server ends its side when it sees it (pipe)
    sock.resume();
  } else {
    sock.resetAndDestroy();
  }
}

function udpFanout(sport: number, dport: number, addrs: string, keep: string | undefined, everyMs: number): void {
  const sock = createSocket({ type: 'udp6', ipv6Only: true });
  sock.on('message', (msg, rinfo) => print({ event: 'datagram', from: rinfo.address, port: rinfo.port, text: msg.toString() }));
  sock.on('error', () => undefined);
  sock.bind(sport, '::', () => {
    const all = addrs.split(',');
    let left = all.length;
    for (const a of all)
      sock.send(Buffer.from(`hello ${a}`), dport, a, (err) => {
        if (err) fail(`udp-fanout: ${err.message}`);
        if (--left === 0) print({ event: 'listening' });
      });
    const kept = keep ? keep.split(',').filter(Boolean) : [];
    if (kept.length) setInterval(() => kept.forEach((a) => sock.send(Buffer.from(`keep ${a}`), dport, a)), everyMs);
  });
}

function udpEchoEach(port: number, addrs: string): void {
  const all = addrs.split(',');
  let bound = 0;
  for (const a of all) {
    const sock = createSocket({ type: 'udp6', ipv6Only: true });
    sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.on('error', () => undefined);
    sock.bind(port, a, () => {
      if (++bound === all.length) print({ event: 'listening' });
    });
  }
}

// A connection from local port `lport` (node binds client sockets with SO_REUSEADDR, so two can share it).
function connectFrom(addr: string, port: number, lport: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: addr, port, family: 6, localPort: lport });
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

async function tcpTwo(lport: number, addr1: string, addr2: string, port: number, bytes: number, pauseMs: number): Promise<void> {
  const first = await connectFrom(addr1, port, lport).catch((e: Error) => fail(`tcp-two: first connect: ${e.message}`));
  const second = await connectFrom(addr2, port, lport).catch((e: Error) => fail(`tcp-two: second connect: ${e.message}`));
  print({ event: 'connected', localPorts: [first.localPort, second.localPort] });
  const received = createHash('sha256');
  let got = 0;
  second.on('data', (d: Buffer) => {
    received.update(d);
    got += d.length;
  });
  second.on('error', (e) => fail(`tcp-two: second connection: ${e.message}`));
  const payload = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) payload[i] = (i * 7 + (i >> 8)) & 0xff;
  const half = bytes >> 1;
  second.write(payload.subarray(0, half));
  // The first connection: 1000 bytes echoed, then FIN both ways.
  const firstEcho = echoed(first, 1000, 20_000);
  first.write(Buffer.alloc(1000, 0x62));
  if (!(await firstEcho)) fail('tcp-two: the first connection did not echo');
  await new Promise<void>((resolve) => {
    first.once('close', () => resolve());
    first.end();
    first.resume();
  });
  print({ event: 'first-closed' });
  await new Promise((r) => setTimeout(r, pauseMs));
  second.write(payload.subarray(half));
  const deadline = Date.now() + 60_000;
  while (got < bytes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  print({
    event: 'done',
    bytes: got,
    sent: createHash('sha256').update(payload).digest('hex'),
    received: received.digest('hex'),
  });
  second.end();
}

async function tcpPaced(addr: string, port: number, bytes: number): Promise<void> {
  const r = await connect(addr, port);
  if (!r.sock) fail(`tcp-paced: connect failed: ${r.error}`);
  const sock = r.sock;
  const received = createHash('sha256');
  let got = 0;
  let wanted = 0;
  let reached: (() => void) | null = null;
  sock.on('data', (d: Buffer) => {
    received.update(d);
    got += d.length;
    if (got >= wanted && reached) reached();
  });
  sock.on('error', (e) => fail(`tcp-paced: ${e.message}`));
  const upTo = (n: number) =>
    new Promise<void>((resolve) => {
      wanted = n;
      reached = resolve;
      if (got >= n) resolve();
    });
  const payload = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) payload[i] = (i * 13 + (i >> 9)) & 0xff;
  const half = bytes >> 1;
  sock.write(payload.subarray(0, half));
  await upTo(half);
  print({ event: 'half', localPort: sock.localPort });
  process.once('SIGUSR1', () => {
    void (async () => {
      sock.write(payload.subarray(half));
      await upTo(bytes);
      print({ event: 'done', bytes: got, sent: createHash('sha256').update(payload).digest('hex'), received: received.digest('hex') });
      sock.end();
    })();
  });
}

const COMMANDS = {
  'udp-announce': (a, n) => udpAnnounce(n(0), a[1], n(2)),
  'udp-send-from': (a, n) => udpSendFrom(a[0], n(1), a[2], n(3), a[4] ?? 'probe'),
  'tcp-echo': (a, n) => tcpEcho(n(0)),
  'tcp-hold': (a, n) => tcpHold(a[0], n(1), n(2)),
  'tcp-once': (a, n) => tcpOnce(a[0], n(1), n(2), a[3]),
  'tcp-paced': (a, n) => tcpPaced(a[0], n(1), n(2)),
  'udp-fanout': (a, n) => udpFanout(n(0), n(1), a[2], a[3], a[4] ? n(4) : 1000),
  'udp-echo-each': (a, n) => udpEchoEach(n(0), a[1]),
  'tcp-two': (a, n) => tcpTwo(n(0), a[1], a[2], n(3), n(4), n(5)),
} satisfies Record<string, ToolCommand>;

if (require.main === module) runTool('flow_tool.js', COMMANDS, process.argv.slice(2));
