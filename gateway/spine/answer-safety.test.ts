/**
 * The safety core on the spec's own example answers (the oracle: test/spec's copies of them, and hand-written
 * expectations), each rewritten in one way that must, or must not, make the answer unusable.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { example, withChild, without, withValue } from '../../test/helpers/fhir-fixtures.ts';
import { parseXml } from '../fhir/xml.ts';
import { checkAnswer, type AnswerExpectation } from './answer-safety.ts';

const FOUND = example('query-response-2-0-indicator-found');
const ERROR = example('query-response-2-0-invalid-nhs-number');
/** What the examples answer: the request id, ASIDs, patient and clock they carry. */
const EXPECT: AnswerExpectation = {
  messageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58877',
  nhsNumber: '1234567890',
  smspAsid: '047192794544',
  spineAsid: '990101234567',
  httpStatus: 200,
  now: new Date('2015-07-04T10:10:15Z'),
  maxAheadMs: 300_000,
  maxBehindMs: 86_400_000,
  isKnownCode: (c) => ['SUCCESS', 'INVALID_NHS_NUMBER', 'NO_RECORD_FOUND'].includes(c),
};

const check = (xml: string, over: Partial<AnswerExpectation> = {}) => {
  const r = parseXml(xml);
  assert.ok(r.ok, 'fixture parses');
  return checkAnswer(r.value, { ...EXPECT, ...over });
};
const reason = (xml: string, over: Partial<AnswerExpectation> = {}) => {
  const v = check(xml, over);
  return v.usable ? 'usable' : v.reason;
};
const at = (iso: string) => new Date(iso);
const REPEATED = 'an element the core reads as one appears more than once';

describe('safety core: the spec example indicator', () => {
  test("SMSP-VAL-004 the example indicator is usable: its assessment date and timestamp, and Spine's message id", () => {
    assert.deepEqual(check(FOUND), {
      usable: true,
      spineMessageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58879',
      timestamp: '2015-07-04T10:10:15+00:00',
      outcome: { kind: 'indicator', assessmentDate: '2015-02-04', assessmentDay: '2015-02-04' },
      deviations: [],
    });
  });
  test('SMSP-VAL-004 meta is no business of the safety core: the example without any meta is usable', () => {
    let xml = FOUND;
    for (const p of ['Bundle.meta', 'MessageHeader.meta', 'Flag.meta', 'Patient.meta']) xml = without(xml, p);
    assert.equal(reason(xml), 'usable');
  });
  test('not a message Bundle, or not one MessageHeader', () => {
    assert.equal(reason('<Flag xmlns="http://hl7.org/fhir"/>'), 'answer has no single MessageHeader');
    assert.equal(reason(FOUND.replace(/<Bundle>/, '<Bundle xmlns="urn:other">')), 'answer has no single MessageHeader');
    const header = /<entry><resource><MessageHeader>.*?<\/entry>/.exec(FOUND)![0];
    assert.equal(reason(FOUND.replace(header, header + header)), 'answer has no single MessageHeader');
    assert.equal(
      reason(FOUND.replace(header, header.replace('<resource><MessageHeader>', '<resource><Basic/><MessageHeader>'))),
      'an entry does not hold exactly one resource',
    );
    const { spineMessageId } = check(without(FOUND, 'MessageHeader.id'));
    assert.equal(spineMessageId, null);
    // Only a FHIR Bundle's entries count, whatever the root holds.
    assert.equal(
      reason(FOUND.replace('<Bundle>', '<Basic>').replace('</Bundle>', '</Basic>')),
      'answer has no single MessageHeader',
    );
    assert.equal(
      reason(
        FOUND.replace('<Bundle>', '<o:Bundle xmlns:o="urn:other" xmlns="http://hl7.org/fhir">').replace(
          '</Bundle>',
          '</o:Bundle>',
        ),
      ),
      'answer has no single MessageHeader',
    );
  });
  test('SMSP-VAL-004 a foreign element beside the resource changes nothing; an entry with no resource beside the indicator is read past and reported (review 18f F6)', () => {
    assert.equal(reason(FOUND.replace('<resource><Flag>', '<resource><x:note xmlns:x="urn:x"/><Flag>')), 'usable');
    for (const empty of ['<entry/>', '<entry><resource/></entry>', '<entry><fullUrl value="urn:uuid:e1"/></entry>']) {
      const v = check(FOUND.replace('</Bundle>', `${empty}</Bundle>`));
      assert.ok(v.usable, empty);
      assert.deepEqual(v.outcome, { kind: 'indicator', assessmentDate: '2015-02-04', assessmentDay: '2015-02-04' });
      assert.deepEqual(v.deviations, [{ path: 'Bundle.entry', message: 'entry without a resource read past' }], empty);
    }
  });
  test('SMSP-VAL-004 an answer that is not for our request is refused', () => {
    assert.equal(
      reason(withValue(FOUND, 'MessageHeader.event.code', 'urn:nhs:names:services:clinicals-sync:FGMQuery_2_0')),
      'event is not FGMQueryResponse_2_0',
    );
    assert.equal(reason(without(FOUND, 'MessageHeader.event')), 'event is not FGMQueryResponse_2_0');
    assert.equal(
      reason(withValue(FOUND, 'MessageHeader.response.identifier', 'someone-else')),
      'response is for another request',
    );
    assert.equal(
      reason(withValue(FOUND, 'MessageHeader.source.endpoint', 'urn:nhs:addressing:asid:111111111111')),
      'response ASIDs do not match',
    );
    assert.equal(
      reason(withValue(FOUND, 'MessageHeader.destination.endpoint', 'urn:nhs:addressing:asid:111111111111')),
      'response ASIDs do not match',
    );
    assert.equal(
      reason(withValue(FOUND, 'MessageHeader.source.endpoint', '990101234567')),
      'response ASIDs do not match',
    );
    // Two values where one is allowed: never a guess, even when the first is ours.
    assert.equal(reason(withChild(FOUND, 'MessageHeader.response', ['identifier', { value: 'another' }])), REPEATED);
    assert.equal(reason(withChild(FOUND, 'Flag', ['status', { value: 'active' }])), REPEATED);
  });
  test('SMSP-VAL-004 a timestamp without seconds is read as :00 and reported; every date check still holds', () => {
    const minute = (ts: string) => withValue(FOUND, 'MessageHeader.timestamp', ts);
    const v = check(minute('2015-07-04T10:10+00:00'));
    assert.ok(v.usable, v.usable ? '' : v.reason);
    assert.equal(v.timestamp, '2015-07-04T10:10:00+00:00');
    assert.deepEqual(v.deviations, [
      { path: 'MessageHeader.timestamp', message: 'timestamp without seconds read as :00' },
    ]);
    assert.equal(check(minute('2015-07-04T11:10+01:00')).usable, true, 'the same instant in another zone');
    // :00 is what it means, so the skew is measured from there: 10:15 is 4 min 45 s ahead of 10:10:15, 10:16 too far.
    assert.equal(reason(minute('2015-07-04T10:15Z')), 'usable');
    assert.equal(
      reason(minute('2015-07-04T10:16Z')),
      'timestamp is ahead of the gateway clock by more than the allowed skew',
    );
    assert.equal(
      reason(minute('2015-07-02T10:10Z')),
      'timestamp is behind the gateway clock by more than the allowed skew',
    );
    assert.equal(reason(minute('2015-02-30T10:10Z')), 'timestamp is not a real instant');
    assert.equal(reason(minute('2015-07-04T24:10Z')), 'timestamp is not a real instant');
    assert.equal(reason(minute('2015-07-04T10:10')), 'timestamp is not a real instant', 'no zone: no instant');
    assert.equal(reason(minute('2015-07-04T10Z')), 'timestamp is not a real instant');
    // The assessment is still bounded by the timestamp read as :00.
    assert.equal(
      reason(withValue(minute('2015-07-04T10:10Z'), 'Flag.period.start', '2015-07-04T10:10:30Z'), {
        now: at('2015-07-04T10:10:00Z'),
      }),
      'assessment date is after the timestamp',
    );
  });
  test("Spine's timestamp must be a real instant within the skew of our clock (boundaries included)", () => {
    assert.equal(
      reason(withValue(FOUND, 'MessageHeader.timestamp', '2015-02-30T10:10:15+00:00')),
      'timestamp is not a real instant',
    );
    assert.equal(reason(withValue(FOUND, 'MessageHeader.timestamp', '2015-07-04')), 'timestamp is not a real instant');
    assert.equal(reason(without(FOUND, 'MessageHeader.timestamp')), 'timestamp is not a real instant');
    assert.equal(reason(FOUND, { now: at('2015-07-04T10:05:15Z') }), 'usable', 'exactly 5 minutes ahead');
    assert.equal(
      reason(FOUND, { now: at('2015-07-04T10:05:14Z') }),
      'timestamp is ahead of the gateway clock by more than the allowed skew',
    );
    assert.equal(reason(FOUND, { now: at('2015-07-05T10:10:15Z') }), 'usable', 'exactly 24 h behind');
    assert.equal(
      reason(FOUND, { now: at('2015-07-05T10:10:16Z') }),
      'timestamp is behind the gateway clock by more than the allowed skew',
    );
    assert.equal(
      reason(FOUND, { now: at('2015-07-04T10:10:20Z'), maxBehindMs: 4000 }),
      'timestamp is behind the gateway clock by more than the allowed skew',
    );
    assert.equal(
      reason(FOUND, { now: at('2015-07-04T10:10:10Z'), maxAheadMs: 4000 }),
      'timestamp is ahead of the gateway clock by more than the allowed skew',
    );
  });
  test('one Flag or OperationOutcome, never a guess between two', () => {
    const flag = /<entry><resource><Flag>.*?<\/entry>/.exec(FOUND)![0];
    assert.equal(reason(FOUND.replace(flag, '')), 'answer has no single Flag or OperationOutcome');
    assert.equal(reason(FOUND.replace(flag, flag + flag)), 'answer has no single Flag or OperationOutcome');
  });
  test('SMSP-VAL-004 status active and the FGM risk code only', () => {
    assert.equal(reason(withValue(FOUND, 'Flag.status', 'inactive')), 'indicator status is not active');
    assert.equal(reason(without(FOUND, 'Flag.status')), 'indicator status is not active');
    assert.equal(reason(withValue(FOUND, 'Flag.code.coding.code', 'CPIS')), 'indicator is not the FGM risk indicator');
    assert.equal(
      reason(withValue(FOUND, 'Flag.code.coding.system', 'http://snomed.info/sct')),
      'indicator is not the FGM risk indicator',
    );
    assert.equal(reason(without(FOUND, 'Flag.code.coding')), 'indicator is not the FGM risk indicator');
    assert.equal(reason(without(FOUND, 'Flag.code')), 'indicator is not the FGM risk indicator');
    assert.equal(
      reason(
        withChild(FOUND, 'Flag.code', [
          'coding',
          {},
          [
            ['system', { value: 'http://fhir.nhs.net/ValueSet/risk-indicator-type-1-0' }],
            ['code', { value: 'CPIS' }],
          ],
        ]),
      ),
      'indicator is not the FGM risk indicator',
    );
    assert.equal(
      reason(
        withChild(FOUND, 'Flag.code', [
          'coding',
          {},
          [
            ['system', { value: 'http://fhir.nhs.net/ValueSet/risk-indicator-type-1-0' }],
            ['code', { value: 'FGM' }],
          ],
        ]),
      ),
      'usable',
      'the FGM coding twice is still FGM',
    );
  });
  test('SMSP-VAL-004 the indicator must name the child we asked about', () => {
    assert.equal(
      reason(withValue(FOUND, 'Patient.identifier.value', '9990000026')),
      'indicator is for another patient',
    );
    assert.equal(
      reason(
        withChild(FOUND, 'Patient', [
          'identifier',
          {},
          [
            ['system', { value: 'http://fhir.nhs.net/Id/nhs-number' }],
            ['value', { value: '9990000026' }],
          ],
        ]),
      ),
      'indicator is for another patient',
    );
    assert.equal(
      reason(
        withChild(FOUND, 'Patient', [
          'identifier',
          {},
          [
            ['system', { value: 'http://fhir.nhs.net/Id/nhs-number' }],
            ['value', { value: '1234567890' }],
          ],
        ]),
      ),
      'usable',
    );
    assert.equal(
      reason(withValue(FOUND, 'Patient.identifier.system', 'http://example.org/mrn')),
      'indicator names no patient by NHS number',
    );
    assert.equal(
      reason(withValue(FOUND, 'Flag.subject.reference', '#someone-else')),
      'indicator names no patient by NHS number',
    );
    assert.equal(reason(without(FOUND, 'Flag.subject')), 'indicator names no patient by NHS number');
    const contained = /<contained>.*?<\/contained>/.exec(FOUND)![0];
    assert.equal(
      reason(FOUND.replace(contained, contained + contained)),
      'indicator names no patient by NHS number',
      'two Patients with the referenced id',
    );
  });
  test("SMSP-VAL-004 a real assessment date, not after Spine's timestamp", () => {
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2015-02-30')), 'assessment date is not a real date');
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2015-13')), 'assessment date is not a real date');
    assert.equal(reason(without(FOUND, 'Flag.period.start')), 'assessment date is not a real date');
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2015-07-04')), 'usable', 'the same day');
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2015-07-05')), 'assessment date is after the timestamp');
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '2015-07-04T10:10:15+00:00')),
      'usable',
      'the same instant',
    );
    // Two instants compare as instants: a second after Spine's timestamp is after it, whatever the day.
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '2015-07-04T10:10:16+00:00')),
      'assessment date is after the timestamp',
    );
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '2015-07-04T23:30:00+00:00')),
      'assessment date is after the timestamp',
      '00:30 BST on 5 July',
    );
    // 23:30 UTC is 00:30 the next day in British Summer Time: that UK date is not after Spine's time.
    const late = withValue(FOUND, 'MessageHeader.timestamp', '2015-07-04T23:30:00+00:00');
    assert.equal(
      reason(withValue(late, 'Flag.period.start', '2015-07-05'), { now: at('2015-07-04T23:30:00Z') }),
      'usable',
    );
    assert.equal(
      reason(withValue(late, 'Flag.period.start', '2015-07-06'), { now: at('2015-07-04T23:30:00Z') }),
      'assessment date is after the timestamp',
    );
    // Written with an offset ahead of the UK: the UK date of that instant (23:30 BST on 4 July) bounds it, not the date written (review 18f F12).
    const ahead = withValue(FOUND, 'MessageHeader.timestamp', '2015-07-05T00:30:00+02:00');
    assert.equal(
      reason(withValue(ahead, 'Flag.period.start', '2015-07-05'), { now: at('2015-07-04T22:30:00Z') }),
      'assessment date is after the timestamp',
    );
    assert.equal(
      reason(withValue(ahead, 'Flag.period.start', '2015-07-04'), { now: at('2015-07-04T22:30:00Z') }),
      'usable',
    );
  });
  test('an indicator needs HTTP 200 (or 201) and response code ok', () => {
    assert.equal(reason(FOUND, { httpStatus: 500 }), 'indicator with an error status');
    assert.equal(reason(FOUND, { httpStatus: 202 }), 'indicator with an error status');
    assert.equal(reason(FOUND, { httpStatus: 206 }), 'indicator with an error status');
    assert.equal(
      reason(withValue(FOUND, 'MessageHeader.response.code', 'fatal-error')),
      'indicator with an error status',
    );
  });
});

describe('safety core: the spec example error', () => {
  test('SMSP-ERR-004 the example error is usable with its vocabulary code', () => {
    assert.deepEqual(check(ERROR, { httpStatus: 400 }), {
      usable: true,
      spineMessageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58879',
      timestamp: '2015-07-04T10:10:15+00:00',
      outcome: { kind: 'error', code: 'INVALID_NHS_NUMBER' },
      deviations: [],
    });
  });
  test('an error code outside the vocabulary, or SUCCESS, is refused', () => {
    assert.equal(
      reason(withValue(ERROR, 'OperationOutcome.issue.details.coding.code', 'MADE_UP'), { httpStatus: 400 }),
      'unknown outcome code',
    );
    assert.equal(
      reason(withValue(ERROR, 'OperationOutcome.issue.details.coding.code', 'SUCCESS'), { httpStatus: 400 }),
      'unknown outcome code',
    );
    assert.equal(
      reason(without(ERROR, 'OperationOutcome.issue.details.coding.code'), { httpStatus: 400 }),
      'unknown outcome code',
    );
    assert.equal(reason(without(ERROR, 'OperationOutcome.issue'), { httpStatus: 400 }), 'unknown outcome code');
  });
  test("SMSP-ERR-004 an error answer needs its own HTTP status from the spec's table (INVALID_NHS_NUMBER: 400)", () => {
    assert.equal(reason(ERROR, { httpStatus: 200 }), 'error outcome with a success status');
    assert.equal(reason(ERROR, { httpStatus: 399 }), 'error outcome with a success status');
    assert.equal(reason(ERROR, { httpStatus: 400 }), 'usable');
    for (const httpStatus of [404, 422, 500, 502, 503])
      assert.equal(reason(ERROR, { httpStatus }), 'error outcome under an HTTP status not its own', String(httpStatus));
  });
  test('the error answer is checked for our request and clock too', () => {
    assert.equal(
      reason(withValue(ERROR, 'MessageHeader.response.identifier', 'x'), { httpStatus: 400 }),
      'response is for another request',
    );
    assert.equal(
      reason(ERROR, { httpStatus: 400, now: at('2015-07-06T00:00:00Z') }),
      'timestamp is behind the gateway clock by more than the allowed skew',
    );
  });
});

/** The usable verdict's deviations, as `path message` lines. */
const devs = (xml: string, over: Partial<AnswerExpectation> = {}) => {
  const v = check(xml, over);
  assert.ok(v.usable, v.usable ? '' : v.reason);
  return v.deviations.map((d) => `${d.path} ${d.message}`);
};
const NEW_NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const RISK = 'http://fhir.nhs.net/ValueSet/risk-indicator-type-1-0';

describe('safety core: harmless forms of a safe answer are read, and reported', () => {
  test('SMSP-VAL-004 an NHS number written with hyphens (123-456-7890) is ours, reported; other digits so written are another patient (issue 18 review F9)', () => {
    assert.deepEqual(devs(withValue(FOUND, 'Patient.identifier.value', '123-456-7890')), [
      'Patient.identifier.value hyphens removed from the NHS number',
    ]);
    assert.deepEqual(devs(withValue(FOUND, 'Patient.identifier.value', '123 456-7890')), [
      'Patient.identifier.value whitespace removed from the NHS number',
      'Patient.identifier.value hyphens removed from the NHS number',
    ]);
    assert.equal(
      reason(withValue(FOUND, 'Patient.identifier.value', '999-000-0026')),
      'indicator is for another patient',
    );
  });
  test('SMSP-VAL-004 whitespace: an NHS number written with spaces is ours, and ids, codes and status are read trimmed (H2)', () => {
    assert.deepEqual(devs(withValue(FOUND, 'Patient.identifier.value', ' 123 456 7890 ')), [
      'Patient.identifier.value whitespace removed from the NHS number',
    ]);
    assert.deepEqual(devs(withValue(FOUND, 'Patient.identifier.value', '123\t456\n7890')), [
      'Patient.identifier.value whitespace removed from the NHS number',
    ]);
    let xml = withValue(FOUND, 'MessageHeader.response.identifier', ' 14daadee-26e1-4d6a-9e6a-7f4af9b58877 ');
    xml = withValue(xml, 'Flag.status', ' active ');
    xml = withValue(xml, 'Flag.code.coding.code', 'FGM ');
    xml = withValue(xml, 'MessageHeader.source.endpoint', ' urn:nhs:addressing:asid:990101234567');
    xml = withValue(xml, 'MessageHeader.event.code', 'urn:nhs:names:services:clinicals-sync:FGMQueryResponse_2_0 ');
    assert.deepEqual(devs(xml).sort(), [
      'Flag.code.coding.code whitespace around the value removed',
      'Flag.status whitespace around the value removed',
      'MessageHeader.event.code whitespace around the value removed',
      'MessageHeader.response.identifier whitespace around the value removed',
      'MessageHeader.source.endpoint whitespace around the value removed',
    ]);
    assert.equal(
      reason(withValue(FOUND, 'Patient.identifier.value', '123 456 7891')),
      'indicator is for another patient',
      'spaces never hide another number',
    );
  });
  test('SMSP-VAL-004 L1 our message id in upper case is still our request; a leap second is a real instant', () => {
    assert.equal(
      reason(withValue(FOUND, 'MessageHeader.response.identifier', '14DAADEE-26E1-4D6A-9E6A-7F4AF9B58877')),
      'usable',
    );
    const leap = withValue(FOUND, 'MessageHeader.timestamp', '2015-06-30T23:59:60+00:00');
    assert.equal(reason(leap, { now: at('2015-07-01T00:00:00Z') }), 'usable');
  });
  test('SMSP-VAL-004 a second coding beside FGM (SNOMED) is read past and reported; a conflicting risk code is not FGM (H3)', () => {
    const snomed = withChild(FOUND, 'Flag.code', [
      'coding',
      {},
      [
        ['system', { value: 'http://snomed.info/sct' }],
        ['code', { value: '95041000119101' }],
      ],
    ]);
    assert.deepEqual(devs(snomed), ['Flag.code.coding codings of other systems beside the FGM risk indicator ignored']);
    const conflict = withChild(FOUND, 'Flag.code', [
      'coding',
      {},
      [
        ['system', { value: RISK }],
        ['code', { value: 'CPIS' }],
      ],
    ]);
    assert.equal(reason(conflict), 'indicator is not the FGM risk indicator');
    assert.equal(
      reason(withValue(FOUND, 'Flag.code.coding.system', 'http://snomed.info/sct')),
      'indicator is not the FGM risk indicator',
      'FGM under another system is not the risk indicator',
    );
  });
  test('SMSP-VAL-004 H5 NHS numbers under either system: ours only under https://fhir.nhs.uk/Id/nhs-number is ours (reported), another there is another patient', () => {
    assert.deepEqual(devs(withValue(FOUND, 'Patient.identifier.system', NEW_NHS)), [
      'Patient.identifier.system NHS number only under https://fhir.nhs.uk/Id/nhs-number',
    ]);
    assert.equal(
      reason(
        withChild(FOUND, 'Patient', [
          'identifier',
          {},
          [
            ['system', { value: NEW_NHS }],
            ['value', { value: '9990000026' }],
          ],
        ]),
      ),
      'indicator is for another patient',
    );
    assert.deepEqual(
      devs(
        withChild(FOUND, 'Patient', [
          'identifier',
          {},
          [
            ['system', { value: NEW_NHS }],
            ['value', { value: '1234567890' }],
          ],
        ]),
      ),
      [],
    );
  });
  test('SMSP-VAL-004 M4 a partial assessment date (YYYY-MM, YYYY) is a valid DSTU2 dateTime: shown as written, and reported', () => {
    const month = check(withValue(FOUND, 'Flag.period.start', '2015-02'));
    assert.ok(month.usable && month.outcome.kind === 'indicator');
    assert.deepEqual(
      [month.outcome.assessmentDate, month.outcome.assessmentDay, month.deviations],
      ['2015-02', '2015-02', [{ path: 'Flag.period.start', message: 'assessment date is a partial date' }]],
    );
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2015')), 'usable');
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2015-07')), 'usable', 'the month of the timestamp');
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2015-08')), 'assessment date is after the timestamp');
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2016')), 'assessment date is after the timestamp');
  });
  test("SMSP-VAL-004 M1 a dateTime assessment carries its UK calendar date for the element; Spine's text is kept for FHIR clients", () => {
    const v = check(withValue(FOUND, 'Flag.period.start', '2015-02-04T23:30:00+00:00'));
    assert.ok(v.usable && v.outcome.kind === 'indicator');
    assert.deepEqual(
      [v.outcome.assessmentDate, v.outcome.assessmentDay],
      ['2015-02-04T23:30:00+00:00', '2015-02-04'],
      'GMT in February',
    );
    const bst = check(withValue(FOUND, 'Flag.period.start', '2015-06-04T23:30:00+00:00'));
    assert.ok(bst.usable && bst.outcome.kind === 'indicator');
    assert.equal(bst.outcome.assessmentDay, '2015-06-05', '00:30 BST is the next UK day');
  });
});

describe('safety core: more unsafe answers', () => {
  test('SMSP-VAL-004 H4 a modifierExtension or implicitRules on the Flag, the contained Patient or their children is refused (FHIR forbids ignoring modifiers)', () => {
    const modifier: ['modifierExtension', Record<string, string>, [['valueBoolean', { value: string }]]] = [
      'modifierExtension',
      { url: 'https://example.org/not-current' },
      [['valueBoolean', { value: 'true' }]],
    ];
    for (const path of ['Flag', 'Patient', 'Flag.period', 'Patient.identifier', 'Flag.code.coding']) {
      assert.equal(
        reason(withChild(FOUND, path, modifier)),
        'indicator carries a modifier extension or implicit rules',
        path,
      );
    }
    assert.equal(
      reason(withChild(FOUND, 'Flag', ['implicitRules', { value: 'https://example.org/rules' }])),
      'indicator carries a modifier extension or implicit rules',
    );
    assert.equal(
      reason(withChild(FOUND, 'Patient', ['implicitRules', { value: 'https://example.org/rules' }])),
      'indicator carries a modifier extension or implicit rules',
    );
    assert.equal(
      reason(
        withChild(FOUND, 'Flag', ['extension', { url: 'https://example.org/note' }, [['valueString', { value: 'x' }]]]),
      ),
      'usable',
      'a plain extension may be ignored',
    );
  });
  test('SMSP-VAL-004 M2 an assessment before 2000 when the birth date is unknown is implausible', () => {
    assert.equal(reason(FOUND, { birthDate: '2015-02-04' }), 'usable', 'the day of birth');
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '2015'), { birthDate: '2015-02-04' }),
      'usable',
      'a partial date of the birth year',
    );
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '1999-12-31')), 'assessment date is implausibly early');
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2000-01-01')), 'usable');
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '1999')), 'assessment date is implausibly early');
  });
  test("SMSP-VAL-004 M3 a period that ended at or before Spine's timestamp is not a current risk; a future end is fine", () => {
    const ending = (end: string) => withChild(FOUND, 'Flag.period', ['end', { value: end }]);
    assert.equal(reason(ending('2015-07-04T10:10:15+00:00')), 'indicator period has ended', 'at the timestamp');
    assert.equal(reason(ending('2015-07-03')), 'indicator period has ended');
    assert.equal(reason(ending('2015-06')), 'indicator period has ended');
    assert.equal(reason(ending('2015-07-04T10:10:16+00:00')), 'usable');
    assert.equal(reason(ending('2015-07-04')), 'usable', 'an end date runs to the end of that day');
    assert.equal(reason(ending('2016')), 'usable');
    assert.equal(reason(ending('2015-02-30')), 'period end is not a real date');
  });
});

/**
 * Cases the mutation run of 2 December 2026 showed untested. Oracles hand-written: a leap second
 * is read as the second before it (FHIR's instant allows `:60`), the skew boundary is 24 h exactly,
 * and each deviation is reported once per profile path and phrase.
 */
describe('safety core: what the mutation run found untested', () => {
  test('SMSP-VAL-004 a leap second reads as the second before, in every zone form and with a fraction: the skew boundary is exact', () => {
    // Each reads as 2015-06-30T23:59:59(.25)Z: usable exactly 24 h later, refused a second after.
    for (const ts of [
      '2015-06-30T23:59:60Z',
      '2015-06-30T23:59:60+00:00',
      '2015-07-01T00:59:60+01:00',
      '2015-06-30T18:59:60-05:00',
      '2015-06-30T23:59:60.25Z',
    ]) {
      const xml = withValue(withValue(FOUND, 'MessageHeader.timestamp', ts), 'Flag.period.start', '2015-06-30');
      assert.equal(reason(xml, { now: at('2015-07-01T23:59:59Z') }), 'usable', `${ts} 24 h behind`);
      assert.equal(
        reason(xml, { now: at('2015-07-02T00:00:00.26Z') }),
        'timestamp is behind the gateway clock by more than the allowed skew',
        `${ts} 24 h and a second behind`,
      );
      assert.equal(
        reason(xml, { now: at('2015-06-30T23:54:58Z'), maxAheadMs: 300_000 }),
        'timestamp is ahead of the gateway clock by more than the allowed skew',
        `${ts} 5 min and a second ahead`,
      );
    }
  });
  test('SMSP-VAL-004 a :60 second anywhere but 23:59 UTC (after the zone) is no real instant: refused as a timestamp or an assessment', () => {
    for (const ts of [
      '2015-06-30T10:00:60Z',
      '2015-06-30T23:59:60+01:00',
      '2015-07-01T00:59:60Z',
      '2015-06-30T23:58:60Z',
    ])
      assert.equal(
        reason(withValue(FOUND, 'MessageHeader.timestamp', ts), { now: at('2015-07-01T00:00:00Z') }),
        'timestamp is not a real instant',
        ts,
      );
    assert.notEqual(reason(withValue(FOUND, 'Flag.period.start', '2015-06-30T10:00:60Z')), 'usable');
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2015-06-30T18:59:60-05:00')), 'usable');
  });
  test('SMSP-VAL-004 an assessment dateTime on a leap second is that UK day (00:59:60 BST on 1 July 2015)', () => {
    const v = check(withValue(FOUND, 'Flag.period.start', '2015-06-30T23:59:60Z'));
    assert.ok(v.usable && v.outcome.kind === 'indicator', v.usable ? '' : v.reason);
    assert.deepEqual([v.outcome.assessmentDate, v.outcome.assessmentDay], ['2015-06-30T23:59:60Z', '2015-07-01']);
  });
  test('SMSP-VAL-004 H2 one of two NHS-number identifiers written with spaces is reported; an identifier without a value is not our patient', () => {
    const two = withChild(withValue(FOUND, 'Patient.identifier.value', '123 456 7890'), 'Patient', [
      'identifier',
      {},
      [
        ['system', { value: 'http://fhir.nhs.net/Id/nhs-number' }],
        ['value', { value: '1234567890' }],
      ],
    ]);
    assert.deepEqual(devs(two), ['Patient.identifier.value whitespace removed from the NHS number']);
    assert.equal(reason(without(FOUND, 'Patient.identifier.value')), 'indicator is for another patient');
  });
  test("SMSP-VAL-004 H4 only FHIR's modifierExtension is a modifier: an element of another namespace with that name is ignored, as foreign elements are", () => {
    assert.equal(
      reason(
        FOUND.replace('<status value="active"/>', '<x:modifierExtension xmlns:x="urn:x"/><status value="active"/>'),
      ),
      'usable',
    );
  });
  test("SMSP-VAL-004 H4 FHIR's modifierExtension or implicitRules inside a foreign wrapper is still a modifier: the indicator is refused", () => {
    for (const modifier of [
      '<implicitRules xmlns="http://hl7.org/fhir" value="r"/>',
      '<modifierExtension xmlns="http://hl7.org/fhir" url="https://example.org/entered-in-error"><valueBoolean value="true"/></modifierExtension>',
    ])
      assert.equal(
        reason(
          FOUND.replace(
            '<status value="active"/>',
            `<x:note xmlns:x="urn:x">${modifier}</x:note><status value="active"/>`,
          ),
        ),
        'indicator carries a modifier extension or implicit rules',
        modifier,
      );
  });
  test('SMSP-VAL-004 each deviation is reported once per path and phrase, and two phrases on one path are both reported', () => {
    const twice = withChild(withValue(FOUND, 'Flag.code.coding.code', ' FGM '), 'Flag.code', [
      'coding',
      {},
      [
        ['system', { value: RISK }],
        ['code', { value: 'FGM ' }],
      ],
    ]);
    assert.deepEqual(devs(twice), ['Flag.code.coding.code whitespace around the value removed']);
    assert.deepEqual(devs(withValue(FOUND, 'Flag.period.start', ' 2015-02 ')).sort(), [
      'Flag.period.start assessment date is a partial date',
      'Flag.period.start whitespace around the value removed',
    ]);
  });
  test("SMSP-VAL-004 M3 an end month that is the month of Spine's timestamp has not ended", () => {
    assert.equal(reason(withChild(FOUND, 'Flag.period', ['end', { value: '2015-07' }])), 'usable');
    assert.equal(reason(withChild(FOUND, 'Flag.period', ['end', { value: '2015' }])), 'usable', 'nor has its year');
  });
});

describe('safety core: whitespace is reported under the path it was on', () => {
  test('SMSP-VAL-004 H2 every value read trimmed names its own profile path', () => {
    let xml = FOUND;
    // The example's own values, each padded with spaces.
    const values: Record<string, string> = {
      'Flag.code.coding.system': RISK,
      'Flag.subject.reference': '#20daadee-26e1-4d6a-9e6a-7f4af9b58877',
      'Patient.id': '20daadee-26e1-4d6a-9e6a-7f4af9b58877',
      'Patient.identifier.system': 'http://fhir.nhs.net/Id/nhs-number',
      'MessageHeader.id': '14daadee-26e1-4d6a-9e6a-7f4af9b58879',
      'MessageHeader.destination.endpoint': 'urn:nhs:addressing:asid:047192794544',
      'MessageHeader.timestamp': '2015-07-04T10:10:15+00:00',
      'MessageHeader.response.code': 'ok',
    };
    const paths = Object.keys(values);
    for (const p of paths) xml = withValue(xml, p, ` ${values[p]} `);
    xml = withChild(xml, 'Flag.period', ['end', { value: ' 2016 ' }]);
    assert.deepEqual(
      devs(xml).sort(),
      [...paths, 'Flag.period.end'].map((p) => `${p} whitespace around the value removed`).sort(),
    );
    assert.deepEqual(
      devs(withValue(ERROR, 'OperationOutcome.issue.details.coding.code', ' INVALID_NHS_NUMBER '), { httpStatus: 400 }),
      ['OperationOutcome.issue.details.coding.code whitespace around the value removed'],
    );
  });
  test('SMSP-VAL-004 a partial date is a whole value: five digits, or digits after other text, are no year', () => {
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '12015')), 'assessment date is not a real date');
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', 'x2015-02')), 'assessment date is not a real date');
  });
});

/**
 * The hostile review of issue 18 (C2): answers whose meaning is unambiguous and safe are used and
 * reported; an answer that may be about another patient or that we cannot fully read is refused.
 * Oracles: the spec examples, rewritten by hand, and hand-written expected verdicts.
 */
describe('safety core: safe-lenient after the hostile review', () => {
  const OO_INFO =
    '<entry><resource><OperationOutcome><id value="oo1"/><issue><severity value="information"/><code value="informational"/><diagnostics value="note"/></issue></OperationOutcome></resource></entry>';
  test('SMSP-VAL-004 an assessment before the birth date the client gave is shown and reported; before 2000 is refused whatever the birth date', () => {
    assert.deepEqual(devs(FOUND, { birthDate: '2015-02-05' }), [
      'Flag.period.start assessment date before the birth date the client gave',
    ]);
    assert.deepEqual(devs(FOUND, { birthDate: '2015-02-04' }), [], 'the day of birth');
    // 2000 rests on nothing the client says (FGM-IS began in 2014): it holds whatever birth date is given.
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '1999-12-31'), { birthDate: '2015-02-05' }),
      'assessment date is implausibly early',
    );
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '1999-12-31'), { birthDate: '1990-01-01' }),
      'assessment date is implausibly early',
    );
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '1899-12-31'), { birthDate: '2015-02-05' }),
      'assessment date is implausibly early',
    );
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '1899'), { birthDate: '1890-01-01' }),
      'assessment date is implausibly early',
    );
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '2015-02-30'), { birthDate: '2015-02-05' }),
      'assessment date is not a real date',
    );
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '2015-07-05'), { birthDate: '2015-02-05' }),
      'assessment date is after the timestamp',
    );
  });
  test('SMSP-VAL-004 one Flag beside OperationOutcomes of information or warning only is an indicator (reported); beside an error it is ambiguous', () => {
    const info = FOUND.replace('</Bundle>', `${OO_INFO}</Bundle>`);
    assert.deepEqual(devs(info), ['OperationOutcome informational OperationOutcome beside the indicator ignored']);
    const warning = FOUND.replace('</Bundle>', `${OO_INFO}${OO_INFO.replace('information', 'warning')}</Bundle>`);
    assert.deepEqual(devs(warning), ['OperationOutcome informational OperationOutcome beside the indicator ignored']);
    assert.equal(
      reason(FOUND.replace('</Bundle>', `${OO_INFO.replace('information', 'error')}</Bundle>`)),
      'answer has no single Flag or OperationOutcome',
    );
    assert.equal(
      reason(
        FOUND.replace(
          '</Bundle>',
          `${OO_INFO.replace('</issue>', '</issue><issue><severity value="fatal"/><code value="exception"/></issue>')}</Bundle>`,
        ),
      ),
      'answer has no single Flag or OperationOutcome',
      'one error issue among notes',
    );
    assert.equal(
      reason(
        FOUND.replace(
          '</Bundle>',
          '<entry><resource><OperationOutcome><id value="oo1"/></OperationOutcome></resource></entry></Bundle>',
        ),
      ),
      'answer has no single Flag or OperationOutcome',
      'an outcome with no issue says nothing safe',
    );
  });
  const SPINE_CODES = 'http://fhir.nhs.net/ValueSet/spine-response-code-2-0';
  test("SMSP-ERR-004 Spine's code is the coding in its error-code system: beside other codings, in a later issue, written in another case of the system", () => {
    const extra = withChild(ERROR, 'OperationOutcome.issue.details', [
      'coding',
      {},
      [
        ['system', { value: 'http://example.org/x' }],
        ['code', { value: 'X' }],
      ],
    ]);
    assert.deepEqual(check(extra, { httpStatus: 400 }), {
      usable: true,
      spineMessageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58879',
      timestamp: '2015-07-04T10:10:15+00:00',
      outcome: { kind: 'error', code: 'INVALID_NHS_NUMBER' },
      deviations: [],
    });
    const before = ERROR.replace(
      '<issue>',
      '<issue><severity value="information"/><code value="informational"/><details><coding><system value="http://example.org/x"/><code value="X"/></coding></details></issue><issue>',
    );
    const later = check(before, { httpStatus: 400 });
    assert.ok(
      later.usable && later.outcome.kind === 'error' && later.outcome.code === 'INVALID_NHS_NUMBER',
      later.usable ? '' : later.reason,
    );
    const upper = withValue(
      ERROR,
      'OperationOutcome.issue.details.coding.system',
      'HTTP://FHIR.NHS.NET/ValueSet/spine-response-code-2-0/',
    );
    assert.equal(reason(upper, { httpStatus: 400 }), 'usable');
    assert.equal(
      reason(withValue(ERROR, 'OperationOutcome.issue.details.coding.system', 'http://example.org/other'), {
        httpStatus: 400,
      }),
      'unknown outcome code',
      "a code under a foreign system is not Spine's",
    );
  });
  test('SMSP-ERR-004 two different Spine codes are never a guess; the same code twice is that code', () => {
    const two = withChild(ERROR, 'OperationOutcome.issue.details', [
      'coding',
      {},
      [
        ['system', { value: SPINE_CODES }],
        ['code', { value: 'NO_RECORD_FOUND' }],
      ],
    ]);
    assert.equal(reason(two, { httpStatus: 400 }), 'outcome carries several Spine codes');
    const same = withChild(ERROR, 'OperationOutcome.issue.details', [
      'coding',
      {},
      [
        ['system', { value: SPINE_CODES }],
        ['code', { value: 'INVALID_NHS_NUMBER' }],
      ],
    ]);
    assert.equal(reason(same, { httpStatus: 400 }), 'usable');
  });
  test('SMSP-ERR-004 NO_RECORD_FOUND under HTTP 200 means no indicator (reported); another error code under 200 stays refused', () => {
    const nrf = withValue(ERROR, 'OperationOutcome.issue.details.coding.code', 'NO_RECORD_FOUND');
    const v = check(nrf, { httpStatus: 200 });
    assert.ok(v.usable && v.outcome.kind === 'error', v.usable ? '' : v.reason);
    assert.deepEqual(
      [v.outcome, v.deviations],
      [
        { kind: 'error', code: 'NO_RECORD_FOUND' },
        [{ path: 'OperationOutcome.issue.details.coding.code', message: 'NO_RECORD_FOUND with a success HTTP status' }],
      ],
    );
    assert.deepEqual(devs(nrf, { httpStatus: 404 }), []);
    assert.equal(reason(ERROR, { httpStatus: 200 }), 'error outcome with a success status');
  });
  test("SMSP-VAL-004 an assessment instant after Spine's timestamp instant is refused; a date is compared by day", () => {
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '2015-07-04T10:10:16Z')),
      'assessment date is after the timestamp',
    );
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '2015-07-04T11:10:16+01:00')),
      'assessment date is after the timestamp',
      'the same instant a second later, written in BST',
    );
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '2015-07-04T11:10:15+01:00')),
      'usable',
      'the same instant written in BST',
    );
    assert.equal(
      reason(withValue(FOUND, 'Flag.period.start', '2015-07-04T10:11Z')),
      'assessment date is after the timestamp',
      'minutes only',
    );
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2015-07-04T10:10Z')), 'usable');
    assert.equal(reason(withValue(FOUND, 'Flag.period.start', '2015-07-04')), 'usable', 'a date is the whole day');
  });
  test("SMSP-VAL-004 RFC 3986: an NHS-number system in capitals or with a trailing slash is the same system, so another child's number there is refused", () => {
    const other = [
      'identifier',
      {},
      [
        ['system', { value: 'HTTP://FHIR.NHS.NET/Id/nhs-number/' }],
        ['value', { value: '9990000026' }],
      ],
    ] as const;
    assert.equal(reason(withChild(FOUND, 'Patient', other as never)), 'indicator is for another patient');
    assert.equal(
      reason(
        withChild(FOUND, 'Patient', [
          'identifier',
          {},
          [
            ['system', { value: 'HTTPS://FHIR.NHS.UK/Id/nhs-number/' }],
            ['value', { value: '9990000026' }],
          ],
        ]),
      ),
      'indicator is for another patient',
    );
    assert.deepEqual(devs(withValue(FOUND, 'Patient.identifier.system', 'HTTP://FHIR.NHS.NET/Id/nhs-number/')), [
      'Patient.identifier.system NHS-number system written in another case or with a trailing slash',
    ]);
    assert.equal(
      reason(withValue(FOUND, 'Patient.identifier.system', 'http://fhir.nhs.net/id/NHS-NUMBER')),
      'indicator names no patient by NHS number',
      'the path is case-sensitive',
    );
  });
  test('SMSP-VAL-004 the ASID system in capitals is the same system (reported); another ASID is still refused', () => {
    const upper = withValue(
      withValue(FOUND, 'MessageHeader.source.endpoint', 'URN:NHS:ADDRESSING:ASID:990101234567'),
      'MessageHeader.destination.endpoint',
      'URN:NHS:ADDRESSING:ASID:047192794544',
    );
    assert.deepEqual(devs(upper), ['MessageHeader.source.endpoint ASID system written in another case']);
    assert.equal(
      reason(withValue(FOUND, 'MessageHeader.source.endpoint', 'URN:NHS:ADDRESSING:ASID:111111111111')),
      'response ASIDs do not match',
    );
  });
  test('SMSP-VAL-004 a modifier on MessageHeader, the Bundle or an entry is refused (we cannot know what it changes)', () => {
    const modifier = [
      'modifierExtension',
      { url: 'https://example.org/not-current' },
      [['valueBoolean', { value: 'true' }]],
    ] as never;
    assert.equal(
      reason(withChild(FOUND, 'MessageHeader', modifier)),
      'message carries a modifier extension or implicit rules',
    );
    assert.equal(
      reason(withChild(FOUND, 'MessageHeader.response', modifier)),
      'message carries a modifier extension or implicit rules',
    );
    assert.equal(
      reason(withChild(FOUND, 'MessageHeader', ['implicitRules', { value: 'https://example.org/rules' }])),
      'message carries a modifier extension or implicit rules',
    );
    assert.equal(
      reason(
        FOUND.replace(
          '<type value="message"/>',
          '<implicitRules value="https://example.org/rules"/><type value="message"/>',
        ),
      ),
      'message carries a modifier extension or implicit rules',
    );
    assert.equal(
      reason(
        FOUND.replace(
          '<entry><resource><Flag>',
          '<entry><modifierExtension url="https://example.org/x"><valueBoolean value="true"/></modifierExtension><resource><Flag>',
        ),
      ),
      'message carries a modifier extension or implicit rules',
    );
    assert.equal(
      reason(
        withValue(ERROR, 'MessageHeader.response.code', 'fatal-error').replace(
          '<type value="message"/>',
          '<implicitRules value="https://example.org/rules"/><type value="message"/>',
        ),
        { httpStatus: 400 },
      ),
      'message carries a modifier extension or implicit rules',
    );
  });
  test('SMSP-VAL-004 MessageHeader.data naming another Flag id is reported, not refused; naming the Flag found is silent', () => {
    assert.deepEqual(devs(withValue(FOUND, 'MessageHeader.data.reference', 'Flag/another-id')), [
      'MessageHeader.data names another resource than the Flag found',
    ]);
    assert.deepEqual(
      devs(withValue(FOUND, 'MessageHeader.data.reference', 'urn:uuid:8cb73a48-090d-469a-a2b2-04f1e6b11ea2')),
      [],
    );
    assert.deepEqual(devs(without(FOUND, 'MessageHeader.data')), []);
  });
});

describe('safety core: what the mutation run of 2 December found untested', () => {
  const ok = (xml: string) => {
    const v = check(xml);
    assert.ok(v.usable, v.usable ? '' : v.reason);
    return v.deviations.map((d) => `${d.path} ${d.message}`);
  };
  test('SMSP-VAL-004 a partial assessment date of the earliest plausible year is read, not refused as early', () => {
    assert.deepEqual(ok(FOUND.replace('<start value="2015-02-04"/>', '<start value="2000"/>')), [
      'Flag.period.start assessment date is a partial date',
    ]);
  });
  test('the MessageHeader parts the core reads, absent: refused, never a throw', () => {
    assert.equal(reason(without(FOUND, 'MessageHeader.response.identifier')), 'response is for another request');
    assert.equal(reason(without(FOUND, 'MessageHeader.source.endpoint')), 'response ASIDs do not match');
    assert.equal(reason(without(FOUND, 'MessageHeader.destination.endpoint')), 'response ASIDs do not match');
  });
  test('SMSP-VAL-004 either ASID system in capitals is read, and reported', () => {
    for (const asid of ['990101234567', '047192794544'])
      assert.deepEqual(ok(FOUND.replace(`urn:nhs:addressing:asid:${asid}`, `URN:NHS:ADDRESSING:ASID:${asid}`)), [
        'MessageHeader.source.endpoint ASID system written in another case',
      ]);
  });
  test('a modifierExtension on the Bundle itself is refused', () => {
    assert.equal(
      reason(FOUND.replace('<type value="message"/>', '<type value="message"/><modifierExtension url="urn:x"/>')),
      'message carries a modifier extension or implicit rules',
    );
  });
  test('SMSP-VAL-004 MessageHeader.data naming the Flag in each form is no deviation; naming another, or nothing, is', () => {
    const id = '8cb73a48-090d-469a-a2b2-04f1e6b11ea2';
    const data = (...refs: string[]) =>
      FOUND.replace(
        `<data><reference value="Flag/${id}"/></data>`,
        refs.map((r) => (r ? `<data><reference value="${r}"/></data>` : '<data/>')).join(''),
      );
    for (const r of [
      id,
      `#${id}`,
      `urn:uuid:${id.toUpperCase()}`,
      `Flag/${id}`,
      `https://spine.example/fhir/Flag/${id}`,
    ])
      assert.deepEqual(ok(data(r)), [], r);
    assert.deepEqual(ok(data('Basic/b1', `Flag/${id}`)), []);
    assert.deepEqual(ok(data('', `Flag/${id}`)), []);
    const other = ['MessageHeader.data names another resource than the Flag found'];
    for (const r of ['Basic/b1', `Flag/${id}x`, `#x${id}`, `x/Flag/${id}/y`]) assert.deepEqual(ok(data(r)), other, r);
    assert.deepEqual(ok(without(data(`Flag/${id}`), 'Flag.id')), other);
  });
  const params = (...parameters: string[]) =>
    FOUND.replace(
      '</Bundle>',
      `<entry><resource><Parameters><id value="p"/>${parameters.map((p) => `<parameter>${p}</parameter>`).join('')}</Parameters></resource></entry></Bundle>`,
    );
  test('SMSP-VAL-004 a Parameters echo: names read trimmed, a parameter without a name is no echo', () => {
    const ignored = ['Parameters Parameters entry beside the answer ignored'];
    // No echo; its value, another child's number beside the indicator, is only reported.
    assert.deepEqual(ok(params('<valueString value="9990000018"/>')), [
      ...ignored,
      'Parameters.parameter.valueString text names another NHS number beside the indicator',
    ]);
    assert.deepEqual(ok(params('<name value="RiskIndicator"/><valueString value=" FGM "/>')), ignored);
    assert.equal(
      reason(params('<name value=" NHSNumber "/><valueString value="9990000018"/>')),
      'answer carries a patient other than the one asked about',
    );
    assert.equal(
      reason(params('<name value=" RiskIndicator "/><valueString value="CPIS"/>')),
      'answer echoes a risk indicator other than FGM',
    );
  });
  test("SMSP-VAL-004 our NHS number's use read trimmed; a local identifier marked old says nothing of the NHS number", () => {
    const id = '<identifier><system value="http://fhir.nhs.net/Id/nhs-number"/>';
    assert.deepEqual(
      ok(FOUND.replace(id, `<identifier><use value=" official "/><system value="http://fhir.nhs.net/Id/nhs-number"/>`)),
      [],
    );
    assert.deepEqual(
      ok(
        FOUND.replace(
          id,
          `<identifier><use value="old"/><system value="urn:x:local"/><value value="L1"/></identifier>${id}`,
        ),
      ),
      [],
    );
  });
  test('a modifier on a resource the core does not read (a Basic) changes nothing it reads', () => {
    const basic = '<entry><resource><Basic><id value="b1"/><modifierExtension url="urn:x"/></Basic></resource></entry>';
    assert.deepEqual(ok(FOUND.replace('</Bundle>', `${basic}</Bundle>`)), []);
  });
});

describe('safety core: what the mutation run of 3 December found untested', () => {
  const NONE = ERROR.replace('INVALID_NHS_NUMBER', 'NO_RECORD_FOUND');
  const none = (xml: string) => {
    const v = check(xml, { httpStatus: 404 });
    assert.ok(v.usable, v.usable ? '' : v.reason);
    assert.deepEqual(v.outcome, { kind: 'error', code: 'NO_RECORD_FOUND' });
    return v.deviations.map((d) => `${d.path} ${d.message}`);
  };
  const onPatient = (inner: string) => FOUND.replace('</identifier></Patient>', `</identifier>${inner}</Patient>`);
  test('SMSP-VAL-004 Patient.active true written with whitespace is the default: read past, reported once under its path', () => {
    assert.deepEqual(devs(onPatient('<active value=" true "/>')), [
      'Patient.active modifier element at the value that changes nothing read past',
    ]);
  });
  test('SMSP-VAL-004 the risk-indicator system under https://fhir.nhs.uk exactly as written: one phrase, not also "another case"', () => {
    assert.deepEqual(devs(FOUND.replace(RISK, 'https://fhir.nhs.uk/ValueSet/risk-indicator-type-1-0')), [
      'Flag.code.coding.system risk-indicator system under https://fhir.nhs.uk',
    ]);
  });
  /** The indicator with its Patient moved into an entry of its own, the Flag's subject naming it by `reference`. */
  const entrySubject = (reference: string, patient = /<Patient>.*<\/Patient>/.exec(FOUND)![0]) =>
    FOUND.replace(/<contained>.*<\/contained>/, '')
      .replace(
        /<subject><reference value="[^"]*"\/><\/subject>/,
        `<subject><reference value="${reference}"/></subject>`,
      )
      .replace('</Bundle>', `<entry><resource>${patient}</resource></entry></Bundle>`);
  const P = '20daadee-26e1-4d6a-9e6a-7f4af9b58877';
  const versioned = (v: string) =>
    /<Patient>.*<\/Patient>/.exec(FOUND)![0].replace('<meta>', `<meta><versionId value="${v}"/>`);
  test('SMSP-VAL-004 DSTU2 bundle.html#references: a version id of several characters is matched; each resolution reported by what it did', () => {
    const entry = 'Flag.subject.reference subject is a Patient entry of the Bundle, not a contained Patient';
    assert.deepEqual(devs(entrySubject(`Patient/${P}/_history/v2.10`, versioned('v2.10'))), [
      entry,
      'Flag.subject.reference version-specific subject resolved and its version matched',
    ]);
    assert.deepEqual(devs(entrySubject(`Patient/${P}/_history/10`)), [
      entry,
      'Flag.subject.reference version-specific subject resolved without a version to match',
    ]);
    assert.deepEqual(devs(entrySubject(`Patient/${P}`, versioned('10'))), [entry]);
    assert.equal(
      reason(entrySubject(`Patient/${P}/_history/10`, versioned('1'))),
      'indicator subject names another version of its Patient',
    );
  });
  test('a subject reference that is not a DSTU2 reference names no Patient: never a guess at which one was meant', () => {
    const none = 'indicator names no patient by NHS number';
    assert.equal(reason(entrySubject(`Patient/${P}/_history/1/x`)), none);
    assert.equal(reason(entrySubject(`x&#10;Patient/${P}/_history/1`)), none);
    assert.equal(reason(entrySubject(`Patient/${P}/_history/${'1'.repeat(65)}`)), none);
    assert.equal(reason(FOUND.replace(`<reference value="#${P}"/>`, `<reference value="#${P}/_history/1"/>`)), none);
  });
  const OO = '22daadee-26e1-4d6a-9e6a-7f4af9b58877';
  const data = (xml: string, ...refs: string[]) =>
    xml.replace(
      '</MessageHeader>',
      `${refs.map((r) => (r ? `<data><reference value="${r}"/></data>` : '<data/>')).join('')}</MessageHeader>`,
    );
  test('SMSP-ERR-004 NO_RECORD_FOUND naming its own outcome in any form the message carries is read', () => {
    for (const r of [
      `OperationOutcome/${OO}`,
      `OperationOutcome/${OO}/_history/1`,
      `urn:uuid:${OO.toUpperCase()}`,
      `https://spine.example/fhir/OperationOutcome/${OO}`,
      '',
    ])
      assert.deepEqual(none(data(NONE, r)), [], r);
    const url = 'urn:uuid:5a1f0000-0000-4000-8000-000000000001';
    const withUrl = NONE.replace(
      '<entry><resource><OperationOutcome>',
      `<entry><fullUrl value=" ${url} "/><resource><OperationOutcome>`,
    );
    assert.deepEqual(none(data(withUrl, url.toUpperCase())), []);
  });
  test('SMSP-ERR-004 NO_RECORD_FOUND naming a resource it does not carry is refused, whichever of its data names it', () => {
    const refused = 'no-record answer names a resource it does not carry';
    assert.equal(reason(data(NONE, `OperationOutcome/${OO}`, 'Flag/f1'), { httpStatus: 404 }), refused);
    assert.equal(reason(data(NONE, `OperationOutcome/${OO}x`), { httpStatus: 404 }), refused);
    assert.equal(reason(data(NONE, `Flag/${OO}`), { httpStatus: 404 }), refused, 'the id of another type');
  });
  test('SMSP-ERR-004 the rule on what "no record" names is about no record: another error naming the request is read', () => {
    const v = check(data(ERROR, 'Parameters/params-1'), { httpStatus: 400 });
    assert.deepEqual(v.usable && v.outcome, { kind: 'error', code: 'INVALID_NHS_NUMBER' });
  });
  test("SMSP-ERR-004 Spine's code written in two issues is one code; under https://fhir.nhs.uk each value set is reported by its own name", () => {
    const issue = /<issue>.*<\/issue>/.exec(NONE)![0];
    assert.deepEqual(none(NONE.replace(issue, issue + issue)), []);
    const uk2 = NONE.replace(
      'http://fhir.nhs.net/ValueSet/spine-response-code-2-0',
      'https://fhir.nhs.uk/ValueSet/spine-response-code-2-0',
    );
    assert.deepEqual(none(uk2), [
      'OperationOutcome.issue.details.coding.system Spine response code under https://fhir.nhs.uk/ValueSet/spine-response-code-2-0',
    ]);
    const original = uk2.replace(
      '</coding>',
      '</coding><coding><system value="https://fhir.nhs.uk/ValueSet/spine-response-code-1-0"/><code value="FGM-0001"/></coding>',
    );
    assert.deepEqual(none(original), [
      'OperationOutcome.issue.details.coding.system Spine response code under https://fhir.nhs.uk/ValueSet/spine-response-code-2-0',
      'OperationOutcome.issue.details.coding.system Spine response code under https://fhir.nhs.uk/ValueSet/spine-response-code-1-0',
      'OperationOutcome.issue.details.coding original 1-0 code beside its 2-0 code read as the 2-0 code',
    ]);
  });
  test('SMSP-VAL-004 MessageHeader.data naming the Flag by urn:uuid matches its id in any case (RFC 4122)', () => {
    const id = '8cb73a48-090d-469a-a2b2-04f1e6b11ea2';
    const upper = FOUND.replace(`<id value="${id}"/>`, `<id value="${id.toUpperCase()}"/>`).replace(
      `<reference value="Flag/${id}"/>`,
      `<reference value="urn:uuid:${id}"/>`,
    );
    assert.deepEqual(devs(upper), []);
  });
  test('SMSP-VAL-004 a Flag, data reference or outcome id written with whitespace is read trimmed and reported under its own path', () => {
    const id = '8cb73a48-090d-469a-a2b2-04f1e6b11ea2';
    assert.deepEqual(devs(FOUND.replace(`<id value="${id}"/>`, `<id value=" ${id} "/>`)), [
      'Flag.id whitespace around the value removed',
    ]);
    assert.deepEqual(devs(FOUND.replace(`<reference value="Flag/${id}"/>`, `<reference value=" Flag/${id} "/>`)), [
      'MessageHeader.data.reference whitespace around the value removed',
    ]);
    assert.deepEqual(none(data(NONE, ` OperationOutcome/${OO} `)), [
      'MessageHeader.data.reference whitespace around the value removed',
    ]);
    assert.deepEqual(
      none(data(NONE.replace(`<id value="${OO}"/>`, `<id value=" ${OO} "/>`), `OperationOutcome/${OO}`)),
      [],
    );
    assert.deepEqual(devs(entrySubject(`Patient/${P}/_history/2`, versioned(' 2 '))), [
      'Flag.subject.reference subject is a Patient entry of the Bundle, not a contained Patient',
      'Patient.meta.versionId whitespace around the value removed',
      'Flag.subject.reference version-specific subject resolved and its version matched',
    ]);
  });
  test('SMSP-ERR-004 NO_RECORD_FOUND naming what it does not carry is refused past an entry whose resource has no id', () => {
    assert.equal(
      reason(data(NONE, 'Flag/f1').replace('</Bundle>', '<entry><resource><Basic/></resource></entry></Bundle>'), {
        httpStatus: 404,
      }),
      'no-record answer names a resource it does not carry',
    );
  });
  test('SMSP-VAL-004 FGMISQR003 an FGM risk code written with whitespace on a Basic beside NO_RECORD_FOUND is still an FGM risk code: refused, never "no record"', () => {
    const basic = `<Basic><id value="b1"/><code><coding><system value="${RISK}"/><code value=" FGM "/></coding></code></Basic>`;
    assert.equal(
      reason(NONE.replace('</Bundle>', `<entry><resource>${basic}</resource></entry></Bundle>`), { httpStatus: 404 }),
      'FGM risk code beside an error outcome',
    );
  });
  test('SMSP-VAL-004 the FGM coding under two spellings of its system: one indicator, each spelling reported', () => {
    const twice = (system: string) =>
      FOUND.replace(
        '</coding></code>',
        `</coding><coding><system value="${system}"/><code value="FGM"/></coding></code>`,
      );
    assert.deepEqual(devs(twice('https://fhir.nhs.uk/ValueSet/risk-indicator-type-1-0')), [
      'Flag.code.coding.system risk-indicator system under https://fhir.nhs.uk',
    ]);
    assert.deepEqual(devs(twice('HTTP://FHIR.NHS.NET/ValueSet/risk-indicator-type-1-0')), [
      'Flag.code.coding.system risk-indicator system written in another case or with a trailing slash',
    ]);
  });
  test('SMSP-ERR-004 two different codes under the 1-0 system are two Spine codes, whichever of them a 2-0 code is spelt like', () => {
    const v1 = (code: string) =>
      `<coding><system value="http://fhir.nhs.net/ValueSet/spine-response-code-1-0"/><code value="${code}"/></coding>`;
    const two = (a: string, b: string) => NONE.replace(/<coding>.*<\/coding>/, v1(a) + v1(b));
    assert.equal(reason(two('FGM-0001', 'FGM-0002'), { httpStatus: 404 }), 'outcome carries several Spine codes');
    assert.equal(
      reason(two('NO_RECORD_FOUND', 'FGM-0001'), { httpStatus: 404 }),
      'outcome carries several Spine codes',
    );
  });
  test("SMSP-VAL-004 a coding under Spine's error-code system with no code, in a note beside the indicator, is no error code: the indicator is shown", () => {
    const note = `<OperationOutcome><id value="o2"/><issue><severity value="information"/><code value="informational"/><details><coding><system value="http://fhir.nhs.net/ValueSet/spine-response-code-2-0"/></coding></details></issue></OperationOutcome>`;
    assert.deepEqual(devs(FOUND.replace('</Bundle>', `<entry><resource>${note}</resource></entry></Bundle>`)), [
      'OperationOutcome informational OperationOutcome beside the indicator ignored',
    ]);
  });
  test('SMSP-VAL-004 an element merely named like a modifier choice (deceased alone, deceasedxBoolean, deceasedBoolean-x) is not the modifier: read past', () => {
    for (const name of ['deceased', 'deceasedxBoolean', 'deceasedBoolean-x'])
      assert.deepEqual(devs(onPatient(`<${name} value="true"/>`)), [], name);
  });
  test("SMSP-VAL-004 only a Patient's NHS number marked old is not the child's now: our number marked old elsewhere (a Parameters echo) is read", () => {
    const echo =
      '<Parameters><id value="p"/><parameter><name value="patient"/><valueIdentifier><use value="old"/><system value="http://fhir.nhs.net/Id/nhs-number"/><value value="1234567890"/></valueIdentifier></parameter></Parameters>';
    assert.deepEqual(devs(FOUND.replace('</Bundle>', `<entry><resource>${echo}</resource></entry></Bundle>`)), [
      'Parameters Parameters entry beside the answer ignored',
    ]);
  });
  test('a coding under the risk-indicator system with no code, a modifier without a value, a version-specific subject naming nothing: each read to its verdict, never a throw', () => {
    const basic = `<Basic><id value="b1"/><code><coding><system value="${RISK}"/></coding></code></Basic>`;
    assert.deepEqual(none(NONE.replace('</Bundle>', `<entry><resource>${basic}</resource></entry></Bundle>`)), []);
    assert.equal(
      reason(onPatient('<active><extension url="urn:x"><valueBoolean value="true"/></extension></active>')),
      'message carries a modifier element the gateway cannot read past',
    );
    assert.equal(reason(entrySubject('Patient/another/_history/1')), 'indicator names no patient by NHS number');
  });
  const OID = 'urn:oid:2.16.840.1.113883.2.1.4.1';
  const numbers = (...systems: string[]) =>
    FOUND.replace(
      /<identifier>.*?<\/identifier>/,
      systems.map((s) => `<identifier><system value="${s}"/><value value="1234567890"/></identifier>`).join(''),
    );
  test('SMSP-VAL-004 our NHS number under several systems: each spelling reported by what it is', () => {
    assert.deepEqual(devs(numbers(NEW_NHS, OID)), [
      `Patient.identifier.system NHS number only under ${NEW_NHS} and ${OID}`,
    ]);
    assert.deepEqual(devs(numbers('http://fhir.nhs.net/Id/nhs-number', 'HTTP://FHIR.NHS.NET/Id/nhs-number/')), [
      'Patient.identifier.system NHS-number system written in another case or with a trailing slash',
    ]);
  });
  /** The indicator with the Flag's entry at `flagUrl` and its Patient (p1) in an entry at `patientUrl`, the subject `Patient/p1`. */
  const restful = (flagUrl: string, patientUrl: string) =>
    entrySubject(
      'Patient/p1',
      /<Patient>.*<\/Patient>/.exec(FOUND)![0].replace(`<id value="${P}"/>`, '<id value="p1"/>'),
    )
      .replace('<entry><resource><Flag>', `<entry><fullUrl value="${flagUrl}"/><resource><Flag>`)
      .replace('<entry><resource><Patient>', `<entry><fullUrl value="${patientUrl}"/><resource><Patient>`);
  test('SMSP-VAL-004 DSTU2 bundle.html#references: Type/id is resolved under the base of the Flag entry, http or https; a Patient at another base is not the subject', () => {
    assert.equal(
      reason(restful('http://spine.example/fhir/Flag/f1', 'http://spine.example/fhir/Patient/p1')),
      'usable',
    );
    const none = 'indicator names no patient by NHS number';
    assert.equal(reason(restful('http://spine.example/fhir/Flag/f1', 'http://other.example/fhir/Patient/p1')), none);
    // A fullUrl that is not [base]/[type]/[id] gives no base to resolve against.
    for (const flagUrl of ['urn:x:https://spine.example/fhir/Flag/f1', 'https://spine.example/fhir/Flag/f1/x'])
      assert.equal(reason(restful(flagUrl, 'https://spine.example/fhir/Patient/p1')), none, flagUrl);
  });
  test('a subject names a FHIR Patient of its type: not a Patient by the id of a Basic reference, nor a foreign element contained', () => {
    const none = 'indicator names no patient by NHS number';
    assert.equal(reason(entrySubject(`Basic/${P}`)), none);
    const foreign = FOUND.replace('<contained><Patient>', '<contained><x:Patient xmlns:x="urn:x">').replace(
      '</Patient></contained>',
      '</x:Patient></contained>',
    );
    assert.equal(reason(foreign), none);
  });
  test('SMSP-VAL-004 a fullUrl written with whitespace is read trimmed: the subject it names is found, never hidden', () => {
    const v = check(
      entrySubject(`urn:uuid:${P}`).replace(
        '<entry><resource><Patient>',
        `<entry><fullUrl value=" urn:uuid:${P} "/><resource><Patient>`,
      ),
    );
    assert.ok(v.usable && v.outcome.kind === 'indicator', v.usable ? '' : v.reason);
  });
  const beside = (...outcomes: string[]) =>
    FOUND.replace('</Bundle>', outcomes.map((o) => `<entry><resource>${o}</resource></entry>`).join('') + '</Bundle>');
  const oo = (id: string, severity: string) =>
    `<OperationOutcome><id value="${id}"/><issue><severity value="${severity}"/><code value="informational"/></issue></OperationOutcome>`;
  test("SMSP-VAL-004 a Flag beside a note and an error OperationOutcome is ambiguous: refused; a note's severity read trimmed (reported)", () => {
    assert.equal(
      reason(beside(oo('o1', 'information'), oo('o2', 'error'))),
      'answer has no single Flag or OperationOutcome',
    );
    assert.deepEqual(devs(beside(oo('o1', ' information '))), [
      'OperationOutcome.issue.severity whitespace around the value removed',
      'OperationOutcome informational OperationOutcome beside the indicator ignored',
    ]);
  });
  test('a URL subject is compared by RFC 3986, its path case-sensitive even where it holds a urn:uuid: a fullUrl differing in that case names another resource', () => {
    const url = 'https://spine.example/fhir/urn:uuid:5A1F0000-0000-4000-8000-000000000001';
    const xml = entrySubject(url).replace(
      '<entry><resource><Patient>',
      `<entry><fullUrl value="${url.replace('5A1F', '5a1f')}"/><resource><Patient>`,
    );
    assert.equal(reason(xml), 'indicator names no patient by NHS number');
    assert.equal(reason(xml.replace(url.replace('5A1F', '5a1f'), url)), 'usable');
  });
});

describe('safety core: HTTP 201 and 203, and response code OK (issue 18 review F8)', () => {
  test('SMSP-VAL-004 HTTP 201 over an indicator is a success status: read as 200, reported', () => {
    assert.deepEqual(devs(FOUND, { httpStatus: 201 }), ['HTTP status HTTP 201 read as 200 OK']);
  });
  test("SMSP-FGMRI-003 HTTP 203 is the spec's 'data returned from local store': neither an indicator nor a no-record under it is shown", () => {
    const stored = 'HTTP 203: a stored copy, not a current answer from Spine';
    assert.equal(reason(FOUND, { httpStatus: 203 }), stored);
    const none = withValue(ERROR, 'OperationOutcome.issue.details.coding.code', 'NO_RECORD_FOUND');
    assert.equal(reason(none, { httpStatus: 404 }), 'usable', 'the fixture is a usable no-record under 404');
    assert.equal(reason(none, { httpStatus: 203 }), stored);
  });
  test('SMSP-VAL-004 MessageHeader.response.code OK is ok in another case: read, reported; another code is still an error status', () => {
    assert.deepEqual(devs(withValue(FOUND, 'MessageHeader.response.code', 'OK')), [
      'MessageHeader.response.code response code ok written in another case',
    ]);
    assert.equal(
      reason(withValue(FOUND, 'MessageHeader.response.code', 'transient-error')),
      'indicator with an error status',
    );
  });
  test('SMSP-ERR-001 an error answer whose Spine code is OK (or SUCCESS) carries no code of the vocabulary: refused', () => {
    for (const code of ['OK', 'ok', 'SUCCESS'])
      assert.equal(
        reason(withValue(ERROR, 'OperationOutcome.issue.details.coding.code', code), { httpStatus: 400 }),
        'unknown outcome code',
        code,
      );
  });
});

describe('safety core: assessment dates written as date-times (issue 18 review F7)', () => {
  const start = (v: string) => withValue(FOUND, 'Flag.period.start', v);
  const read = (xml: string) => {
    const v = check(xml);
    assert.ok(v.usable, v.usable ? '' : v.reason);
    assert.equal(v.outcome.kind, 'indicator');
    return v;
  };
  test('SMSP-VAL-004 midnight under an offset east of the UK is the date written (its UK instant is the evening before), reported; in UTC it is that day already, unreported', () => {
    const east = read(start('2015-02-04T00:00:00+01:00'));
    assert.deepEqual(east.outcome, {
      kind: 'indicator',
      assessmentDate: '2015-02-04T00:00:00+01:00',
      assessmentDay: '2015-02-04',
    });
    assert.deepEqual(
      east.deviations.map((d) => `${d.path} ${d.message}`),
      ['Flag.period.start assessment date-time at midnight read as the date written'],
    );
    const utc = read(start('2015-02-04T00:00:00Z'));
    assert.deepEqual(
      [utc.outcome.kind === 'indicator' && utc.outcome.assessmentDay, utc.deviations],
      ['2015-02-04', []],
    );
    // Not midnight: the UK calendar day of the instant, as before.
    const evening = read(start('2015-02-04T23:30:00-02:00'));
    assert.equal(evening.outcome.kind === 'indicator' && evening.outcome.assessmentDay, '2015-02-05');
  });
  test('SMSP-VAL-004 a date-time without a zone is read as its date (and passed on as that date), reported; an impossible time or date is still no date', () => {
    const v = read(start('2015-02-04T10:00:00'));
    assert.deepEqual(v.outcome, { kind: 'indicator', assessmentDate: '2015-02-04', assessmentDay: '2015-02-04' });
    assert.deepEqual(
      v.deviations.map((d) => `${d.path} ${d.message}`),
      ['Flag.period.start assessment date-time without a zone read as its date'],
    );
    for (const bad of ['2015-02-04T25:00:00', '2015-02-30T10:00:00', '2015-02-04T10'])
      assert.equal(reason(start(bad)), 'assessment date is not a real date', bad);
  });
});

describe('safety core: what the mutation run of 4 December found untested', () => {
  const P = '20daadee-26e1-4d6a-9e6a-7f4af9b58877';
  const OO = '22daadee-26e1-4d6a-9e6a-7f4af9b58877';
  const NHS = 'http://fhir.nhs.net/Id/nhs-number';
  const startAt = (v: string) => withValue(FOUND, 'Flag.period.start', v);
  const indicatorOf = (xml: string) => {
    const v = check(xml);
    assert.ok(v.usable, v.usable ? '' : v.reason);
    return v.outcome;
  };
  /** The Flag's Patient with `identifiers` written after its own (our child's, current). */
  const withIds = (...identifiers: string[]) =>
    FOUND.replace('</identifier></Patient>', `</identifier>${identifiers.join('')}</Patient>`);
  const id = (value: string | undefined, more = '', system = NHS) =>
    `<identifier>${more}<system value="${system}"/>${value === undefined ? '' : `<value value="${value}"/>`}</identifier>`;
  const ended = (end: string) => `<period><end value="${end}"/></period>`;
  const OLD_NOTE = 'Patient.identifier another NHS number on an old identifier of our child read as her old number';
  const ANOTHER = 'answer carries a patient other than the one asked about';

  test('SMSP-VAL-004 a zoneless assessment date-time to the minute, or with a fraction of several digits, is its date', () => {
    for (const v of ['2015-02-04T10:00', '2015-02-04T10:00:00.123'])
      assert.deepEqual(
        indicatorOf(startAt(v)),
        { kind: 'indicator', assessmentDate: '2015-02-04', assessmentDay: '2015-02-04' },
        v,
      );
  });
  test('SMSP-VAL-004 midnight east of the UK to the minute, or with zero fractions, is the date written, not the UK day before', () => {
    for (const v of ['2015-02-04T00:00+01:00', '2015-02-04T00:00:00.000+01:00'])
      assert.deepEqual(
        indicatorOf(startAt(v)),
        { kind: 'indicator', assessmentDate: v, assessmentDay: '2015-02-04' },
        v,
      );
  });
  test('SMSP-VAL-004 a midnight that is no real date is not read as a date: never an assessment on 30 February', () => {
    assert.equal(reason(startAt('2015-02-30T00:00:00Z')), 'assessment date is not a real date');
  });
  test('SMSP-FGMRI-003 a timestamp to the minute is read as :00 only when it is the whole value: text before or after it is no instant', () => {
    for (const v of ['x2015-07-04T10:10+00:00', '2015-07-04T10:10+00:00x'])
      assert.equal(reason(withValue(FOUND, 'MessageHeader.timestamp', v)), 'timestamp is not a real instant', v);
  });
  test('SMSP-VAL-004 an indicator without MessageHeader.response.code is read as ok, and reported', () => {
    assert.deepEqual(devs(without(FOUND, 'MessageHeader.response.code')), [
      'MessageHeader.response.code no response code beside an indicator, read as ok',
    ]);
  });

  test("SMSP-FGMRI-001 an old identifier's use and period end are read trimmed; a period ending at Spine's timestamp has ended", () => {
    for (const old of [
      id('9434765919', '<use value=" old "/>'),
      id('9434765919', ended(' 2015-01-01 ')),
      id('9434765919', ended('2015-07-04T10:10:15+00:00')),
    ])
      assert.deepEqual(devs(withIds(old)), [OLD_NOTE], old);
  });
  test('SMSP-FGMRI-001 our own number on an ended identifier beside her current one is no other number: nothing reported', () => {
    assert.deepEqual(devs(withIds(id('1234567890', ended('2015-01-01')))), []);
  });
  test('SMSP-FGMRI-001 a subject named only on an old identifier holding another number is another patient', () => {
    const xml = FOUND.replace(
      `<identifier><system value="${NHS}"/><value value="1234567890"/></identifier>`,
      id('9434765919', ended('2015-01-01')),
    );
    assert.equal(reason(xml), 'indicator is for another patient');
  });
  test('SMSP-FGMRI-001 beside "no record", a Patient holding our number only on an ended identifier may be another child now: refused', () => {
    const none = ERROR.replace('INVALID_NHS_NUMBER', 'NO_RECORD_FOUND')
      .replace('<code value="invalid"/>', '<code value="not-found"/>')
      .replace('<code value="fatal-error"/>', '<code value="ok"/>')
      .replace(
        '</Bundle>',
        `<entry><resource><Patient>${id('1234567890', ended('2015-01-01'))}</Patient></resource></entry></Bundle>`,
      );
    assert.equal(reason(none, { httpStatus: 404 }), ANOTHER);
  });
  test('SMSP-FGMRI-001 an NHS number marked temp or secondary is out of use whatever number it holds', () => {
    for (const use of ['temp', 'secondary'])
      assert.equal(
        reason(withIds(id('9434765919', `<use value="${use}"/>`))),
        "a patient's NHS number is marked old, temporary or secondary",
        use,
      );
  });
  test('SMSP-VAL-004 an old NHS-number identifier without a value beside her current number is read, and reported only as an old number', () => {
    assert.deepEqual(devs(withIds(id(undefined, '<use value="old"/>'))), [OLD_NOTE]);
  });
  test('SMSP-VAL-004 hyphens in one of her two identifiers are reported', () => {
    assert.deepEqual(devs(withIds(id('123-456-7890'))), [
      'Patient.identifier.value hyphens removed from the NHS number',
    ]);
  });
  test('SMSP-VAL-004 the period-end rule is about Patients: a period end that is no date elsewhere refuses nothing', () => {
    // A local identifier of the Patient (not an NHS number).
    assert.deepEqual(devs(withIds(id('MRN-1', ended('2015-02-30'), 'https://trust.example/mrn'))), []);
    // Our number echoed as a Parameters valueIdentifier, with a period that is no date.
    const echo = FOUND.replace(
      '</Bundle>',
      `<entry><resource><Parameters><parameter><name value="NHSNumber"/><valueIdentifier><system value="${NHS}"/><value value="1234567890"/>${ended('2015-02-30')}</valueIdentifier></parameter></Parameters></resource></entry></Bundle>`,
    );
    assert.deepEqual(devs(echo), ['Parameters Parameters entry beside the answer ignored']);
  });

  test("SMSP-VAL-004 Spine's birth date with whitespace is reported under Patient.birthDate", () => {
    assert.deepEqual(devs(withIds('<birthDate value=" 2010-05-05 "/>')), [
      'Patient.birthDate whitespace around the value removed',
    ]);
  });
  test("SMSP-VAL-004 a partial assessment date in the year of Spine's birth date is not before it; a birth year alone is not judged for 18", () => {
    assert.deepEqual(devs(withIds('<birthDate value="2015-01-01"/>').replace('value="2015-02-04"', 'value="2015"')), [
      'Flag.period.start assessment date is a partial date',
    ]);
    assert.deepEqual(devs(withIds('<birthDate value="1997"/>')), []);
  });

  /** The indicator with its Patient in an entry of its own, the subject naming it `Patient/id`; `extra` more entries. */
  const entrySubject = (extra = '') =>
    FOUND.replace(/<contained>.*<\/contained>/, '')
      .replace(`<reference value="#${P}"/>`, `<reference value="Patient/${P}"/>`)
      .replace(
        '</Bundle>',
        `<entry><resource>${/<Patient>.*<\/Patient>/.exec(FOUND)![0]}</resource></entry>${extra}</Bundle>`,
      );
  const ENTRY = 'Flag.subject.reference subject is a Patient entry of the Bundle, not a contained Patient';
  test('SMSP-VAL-004 references are looked up past an entry holding nothing and an id without a value', () => {
    assert.deepEqual(devs(entrySubject('<entry/>')), ['Bundle.entry entry without a resource read past', ENTRY]);
    const v = check(entrySubject().replace('<id value="14daadee-26e1-4d6a-9e6a-7f4af9b58879"/>', '<id/>'));
    assert.deepEqual(v.usable && [v.spineMessageId, v.deviations.map((d) => `${d.path} ${d.message}`)], [
      null,
      [ENTRY],
    ]);
  });

  const NONE = ERROR.replace('INVALID_NHS_NUMBER', 'NO_RECORD_FOUND')
    .replace('<code value="invalid"/>', '<code value="not-found"/>')
    .replace('<code value="fatal-error"/>', '<code value="ok"/>');
  const data = (xml: string, ref: string) =>
    xml.replace('</MessageHeader>', `<data><reference value="${ref}"/></data></MessageHeader>`);
  test('SMSP-ERR-004 NO_RECORD_FOUND naming its outcome as #id is read; a reference that only ends in a carried id names nothing', () => {
    assert.deepEqual(devs(data(NONE, `#${OO}`), { httpStatus: 404 }), []);
    for (const r of [`x${OO}`, `Flag/1234${OO}`])
      assert.equal(
        reason(data(NONE, r), { httpStatus: 404 }),
        'no-record answer names a resource it does not carry',
        r,
      );
  });
  test('SMSP-ERR-004 an error naming a Parameters without an id is not read as naming our request', () => {
    for (const r of ['Parameters/', 'fhir/Parameters/'])
      assert.equal(reason(data(ERROR, r), { httpStatus: 400 }), 'error answer names a resource it does not carry', r);
  });
  test('SMSP-VAL-004 whitespace around "no record"\'s response code and issue type is reported under each one\'s path', () => {
    const spaced = withValue(
      withValue(NONE, 'MessageHeader.response.code', ' ok '),
      'OperationOutcome.issue.code',
      ' not-found ',
    );
    assert.deepEqual(devs(spaced, { httpStatus: 404 }), [
      'MessageHeader.response.code whitespace around the value removed',
      'OperationOutcome.issue.code whitespace around the value removed',
    ]);
  });
});
