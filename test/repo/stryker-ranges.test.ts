/**
 * `npm run mutate` mutates parts of two files by line range (stryker.config.mjs). A range that no
 * longer covers its code (after a reformat, say) makes the mutation score measure something else,
 * silently: each range must still start and end where its code does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const config = readFileSync('stryker.config.mjs', 'utf8');
const range = (file: string) => {
  const m = new RegExp(`'${file.replace(/[.]/g, '\\.')}:(\\d+)-(\\d+)'`).exec(config);
  assert.ok(m, `stryker.config.mjs mutates a range of ${file}`);
  const lines = readFileSync(file, 'utf8').split('\n');
  return {
    first: lines[Number(m[1]) - 1] ?? '',
    last: lines[Number(m[2]) - 1] ?? '',
    after: lines[Number(m[2])] ?? '',
  };
};

test('the mutated range of ask-spine.ts runs from the Spine call to the end of reportDeviations', () => {
  const r = range('gateway/spine/ask-spine.ts');
  assert.match(r.first, /await deps\.spine\.query\(/);
  assert.equal(r.last, '}');
  const file = readFileSync('gateway/spine/ask-spine.ts', 'utf8');
  assert.ok(
    file.indexOf('function reportDeviations') <
      file
        .split('\n')
        .slice(0, Number(/ask-spine\.ts:\d+-(\d+)/.exec(config)![1]))
        .join('\n').length,
    'reportDeviations is inside the range',
  );
});

test('the mutated range of sqlite-store.ts is chainAppender, whole', () => {
  const r = range('gateway/audit/sqlite-store.ts');
  assert.match(r.first, /^export function chainAppender\(/);
  assert.equal(r.last, '}');
});
