// The configuration tests' one check of a refusal: ERR_NPT66_CONFIG naming the field, the message starting with
// that field and matching every pattern (the fix it offers).
import assert from 'node:assert/strict';

import { Npt66Error } from '../../../src/errors';

// Runs `compile` (which compiles `input`) and returns the refusal's message.
export function assertRefused(compile: () => unknown, input: unknown, field: string, ...patterns: RegExp[]): string {
  try {
    compile();
  } catch (e) {
    assert.ok(e instanceof Npt66Error, `expected Npt66Error, got ${String(e)}`);
    assert.equal(e.code, 'ERR_NPT66_CONFIG');
    assert.equal(e.field, field, e.message);
    assert.ok(e.message.startsWith(`${field}: `), e.message);
    for (const p of patterns) assert.match(e.message, p);
    return e.message;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}
