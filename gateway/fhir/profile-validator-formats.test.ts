/**
 * The DSTU2 formats of the primitives no conforming FGM-IS message can carry (date, integer,
 * decimal, unsignedInt, positiveInt, oid: max 0 or sliced out in the snapshots, so the walk never
 * reaches them), read through `isDstu2Primitive`, which the gateway uses before it sends a value.
 * The oracle: hl7.org/fhir/DSTU2/datatypes.html, each case hand-written from its definition.
 * The reachable types are tested through whole messages in profile-validator.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isDstu2Primitive } from './profile-validator.ts';

const CASES: Record<
  'date' | 'integer' | 'decimal' | 'unsignedInt' | 'positiveInt' | 'oid',
  { good: string[]; bad: string[] }
> = {
  // -?[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?
  date: {
    good: ['2015', '2015-02', '2015-02-07', '2015-10-19', '2015-12-31', '2015-11-20', '-0044', '2015-09-30'],
    bad: [
      '15',
      '20150',
      '2015-2',
      '2015-00',
      '2015-13',
      '2015-02-7',
      '2015-02-00',
      '2015-02-32',
      '2015-02-07T10:00:00Z',
      'x2015',
      '2015x',
      '2015-02-07x',
      '',
    ],
  },
  // -?([0]|([1-9][0-9]*))
  integer: { good: ['0', '7', '-7', '10', '123', '-1024'], bad: ['01', '-01', '+1', '1.0', '', '-', 'x1', '1x', '1 '] },
  // -?([0]|([1-9][0-9]*))(\.[0-9]+)?
  decimal: {
    good: ['0', '-7', '10', '123', '0.5', '-0.5', '1.25', '3.14159265358979323846'],
    bad: ['.5', '1.', '01', '1.2.3', '1.x', '--1', '+1', 'x1', '1x', '1e3', ''],
  },
  // [0]|([1-9][0-9]*)
  unsignedInt: { good: ['0', '1', '9', '10', '123'], bad: ['-1', '01', '+1', '00', 'x0', '0x', '1.0', ''] },
  // +?[1-9][0-9]*
  positiveInt: {
    good: ['1', '+1', '9', '10', '123', '+42'],
    bad: ['0', '+0', '-1', '01', '++1', 'x1', '1x', '1.0', ''],
  },
  // urn:oid:[0-2](\.[1-9]\d*)+
  oid: {
    good: ['urn:oid:1.2.3', 'urn:oid:2.16.840.1.113883', 'urn:oid:0.9', 'urn:oid:1.10'],
    bad: [
      'urn:oid:3.1',
      'urn:oid:1',
      'urn:oid:1.02',
      'urn:oid:1.2.',
      'urn:oid:1..2',
      'oid:1.2',
      'xurn:oid:1.2',
      'urn:oid:1.2x',
      'URN:OID:1.2',
      'urn:oid:1.0',
    ],
  },
};

describe('profile validator: DSTU2 formats of the primitives the walk never reaches', () => {
  for (const [type, { good, bad }] of Object.entries(CASES) as [
    keyof typeof CASES,
    { good: string[]; bad: string[] },
  ][]) {
    test(`SMSP-VAL-001 ${type}: DSTU2's valid forms are ${type}, others are not`, () => {
      for (const v of good) assert.equal(isDstu2Primitive(type, v), true, `${type} ${JSON.stringify(v)}`);
      for (const v of bad) assert.equal(isDstu2Primitive(type, v), false, `${type} ${JSON.stringify(v)}`);
    });
  }
});
