/**
 * What the FHIR answer sends for Spine's assessment dateTime. Oracle: the profile validator's
 * DSTU2 dateTime check (gateway/fhir/profile-validator.ts, tested against hl7.org/fhir/DSTU2) and
 * hand-written expected values.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withValue, example } from '../../test/helpers/fhir-fixtures.ts';
import { validateMessage } from './profile-validator.ts';
import { sendableDateTime } from './sendable-date-time.ts';

const FOUND = example('query-response-2-0-indicator-found');

test('SMSP-VAL-001 an assessment dateTime is sent as a valid DSTU2 dateTime: as written, :60 as :59, missing seconds as :00, else the UK day', () => {
  const cases: [string, string, string][] = [
    ['2019-12-10', '2019-12-10', '2019-12-10'],
    ['2019-12', '2019-12', '2019-12'],
    ['2019-12-10T10:00:00+00:00', '2019-12-10', '2019-12-10T10:00:00+00:00'],
    ['2019-12-10T10:00Z', '2019-12-10', '2019-12-10T10:00:00Z'],
    ['2019-12-10T10:00+01:00', '2019-12-10', '2019-12-10T10:00:00+01:00'],
    ['2019-12-10T23:59:60Z', '2019-12-10', '2019-12-10T23:59:59Z'],
    ['2019-12-10T23:59:60.5+00:00', '2019-12-10', '2019-12-10T23:59:59.5+00:00'],
    // +14:30 is a real offset to the safety core, but DSTU2 stops at +14:00: the UK day instead.
    ['2019-12-10T10:00:00+14:30', '2019-12-09', '2019-12-09'],
  ];
  for (const [written, ukDay, sent] of cases) {
    assert.equal(sendableDateTime(written, ukDay), sent, written);
    assert.deepEqual(validateMessage(withValue(FOUND, 'Flag.period.start', sent)), [], `${sent} passes the profiles`);
  }
});
