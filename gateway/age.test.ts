import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIsoDate, isUnder18 } from './age.ts';

describe('isUnder18 (MSCA-FGMRISQ-04)', () => {
  it('is true the day before the 18th birthday and false on it', () => {
    assert.equal(isUnder18('2008-06-15', new Date('2026-06-14T23:59:59Z')), true);
    assert.equal(isUnder18('2008-06-15', new Date('2026-06-15T00:00:00Z')), false);
  });
  it('treats 29 February as 1 March in a non-leap year', () => {
    assert.equal(isUnder18('2008-02-29', new Date('2026-02-28T12:00:00Z')), true);
    assert.equal(isUnder18('2008-02-29', new Date('2026-03-01T00:00:00Z')), false);
  });
  it('isIsoDate refuses impossible dates', () => {
    assert.equal(isIsoDate('2014-03-02'), true);
    assert.equal(isIsoDate('2014-02-30'), false);
    assert.equal(isIsoDate('02/03/2014'), false);
  });
});
