// Prefix and address parsing (ip-address underneath) and RFC 5952 formatting.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatAddress, parseAddress, parsePrefix } from '../../src/prefix';
import { Npt66Error } from '../../src/errors';

const hex = (s: string) => Buffer.from(s.replace(/[: ]/g, ''), 'hex');

test('parsePrefix returns canonical text, 16 bytes and the length', () => {
  const p = parsePrefix('FD01:0203:0405:0000::/48', 'p');
  assert.equal(p.text, 'fd01:203:405::/48');
  assert.equal(p.length, 48);
  assert.deepEqual(p.bytes, hex('fd01 0203 0405 0000 0000 0000 0000 0000'));
});

test('parsePrefix accepts a non-octet-aligned prefix', () => {
  const p = parsePrefix('2001:db8:1:a0::/60', 'p');
  assert.equal(p.length, 60);
  assert.equal(p.text, '2001:db8:1:a0::/60');
});

test('parsePrefix refuses host bits and suggests the network address', () => {
  assert.throws(() => parsePrefix('fd00::1/64', 'nptv6[0].inside'), {
    name: 'Npt66Error',
    code: 'ERR_NPT66_INVALID_ARG',
    field: 'nptv6[0].inside',
    message: 'nptv6[0].inside: "fd00::1/64" has host bits set; did you mean fd00::/64?',
  });
  // a bit set inside the last partial byte of a /60
  assert.throws(() => parsePrefix('2001:db8:1:a8::/60', 'x'), /did you mean 2001:db8:1:a0::\/60\?/);
});

test('parsePrefix refuses bad syntax, a missing length, zones and non-strings', () => {
  assert.throws(() => parsePrefix('fd00::zz/64', 'f'), /^Npt66Error: f: "fd00::zz\/64" is not a valid IPv6 prefix; write it like fd00:1:2:3::\/64$/);
  assert.throws(() => parsePrefix('fd00::/129', 'f'), /not a valid IPv6 prefix/);
  assert.throws(() => parsePrefix('10.0.0.0/8', 'f'), /not a valid IPv6 prefix/);
  assert.throws(() => parsePrefix('fd00::', 'f'), /f: "fd00::" has no prefix length; write it as a prefix, e.g. fd00::\/64/);
  assert.throws(() => parsePrefix('fd00::%eth0/64', 'f'), /zone index.*remove it/);
  assert.throws(() => parsePrefix(' fd00::/64', 'f'), /without spaces/);
  assert.throws(() => parsePrefix(64 as unknown as string, 'f'), /f: must be a string like fd00:1:2:3::\/64, got number/);
});

test('parseAddress returns 16 bytes and refuses prefixes', () => {
  assert.deepEqual(parseAddress('fd01:203:405:1::1234', 'a'), hex('fd01 0203 0405 0001 0000 0000 0000 1234'));
  assert.deepEqual(parseAddress('::1', 'a'), hex('0000 0000 0000 0000 0000 0000 0000 0001'));
  assert.deepEqual(parseAddress('fd00::1/128', 'a'), hex('fd00 0000 0000 0000 0000 0000 0000 0001'));
  assert.throws(() => parseAddress('fd00::/64', 'a'), /a: "fd00::\/64" is a prefix; give a single address/);
  assert.throws(() => parseAddress('nope', 'a'), (e) => e instanceof Npt66Error && e.code === 'ERR_NPT66_INVALID_ARG');
});

test('formatAddress follows RFC 5952 s4', () => {
  const cases: [string, string][] = [
    ['2001 0db8 0000 0000 0000 0000 0000 0001', '2001:db8::1'], // s4.1 leading zeros, s4.2.1 longest run
    ['2001 0db8 0000 0001 0001 0001 0001 0001', '2001:db8:0:1:1:1:1:1'], // s4.2.2 one zero word stays
    ['2001 0000 0000 0001 0000 0000 0000 0001', '2001:0:0:1::1'], // s4.2.3 the longest run
    ['2001 0db8 0000 0000 0001 0000 0000 0001', '2001:db8::1:0:0:1'], // s4.2.3 first of equal runs
    ['ABCD 0000 0000 0000 0000 0000 0000 0000', 'abcd::'], // s4.3 lowercase
    ['0000 0000 0000 0000 0000 0000 0000 0000', '::'],
    ['0000 0000 0000 0000 0000 0000 0000 0001', '::1'],
    ['fd01 0203 0405 0001 0000 0000 0000 1234', 'fd01:203:405:1::1234'],
    ['1111 2222 3333 4444 5555 6666 7777 8888', '1111:2222:3333:4444:5555:6666:7777:8888'],
  ];
  for (const [bytes, text] of cases) assert.equal(formatAddress(hex(bytes)), text, bytes);
  assert.throws(() => formatAddress(Buffer.alloc(4)), { code: 'ERR_NPT66_INVALID_ARG' });
});
