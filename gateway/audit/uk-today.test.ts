import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ukToday as intlUkToday } from '@fgm-status/element/rules/age';
import { ukToday, ukTodayByHour } from './uk-today.ts';

test("MSCA-FGMRISQ-04 the remembered UK date equals Intl's at every minute around both 2026 clock changes and New Year", () => {
  // Intl's Europe/London rules are the oracle; each window spans a change of offset or of day.
  for (const start of ['2026-03-28T22:00:00Z', '2026-10-24T22:00:00Z', '2025-12-31T22:00:00Z']) {
    for (let t = Date.parse(start); t < Date.parse(start) + 30 * 3_600_000; t += 60_000) {
      assert.equal(ukToday(new Date(t)), intlUkToday(new Date(t)), new Date(t).toISOString());
    }
  }
  // Hand-written: 23:30 UTC in BST is the next UK day; in GMT the same day.
  assert.equal(ukToday(new Date('2026-07-01T23:30:00Z')), '2026-07-02');
  assert.equal(ukToday(new Date('2026-01-01T23:30:00Z')), '2026-01-01');
});

test('the UK date is formatted once per UTC hour, not once per call', () => {
  let calls = 0;
  const today = ukTodayByHour((d) => (calls++, intlUkToday(d)));
  for (let m = 0; m < 60; m++) today(new Date(Date.UTC(2026, 11, 2, 13, m)));
  assert.equal(calls, 1);
  today(new Date(Date.UTC(2026, 11, 2, 14, 0)));
  assert.equal(calls, 2);
});

test('an invalid date still throws, and is not remembered', () => {
  assert.throws(() => ukToday(new Date(NaN)), RangeError);
  assert.throws(() => ukToday(new Date(NaN)), RangeError);
});
