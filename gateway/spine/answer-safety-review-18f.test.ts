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

describe('safety core: empty parts never refuse a good answer (review 18f F6)', () => {
  const EMPTY = [
    '<entry/>',
    '<entry><resource/></entry>',
    '<entry><fullUrl value="urn:uuid:e1"/><resource></resource></entry>',
  ];
  test('SMSP-VAL-004 an entry with no resource, or an empty resource element, beside the indicator is read past and reported', () => {
    for (const empty of EMPTY) {
      const xml = FOUND.replace('</Bundle>', `${empty}</Bundle>`);
      assert.deepEqual(outcomeOf(xml), {
        kind: 'indicator',
        assessmentDate: '2015-02-04',
        assessmentDay: '2015-02-04',
      });
      assert.deepEqual(deviationsOf(xml), ['Bundle.entry entry without a resource read past'], empty);
    }
    // Placed first, before the MessageHeader: still read past.
    const first = FOUND.replace('<entry>', '<entry/><entry>');
    assert.equal(reason(first), 'usable');
  });
  test('SMSP-FGMRI-001 beside "no record" an entry holding nothing may have held the indicator: refused', () => {
    for (const empty of EMPTY)
      assert.equal(
        reason(NONE.replace('</Bundle>', `${empty}</Bundle>`), { httpStatus: 404 }),
        'an entry does not hold exactly one resource',
        empty,
      );
  });
  test("SMSP-VAL-004 MessageHeader.data naming an empty entry's fullUrl is not carried: no record naming it is refused", () => {
    const xml = NONE.replace(
      '</destination></MessageHeader>',
      '</destination><data><reference value="urn:uuid:e1"/></data></MessageHeader>',
    ).replace('</Bundle>', '<entry><fullUrl value="urn:uuid:e1"/></entry></Bundle>');
    assert.notEqual(reason(xml, { httpStatus: 404 }), 'usable');
  });
  test('SMSP-VAL-004 a MessageHeader naming another destination beside ours is ours, reported; one naming only others is not', () => {
    const other =
      '<destination><name value="Other"/><endpoint value="urn:nhs:addressing:asid:111111111111"/></destination>';
    for (const xml of [
      FOUND.replace('</destination>', `</destination>${other}`),
      FOUND.replace('<destination>', `${other}<destination>`),
    ]) {
      assert.deepEqual(outcomeOf(xml), {
        kind: 'indicator',
        assessmentDate: '2015-02-04',
        assessmentDay: '2015-02-04',
      });
      assert.deepEqual(deviationsOf(xml), ['MessageHeader.destination destinations beside ours read past']);
    }
    const ours = /<destination>.*?<\/destination>/.exec(FOUND)![0];
    assert.equal(reason(FOUND.replace(ours, ours + ours)), 'usable', 'ours twice');
    assert.equal(reason(FOUND.replace(ours, other + other)), 'response ASIDs do not match', 'two, neither ours');
    assert.equal(reason(FOUND.replace(ours, '')), 'response ASIDs do not match', 'none');
    assert.deepEqual(
      outcomeOf(NONE.replace('</destination>', `</destination>${other}`), { httpStatus: 404 }),
      { kind: 'error', code: 'NO_RECORD_FOUND' },
      'the same for an error answer',
    );
  });
});

describe('safety core: an NHS number on an ended identifier is an old number (review 18f F8)', () => {
  const DSTU2 = 'http://fhir.nhs.net/Id/nhs-number';
  const id = (value: string, extra = '') =>
    `<identifier>${extra}<system value="${DSTU2}"/><value value="${value}"/></identifier>`;
  const ended = (end: string) => `<period><end value="${end}"/></period>`;
  /** The indicator whose Patient carries these identifiers instead of the example's one. */
  const identifiers = (xml: string, ...ids: string[]) =>
    xml.replace(
      /<identifier><system value="http:\/\/fhir\.nhs\.net\/Id\/nhs-number"\/><value value="1234567890"\/><\/identifier>/,
      ids.join(''),
    );
  const ANOTHER = 'answer carries a patient other than the one asked about';
  const OLD = 'Patient.identifier another NHS number on an old identifier of our child read as her old number';

  test("SMSP-VAL-004 another number on our child's ended identifier is her old number: the indicator is shown, reported", () => {
    // Spine's timestamp is 2015-07-04T10:10:15Z: a period ended the day before, or an instant before, has ended.
    for (const end of ['2015-07-03', '2015-07-04T10:10:14Z', '2014', '2015-06']) {
      const xml = identifiers(FOUND, id('1234567890'), id('9990000026', ended(end)));
      assert.deepEqual(
        outcomeOf(xml),
        { kind: 'indicator', assessmentDate: '2015-02-04', assessmentDay: '2015-02-04' },
        end,
      );
      assert.ok(deviationsOf(xml).includes(OLD), end);
    }
    const old = identifiers(FOUND, id('1234567890'), id('9990000026', '<use value="old"/>'));
    assert.ok(deviationsOf(old).includes(OLD), 'marked old: the same reading');
  });
  test('SMSP-VAL-004 another number on an identifier not yet ended (today, a later instant, the future) is another child: refused', () => {
    for (const end of ['2015-07-04', '2015-07-04T10:10:16Z', '2016-01-01', '2015-07', '2015'])
      assert.equal(
        reason(identifiers(FOUND, id('1234567890'), id('9990000026', ended(end)))),
        'indicator is for another patient',
        end,
      );
  });
  test('SMSP-VAL-004 our number only on an ended identifier is refused (which child holds it now Spine does not say); ours current beside it is shown', () => {
    const ONLY_ENDED = 'the NHS number asked about is on an ended identifier only';
    assert.equal(reason(identifiers(FOUND, id('1234567890', ended('2015-01-01')))), ONLY_ENDED);
    assert.equal(
      reason(identifiers(FOUND, id('1234567890', ended('2015-01-01')), id('9990000026'))),
      'indicator is for another patient',
      'another number current: another child',
    );
    assert.equal(
      reason(identifiers(FOUND, id('1234567890', ended('2015-01-01')), id('9990000026', ended('2015-02-01')))),
      ONLY_ENDED,
    );
    assert.equal(reason(identifiers(FOUND, id('1234567890', ended('2015-01-01')), id('1234567890'))), 'usable');
    assert.equal(reason(identifiers(FOUND, id('1234567890', ended('2099-01-01')))), 'usable', 'an end to come');
  });
  test('SMSP-VAL-004 an ended identifier of another number elsewhere than on our Patient is still another person', () => {
    const related = `<RelatedPerson><id value="r1"/>${id('9990000026', ended('2015-01-01'))}</RelatedPerson>`;
    assert.equal(
      reason(FOUND.replace('</Bundle>', `<entry><resource>${related}</resource></entry></Bundle>`)),
      ANOTHER,
    );
    const patient = `<Patient><id value="p2"/>${id('9990000026', ended('2015-01-01'))}</Patient>`;
    assert.equal(
      reason(FOUND.replace('</Bundle>', `<entry><resource>${patient}</resource></entry></Bundle>`)),
      ANOTHER,
      'a Patient named only by an old number of another',
    );
    assert.equal(
      reason(NONE.replace('</Bundle>', `<entry><resource>${patient}</resource></entry></Bundle>`), { httpStatus: 404 }),
      ANOTHER,
    );
    const ours = `<Patient><id value="p3"/>${id('1234567890')}${id('9990000026', ended('2015-01-01'))}</Patient>`;
    assert.equal(
      reason(NONE.replace('</Bundle>', `<entry><resource>${ours}</resource></entry></Bundle>`), { httpStatus: 404 }),
      'usable',
      "our child's Patient with her old number beside no record",
    );
  });
  test('SMSP-VAL-004 an NHS-number identifier whose period end is no real date is refused', () => {
    assert.equal(
      reason(identifiers(FOUND, id('1234567890'), id('9990000026', ended('2015-02-30')))),
      "a patient's NHS-number identifier period end is not a real date",
    );
  });
});

describe("safety core: a date-only assessment is on or before the UK date of Spine's clock, not the date its offset writes (review 18f F12)", () => {
  const AFTER = 'assessment date is after the timestamp';
  const at = (timestamp: string, start: string) =>
    withValue(withValue(FOUND, 'MessageHeader.timestamp', timestamp), 'Flag.period.start', start);

  test('SMSP-VAL-004 23:30 UTC in summer is already the next UK day (BST): that day is possible, the one after is not', () => {
    const now = new Date('2026-07-15T23:30:00Z');
    assert.equal(reason(at('2026-07-15T23:30:00+00:00', '2026-07-16'), { now }), 'usable', '00:30 BST on 16 July');
    assert.equal(reason(at('2026-07-15T23:30:00+00:00', '2026-07-17'), { now }), AFTER);
    assert.equal(reason(at('2026-07-15T23:30:00+00:00', '2026-07'), { now }), 'usable', 'the month, partial');
  });
  test('SMSP-VAL-004 23:30 UTC in winter is still the same UK day (GMT): the next day is impossible', () => {
    const now = new Date('2026-01-15T23:30:00Z');
    assert.equal(reason(at('2026-01-15T23:30:00+00:00', '2026-01-15'), { now }), 'usable');
    assert.equal(reason(at('2026-01-15T23:30:00+00:00', '2026-01-16'), { now }), AFTER);
    // Written in another zone, the same instant: the UK date decides, not the date written.
    assert.equal(reason(at('2026-01-16T01:30:00+02:00', '2026-01-16'), { now }), AFTER);
    assert.equal(reason(at('2026-01-16T01:30:00+02:00', '2026-01-15'), { now }), 'usable');
  });
  test("SMSP-VAL-004 Spine's clock ahead of the gateway's across UK midnight (within the skew allowed): a day Spine's clock has reached is not refused, the day after is", () => {
    // Spine 4 minutes ahead (within the 5 allowed): its UK date is the 16th, the gateway's still the
    // 15th. An assessment Spine dates the 16th is real (atk18 finding 3): refusing it hid an indicator.
    const winter = new Date('2026-01-15T23:58:00Z');
    assert.equal(reason(at('2026-01-16T00:02:00+00:00', '2026-01-16'), { now: winter }), 'usable');
    assert.equal(reason(at('2026-01-16T00:02:00+00:00', '2026-01-17'), { now: winter }), AFTER);
    // In summer UK midnight is 23:00 UTC.
    const summer = new Date('2026-07-15T22:58:00Z');
    assert.equal(reason(at('2026-07-15T23:02:00+00:00', '2026-07-16'), { now: summer }), 'usable');
    assert.equal(reason(at('2026-07-15T23:02:00+00:00', '2026-07-17'), { now: summer }), AFTER);
    // The gateway ahead of Spine (Spine behind, within a day): Spine's UK date bounds it.
    const later = new Date('2026-01-16T00:30:00Z');
    assert.equal(reason(at('2026-01-15T23:50:00+00:00', '2026-01-16'), { now: later }), AFTER);
  });
  test('SMSP-VAL-004 at the changes of clock: the last Sunday of March and of October', () => {
    // 29 March 2026: BST starts at 01:00 UTC. 23:30 UTC on the 28th is 23:30 GMT, still the 28th.
    assert.equal(
      reason(at('2026-03-28T23:30:00+00:00', '2026-03-29'), { now: new Date('2026-03-28T23:30:00Z') }),
      AFTER,
    );
    // 25 October 2026: BST ends at 01:00 UTC. 23:30 UTC on the 24th is 00:30 BST on the 25th.
    assert.equal(
      reason(at('2026-10-24T23:30:00+00:00', '2026-10-25'), { now: new Date('2026-10-24T23:30:00Z') }),
      'usable',
    );
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
