/**
 * Hostile review of today's fix 44eafb0 (carriesRiskCode / foreignRiskCode): a complete FGM Flag for
 * our child that the core cannot read as FHIR, beside Spine's NO_RECORD_FOUND, must never be passed
 * on as "no record" (SMSP-VAL-004, SMSP-FGMRI-001). Oracles: the spec's examples rewritten by hand.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { example } from '../../test/helpers/fhir-fixtures.ts';
import { parseXml } from '../fhir/xml.ts';
import { checkAnswer, type AnswerExpectation } from './answer-safety.ts';

const FOUND = example('query-response-2-0-indicator-found');
const NONE = example('query-response-2-0-invalid-nhs-number').replace('INVALID_NHS_NUMBER', 'NO_RECORD_FOUND');
const EXPECT: AnswerExpectation = {
  messageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58877',
  nhsNumber: '1234567890',
  smspAsid: '047192794544',
  spineAsid: '990101234567',
  httpStatus: 404,
  now: new Date('2015-07-04T10:10:15Z'),
  maxAheadMs: 300_000,
  maxBehindMs: 86_400_000,
  isKnownCode: (c) => ['INVALID_NHS_NUMBER', 'NO_RECORD_FOUND', 'PATIENT_OVER_18'].includes(c),
};
const reason = (xml: string) => {
  const r = parseXml(xml, { nearFhir: true });
  assert.ok(r.ok, `fixture parses: ${!r.ok && r.error.message}`);
  const v = checkAnswer(r.value, EXPECT);
  return v.usable ? `usable ${JSON.stringify(v.outcome)}` : v.reason;
};
const FLAG = /<Flag>.*?<\/Flag>/.exec(FOUND)![0];
/** Every element and every attribute of `xml` under the prefix `p`. */
const allPrefixed = (xml: string, p: string) =>
  xml.replace(/<(\/?)([A-Za-z]+)/g, `<$1${p}:$2`).replace(/ value="/g, ` ${p}:value="`);
/** FHIR XML's value attributes written as element text (a non-FHIR serialisation of the same Flag). */
const asText = (xml: string, cdata = false) =>
  xml.replace(
    /<([A-Za-z]+) value="([^"]*)"\/>/g,
    (_m, n: string, v: string) => `<${n}>${cdata ? `<![CDATA[${v}]]>` : v}</${n}>`,
  );

describe('attack today (44eafb0): an FGM Flag the core cannot read beside NO_RECORD_FOUND', () => {
  test('control: NO_RECORD_FOUND alone is no record, and the fix catches the all-prefixed-elements Flag', () => {
    assert.match(reason(NONE), /^usable .*NO_RECORD_FOUND/);
    const inner = `<x:entry xmlns:x="urn:x">${`<resource>${FLAG}</resource>`.replace(/<(\/?)([A-Za-z]+)/g, '<$1x:$2')}</x:entry>`;
    assert.equal(reason(NONE.replace('</Bundle>', `${inner}</Bundle>`)), 'FGM risk code beside an error outcome');
  });
  test('SMSP-VAL-004 SMSP-FGMRI-001 a foreign Flag whose attributes are prefixed too (x:value, attributeFormDefault qualified) is never no record', () => {
    const inner = `<x:entry xmlns:x="urn:x">${allPrefixed(`<resource>${FLAG}</resource>`, 'x')}</x:entry>`;
    assert.equal(reason(NONE.replace('</Bundle>', `${inner}</Bundle>`)), 'FGM risk code beside an error outcome');
  });
  test('SMSP-VAL-004 SMSP-FGMRI-001 a foreign Flag whose values are element text, or CDATA, is never no record', () => {
    for (const cdata of [false, true]) {
      const inner = `<entry xmlns="urn:x"><resource>${asText(FLAG, cdata)}</resource></entry>`;
      assert.equal(
        reason(NONE.replace('</Bundle>', `${inner}</Bundle>`)),
        'FGM risk code beside an error outcome',
        cdata ? 'CDATA' : 'text',
      );
    }
  });
});
