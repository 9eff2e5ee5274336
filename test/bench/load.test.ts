import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, scheduledAt } from './load.ts';

test('percentile is nearest-rank on sorted data', () => {
  const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 0.5), 500);
  assert.equal(percentile(xs, 0.99), 990);
  assert.equal(percentile(xs, 0.999), 999);
  assert.equal(percentile([7], 0.99), 7);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

test('open-loop requests are scheduled at fixed intervals from the start', () => {
  assert.equal(scheduledAt(1000, 200, 0), 1000);
  assert.equal(scheduledAt(1000, 200, 1), 1005);
  assert.equal(scheduledAt(1000, 200, 400), 3000);
});
