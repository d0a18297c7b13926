// The lab's traffic endpoints, run inside namespaces: `node peer.js MODE ...`. Servers print "listening" once
// bound, then answer every request with the address they saw it come from, which is what shows the translation.
// The UDP server answers a DNS query with that text in a TXT record: the Docker container has only busybox,
// whose nc has no UDP, but `nslookup -type=txt NAME [SERVER]:PORT` prints the record.
//   tcp-server PORT | udp-server PORT | tcp-client ADDRESS PORT | udp-client ADDRESS PORT
import * as dgram from 'node:dgram';
import * as net from 'node:net';

const TIMEOUT_MS = 5000;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

// RFC 1035 s4.1: the query's header and question with QR set, and one TXT answer (s3.3.14, one string) pointing
// to the question's name; null when `q` is not a query with one question.
export function dnsTxtAnswer(q: Buffer, text: string): Buffer | null {
  if (q.length < 12 || (q[2]! & 0x80) !== 0 || q.readUInt16BE(4) !== 1) return null;
  let i = 12;
  while (i < q.length && q[i] !== 0) i += q[i]! + 1;
  if (i + 5 > q.length) return null;
  const end = i + 5;
  const header = Buffer.alloc(12);
  q.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180, 2); // a response, recursion desired and available, no error
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 6);
  const data = Buffer.from(text).subarray(0, 255);
  const answer = Buffer.alloc(12 + 1 + data.length);
  answer.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  answer.writeUInt16BE(16, 2); // TXT
  answer.writeUInt16BE(1, 4); // IN
  answer.writeUInt32BE(0, 6); // TTL
  answer.writeUInt16BE(1 + data.length, 10);
  answer[12] = data.length;
  data.copy(answer, 13);
  return Buffer.concat([header, q.subarray(12, end), answer]);
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
    s.on('message', (msg, rinfo) => {
      const text = `seen-from ${rinfo.address} port ${rinfo.port}`;
      s.send(dnsTxtAnswer(msg, text) ?? `${text}\n`, rinfo.port, rinfo.address);
    });
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

if (require.main === module) main(process.argv.slice(2));
