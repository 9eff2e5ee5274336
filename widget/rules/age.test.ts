import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIsoDate, isUnder18, ukToday } from './age.ts';

describe('isUnder18 (MSCA-FGMRISQ-04)', () => {
  it('is true the day before the 18th birthday and false on it', () => {
    assert.equal(isUnder18('2008-06-15', '2026-06-14'), true);
    assert.equal(isUnder18('2008-06-15', '2026-06-15'), false);
  });
  it('treats 29 February as 1 March in a non-leap year', () => {
    assert.equal(isUnder18('2008-02-29', '2026-02-28'), true);
    assert.equal(isUnder18('2008-02-29', '2026-03-01'), false);
  });
  it('the birthday begins at UK midnight: in BST that is 23:00 UTC the day before', () => {
    const justAfterUkMidnight = new Date('2026-07-01T23:30:00Z');
    assert.equal(ukToday(justAfterUkMidnight), '2026-07-02');
    assert.equal(isUnder18('2008-07-02', ukToday(justAfterUkMidnight)), false);
    assert.equal(isUnder18('2008-07-02', ukToday(new Date('2026-07-01T22:30:00Z'))), true);
  });
  it('in GMT the UK date is the UTC date', () => {
    assert.equal(ukToday(new Date('2026-01-15T23:59:59Z')), '2026-01-15');
    assert.equal(ukToday(new Date('2026-01-16T00:00:00Z')), '2026-01-16');
  });
  it('isIsoDate refuses impossible dates', () => {
    assert.equal(isIsoDate('2014-03-02'), true);
    assert.equal(isIsoDate('2014-02-30'), false);
    assert.equal(isIsoDate('02/03/2014'), false);
  });
});
