// The lab's traffic endpoints, run inside namespaces: `node peer.js MODE ...`. Servers print "listening" once
// bound, then answer every request with the address they saw it come from, which is what shows the translation.
//   tcp-server PORT | udp-server PORT | tcp-client ADDRESS PORT | udp-client ADDRESS PORT
import * as dgram from 'node:dgram';
import * as net from 'node:net';

const TIMEOUT_MS = 5000;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function main(argv: string[]): void {
  const [mode, a, b] = argv;
  if (mode === 'tcp-server') {
    const server = net.createServer((c) => {
      c.end(`seen-from ${c.remoteAddress} port ${c.remotePort}\n`);
    });
    server.listen(Number(a), '::', () => process.stdout.write('listening\n'));
  } else if (mode === 'udp-server') {
    const s = dgram.createSocket('udp6');
    s.on('message', (_msg, rinfo) => s.send(`seen-from ${rinfo.address} port ${rinfo.port}\n`, rinfo.port, rinfo.address));
    s.bind(Number(a), '::', () => process.stdout.write('listening\n'));
  } else if (mode === 'tcp-client') {
    const c = net.connect({ host: a!, port: Number(b), family: 6 });
    let reply = '';
    c.setTimeout(TIMEOUT_MS, () => fail(`tcp: no answer from [${a}]:${b} within ${TIMEOUT_MS} ms`));
    c.on('data', (d) => (reply += d.toString()));
    c.on('error', (e) => fail(`tcp: ${e.message}`));
    c.on('end', () => {
      process.stdout.write(`local ${c.localAddress} ${reply}`);
      process.exit(0);
    });
  } else if (mode === 'udp-client') {
    const s = dgram.createSocket('udp6');
    const timer = setTimeout(() => fail(`udp: no answer from [${a}]:${b} within ${TIMEOUT_MS} ms`), TIMEOUT_MS);
    s.on('message', (msg) => {
      clearTimeout(timer);
      process.stdout.write(`local ${s.address().address} ${msg.toString()}`);
      process.exit(0);
    });
    s.on('error', (e) => fail(`udp: ${e.message}`));
    s.connect(Number(b), a, () => s.send('hello'));
  } else {
    fail('usage: peer.js tcp-server PORT | udp-server PORT | tcp-client ADDRESS PORT | udp-client ADDRESS PORT');
  }
}

main(process.argv.slice(2));
