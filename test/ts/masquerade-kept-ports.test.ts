// The ports a masquerade entry keeps queuing after a reload moved its range (src/masquerade-kept-ports.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { keptPortsAfter, portRangeText, subtractPorts } from '../../src/masquerade-kept-ports';

const entry = (portMin: number, portMax: number, privilegedPorts = false) => ({ portMin, portMax, privilegedPorts });

test('subtractPorts: splits, trims, merges, and drops what is covered', () => {
  assert.deepEqual(subtractPorts([{ min: 20000, max: 29999 }], [{ min: 21000, max: 21999 }]), [
    { min: 20000, max: 20999 },
    { min: 22000, max: 29999 },
  ]);
  assert.deepEqual(subtractPorts([{ min: 20000, max: 29999 }], [{ min: 10000, max: 40000 }]), []);
  assert.deepEqual(subtractPorts([{ min: 30000, max: 30999 }, { min: 20000, max: 29999 }], []), [{ min: 20000, max: 30999 }]);
  assert.deepEqual(subtractPorts([{ min: 1, max: 1023 }], [{ min: 20000, max: 29999 }]), [{ min: 1, max: 1023 }]);
});

test('keptPortsAfter: the old range (and 1-1023 with privilegedPorts) less the new; earlier kept ports carried over', () => {
  assert.deepEqual(keptPortsAfter(entry(20000, 29999), [], entry(20000, 29999)), []);
  assert.deepEqual(keptPortsAfter(entry(20000, 29999), [], entry(25000, 34999)), [{ min: 20000, max: 24999 }]);
  assert.deepEqual(keptPortsAfter(entry(20000, 29999, true), [], entry(20000, 29999)), [{ min: 1, max: 1023 }]);
  assert.deepEqual(keptPortsAfter(entry(30000, 30999), [{ min: 20000, max: 29999 }], entry(20000, 20999)), [{ min: 21000, max: 30999 }]);
  assert.deepEqual([{ min: 80, max: 80 }, { min: 1, max: 1023 }].map(portRangeText), ['80', '1-1023']);
});
