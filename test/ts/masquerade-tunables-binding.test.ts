// The addon's setMasqueradeTunables and masqueradeHoldsPorts on a real engine that is never started (no queue, no
// root): the binding only converts (a whole NativeMasquerade, as at construction), the table decides; a refusal is
// ERR_NPT66_CONFIG naming the entry, and nothing changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { native, type NativeEngine, type NativeMasquerade } from '../../src/native';

const Engine = (native as { Engine?: new (o: unknown) => NativeEngine }).Engine;
const skip = typeof Engine?.prototype.setMasqueradeTunables !== 'function' && 'the addon has no setMasqueradeTunables';

const hex = (h: string) => Buffer.from(h, 'hex');
const entry: NativeMasquerade = {
  sources: [{ prefix: hex('fd5aceb9ed8d00010000000000000000'), length: 64 }],
  addresses: [hex('20010db8000100000000000000000001')],
  portMin: 20000,
  portMax: 29999,
  filtering: 'address-dependent',
  timeouts: { udpMs: 300_000, tcpEstablishedMs: 7_440_000, tcpTransitoryMs: 240_000, icmpMs: 60_000 },
  maxMappings: 1000,
  maxPerHost64: 100,
  inboundRefresh: true,
};
const forward = (port: number) => ({ protocol: 'tcp' as const, port, inside: hex('fd5aceb9ed8d00010000000000000002'), insidePort: 80 });
const refused = (code: string, message: RegExp) => (e: Error & { code?: string }) => e.code === code && message.test(e.message);

test('setMasqueradeTunables: converted like the constructor\'s entries, checked by the table with the forwards', { skip }, async () => {
  const engine = new Engine!({ queueFirst: 0, queueCount: 1, mappings: [], masquerade: [entry], onEvents: () => undefined });
  try {
    // The converter's own checks name the field.
    assert.throws(() => engine.setMasqueradeTunables!(0, { ...entry, portMin: 1000 }), refused('ERR_NPT66_CONFIG', /^masquerade\[0\]\.portMin must be/));
    assert.throws(() => engine.setMasqueradeTunables!(0, { ...entry, timeouts: { ...entry.timeouts, udpMs: 60_000 } }), refused('ERR_NPT66_CONFIG', /udpMs/));
    assert.throws(() => engine.setMasqueradeTunables!(3, entry), refused('ERR_NPT66_CONFIG', /masquerade\[3\]: no such masquerade entry/));
    // The table's: the forwards in force (none given) against the new range.
    engine.setMasqueradeForwards!(0, [forward(8080)]);
    assert.throws(() => engine.setMasqueradeTunables!(0, { ...entry, portMin: 8000, portMax: 8999 }), refused('ERR_NPT66_CONFIG', /^masquerade\[0\]: .*tcp port 8080 lies in the dynamic port range 8000-8999/));
    // Given with the range, the forwards are checked and replaced together.
    engine.setMasqueradeTunables!(0, { ...entry, portMin: 8000, portMax: 8999, forwards: [forward(9080)] });
    assert.throws(() => engine.setMasqueradeForwards!(0, [forward(8080)]), refused('ERR_NPT66_CONFIG', /dynamic port range 8000-8999/));
    assert.equal(engine.masqueradeHoldsPorts!(0, 1, 65535), false, 'a table with no mapping holds no port');
    assert.throws(() => engine.masqueradeHoldsPorts!(0, 2000, 1000), refused('ERR_NPT66_INVALID_ARG', /min <= max/));
  } finally {
    await engine.stop(0);
  }
});
