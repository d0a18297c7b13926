// The node-nfqueue baseline: what a Node user would write today to do NPTv6 — the npm `nfqueue` package
// (one callback and one verdict per packet) and RFC 6296 done in plain JavaScript on the packet Buffer.
// Faithful to the RFC (s3.1 adjustment, s3.2/3.3 rewrite, s3.4/3.5 word choice, 0xFFFF -> 0, refusals, ICMPv6
// errors' embedded header) and checksum-neutral; it does not use any of npt66's code.
// Prints "ready" on stderr once bound, one JSON object of counts on stdout at SIGINT/SIGTERM.
//
//   node nfqueue_js.js --map fd01:203:405::/48=2001:db8:1::/48 [--queue-out 0] [--queue-in 1]
import { isIPv6 } from 'node:net';

interface NfqPacket {
  payload: Buffer;
  setVerdict(verdict: number, mark?: number | null, buffer?: Buffer | null): void;
}
interface NfqModule {
  NF_DROP: number;
  NF_ACCEPT: number;
  createQueueHandler(queue: number, bufferSize: number, onPacket: (p: NfqPacket) => void): unknown;
}

interface Mapping {
  inside: Buffer; // 16 bytes, zero-extended to `length`
  outside: Buffer;
  length: number; // L: the longer prefix length (s3.7)
  adjustment: number; // s3.1: one's-complement sum(inside) - sum(outside)
}

function parseAddress(text: string): Buffer {
  if (!isIPv6(text)) throw new Error(`not an IPv6 address: ${text}`);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const words = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(parseInt(w, 16), i * 2));
  return out;
}

function onesAdd(a: number, b: number): number {
  const s = a + b;
  return (s & 0xffff) + (s >>> 16);
}

function sumWords(b: Buffer, bits: number): number {
  let s = 0;
  for (let i = 0; i < 8; i++) s = onesAdd(s, b.readUInt16BE(i * 2) & maskWord(bits, i));
  return s;
}

function maskWord(bits: number, word: number): number {
  const n = Math.max(0, Math.min(16, bits - word * 16));
  return n === 0 ? 0 : (0xffff << (16 - n)) & 0xffff;
}

function compile(spec: string): Mapping {
  const [inside, outside] = spec.split('=').map((p) => {
    const [addr, len] = p.split('/');
    return { addr: parseAddress(addr), len: Number(len) };
  });
  const length = Math.max(inside.len, outside.len);
  // Zero-extend the shorter prefix to L bits (s3.7): the bits past its length are zero in the address given.
  const adjustment = onesAdd(sumWords(inside.addr, length), ~sumWords(outside.addr, length) & 0xffff);
  return { inside: inside.addr, outside: outside.addr, length, adjustment };
}

function inPrefix(buf: Buffer, off: number, prefix: Buffer, length: number): boolean {
  let bits = length;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((buf[off + i] & mask) !== (prefix[i] & mask)) return false;
  }
  return true;
}

// Rewrites the address at buf[off..off+16) in place; false (buffer untouched) when RFC 6296 refuses it.
function mapAddress(buf: Buffer, off: number, m: Mapping, outbound: boolean): boolean {
  // s3.4/s3.5: L <= 48 -> word 3; otherwise the first of words 4..7 that is not 0xFFFF.
  let word = 3;
  if (m.length > 48) {
    word = -1;
    for (let i = 4; i < 8; i++) {
      if (buf.readUInt16BE(off + i * 2) !== 0xffff) { word = i; break; }
    }
    if (word < 0) return false;
  } else if (m.length === 48 && buf.readUInt16BE(off + 6) === 0xffff) {
    return false; // s4.2: subnet 0xFFFF collides with subnet 0
  }
  const target = outbound ? m.outside : m.inside;
  const before = buf.readUInt16BE(off + word * 2);
  let value = outbound ? onesAdd(before, m.adjustment) : onesAdd(before, ~m.adjustment & 0xffff);
  if (value === 0xffff) value = 0; // s3.2
  const copy = Buffer.from(buf.subarray(off, off + 16));
  let bits = m.length;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    copy[i] = (target[i] & mask) | (copy[i] & ~mask & 0xff);
  }
  copy.writeUInt16BE(value, word * 2);
  if (copy.readUInt32BE(8) === 0 && copy.readUInt32BE(12) === 0) return false; // subnet-router anycast
  copy.copy(buf, off);
  return true;
}

function main(): void {
  const args = process.argv.slice(2);
  const maps: Mapping[] = [];
  let queueOut = 0;
  let queueIn = 1;
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] === '--map') maps.push(compile(args[i + 1]));
    else if (args[i] === '--queue-out') queueOut = Number(args[i + 1]);
    else if (args[i] === '--queue-in') queueIn = Number(args[i + 1]);
    else throw new Error(`unknown option ${args[i]}`);
  }
  const counts = { received: 0, translated: 0, accepted: 0, dropped: 0 };

  function translate(buf: Buffer, outbound: boolean): 'translated' | 'accept' | 'drop' {
    if (buf.length < 40 || buf[0] >> 4 !== 6) return 'drop';
    const off = outbound ? 8 : 24;
    const m = maps.find((x) => inPrefix(buf, off, outbound ? x.inside : x.outside, x.length));
    if (!m) return 'accept';
    const nextHeader = buf[6];
    if (nextHeader === 58 && buf.length >= 48 && buf[40] >= 133 && buf[40] <= 137) return 'accept'; // ND
    // ICMPv6 error (types 1-4): translate the embedded header's other address too (rfc6296-bis s3.8).
    if (nextHeader === 58 && buf.length >= 48 && buf[40] >= 1 && buf[40] <= 4) {
      if (buf.length < 48 + 40) return 'drop';
      const innerOff = 48 + (outbound ? 24 : 8);
      const im = maps.find((x) => inPrefix(buf, innerOff, outbound ? x.inside : x.outside, x.length));
      if (!im) return 'drop';
      const saved = Buffer.from(buf.subarray(innerOff, innerOff + 16));
      if (!mapAddress(buf, innerOff, im, outbound)) return 'drop';
      if (!mapAddress(buf, off, m, outbound)) {
        saved.copy(buf, innerOff);
        return 'drop';
      }
      return 'translated';
    }
    return mapAddress(buf, off, m, outbound) ? 'translated' : 'drop';
  }

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nfq = require('nfqueue') as NfqModule;
  for (const [queue, outbound] of [[queueOut, true], [queueIn, false]] as const) {
    nfq.createQueueHandler(queue, 4 * 1024 * 1024, (packet) => {
      counts.received++;
      const verdict = translate(packet.payload, outbound);
      if (verdict === 'translated') {
        counts.translated++;
        packet.setVerdict(nfq.NF_ACCEPT, null, packet.payload);
      } else if (verdict === 'accept') {
        counts.accepted++;
        packet.setVerdict(nfq.NF_ACCEPT);
      } else {
        counts.dropped++;
        packet.setVerdict(nfq.NF_DROP);
      }
    });
  }
  const stop = (): void => {
    process.stdout.write(`${JSON.stringify(counts)}\n`, () => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stderr.write('ready\n');
}

main();
