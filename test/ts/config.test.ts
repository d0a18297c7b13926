// NPTv6 configuration validation: one test per rule, each asserting the field named and the fix offered.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { validateNptv6, type Nptv6Mapping } from '../../src/config';
import { Translator } from '../../src/translator';
import { assertRefused } from './lib/config_refusal';

// Asserts validateNptv6 refuses `mappings` with ERR_NPT66_CONFIG on `field`, the message matching every pattern.
function refuses(mappings: unknown, field: string, ...patterns: RegExp[]): string {
  return assertRefused(() => validateNptv6(mappings as Nptv6Mapping[]), mappings, field, ...patterns);
}

const ok = { inside: 'fd01:203:405::/48', outside: '2001:db8:1::/48' };

test('valid mappings compile to the addon form, mixed and non-octet lengths included', () => {
  const native = validateNptv6([
    ok,
    { inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64' },
    { inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff66:1::/64' },
    { inside: 'fd00:aaaa:bbbb:cc00::/56', outside: '2001:db8:2:50::/60' },
  ]);
  assert.equal(native.length, 4);
  assert.deepEqual(native[0], {
    inside: Buffer.from('fd010203040500000000000000000000', 'hex'),
    insideLength: 48,
    outside: Buffer.from('20010db8000100000000000000000000', 'hex'),
    outsideLength: 48,
  });
  assert.equal(native[3]!.outsideLength, 60);
  assert.deepEqual(validateNptv6([]), []);
});

test('bad prefix syntax names the field and shows the form', () => {
  refuses([{ inside: 'fd01:203:405::zz/48', outside: ok.outside }], 'nptv6[0].inside', /not a valid IPv6 prefix/, /write it like fd00:1:2:3::\/64/);
  refuses([ok, { inside: 'fd02::/48', outside: '2001:db8:2::' }], 'nptv6[1].outside', /has no prefix length/, /e\.g\. 2001:db8:2::\/64/);
});

test('host bits set: suggests the network address', () => {
  const m = refuses([{ inside: 'fd00::1/64', outside: '2001:db8::/64' }], 'nptv6[0].inside');
  assert.equal(m, 'nptv6[0].inside: "fd00::1/64" has host bits set; did you mean fd00::/64?');
  refuses([{ inside: 'fd00::/64', outside: '2001:db8:0:ab::/56' }], 'nptv6[0].outside', /did you mean 2001:db8::\/56\?/);
});

test('longer than /64: explains why and offers the /64', () => {
  refuses([{ inside: 'fd00:0:0:1:2::/80', outside: '2001:db8::/64' }], 'nptv6[0].inside', /longer than \/64/, /interface identifier/, /use fd00:0:0:1::\/64/);
});

test('multicast, link-local, loopback and unspecified prefixes are refused with the fix', () => {
  const fix = /use a global unicast \(2000::\/3\) or unique-local \(fd00::\/8\) prefix/;
  refuses([{ inside: 'ff05::/16', outside: '2001:db8::/64' }], 'nptv6[0].inside', /multicast/, fix);
  refuses([{ inside: 'fd00::/64', outside: 'fe80::/64' }], 'nptv6[0].outside', /link-local/, fix);
  refuses([{ inside: '::1/128', outside: '2001:db8::/64' }], 'nptv6[0].inside', /loopback/, fix);
  refuses([{ inside: '::/64', outside: '2001:db8::/64' }], 'nptv6[0].inside', /unspecified/, fix);
  // a short prefix that covers multicast space is refused too
  refuses([{ inside: 'fd00::/64', outside: 'f000::/4' }], 'nptv6[0].outside', /multicast/);
});

test('inside equal to outside', () => {
  refuses([{ inside: 'fd00:1::/64', outside: 'fd00:1::/64' }], 'nptv6[0].outside', /both fd00:1::\/64/, /nothing to translate/, /prefix your upstream routes/);
});

test('outside overlapping its own inside prefix', () => {
  refuses([{ inside: 'fd00:1::/48', outside: 'fd00:1:0:5::/64' }], 'nptv6[0].outside', /overlaps its own inside prefix fd00:1::\/48/, /disjoint/);
});

test('overlapping inside prefixes', () => {
  refuses(
    [ok, { inside: 'fd01:203:405:7::/64', outside: '2001:db8:2::/64' }],
    'nptv6[1].inside',
    /fd01:203:405:7::\/64 overlaps nptv6\[0\]\.inside \(fd01:203:405::\/48\)/,
    /non-overlapping inside prefixes/,
  );
});

test("the seed's gateway: two inside prefixes to one outside prefix is ambiguous, and the message says why", () => {
  const seed = [
    { inside: 'fd5a:ceb9:ed8d:fe0a::/64', outside: '2001:db8:ff66::/64' },
    { inside: 'fd5a:ceb9:ed8d:fefc::/64', outside: '2001:db8:ff66::/64' },
  ];
  refuses(
    seed,
    'nptv6[1].outside',
    /2001:db8:ff66::\/64 is already the outside prefix of nptv6\[0\]/,
    /fd5a:ceb9:ed8d:fe0a::\/64 and fd5a:ceb9:ed8d:fefc::\/64/,
    /NPTv6 is stateless/,
    /inbound packet to 2001:db8:ff66::\/64 carries nothing that tells which inside prefix it belongs to/,
    /split 2001:db8:ff66::\/63 into 2001:db8:ff66::\/64 and 2001:db8:ff66:1::\/64/,
    /two \/64s/,
    /masquerade/,
  );
  // The facade refuses the same way before reaching the addon.
  assert.throws(() => new Translator(seed), { code: 'ERR_NPT66_CONFIG', field: 'nptv6[1].outside' });
});

test('overlapping (not equal) outside prefixes are just as ambiguous', () => {
  refuses(
    [ok, { inside: 'fd02::/64', outside: '2001:db8:1:5::/64' }],
    'nptv6[1].outside',
    /overlaps nptv6\[0\]\.outside \(2001:db8:1::\/48\)/,
    /stateless/,
    /masquerade/,
  );
});

test('wrong shapes: not an array, not an object, missing or non-string prefixes', () => {
  refuses({ inside: 'fd00::/64' }, 'nptv6', /must be an array/);
  refuses(['fd00::/64'], 'nptv6[0]', /must be an object like/);
  refuses([{ inside: 'fd00::/64' }], 'nptv6[0].outside', /is missing/, /"outside"/);
  refuses([{ inside: 48, outside: '2001:db8::/64' }], 'nptv6[0].inside', /must be a string/);
});

test('the field prefix can be chosen by the caller', () => {
  assert.throws(() => validateNptv6([{ inside: 'fd00::1/64', outside: '2001:db8::/64' }], 'gateway.nptv6'), {
    field: 'gateway.nptv6[0].inside',
  });
});
