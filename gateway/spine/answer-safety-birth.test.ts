/**
 * The safety core on Spine's own birth date for the child (the Patient profile requires one;
 * conformance assessment atk18, finding 1): a child not yet born is an impossible answer, refused;
 * a birth date after the assessment, or one making her 18 or over, is reported and the indicator
 * still shown. Oracles: the spec's example answer with a birthDate written in by hand, verdicts
 * and the eighteenth birthdays worked by hand (Spine's timestamp in the example is 2015-07-04, its
 * assessment 2015-02-04).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { example } from '../../test/helpers/fhir-fixtures.ts';
import { parseXml } from '../fhir/xml.ts';
import { checkAnswer, type AnswerExpectation } from './answer-safety.ts';

const FOUND = example('query-response-2-0-indicator-found');
const EXPECT: AnswerExpectation = {
  messageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58877',
  nhsNumber: '1234567890',
  smspAsid: '047192794544',
  spineAsid: '990101234567',
  httpStatus: 200,
  now: new Date('2015-07-04T10:10:15Z'),
  maxAheadMs: 300_000,
  maxBehindMs: 86_400_000,
  isKnownCode: () => true,
};
const born = (date: string) =>
  FOUND.replace(
    '<value value="1234567890"/></identifier></Patient>',
    `<value value="1234567890"/></identifier><birthDate value="${date}"/></Patient>`,
  );
const verdict = (xml: string) => {
  const r = parseXml(xml);
  assert.ok(r.ok, 'fixture parses');
  return checkAnswer(r.value, EXPECT);
};
const birthNotes = (xml: string) => {
  const v = verdict(xml);
  assert.ok(v.usable, v.usable ? '' : v.reason);
  return v.deviations.filter((d) => d.path === 'Patient.birthDate').map((d) => d.message);
};

describe("safety core: Spine's own birth date for the child (atk18 finding 1)", () => {
  test('the fixture carries the birth date where the core reads it', () => {
    assert.notEqual(born('2010-05-05'), FOUND);
  });
  test("SMSP-VAL-004 a child born after Spine's timestamp is an impossible answer: refused, never an indicator", () => {
    for (const date of ['2015-07-05', '2099-01-01', '2016']) {
      const v = verdict(born(date));
      assert.deepEqual(
        [v.usable, v.usable ? '' : v.reason],
        [false, "patient's birth date is after the timestamp"],
        date,
      );
    }
  });
  test("SMSP-VAL-004 born on the day of Spine's timestamp, or earlier, is no reason to refuse", () => {
    assert.equal(verdict(born('2015-07-04')).usable, true);
    assert.deepEqual(birthNotes(born('2010-05-05')), []);
  });
  test("SMSP-VAL-004 an assessment before Spine's birth date is reported, the indicator still shown", () => {
    assert.deepEqual(birthNotes(born('2015-03-01')), ["assessment date before Spine's birth date"]);
    assert.deepEqual(birthNotes(born('2015-02-04')), [], 'assessed on the day of birth');
  });
  test("SMSP-VAL-004 a birth date making her 18 or over on Spine's UK date is reported, the indicator still shown", () => {
    assert.deepEqual(
      birthNotes(born('1997-07-04')),
      ["Spine's birth date makes the patient 18 or over"],
      'her 18th birthday',
    );
    assert.deepEqual(birthNotes(born('1997-07-05')), [], 'the day before her 18th birthday');
    assert.deepEqual(birthNotes(born('1990-01-01')), ["Spine's birth date makes the patient 18 or over"]);
  });
  test('SMSP-VAL-004 a birth date that is no real date is reported and ignored', () => {
    assert.deepEqual(birthNotes(born('2015-02-30')), ['birth date is not a real date, ignored']);
  });
});
