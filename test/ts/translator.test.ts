// The Translator facade over the addon: known answers both ways, packets, refusals, counters, native error codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Translator, counterDescriptions, Npt66Error, fromNativeError, formatAddress } from '../../src/index';
import { native } from '../../src/native';
import { parseAddress } from '../../src/prefix';
import { CHECKSUM_VALID, pseudoHeaderSum } from '../netns/lib/inet_checksum';

interface Vector {
  name: string;
  inside: string;
  outside: string;
  insideAddress: string;
  outsideAddress: string;
}

// The vectors stay in the source tree: found from dist/test/ts/ (three levels up) or from the working directory.
function loadVectors(): Vector[] {
  const rel = path.join('test', 'vectors', 'nptv6.json');
  const candidates = [path.resolve(__dirname, '..', '..', '..', rel), path.resolve(process.cwd(), rel)];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) throw new Error(`nptv6.json not found in ${candidates.join(' or ')}`);
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { vectors: Vector[] }).vectors;
}

test('mapAddress gives every known answer in test/vectors/nptv6.json, both ways', () => {
  const vectors = loadVectors();
  assert.ok(vectors.length >= 8, `only ${vectors.length} vectors`);
  for (const v of vectors) {
    const t = new Translator([{ inside: v.inside, outside: v.outside }]);
    assert.deepEqual(t.mapAddress(v.insideAddress, 'outbound'), { input: v.insideAddress, output: v.outsideAddress, reason: null }, v.name);
    assert.deepEqual(t.mapAddress(v.outsideAddress, 'inbound'), { input: v.outsideAddress, output: v.insideAddress, reason: null }, v.name);
  }
});

const rfc = new Translator([
  { inside: 'fd01:203:405::/48', outside: '2001:db8:1::/48' },
  { inside: 'fd00:1:2:3::/64', outside: '2001:db8:a:b::/64' },
]);

test('mapAddress refusals name the counter', () => {
  const cases: [string, 'outbound' | 'inbound', string][] = [
    ['fd99::1', 'outbound', 'not_ours'], // in no inside prefix
    ['fd01:203:405:1::1234', 'inbound', 'not_ours'], // an inside address is not ours inbound
    ['fd01:203:405:ffff::1', 'outbound', 'drop_subnet_ffff'], // RFC 6296 s4.2
    ['fd00:1:2:3:ffff:ffff:ffff:ffff', 'outbound', 'drop_iid_all_ones'], // s3.5
  ];
  for (const [address, direction, reason] of cases) {
    assert.deepEqual(rfc.mapAddress(address, direction), { input: address, output: null, reason }, address);
  }
});

test('mapAddress refuses the subnet-router anycast address (all-zeros IID) as result or input, both ways', () => {
  // V7's adjustment is 0xcf38 (fd00:1:2:3::1 -> 2001:db8:a:b:cf38::1): word 4 = 0x30c7 outbound sums to 0xffff,
  // written as 0 (RFC 6296 s3.2), and word 4 = 0xcf38 inbound subtracts to 0: either way the IID is all zeros.
  assert.deepEqual(rfc.mapAddress('fd00:1:2:3:30c7::', 'outbound'), { input: 'fd00:1:2:3:30c7::', output: null, reason: 'drop_result_anycast' });
  assert.deepEqual(rfc.mapAddress('2001:db8:a:b:cf38::', 'inbound'), { input: '2001:db8:a:b:cf38::', output: null, reason: 'drop_result_anycast' });
  // an all-zeros input IID is the subnet-router anycast address (RFC 4291 s2.6.1): refused too, or its
  // translation (fd00:1:2:3:30c7::) could not be translated back.
  assert.deepEqual(rfc.mapAddress('2001:db8:a:b::', 'inbound'), { input: '2001:db8:a:b::', output: null, reason: 'drop_result_anycast' });
  assert.deepEqual(rfc.mapAddress('fd00:1:2:3::', 'outbound'), { input: 'fd00:1:2:3::', output: null, reason: 'drop_result_anycast' });
});

test('mapAddress and translate refuse bad arguments with ERR_NPT66_INVALID_ARG', () => {
  assert.throws(() => rfc.mapAddress('not-an-address', 'outbound'), { name: 'Npt66Error', code: 'ERR_NPT66_INVALID_ARG', field: 'address' });
  assert.throws(() => rfc.mapAddress('fd00::1', 'sideways' as 'inbound'), { code: 'ERR_NPT66_INVALID_ARG', field: 'direction' });
  assert.throws(() => rfc.translate('packet' as unknown as Buffer, 'outbound'), { code: 'ERR_NPT66_INVALID_ARG', field: 'packet' });
  assert.throws(() => rfc.translate(Buffer.alloc(48), 'up' as 'inbound'), { code: 'ERR_NPT66_INVALID_ARG' });
});

// --- packets -------------------------------------------------------------------------------------------

function ipv6(src: string, dst: string, next: number, upper: Buffer, checksumAt: number): Buffer {
  const s = parseAddress(src, 'src');
  const d = parseAddress(dst, 'dst');
  const u = Buffer.from(upper);
  u.writeUInt16BE(0, checksumAt);
  u.writeUInt16BE(~pseudoHeaderSum(s, d, next, u) & 0xffff, checksumAt);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(u.length, 4);
  h[6] = next;
  h[7] = 64;
  s.copy(h, 8);
  d.copy(h, 24);
  return Buffer.concat([h, u]);
}

function udp(src: string, dst: string, payload = Buffer.from('npt66 test payload')): Buffer {
  const u = Buffer.alloc(8 + payload.length);
  u.writeUInt16BE(40000, 0);
  u.writeUInt16BE(53, 2);
  u.writeUInt16BE(u.length, 4);
  payload.copy(u, 8);
  return ipv6(src, dst, 17, u, 6);
}

function checksumValid(packet: Buffer): boolean {
  return pseudoHeaderSum(packet.subarray(8, 24), packet.subarray(24, 40), packet[6]!, packet.subarray(40)) === CHECKSUM_VALID;
}

function changedOffsets(a: Buffer, b: Buffer): number[] {
  assert.equal(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

test('translate outbound changes only the source address, and the checksum stays valid (checksum-neutral)', () => {
  const t = new Translator([{ inside: 'fd01:203:405::/48', outside: '2001:db8:1::/48' }]);
  const before = udp('fd01:203:405:1::1234', '2001:4860:4860::8888');
  const copy = Buffer.from(before);
  const r = t.translate(before, 'outbound');
  assert.equal(r.action, 'translated');
  assert.equal(r.reason, 'nptv6_outbound');
  assert.equal(r.mapping, 0);
  assert.equal(r.pointer, 0);
  assert.deepEqual(before, copy, 'the input buffer is not modified');
  assert.equal(formatAddress(r.packet.subarray(8, 24)), '2001:db8:1:d550::1234');
  for (const i of changedOffsets(before, r.packet)) assert.ok(i >= 8 && i < 24, `byte ${i} changed outside the source address`);
  assert.ok(checksumValid(before) && checksumValid(r.packet));
});

test('translate inbound changes only the destination address', () => {
  const t = new Translator([{ inside: 'fd01:203:405::/48', outside: '2001:db8:1::/48' }]);
  const before = udp('2001:4860:4860::8888', '2001:db8:1:d550::1234');
  const r = t.translate(before, 'inbound');
  assert.equal(r.action, 'translated');
  assert.equal(r.reason, 'nptv6_inbound');
  assert.equal(formatAddress(r.packet.subarray(24, 40)), 'fd01:203:405:1::1234');
  for (const i of changedOffsets(before, r.packet)) assert.ok(i >= 24 && i < 40, `byte ${i} changed outside the destination address`);
  assert.ok(checksumValid(r.packet));
});

test('translate inbound ICMPv6 error: outer destination and embedded source are both translated', () => {
  const t = new Translator([{ inside: 'fd01:203:405::/48', outside: '2001:db8:1::/48' }]);
  // The packet the inside host sent, as the outside saw it (already translated), comes back embedded.
  const embedded = udp('2001:db8:1:d550::1234', '2001:4860:4860::8888');
  const icmp = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), embedded]); // Destination Unreachable
  const before = ipv6('2001:db8:99::1', '2001:db8:1:d550::1234', 58, icmp, 2);
  const r = t.translate(before, 'inbound');
  assert.equal(r.action, 'translated');
  assert.equal(formatAddress(r.packet.subarray(24, 40)), 'fd01:203:405:1::1234');
  const inner = 40 + 8;
  assert.equal(formatAddress(r.packet.subarray(inner + 8, inner + 24)), 'fd01:203:405:1::1234');
  for (const i of changedOffsets(before, r.packet)) {
    assert.ok((i >= 24 && i < 40) || (i >= inner + 8 && i < inner + 24), `byte ${i} changed`);
  }
  assert.ok(checksumValid(r.packet), 'the ICMPv6 checksum is still valid');
  assert.equal(t.counters()['nptv6_icmp_error_inbound'], 1);
});

test('translate outbound ICMPv6 error from an inside host: outer source and embedded destination are translated', () => {
  const t = new Translator([{ inside: 'fd01:203:405::/48', outside: '2001:db8:1::/48' }]);
  // An inside host reports Time Exceeded about a packet that came in (already translated inbound) to it.
  const embedded = udp('2001:4860:4860::8888', 'fd01:203:405:1::1234');
  const icmp = Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), embedded]);
  const before = ipv6('fd01:203:405:1::1234', '2001:4860:4860::8888', 58, icmp, 2);
  const r = t.translate(before, 'outbound');
  assert.equal(r.action, 'translated');
  const inner = 40 + 8;
  assert.equal(formatAddress(r.packet.subarray(8, 24)), '2001:db8:1:d550::1234');
  assert.equal(formatAddress(r.packet.subarray(inner + 24, inner + 40)), '2001:db8:1:d550::1234');
  for (const i of changedOffsets(before, r.packet)) {
    assert.ok((i >= 8 && i < 24) || (i >= inner + 24 && i < inner + 40), `byte ${i} changed`);
  }
  assert.ok(checksumValid(r.packet));
  assert.equal(t.counters()['nptv6_icmp_error_outbound'], 1);
});

test('translate drops an ICMPv6 error whose embedded address is not in the prefix', () => {
  const t = new Translator([{ inside: 'fd01:203:405::/48', outside: '2001:db8:1::/48' }]);
  const embedded = udp('2001:4860:4860::8888', 'fd77::1'); // the embedded destination is not inside
  const icmp = Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), embedded]);
  const r = t.translate(ipv6('fd01:203:405:1::1234', '2001:4860:4860::8888', 58, icmp, 2), 'outbound');
  assert.equal(r.action, 'drop');
  assert.equal(r.reason, 'drop_icmp_inner_not_in_prefix');
});

test('translate: not ours, refusals with the pointer, malformed input, and the counters that count them', () => {
  const t = new Translator([{ inside: 'fd01:203:405::/48', outside: '2001:db8:1::/48' }]);
  const notOurs = udp('fd99::1', '2001:4860:4860::8888');
  assert.deepEqual(t.translate(notOurs, 'outbound'), { action: 'not-ours', reason: 'not_ours', mapping: -1, pointer: 0, packet: notOurs });

  const ffffOut = udp('fd01:203:405:ffff::1', '2001:4860:4860::8888');
  const r1 = t.translate(ffffOut, 'outbound');
  assert.equal(r1.action, 'drop');
  assert.equal(r1.reason, 'drop_subnet_ffff');
  assert.equal(r1.pointer, 8, 'Parameter Problem points at the source');
  assert.deepEqual(r1.packet, ffffOut, 'a refused packet is left unchanged');

  const ffffIn = udp('2001:4860:4860::8888', '2001:db8:1:ffff::1');
  const r2 = t.translate(ffffIn, 'inbound');
  assert.equal(r2.reason, 'drop_subnet_ffff');
  assert.equal(r2.pointer, 24, 'Parameter Problem points at the destination');

  assert.equal(t.translate(Buffer.alloc(20), 'outbound').reason, 'drop_truncated');
  const v4 = udp('fd01:203:405:1::1', '2001:4860:4860::8888');
  v4[0] = 0x45;
  assert.equal(t.translate(v4, 'outbound').reason, 'drop_not_ipv6');

  t.translate(udp('fd01:203:405:1::1', '2001:4860:4860::8888'), 'outbound');
  t.translate(udp('fd01:203:405:2::1', '2001:4860:4860::8888'), 'outbound');
  t.mapAddress('fd01:203:405:3::1', 'outbound'); // mapAddress does not count

  const c = t.counters();
  assert.equal(c['nptv6_outbound'], 2);
  assert.equal(c['nptv6_inbound'], 0);
  assert.equal(c['not_ours'], 1);
  assert.equal(c['drop_subnet_ffff'], 2);
  assert.equal(c['drop_truncated'], 1);
  assert.equal(c['drop_not_ipv6'], 1);
  for (const d of counterDescriptions) assert.equal(typeof c[d.name], 'number', d.name);
});

test('counterDescriptions describe every counter with a kind and a line of help', () => {
  const names = counterDescriptions.map((d) => d.name);
  for (const n of ['not_ours', 'nptv6_outbound', 'drop_subnet_ffff', 'drop_iid_all_ones', 'drop_result_anycast']) assert.ok(names.includes(n), n);
  assert.equal(new Set(names).size, names.length, 'names are unique');
  for (const d of counterDescriptions) {
    assert.ok(d.kind === 'drop' || d.kind === 'event', d.name);
    assert.equal(d.kind === 'drop', d.name.startsWith('drop_'), `${d.name} kind matches its name`);
    assert.ok(d.help.length > 10, d.name);
  }
});

test('native errors carry a stable code, and fromNativeError keeps it', () => {
  const b = (s: string) => parseAddress(s, 'a');
  const catchNative = (fn: () => unknown): Error & { code?: string } => {
    try {
      fn();
    } catch (e) {
      return e as Error & { code?: string };
    }
    assert.fail('no error');
  };
  // The native compile validates on its own (the TypeScript checks are skipped here on purpose).
  const shared = catchNative(
    () =>
      new native.Translator([
        { inside: b('fd01::'), insideLength: 64, outside: b('2001:db8::'), outsideLength: 64 },
        { inside: b('fd02::'), insideLength: 64, outside: b('2001:db8::'), outsideLength: 64 },
      ]),
  );
  assert.equal(shared.code, 'ERR_NPT66_CONFIG');
  assert.match(shared.message, /outside prefix overlaps mapping 0/);

  const short = catchNative(() => new native.Translator([{ inside: Buffer.alloc(15), insideLength: 48, outside: b('2001:db8::'), outsideLength: 48 }]));
  assert.equal(short.code, 'ERR_NPT66_INVALID_ARG');
  // A length beyond 128 is refused, not wrapped (300 would become 44 in a byte).
  const long = catchNative(() => new native.Translator([{ inside: b('fd01::'), insideLength: 300, outside: b('2001:db8::'), outsideLength: 44 }]));
  assert.equal(long.code, 'ERR_NPT66_INVALID_ARG');
  assert.match(long.message, /insideLength must be an integer 0\.\.128/);

  const t = new native.Translator([]);
  assert.equal(catchNative(() => t.mapAddress(Buffer.alloc(4), 'outbound')).code, 'ERR_NPT66_INVALID_ARG');
  assert.equal(catchNative(() => t.translate(Buffer.alloc(40), 'nowhere' as 'inbound')).code, 'ERR_NPT66_INVALID_ARG');

  const converted = fromNativeError(shared);
  assert.ok(converted instanceof Npt66Error);
  assert.equal(converted.code, 'ERR_NPT66_CONFIG');
  assert.equal(converted.message, shared.message);
  assert.equal(converted.cause, shared);
  const plain = new Error('not ours');
  assert.equal(fromNativeError(plain), plain, 'an error without an npt66 code is passed through');
});
