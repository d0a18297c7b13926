// One table of error codes (src/errors.ts ERROR_CODES) and the exit status each gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { ERROR_CODES, EXIT_INTERNAL, EXIT_USAGE, exitStatusFor, fromNativeError, Npt66Error } from '../../src/errors';

// dist/test/ts -> the package root
const root = path.resolve(__dirname, '..', '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|cc|h)$/.test(name) ? [p] : [];
  });
}

test('every ERR_NPT66_* code raised in src/ or native/ is in ERROR_CODES, and every listed code is raised', () => {
  const used = new Set<string>();
  for (const file of [...sources(path.join(root, 'src')), ...sources(path.join(root, 'native'))]) {
    if (file.endsWith(path.join('src', 'errors.ts'))) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/ERR_NPT66_[A-Z_]*[A-Z]/g)) used.add(m[0]);
  }
  assert.ok(used.size >= 9, `found only ${[...used].join(', ')}`);
  assert.deepEqual([...used].filter((c) => !Object.hasOwn(ERROR_CODES, c)), [], 'codes raised but missing from ERROR_CODES');
  assert.deepEqual(Object.keys(ERROR_CODES).filter((c) => !used.has(c)), [], 'codes listed but never raised');
});

test("exit statuses: the user's to fix exit 2, the rest the command's failure status", () => {
  for (const code of ['ERR_NPT66_CONFIG', 'ERR_NPT66_USAGE', 'ERR_NPT66_INVALID_ARG'] as const) {
    assert.equal(exitStatusFor(new Npt66Error(code, 'x'), EXIT_INTERNAL), EXIT_USAGE, code);
    assert.equal(exitStatusFor(new Npt66Error(code, 'x'), 1), EXIT_USAGE, code);
  }
  for (const code of ['ERR_NPT66_QUEUE', 'ERR_NPT66_RULES', 'ERR_NPT66_STATE', 'ERR_NPT66_CONTROL'] as const) {
    assert.equal(exitStatusFor(new Npt66Error(code, 'x'), EXIT_INTERNAL), EXIT_INTERNAL, code);
    assert.equal(exitStatusFor(new Npt66Error(code, 'x'), 1), 1, code);
  }
  assert.equal(exitStatusFor(new Error('a bug'), EXIT_INTERNAL), EXIT_INTERNAL);
  // A native error object (not yet an Npt66Error) is judged by its code too.
  assert.equal(exitStatusFor(Object.assign(new Error('bad'), { code: 'ERR_NPT66_CONFIG' }), 1), EXIT_USAGE);
});

test('fromNativeError keeps the known codes; an unknown code stays a plain error', () => {
  const known = fromNativeError(Object.assign(new Error('no'), { code: 'ERR_NPT66_QUEUE' }));
  assert.ok(known instanceof Npt66Error);
  assert.equal(known.code, 'ERR_NPT66_QUEUE');
  const unknown = Object.assign(new Error('?'), { code: 'ERR_NPT66_NOT_A_CODE' });
  assert.equal(fromNativeError(unknown), unknown);
});
