import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNhsNumber, isValidNhsNumber } from './nhs-number.ts';

test('SMSP-VAL-002 accepts the simulator test patients and other valid numbers', () => {
  for (const n of ['9990000018', '9990000026', '9990000034', '9990000042', '9434765919', '4010232137']) {
    assert.equal(isValidNhsNumber(n), true, n);
  }
});

test('SMSP-VAL-002 rejects a bad check digit', () => {
  assert.equal(isValidNhsNumber('9990000019'), false);
  assert.equal(isValidNhsNumber('9434765918'), false);
});

test('SMSP-VAL-002 rejects every number whose check digit would be 10', () => {
  // 999000000: weighted sum 243, remainder 1, so 11 - 1 = 10 — no final digit can make it valid
  for (let d = 0; d <= 9; d++) assert.equal(isValidNhsNumber(`999000000${d}`), false);
});

test('SMSP-VAL-002 maps a check value of 11 to digit 0', () => {
  // 100000006: weighted sum 22, remainder 0
  assert.equal(isValidNhsNumber('1000000060'), true);
  assert.equal(isValidNhsNumber('1000000061'), false);
});

test('SMSP-VAL-002 rejects anything but exactly ten ASCII digits', () => {
  for (const n of ['', '999000001', '99900000180', '999 000 0018', '999000001a', ' 9990000018', '９９９００００018']) {
    assert.equal(isValidNhsNumber(n), false, JSON.stringify(n));
  }
});

test('MSCA-FGMRISG-01 formats an NHS number as 3-3-4', () => {
  assert.equal(formatNhsNumber('9990000018'), '999 000 0018');
  assert.equal(formatNhsNumber('12345'), '12345');
});
