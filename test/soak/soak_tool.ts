// The soak's traffic endpoints (`node soak_tool.js COMMAND ...`), quiet so that hours of flows print nothing but
// the result; JSON lines on stdout.
//
//   serve UDPPORT TCPPORT                 UDP and TCP echo servers; {"event":"listening"} once both are bound
//   churn ADDR UDPPORT TCPPORT RATE mixed|tcp
//                                         until SIGTERM: RATE new flows a second, alternating a UDP request/answer
//                                         from a fresh socket (a new source port each time) and a short TCP
//                                         connection (connect, 64 bytes echoed, FIN), or TCP only; at most 64 in
//                                         flight. Then
//                                         {"event":"done","udp":{"ok","failed"},"tcp":{"ok","failed"}}
import { createSocket } from 'node:dgram';
import { createConnection, createServer } from 'node:net';

import { print, runTool } from '../netns/lib/tool_cli';

const FLOW_TIMEOUT_MS = 3000;
const MAX_IN_FLIGHT = 64;
const PAYLOAD = Buffer.alloc(64, 0x5a);

function serve(udpPort: number, tcpPort: number): void {
  const udp = createSocket({ type: 'udp6', ipv6Only: true });
  udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
  const tcp = createServer((sock) => {
    sock.on('error', () => sock.destroy());
    sock.pipe(sock);
  });
  let bound = 0;
  const onBound = (): void => {
    if (++bound === 2) print({ event: 'listening' });
  };
  udp.bind(udpPort, '::', onBound);
  tcp.listen({ port: tcpPort, host: '::', ipv6Only: true }, onBound);
}

// One UDP exchange from a new socket; resolves true when the answer came back.
function udpFlow(addr: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket({ type: 'udp6', ipv6Only: true });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), FLOW_TIMEOUT_MS);
    sock.on('message', () => done(true));
    sock.on('error', () => done(false));
    sock.send(PAYLOAD, port, addr);
  });
}

// One short TCP connection: PAYLOAD echoed back, then closed with FIN; resolves true when all of it came back.
function tcpFlow(addr: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let got = 0;
    let settled = false;
    const sock = createConnection({ host: addr, port });
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ok) sock.end();
      else sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), FLOW_TIMEOUT_MS);
    sock.on('connect', () => sock.write(PAYLOAD));
    sock.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= PAYLOAD.length) done(true);
    });
    sock.on('error', () => done(false));
  });
}

function churn(addr: string, udpPort: number, tcpPort: number, rate: number, udpToo: boolean): void {
  const result = { udp: { ok: 0, failed: 0 }, tcp: { ok: 0, failed: 0 } };
  let inFlight = 0;
  let n = 0;
  let stopping = false;
  const count = (kind: 'udp' | 'tcp') => (ok: boolean) => {
    result[kind][ok ? 'ok' : 'failed']++;
    inFlight--;
    if (stopping && inFlight === 0) finish();
  };
  const tick = setInterval(
    () => {
      if (inFlight >= MAX_IN_FLIGHT) return; // bounded: a stalled path slows the churn instead of piling up
      inFlight++;
      if (udpToo && n++ % 2 === 0) void udpFlow(addr, udpPort).then(count('udp'));
      else void tcpFlow(addr, tcpPort).then(count('tcp'));
    },
    Math.max(1, Math.round(1000 / rate)),
  );
  const finish = (): void => {
    print({ event: 'done', ...result });
    process.exit(0);
  };
  process.on('SIGTERM', () => {
    stopping = true;
    clearInterval(tick);
    if (inFlight === 0) finish();
  });
}

runTool(
  'soak_tool.js',
  {
    serve: (_a, n) => serve(n(0), n(1)),
    churn: (a, n) => churn(a[0] ?? '', n(1), n(2), Math.max(1, n(3)), a[4] !== 'tcp'),
  },
  process.argv.slice(2),
);
