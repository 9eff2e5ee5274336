/**
 * @module test/whole-run-logs.check
 * Run last by test/run-node-tests.mjs, over everything every gateway logged during the whole test
 * run (in-process stacks, child processes, the demo): no valid NHS number and no session token.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { validNhsNumbersIn } from './helpers/stack.ts';

const dir = process.env.FGM_TEST_LOG_DIR;

it('nothing any gateway logged during the whole test run contains a valid NHS number or a token', () => {
  assert.ok(dir, 'FGM_TEST_LOG_DIR is set by test/run-node-tests.mjs');
  const files = readdirSync(dir).filter((f) => f.endsWith('.log'));
  assert.ok(files.length > 0, 'the gateways of this run left their logs');
  const all = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('');
  assert.ok(all.includes('"msg":"request"'), 'the logs hold request lines');
  assert.deepEqual(validNhsNumbersIn(all), []);
  assert.doesNotMatch(all, /eyJ[A-Za-z0-9_-]{10,}\.eyJ/, 'no JWT in the logs');
});
