/**
 * The safety core on review 18f's findings (issue 18): "no record" (and Spine's other "nothing to
 * show" codes) believed only where the whole answer agrees it is Spine's business answer (F1);
 * empty entries and an extra destination read past beside an indicator (F6); an NHS number on an
 * ended identifier (F8); a date-only assessment bounded by the earlier of Spine's and the
 * gateway's UK date (F12); references resolved by lookup, not a scan per reference (F13).
 * Oracles: the spec's example answers (test/spec copies) rewritten by hand, hand-written verdicts,
 * the UK calendar (BST from the last Sunday of March to the last Sunday of October) worked by
 * hand, and a count of reads on the parsed tree.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { example, withValue } from '../../test/helpers/fhir-fixtures.ts';
import { parseXml, type XmlElement } from '../fhir/xml.ts';
import { checkAnswer, type AnswerExpectation } from './answer-safety.ts';

const FOUND = example('query-response-2-0-indicator-found');
const ERROR = example('query-response-2-0-invalid-nhs-number');
/** Spine's "no record" answer: the error example under NO_RECORD_FOUND, issue type not-found, response code ok (as Spine writes it). */
const NONE = ERROR.replace('value="INVALID_NHS_NUMBER"', 'value="NO_RECORD_FOUND"')
  .replace('<code value="invalid"/>', '<code value="not-found"/>')
  .replace('<code value="fatal-error"/>', '<code value="ok"/>');
const OVER_18 = ERROR.replace('value="INVALID_NHS_NUMBER"', 'value="PATIENT_OVER_18"');
const ASID = ERROR.replace('value="INVALID_NHS_NUMBER"', 'value="ASID_CHECK_FAILED"').replace(
  '<code value="invalid"/>',
  '<code value="forbidden"/>',
);
const EXPECT: AnswerExpectation = {
  messageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58877',
  nhsNumber: '1234567890',
  smspAsid: '047192794544',
  spineAsid: '990101234567',
  httpStatus: 200,
  now: new Date('2015-07-04T10:10:15Z'),
  maxAheadMs: 300_000,
  maxBehindMs: 86_400_000,
  isKnownCode: (c) => ['NO_RECORD_FOUND', 'INVALID_NHS_NUMBER', 'PATIENT_OVER_18', 'ASID_CHECK_FAILED'].includes(c),
};
const verdict = (xml: string, over: Partial<AnswerExpectation> = {}) => {
  const r = parseXml(xml, { maxBytes: 16 * 1024 * 1024, maxElements: 200_000 });
  assert.ok(r.ok, 'fixture parses');
  return checkAnswer(r.value, { ...EXPECT, ...over });
};
const reason = (xml: string, over: Partial<AnswerExpectation> = {}) => {
  const v = verdict(xml, over);
  return v.usable ? 'usable' : v.reason;
};
const outcomeOf = (xml: string, over: Partial<AnswerExpectation> = {}) => {
  const v = verdict(xml, over);
  assert.ok(v.usable, v.usable ? '' : v.reason);
  return v.outcome;
};
const deviationsOf = (xml: string, over: Partial<AnswerExpectation> = {}) => {
  const v = verdict(xml, over);
  assert.ok(v.usable, v.usable ? '' : v.reason);
  return v.deviations.map((d) => `${d.path} ${d.message}`);
};

describe('safety core: "nothing to show" is believed only as Spine\'s business answer (review 18f F1)', () => {
  const status = 'error outcome under an HTTP status not its own';
  const responseCode = 'error outcome with a response code other than ok or fatal-error';
  const issueType = 'error outcome with an issue type that is not a business answer';

  test('SMSP-FGMRI-001 SMSP-ERR-004 NO_RECORD_FOUND is no record under 404, 200 and 201; under 400, 500, 502, 503 it is refused', () => {
    assert.deepEqual(outcomeOf(NONE, { httpStatus: 404 }), { kind: 'error', code: 'NO_RECORD_FOUND' });
    for (const httpStatus of [200, 201])
      assert.deepEqual(outcomeOf(NONE, { httpStatus }), { kind: 'error', code: 'NO_RECORD_FOUND' }, String(httpStatus));
    for (const httpStatus of [400, 403, 422, 500, 502, 503, 504])
      assert.equal(reason(NONE, { httpStatus }), status, String(httpStatus));
  });
  test('SMSP-FGMRI-001 NO_RECORD_FOUND with response code ok or fatal-error (any case, reported) is no record; transient-error, another code or none is refused', () => {
    assert.equal(reason(withValue(NONE, 'MessageHeader.response.code', 'fatal-error'), { httpStatus: 404 }), 'usable');
    assert.ok(
      deviationsOf(withValue(NONE, 'MessageHeader.response.code', 'OK'), { httpStatus: 404 }).includes(
        'MessageHeader.response.code response code written in another case',
      ),
    );
    for (const code of ['transient-error', 'error', ''])
      assert.equal(
        reason(withValue(NONE, 'MessageHeader.response.code', code), { httpStatus: 404 }),
        responseCode,
        code,
      );
    assert.equal(
      reason(NONE.replace('<code value="ok"/>', ''), { httpStatus: 404 }),
      responseCode,
      'absent: the profile requires it',
    );
  });
  test('SMSP-FGMRI-001 NO_RECORD_FOUND under issue type not-found, invalid, structure, forbidden or informational is no record; exception, transient, timeout, throttled or none is refused', () => {
    for (const type of ['invalid', 'structure', 'forbidden', 'informational', ' not-found '])
      assert.equal(
        reason(NONE.replace('<code value="not-found"/>', `<code value="${type}"/>`), { httpStatus: 404 }),
        'usable',
        type,
      );
    for (const type of ['exception', 'transient', 'timeout', 'throttled', 'not-supported', 'Not-Found'])
      assert.equal(
        reason(NONE.replace('<code value="not-found"/>', `<code value="${type}"/>`), { httpStatus: 404 }),
        issueType,
        type,
      );
    assert.equal(reason(NONE.replace('<code value="not-found"/>', ''), { httpStatus: 404 }), issueType, 'no type');
    // Every issue counts: a second issue saying something failed makes the not-found ambiguous.
    const second =
      '<issue><severity value="information"/><code value="exception"/><diagnostics value="backend timed out"/></issue>';
    assert.equal(reason(NONE.replace('</issue>', `</issue>${second}`), { httpStatus: 404 }), issueType);
  });
  test('SMSP-ERR-004 PATIENT_OVER_18 and INVALID_NHS_NUMBER (CDS: no card) follow the same rule under their own status, 400', () => {
    for (const xml of [OVER_18, ERROR]) {
      assert.equal(reason(xml, { httpStatus: 400 }), 'usable');
      for (const httpStatus of [404, 500, 503]) assert.equal(reason(xml, { httpStatus }), status, String(httpStatus));
      assert.equal(
        reason(withValue(xml, 'MessageHeader.response.code', 'transient-error'), { httpStatus: 400 }),
        responseCode,
      );
      assert.equal(
        reason(xml.replace('<code value="invalid"/>', '<code value="exception"/>'), { httpStatus: 400 }),
        issueType,
      );
    }
  });
  test('SMSP-ERR-004 an error the client shows as an error (ASID_CHECK_FAILED) is replicated under any error status, as Spine once sent it (500)', () => {
    for (const httpStatus of [403, 500])
      assert.deepEqual(
        outcomeOf(ASID, { httpStatus }),
        { kind: 'error', code: 'ASID_CHECK_FAILED' },
        String(httpStatus),
      );
    assert.equal(reason(ASID, { httpStatus: 200 }), 'error outcome with a success status');
  });
});

describe('safety core: references are looked up, not searched for, in each answer (review 18f F13)', () => {
  /**
   * An error answer of `n` Basic entries and `n` MessageHeader.data references, each naming one of
   * them in a form the core resolves (`Basic/id`, a urn:uuid fullUrl, a RESTful fullUrl): every
   * one is carried, so each is resolved and the answer is no record.
   */
  const wide = (n: number) => {
    const forms = (i: number) =>
      [
        `Basic/b${i}`,
        `urn:uuid:00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
        `https://spine.example/fhir/Basic/b${i}`,
      ][i % 3]!;
    const data = Array.from({ length: n }, (_, i) => `<data><reference value="${forms(i)}"/></data>`).join('');
    const entries = Array.from(
      { length: n },
      (_, i) =>
        `<entry><fullUrl value="${i % 3 === 2 ? `https://spine.example/fhir/Basic/b${i}` : `urn:uuid:00000000-0000-0000-0000-${String(i).padStart(12, '0')}`}"/><resource><Basic><id value="b${i}"/></Basic></resource></entry>`,
    ).join('');
    return NONE.replace('</destination></MessageHeader>', `</destination>${data}</MessageHeader>`).replace(
      '</Bundle>',
      `${entries}</Bundle>`,
    );
  };
  /** Parses `xml` and counts every read of an entry's children: what a scan of the entries costs. */
  const countedReads = (xml: string) => {
    const r = parseXml(xml, { maxBytes: 64 * 1024 * 1024, maxElements: 1_000_000 });
    assert.ok(r.ok);
    let reads = 0;
    const root = r.value;
    root.children = root.children.map((c) =>
      c.name === 'entry'
        ? new Proxy(c, {
            get(target, key, receiver) {
              if (key === 'children') reads++;
              return Reflect.get(target, key, receiver) as unknown;
            },
          })
        : c,
    ) as XmlElement[];
    const v = checkAnswer(root, { ...EXPECT, httpStatus: 404 });
    return { v, reads };
  };

  test('SMSP-VAL-004 5,000 entries each named by a MessageHeader.data reference are read within 20 reads of an entry each', () => {
    const n = 5000;
    const { v, reads } = countedReads(wide(n));
    assert.deepEqual(v.usable && v.outcome, { kind: 'error', code: 'NO_RECORD_FOUND' }, v.usable ? '' : v.reason);
    assert.ok(reads <= 20 * n, `${reads} reads of ${n} entries`);
  });
  test('SMSP-VAL-004 the work grows with the entries, not their square: four times the entries, at most four times the reads and a little', () => {
    const small = countedReads(wide(500)).reads;
    const large = countedReads(wide(2000)).reads;
    assert.ok(large <= 4 * small + 100, `${small} reads for 500 entries, ${large} for 2,000`);
  });
  test('SMSP-VAL-004 the indicator among 5,000 entries: its subject resolved by one lookup, the answer shown', () => {
    const n = 5000;
    const patient = /<contained>(<Patient>.*?<\/Patient>)<\/contained>/.exec(FOUND)![1]!;
    const moved = FOUND.replace(/<contained>.*?<\/contained>/, '')
      .replace(
        '<reference value="#20daadee-26e1-4d6a-9e6a-7f4af9b58877"/>',
        '<reference value="Patient/20daadee-26e1-4d6a-9e6a-7f4af9b58877"/>',
      )
      .replace(
        '</Bundle>',
        `${Array.from({ length: n }, (_, i) => `<entry><resource><Basic><id value="b${i}"/></Basic></resource></entry>`).join('')}<entry><resource>${patient}</resource></entry></Bundle>`,
      );
    const r = parseXml(moved, { maxBytes: 64 * 1024 * 1024, maxElements: 1_000_000 });
    assert.ok(r.ok);
    let reads = 0;
    r.value.children = r.value.children.map((c) =>
      c.name === 'entry'
        ? new Proxy(c, {
            get(target, key, receiver) {
              if (key === 'children') reads++;
              return Reflect.get(target, key, receiver) as unknown;
            },
          })
        : c,
    ) as XmlElement[];
    const v = checkAnswer(r.value, EXPECT);
    assert.ok(v.usable, v.usable ? '' : v.reason);
    assert.equal(v.outcome.kind, 'indicator');
    assert.ok(reads <= 20 * n, `${reads} reads`);
  });
});
