// The soak (test/soak/soak.ts, `npm run soak -- --minutes N`) for one minute: a live npt66 doing NPTv6 and
// masquerade under many short flows keeps its RSS within 5 % after warm-up, and every mapping expires once the
// traffic stops. UDP goes through NPTv6 only here: masquerade's UDP timer cannot go below 120 s (RFC 4787
// REQ-5), too long for the test tier; TCP and ping mappings (timers of seconds) carry the expiry check.
// npt66 only: the kernel's translators have no daemon to measure (NPT66_NETNS_TRANSLATOR=kernel skips it).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { runSoak } from '../soak/soak';
import { translatorKindUnderTest } from './lib/translator';

const skip = process.getuid?.() !== 0 ? 'needs root' : translatorKindUnderTest() === 'kernel' ? 'npt66 only' : false;

test('soak, 1 minute: RSS stable after warm-up, every mapping expires once traffic stops', { skip, timeout: 180_000 }, async () => {
  const s = await runSoak({ minutes: 1, masqueradeUdp: false, prefix: 'nk-soakt-' });
  const { samples, ...rest } = s;
  const shown = JSON.stringify({ ...rest, samples: samples.map((x) => `${x.t}s ${x.rssKb}kB ${x.mappings}m`).join(', ') }, null, 1);
  assert.deepEqual(s.failures, [], shown);
  assert.ok(s.mappings.created > 100, `many short masquerade flows: ${shown}`);
  assert.ok(s.packets.nptv6Outbound > 100 && s.packets.nat66Outbound > 100, `traffic through both translators: ${shown}`);
  assert.equal(s.mappings.leftAfterExpiry, 0);
});
