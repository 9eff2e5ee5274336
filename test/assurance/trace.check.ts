/**
 * @module test/assurance/trace.check
 * Run last by test/run-node-tests.mjs, on a full run only (a subset cannot prove anything missing):
 * every MUST of the five requirement documents has a passing test that cites it (this run's node
 * TAP, the browser run's names) or an organisational reason in test/assurance/requirements.json;
 * and the hazard log's evidence is tests that passed in this run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseRequirements } from './requirements.ts';
import { browserJson, loadBrowserOutcomes, loadOrganisational, mustGaps, parseTap, root, trace } from './trace.ts';

it("every MUST is proven by a passing test that cites it or is the deploying organisation's", () => {
  const tap = process.env.FGM_TEST_TAP;
  assert.ok(tap, 'FGM_TEST_TAP is set by test/run-node-tests.mjs');
  const outcomes = [...parseTap(readFileSync(tap, 'utf8')), ...loadBrowserOutcomes()];
  const gaps = mustGaps(trace(parseRequirements(), outcomes, loadOrganisational()));
  assert.deepEqual(
    gaps,
    [],
    `MUSTs with neither a passing test nor an organisational reason (browser results: ${browserJson}, written by npm run test:browser):\n${gaps.join('\n')}`,
  );
});

it('every test the hazard log names as evidence exists and passed in this run', () => {
  const outcomes = [...parseTap(readFileSync(process.env.FGM_TEST_TAP ?? '', 'utf8')), ...loadBrowserOutcomes()];
  const passed = new Set(outcomes.filter((t) => t.passed).map((t) => t.name));
  const named = [
    ...readFileSync(join(root, 'docs', 'assurance', 'hazard-log.md'), 'utf8').matchAll(/^\s*- test: `(.+)`\s*$/gm),
  ].map((m) => m[1]!);
  assert.ok(named.length > 0, 'the hazard log names its evidence');
  assert.deepEqual(
    named.filter((n) => !passed.has(n)),
    [],
    'hazard-log evidence that did not pass in this run (renamed or removed?)',
  );
});
