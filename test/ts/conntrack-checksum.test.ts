// conntrack-checksum.ts: with GSO on and conntrack here, npt66 turns conntrack's software checksum check off
// while it runs and puts it back on stop; otherwise it leaves the host alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { relaxConntrackChecksum } from '../../src/conntrack-checksum';
import type { HostFacts } from '../../src/host-facts';

function facts(value: boolean | null, writable = true): HostFacts & { writes: boolean[] } {
  const writes: boolean[] = [];
  return {
    writes,
    localPortRange: () => null,
    interfaceAddresses: () => null,
    conntrackTimeouts: () => ({ udpStream: null, tcpEstablished: null, icmpv6: null }),
    conntrackChecksum: () => value,
    setConntrackChecksum: (on) => {
      if (!writable) return false;
      writes.push(on);
      return true;
    },
  };
}

test('GSO on and the check on: turned off now, back on at restore', () => {
  const f = facts(true);
  const change = relaxConntrackChecksum(true, f);
  assert.ok(change && !change.warning && change.restore);
  assert.match(change.message, /nf_conntrack_checksum set to 0/);
  assert.deepEqual(f.writes, [false]);
  change.restore!();
  assert.deepEqual(f.writes, [false, true]);
});

test('nothing to do: GSO off, no conntrack here, or the check already off', () => {
  for (const [gso, value] of [[false, true], [true, null], [true, false]] as const) {
    const f = facts(value);
    assert.equal(relaxConntrackChecksum(gso, f), null);
    assert.deepEqual(f.writes, []);
  }
});

test('a refused write is a warning that says what breaks and how to fix it', () => {
  const change = relaxConntrackChecksum(true, facts(true, false));
  assert.ok(change?.warning);
  assert.equal(change.restore, undefined);
  assert.match(change.message, /cannot be changed.*"gso": false/);
});
