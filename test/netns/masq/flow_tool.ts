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

const COMMANDS = {
  'udp-announce': (a, n) => udpAnnounce(n(0), a[1], n(2)),
  'udp-send-from': (a, n) => udpSendFrom(a[0], n(1), a[2], n(3), a[4] ?? 'probe'),
  'tcp-echo': (a, n) => tcpEcho(n(0)),
  'tcp-hold': (a, n) => tcpHold(a[0], n(1), n(2)),
  'tcp-once': (a, n) => tcpOnce(a[0], n(1), n(2), a[3]),
} satisfies Record<string, ToolCommand>;

if (require.main === module) runTool('flow_tool.js', COMMANDS, process.argv.slice(2));
