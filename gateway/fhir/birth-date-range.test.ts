/** The days a FHIR birth date allows (hand-written calendar facts: leap Februaries, 30- and 31-day months). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { birthDateRange } from './birth-date-range.ts';

test('MSCA-FGMRISQ-04 a full, month or year birth date is the span of days it allows; anything else is no date', () => {
  assert.deepEqual(birthDateRange('2014-03-02'), { earliest: '2014-03-02', latest: '2014-03-02' });
  assert.deepEqual(birthDateRange('2014'), { earliest: '2014-01-01', latest: '2014-12-31' });
  assert.deepEqual(birthDateRange('2016-02'), { earliest: '2016-02-01', latest: '2016-02-29' });
  assert.deepEqual(birthDateRange('2015-02'), { earliest: '2015-02-01', latest: '2015-02-28' });
  assert.deepEqual(birthDateRange('2014-04'), { earliest: '2014-04-01', latest: '2014-04-30' });
  assert.deepEqual(birthDateRange('2014-12'), { earliest: '2014-12-01', latest: '2014-12-31' });
  for (const bad of ['2014-13', '2014-00', '2014-3', '14', '2014-02-30', '2014-03-02T00:00:00Z', ' 2014', '20140'])
    assert.equal(birthDateRange(bad), undefined, bad);
});
