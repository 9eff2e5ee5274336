/**
 * The safety core on answers that carry more than the Flag's own Patient (issue 18, LOW review
 * finding): a Patient anywhere in the message — a Bundle entry, contained and unreferenced, nested
 * — that is not named by the NHS number asked about makes the answer unusable, as an indicator for
 * another patient does. Oracles: the spec's example answers (test/spec, copies of the spec's examples)
 * with a Patient added by hand, and hand-written verdicts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { example } from '../../test/helpers/fhir-fixtures.ts';
import { parseXml } from '../fhir/xml.ts';
import { checkAnswer, type AnswerExpectation } from './answer-safety.ts';

const FOUND = example('query-response-2-0-indicator-found');
const ERROR = example('query-response-2-0-invalid-nhs-number');
/** What the examples answer: the request id, ASIDs, patient (1234567890) and clock they carry. */
const EXPECT: AnswerExpectation = {
  messageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58877',
  nhsNumber: '1234567890',
  smspAsid: '047192794544',
  spineAsid: '990101234567',
  httpStatus: 200,
  now: new Date('2015-07-04T10:10:15Z'),
  maxAheadMs: 300_000,
  maxBehindMs: 86_400_000,
  isKnownCode: (c) => ['INVALID_NHS_NUMBER', 'NO_RECORD_FOUND'].includes(c),
};
const verdict = (xml: string, over: Partial<AnswerExpectation> = {}) => {
  const r = parseXml(xml);
  assert.ok(r.ok, 'fixture parses');
  return checkAnswer(r.value, { ...EXPECT, ...over });
};
const reason = (xml: string, over: Partial<AnswerExpectation> = {}) => {
  const v = verdict(xml, over);
  return v.usable ? 'usable' : v.reason;
};

const ANOTHER = 'answer carries a patient other than the one asked about';
const DSTU2 = 'http://fhir.nhs.net/Id/nhs-number';
const nhs = (value: string, system = DSTU2) => `<identifier><system value="${system}"/><value value="${value}"/></identifier>`;
const patient = (inner: string) => `<Patient><id value="p2"/>${inner}</Patient>`;
/** The answer with one more Bundle entry holding `resource`. */
const withEntry = (xml: string, resource: string) => xml.replace('</Bundle>', `<entry><resource>${resource}</resource></entry></Bundle>`);
/** The indicator with a second Patient contained in the Flag, which its subject does not reference. */
const withContained = (resource: string) => FOUND.replace('</contained>', `</contained><contained>${resource}</contained>`);

describe('safety core: every Patient in the answer is the child asked about', () => {
  test('SMSP-VAL-004 an unreferenced Patient entry with another NHS number is refused, under either system and in any spelling of it', () => {
    assert.equal(reason(withEntry(FOUND, patient(nhs('9990000026')))), ANOTHER);
    assert.equal(reason(withEntry(FOUND, patient(nhs('9990000026', 'https://fhir.nhs.uk/Id/nhs-number')))), ANOTHER);
    assert.equal(reason(withEntry(FOUND, patient(nhs('9990000026', 'HTTP://FHIR.NHS.NET/Id/nhs-number/')))), ANOTHER, 'RFC 3986: the same system');
    assert.equal(reason(withEntry(FOUND, patient(nhs('999 000 0026')))), ANOTHER);
    assert.equal(reason(withEntry(FOUND, patient(nhs('1234567890') + nhs('9990000026')))), ANOTHER, 'ours beside another is still another');
  });
  test('SMSP-VAL-004 a Patient not named by any NHS number may be another child: refused', () => {
    assert.equal(reason(withEntry(FOUND, patient(nhs('local-77', 'https://example.org/mrn')))), ANOTHER);
    assert.equal(reason(withEntry(FOUND, patient(''))), ANOTHER);
    assert.equal(reason(withEntry(FOUND, patient(`<identifier><system value="${DSTU2}"/></identifier>`))), ANOTHER, 'an NHS-number identifier without a value');
  });
  test('SMSP-VAL-004 another child contained in the Flag beside ours, or nested inside a Patient of ours, is refused', () => {
    assert.equal(reason(withContained(patient(nhs('9990000026')))), ANOTHER);
    assert.equal(reason(withEntry(FOUND, patient(`${nhs('1234567890')}<contained>${patient(nhs('9990000026'))}</contained>`))), ANOTHER);
  });
  test('SMSP-VAL-004 a second Patient named by our NHS number (spaced, either system) is the same child: usable', () => {
    assert.equal(reason(withEntry(FOUND, patient(nhs('123 456 7890')))), 'usable');
    assert.equal(reason(withContained(patient(nhs('1234567890', 'https://fhir.nhs.uk/Id/nhs-number')))), 'usable');
    const padded = verdict(withEntry(FOUND, patient(nhs('1234567890', ` ${DSTU2} `))));
    assert.deepEqual(padded.usable && padded.deviations, [{ path: 'Patient.identifier.system', message: 'whitespace around the value removed' }], 'read trimmed, and said so');
    // Only FHIR elements are resources: a foreign element of that name is no Patient.
    assert.equal(reason(FOUND.replace('<resource><Flag>', '<resource><x:Patient xmlns:x="urn:x"/><Flag>')), 'usable');
  });
  test('SMSP-ERR-004 an error answer carrying another child is refused (its code may be about that child); carrying ours it keeps its code', () => {
    assert.equal(reason(withEntry(ERROR, patient(nhs('9990000026'))), { httpStatus: 400 }), ANOTHER);
    const nrf = ERROR.replace('INVALID_NHS_NUMBER', 'NO_RECORD_FOUND');
    assert.equal(reason(withEntry(nrf, patient(nhs('9990000026'))), { httpStatus: 404 }), ANOTHER, 'a not-found about another child would hide ours');
    assert.equal(reason(withEntry(ERROR, patient(nhs('1234567890'))), { httpStatus: 400 }), 'usable');
  });
});
