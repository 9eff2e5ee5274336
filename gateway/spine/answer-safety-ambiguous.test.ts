/**
 * The safety core on answers it cannot read unambiguously (issue 18, second hostile review): an
 * indicator or an error where the core does not read it — contained, nested, in an entry that holds
 * no resource or two — makes the answer unusable, so an indicator Spine sent is never hidden behind
 * "no record" nor shown beside an error; Spine's own error code beside an indicator, at any
 * severity, is Spine contradicting itself. Instants and dateTimes may carry any number of fraction
 * digits (DSTU2: `(\.[0-9]+)?`). An element the core reads as one, written twice, is never read as
 * absent (issue 18, third hostile review): the answer is refused. Oracles: the spec's example
 * answers (test/spec, copies of the spec's examples) rewritten by hand, and hand-written verdicts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { duplicated, example, withChild, withValue } from '../../test/helpers/fhir-fixtures.ts';
import { parseXml } from '../fhir/xml.ts';
import { checkAnswer, type AnswerExpectation } from './answer-safety.ts';

const FOUND = example('query-response-2-0-indicator-found');
/** Spine's not-found answer for the child the examples name: the error example with NO_RECORD_FOUND, under HTTP 404. */
const NONE = example('query-response-2-0-invalid-nhs-number').replace('INVALID_NHS_NUMBER', 'NO_RECORD_FOUND');
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
  isKnownCode: (c) => ['INVALID_NHS_NUMBER', 'NO_RECORD_FOUND', 'PATIENT_OVER_18'].includes(c),
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

const ENTRY = 'an entry does not hold exactly one resource';
const UNREAD = 'a MessageHeader, Flag or OperationOutcome sits where the core does not read it';
const CONTRADICTS = 'indicator beside a Spine error code';
const REPEATED = 'an element the core reads as one appears more than once';
/** The example's Flag for our child (1234567890), with its contained Patient. */
const FLAG = /<Flag>.*?<\/Flag>/.exec(FOUND)![0];
const HEADER = /<MessageHeader>.*?<\/MessageHeader>/.exec(FOUND)![0];
const SPINE_CODES = 'http://fhir.nhs.net/ValueSet/spine-response-code-2-0';
const outcome = (severity: string, coding = '') =>
  `<OperationOutcome><id value="oo2"/><issue><severity value="${severity}"/><code value="not-found"/>${coding && `<details>${coding}</details>`}</issue></OperationOutcome>`;
const coding = (code: string, system = SPINE_CODES) =>
  `<coding><system value="${system}"/><code value="${code}"/></coding>`;
/** The answer with one more entry, whose `<entry>` holds `inner`. */
const withEntry = (xml: string, inner: string) => xml.replace('</Bundle>', `<entry>${inner}</entry></Bundle>`);
/** `resource` contained in the first resource named `host`. */
const containedIn = (xml: string, host: string, resource: string) =>
  xml.replace(new RegExp(`(<${host}><id value="[^"]*"/>(<meta>.*?</meta>)?)`), `$1<contained>${resource}</contained>`);

describe('safety core: an indicator Spine sent is never hidden behind "no record"', () => {
  test("SMSP-VAL-004 SMSP-FGMRI-001 NO_RECORD_FOUND carrying our child's FGM Flag in an entry holding two resources, or none, is refused", () => {
    const alone = verdict(NONE, { httpStatus: 404 });
    assert.deepEqual(
      alone.usable && alone.outcome,
      { kind: 'error', code: 'NO_RECORD_FOUND' },
      "the control: Spine's not-found alone is no record",
    );
    assert.equal(reason(withEntry(NONE, `<resource>${FLAG}<Basic/></resource>`), { httpStatus: 404 }), ENTRY);
    assert.equal(
      reason(withEntry(NONE, `<resource><Basic/>${FLAG}</resource>`), { httpStatus: 404 }),
      ENTRY,
      'whichever comes first',
    );
    assert.equal(
      reason(withEntry(NONE, FLAG), { httpStatus: 404 }),
      'a MessageHeader, Flag or OperationOutcome sits where the core does not read it',
      'the Flag straight in the entry, no <resource>',
    );
    // Beside an indicator an entry holding nothing is read past (review 18f F6); beside "no record" it may have held one.
    for (const empty of ['', '<resource/>'])
      assert.equal(reason(withEntry(NONE, empty), { httpStatus: 404 }), ENTRY, `<entry>${empty}</entry>`);
    assert.equal(
      reason(withEntry(NONE, `<resource>${FLAG}</resource><resource><Basic/></resource>`), { httpStatus: 404 }),
      ENTRY,
      'two <resource> elements',
    );
    assert.equal(
      reason(withEntry(NONE, `<resource>${FLAG.replace('<Flag>', '<Flag xmlns="urn:x">')}</resource>`), {
        httpStatus: 404,
      }),
      ENTRY,
      'a Flag in a foreign namespace is no FHIR resource: the entry holds none',
    );
  });
  test("SMSP-VAL-004 SMSP-FGMRI-001 NO_RECORD_FOUND carrying our child's FGM Flag contained, nested or outside the entries is refused", () => {
    assert.equal(
      reason(containedIn(NONE, 'OperationOutcome', FLAG), { httpStatus: 404 }),
      UNREAD,
      'contained in the OperationOutcome',
    );
    assert.equal(
      reason(containedIn(NONE, 'MessageHeader', FLAG), { httpStatus: 404 }),
      UNREAD,
      'contained in the MessageHeader',
    );
    assert.equal(
      reason(withEntry(NONE, `<resource><Basic><id value="b1"/><contained>${FLAG}</contained></Basic></resource>`), {
        httpStatus: 404,
      }),
      UNREAD,
      'contained in another resource',
    );
    assert.equal(
      reason(withEntry(NONE, `<resource><Bundle><entry><resource>${FLAG}</resource></entry></Bundle></resource>`), {
        httpStatus: 404,
      }),
      UNREAD,
      'in a Bundle inside an entry',
    );
    assert.equal(
      reason(NONE.replace('<type value="message"/>', `<type value="message"/>${FLAG}`), { httpStatus: 404 }),
      UNREAD,
      'straight under the Bundle',
    );
    assert.equal(
      reason(withEntry(NONE, `${FLAG}<resource><Basic/></resource>`), { httpStatus: 404 }),
      UNREAD,
      'in an entry beside its one resource',
    );
    assert.equal(
      reason(NONE.replace('<issue>', `<issue><extension url="https://example.org/x">${FLAG}</extension>`), {
        httpStatus: 404,
      }),
      UNREAD,
      'under an element of the outcome',
    );
  });
});

describe('safety core: a FHIR resource inside a foreign or XHTML element is still one Spine sent', () => {
  const XHTML = 'http://www.w3.org/1999/xhtml';
  const FHIR = 'http://hl7.org/fhir';
  /** A narrative whose XHTML div holds `inner`, for the resource named `host`. */
  const narrative = (xml: string, host: string, inner: string) =>
    xml.replace(
      new RegExp(`(<${host}><id value="[^"]*"/>(<meta>.*?</meta>)?)`),
      `$1<text><status value="generated"/><div xmlns="${XHTML}">${inner}</div></text>`,
    );
  const fhirFlag = FLAG.replace('<Flag>', `<Flag xmlns="${FHIR}">`);
  test("SMSP-VAL-004 SMSP-FGMRI-001 NO_RECORD_FOUND carrying our child's FGM Flag inside a foreign wrapper or an XHTML narrative is refused", () => {
    assert.equal(
      reason(narrative(NONE, 'OperationOutcome', `<p>${fhirFlag}</p>`), { httpStatus: 404 }),
      UNREAD,
      "in the outcome's narrative",
    );
    assert.equal(
      reason(NONE.replace('<issue>', `<x:wrap xmlns:x="urn:x">${FLAG}</x:wrap><issue>`), { httpStatus: 404 }),
      UNREAD,
      "in a foreign element of the outcome (no namespace: the answer's own)",
    );
    assert.equal(
      reason(
        NONE.replace(
          '</Bundle>',
          `<x:wrap xmlns:x="urn:x"><entry><resource>${fhirFlag}</resource></entry></x:wrap></Bundle>`,
        ),
        { httpStatus: 404 },
      ),
      UNREAD,
      'an entry wrapped under the Bundle',
    );
    assert.equal(
      reason(withEntry(NONE, `<resource><x:wrap xmlns:x="urn:x">${FLAG}</x:wrap><Basic/></resource>`), {
        httpStatus: 404,
      }),
      UNREAD,
      'wrapped beside the one resource of an entry',
    );
    assert.equal(
      reason(
        narrative(
          FOUND,
          'Flag',
          `<div><x:wrap xmlns:x="urn:x">${outcome('error', coding('NO_RECORD_FOUND')).replace('<OperationOutcome>', `<OperationOutcome xmlns="${FHIR}">`)}</x:wrap></div>`,
        ),
      ),
      UNREAD,
      "an error in the indicator's narrative",
    );
    assert.equal(
      reason(narrative(FOUND, 'Patient', HEADER.replace('<MessageHeader>', `<MessageHeader xmlns="${FHIR}">`))),
      UNREAD,
      "a second MessageHeader in the Patient's narrative",
    );
  });
  test("SMSP-VAL-004 SMSP-FGMRI-001 NO_RECORD_FOUND carrying our child's complete FGM Flag in another namespace is refused, never no record", () => {
    const RISK_CODE = 'FGM risk code beside an error outcome';
    const foreign = FLAG.replace('<Flag>', '<Flag xmlns="urn:x">');
    /** Every element of `xml` under the prefix `p` (bound where the caller declares it). */
    const prefixed = (xml: string, p: string) => xml.replace(/<(\/?)([A-Za-z]+)/g, `<$1${p}:$2`);
    const cases: [string, string][] = [
      [
        'an entry in another namespace (all it holds inherits it)',
        `<entry xmlns="urn:x"><resource>${FLAG}</resource></entry>`,
      ],
      [
        'an entry, its resource and the Flag under a foreign prefix',
        `<x:entry xmlns:x="urn:x">${prefixed(`<resource>${FLAG}</resource>`, 'x')}</x:entry>`,
      ],
      [
        'a FHIR extension after the entries holding a foreign Flag',
        `<extension url="urn:x:wrap">${foreign}</extension>`,
      ],
      ['a foreign wrapper after the entries holding a foreign Flag', `<x:ext xmlns:x="urn:x">${foreign}</x:ext>`],
      ['a wrapper declaring another default namespace, the Flag inheriting it', `<ext xmlns="urn:x">${FLAG}</ext>`],
    ];
    for (const [name, inner] of cases)
      assert.equal(reason(NONE.replace('</Bundle>', `${inner}</Bundle>`), { httpStatus: 404 }), RISK_CODE, name);
    assert.equal(
      reason(NONE.replace('<issue>', `<issue><extension url="urn:x:e">${foreign}</extension>`), { httpStatus: 404 }),
      RISK_CODE,
      "under an extension of the outcome's issue",
    );
    assert.equal(
      reason(narrative(NONE, 'OperationOutcome', FLAG), { httpStatus: 404 }),
      RISK_CODE,
      "in the outcome's narrative, the Flag in XHTML's namespace",
    );
    // Where the core already refused: the foreign Flag in an entry leaves the entry empty.
    assert.equal(reason(withEntry(NONE, `<resource>${foreign}</resource>`), { httpStatus: 404 }), ENTRY);
    assert.equal(reason(withEntry(NONE, `<resource xmlns="urn:x">${FLAG}</resource>`), { httpStatus: 404 }), ENTRY);
    // The only Flag foreign, beside no error: no Flag the core can read, an error IT can see (a guess either way).
    assert.equal(
      reason(FOUND.replace('<Flag>', '<Flag xmlns="urn:x">')),
      'answer has no single Flag or OperationOutcome',
    );
  });
  test("SMSP-VAL-004 SMSP-FGMRI-001 a foreign coding is read loosely beside NO_RECORD_FOUND: a system or code holding text refuses; other foreign text, a foreign code holding nothing, another risk code and XHTML's own <code> do not", () => {
    const RISK_CODE = 'FGM risk code beside an error outcome';
    const RISK = 'http://fhir.nhs.net/ValueSet/risk-indicator-type-1-0';
    const at = (inner: string) => reason(NONE.replace('</Bundle>', `${inner}</Bundle>`), { httpStatus: 404 });
    assert.equal(
      at(`<x:c xmlns:x="urn:x"><x:system>${RISK}</x:system><x:code>FGM</x:code></x:c>`),
      RISK_CODE,
      'values as text',
    );
    assert.equal(at('<x:c xmlns:x="urn:x"><x:code>FGM</x:code></x:c>'), RISK_CODE, 'a code holding text alone');
    assert.equal(
      at(`<x:c xmlns:x="urn:x"><x:system>${RISK}</x:system></x:c>`),
      RISK_CODE,
      'a system holding text alone',
    );
    assert.equal(
      at(`<x:c xmlns:x="urn:x"><x:system x:value="${RISK}"/><x:code x:value=" FGM "/></x:c>`),
      RISK_CODE,
      'the code padded',
    );
    assert.equal(
      at(`<x:c xmlns:x="urn:x"><x:system x:value="${RISK}"/><x:display x:value="FGM"/></x:c>`),
      'usable',
      'FGM under another name than code',
    );
    assert.equal(at('<x:note xmlns:x="urn:x">a note</x:note>'), 'usable', 'foreign text under another name');
    assert.equal(
      at('<x:c xmlns:x="urn:x"><x:system/><x:code/></x:c>'),
      'usable',
      'a foreign system and code holding nothing',
    );
    assert.equal(
      at(`<x:c xmlns:x="urn:x"><x:system x:value="${RISK}"/><x:code x:id="FGM" x:value="CPIS"/></x:c>`),
      'usable',
      'another risk code, whatever another attribute says',
    );
    assert.equal(
      reason(narrative(NONE, 'OperationOutcome', '<p>Code <code>FGM</code></p>'), { httpStatus: 404 }),
      'usable',
      "XHTML's own <code> in the outcome's narrative",
    );
  });
  test("SMSP-VAL-004 another child's FHIR Patient inside a foreign wrapper or a narrative beside NO_RECORD_FOUND or the indicator is refused", () => {
    const other = `<Patient xmlns="${FHIR}"><id value="p2"/><identifier><system value="http://fhir.nhs.net/Id/nhs-number"/><value value="9990000026"/></identifier></Patient>`;
    const ANOTHER = 'answer carries a patient other than the one asked about';
    assert.equal(
      reason(NONE.replace('<issue>', `<x:wrap xmlns:x="urn:x">${other}</x:wrap><issue>`), { httpStatus: 404 }),
      ANOTHER,
      'wrapped in the outcome',
    );
    assert.equal(
      reason(narrative(NONE, 'OperationOutcome', `<p>${other}</p>`), { httpStatus: 404 }),
      ANOTHER,
      "in the outcome's narrative",
    );
    assert.equal(reason(narrative(FOUND, 'Flag', other)), ANOTHER, "in the indicator's narrative");
  });
  test('SMSP-VAL-004 a narrative of XHTML only, even with elements named like resources, is read past: the indicator and no record are kept', () => {
    const plain = '<p>FGM risk indicator</p><Flag>not FHIR</Flag><OperationOutcome/>';
    const v = verdict(narrative(FOUND, 'Flag', plain));
    assert.deepEqual(
      v.usable && v.outcome,
      { kind: 'indicator', assessmentDate: '2015-02-04', assessmentDay: '2015-02-04' },
      v.usable ? '' : v.reason,
    );
    const none = verdict(narrative(NONE, 'OperationOutcome', plain), { httpStatus: 404 });
    assert.deepEqual(
      none.usable && none.outcome,
      { kind: 'error', code: 'NO_RECORD_FOUND' },
      none.usable ? '' : none.reason,
    );
    assert.equal(
      reason(NONE.replace('<issue>', '<x:wrap xmlns:x="urn:x"><y:Flag xmlns:y="urn:y"/></x:wrap><issue>'), {
        httpStatus: 404,
      }),
      'usable',
      'a Flag of another namespace is no FHIR Flag',
    );
  });
});

describe('safety core: an indicator is never read past an outcome it does not read', () => {
  test('SMSP-VAL-004 an indicator beside an entry holding NO_RECORD_FOUND, or a second MessageHeader, and a Basic is refused', () => {
    assert.equal(
      reason(withEntry(FOUND, `<resource>${outcome('error', coding('NO_RECORD_FOUND'))}<Basic/></resource>`)),
      ENTRY,
    );
    assert.equal(reason(withEntry(FOUND, `<resource>${HEADER}<Basic/></resource>`)), ENTRY);
  });
  test('SMSP-VAL-004 an indicator with an OperationOutcome, a MessageHeader or another Flag contained anywhere is refused', () => {
    assert.equal(
      reason(containedIn(FOUND, 'Flag', outcome('error', coding('NO_RECORD_FOUND')))),
      UNREAD,
      'an error contained in the Flag',
    );
    assert.equal(
      reason(containedIn(FOUND, 'Flag', outcome('information'))),
      UNREAD,
      'even a note: the core reads outcomes only as entries',
    );
    assert.equal(reason(containedIn(FOUND, 'Flag', HEADER)), UNREAD, 'a second MessageHeader');
    assert.equal(
      reason(
        containedIn(FOUND, 'MessageHeader', FLAG.replace('<status value="active"/>', '<status value="inactive"/>')),
      ),
      UNREAD,
      'a second Flag',
    );
    assert.equal(reason(containedIn(FOUND, 'Patient', outcome('error'))), UNREAD, 'nested in the contained Patient');
  });
  test('SMSP-VAL-004 what the core has no reason to read stays harmless: a Basic entry, a Basic contained, a foreign Flag beside the resource', () => {
    assert.equal(reason(withEntry(FOUND, '<resource><Basic/></resource>')), 'usable');
    assert.equal(reason(containedIn(FOUND, 'Flag', '<Basic><id value="b1"/></Basic>')), 'usable');
    assert.equal(
      reason(FOUND.replace('<resource><Flag>', '<resource><x:Flag xmlns:x="urn:x"/><Flag>')),
      'usable',
      'a foreign element is not FHIR, as elsewhere in the core',
    );
  });
});

describe('safety core: Spine contradicting itself', () => {
  const beside = (oo: string) => withEntry(FOUND, `<resource>${oo}</resource>`);
  test("SMSP-VAL-004 SMSP-ERR-004 an indicator beside a warning or a note carrying Spine's own error code is refused", () => {
    assert.equal(reason(beside(outcome('warning', coding('NO_RECORD_FOUND')))), CONTRADICTS);
    assert.equal(reason(beside(outcome('information', coding('PATIENT_OVER_18')))), CONTRADICTS);
    assert.equal(
      reason(beside(outcome('information', coding('NOT_A_SPINE_CODE')))),
      CONTRADICTS,
      "a code in Spine's system we do not know",
    );
    assert.equal(
      reason(
        beside(outcome('warning', coding('NO_RECORD_FOUND', 'HTTP://FHIR.NHS.NET/ValueSet/spine-response-code-2-0/'))),
      ),
      CONTRADICTS,
      'the same system in capitals (RFC 3986)',
    );
    assert.equal(
      reason(beside(outcome('warning', coding('X', 'https://example.org/codes') + coding('NO_RECORD_FOUND')))),
      CONTRADICTS,
      'beside a coding of another system',
    );
    assert.equal(reason(beside(outcome('error', coding('NO_RECORD_FOUND')))), CONTRADICTS, 'an error issue too');
  });
  test("SMSP-VAL-004 a note with no Spine error code (none, SUCCESS, another system's) beside the indicator is read past and reported", () => {
    const ignored = ['OperationOutcome informational OperationOutcome beside the indicator ignored'];
    for (const oo of [
      outcome('information'),
      outcome('warning', coding('SUCCESS')),
      outcome('information', coding('NO_RECORD_FOUND', 'https://example.org/codes')),
    ]) {
      const v = verdict(beside(oo));
      assert.ok(v.usable && v.outcome.kind === 'indicator', v.usable ? oo : v.reason);
      assert.deepEqual(
        v.deviations.map((d) => `${d.path} ${d.message}`),
        ignored,
      );
    }
  });
});

describe('safety core: fractions of a second', () => {
  // DSTU2's instant and dateTime: `(\.[0-9]+)?`, no bound on the digits.
  test("SMSP-VAL-004 Spine's timestamp and the assessment with ten or more fraction digits (DSTU2 bounds none) are read, not refused", () => {
    const ts = '2015-07-04T10:10:15.1234567891+00:00';
    const v = verdict(
      withValue(
        withValue(FOUND, 'MessageHeader.timestamp', ts),
        'Flag.period.start',
        '2015-02-04T10:00:00.12345678901234Z',
      ),
    );
    assert.ok(v.usable && v.outcome.kind === 'indicator', v.usable ? '' : v.reason);
    assert.deepEqual(
      [v.timestamp, v.outcome.assessmentDate, v.outcome.assessmentDay, v.deviations],
      [ts, '2015-02-04T10:00:00.12345678901234Z', '2015-02-04', []],
    );
    assert.equal(
      reason(FOUND.replace('</period>', '<end value="2015-07-04T10:10:15.9999999999+00:00"/></period>')),
      'usable',
      'a period end with ten digits, after the timestamp',
    );
    assert.equal(
      reason(withValue(FOUND, 'MessageHeader.timestamp', '2015-07-04T10:10:15.+00:00')),
      'timestamp is not a real instant',
      'a point with no digit is no fraction',
    );
  });
});

describe('safety core: an element read as one and written twice is never read as absent', () => {
  const DSTU2 = 'http://fhir.nhs.net/Id/nhs-number';
  /** An identifier of another child (9990000026) whose system is written `systems` times. */
  const otherChild = (systems: number) =>
    `<identifier>${`<system value="${DSTU2}"/>`.repeat(systems)}<value value="9990000026"/></identifier>`;
  const ours = `<identifier><system value="${DSTU2}"/><value value="1234567890"/></identifier>`;
  test("SMSP-VAL-004 another child's NHS number under a system written twice is refused, on a Patient entry or on the Flag's own Patient", () => {
    const entry = (identifiers: string) =>
      withEntry(FOUND, `<resource><Patient><id value="p2"/>${identifiers}</Patient></resource>`);
    assert.equal(
      reason(entry(ours + otherChild(1))),
      'answer carries a patient other than the one asked about',
      'the control: written once, the other child is seen',
    );
    assert.equal(reason(entry(ours + otherChild(2))), REPEATED);
    const own = (identifier: string) =>
      FOUND.replace('</identifier></Patient>', `</identifier>${identifier}</Patient>`);
    assert.equal(reason(own(otherChild(1))), 'indicator is for another patient', 'the control');
    assert.equal(reason(own(otherChild(2))), REPEATED);
  });
  test("SMSP-VAL-004 SMSP-ERR-004 Spine's code in a warning beside the indicator, its code, system or details written twice, is refused", () => {
    const beside = (details: string) =>
      withEntry(
        FOUND,
        `<resource><OperationOutcome><id value="oo2"/><issue><severity value="warning"/><code value="not-found"/>${details}</issue></OperationOutcome></resource>`,
      );
    const twice = (el: string) =>
      `<details><coding><system value="${SPINE_CODES}"/>${el}<code value="NO_RECORD_FOUND"/></coding></details>`;
    assert.equal(
      reason(beside(`<details>${coding('NO_RECORD_FOUND')}</details>`)),
      CONTRADICTS,
      "the control: written once, Spine's code is seen",
    );
    assert.equal(reason(beside(twice('<code value="NO_RECORD_FOUND"/>'))), REPEATED, 'code twice');
    assert.equal(reason(beside(twice(`<system value="${SPINE_CODES}"/>`))), REPEATED, 'system twice');
    assert.equal(
      reason(beside(`<details>${coding('NO_RECORD_FOUND')}</details>`.repeat(2))),
      REPEATED,
      'details twice',
    );
  });
  test("SMSP-VAL-004 a Parameters NHSNumber written both as valueString (ours) and valueIdentifier (another child's, no system) is refused", () => {
    const parameter = (value: string) =>
      withEntry(
        FOUND,
        `<resource><Parameters><id value="params-1"/><parameter><name value="NHSNumber"/>${value}</parameter></Parameters></resource>`,
      );
    assert.equal(
      reason(parameter('<valueIdentifier><value value="9990000026"/></valueIdentifier>')),
      'answer carries a patient other than the one asked about',
      'the control: the other child alone is seen',
    );
    assert.equal(
      reason(
        parameter('<valueString value="1234567890"/><valueIdentifier><value value="9990000026"/></valueIdentifier>'),
      ),
      REPEATED,
    );
  });
  test("SMSP-VAL-004 a Flag period end written twice, ended, is refused with Spine's message id kept", () => {
    const ended = withChild(FOUND, 'Flag.period', ['end', { value: '2015-07-03' }]);
    assert.equal(reason(ended), 'indicator period has ended', 'the control');
    const v = verdict(duplicated(ended, 'Flag.period.end'));
    assert.deepEqual(v, { usable: false, spineMessageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58879', reason: REPEATED });
  });
  test('SMSP-VAL-004 every element the core reads as one (max 1 in the profiles) is refused when written twice; a second coding, identifier, data or issue is read with the first', () => {
    const indicatorPaths = [
      'MessageHeader.id',
      'MessageHeader.timestamp',
      'MessageHeader.event',
      'MessageHeader.event.code',
      'MessageHeader.response',
      'MessageHeader.response.identifier',
      'MessageHeader.response.code',
      'MessageHeader.source',
      'MessageHeader.source.endpoint',
      // MessageHeader.destination twice is two destinations, ours among them: read (review 18f F6).
      'MessageHeader.destination.endpoint',
      'MessageHeader.data.reference',
      'Flag.id',
      'Flag.status',
      'Flag.period',
      'Flag.period.start',
      'Flag.subject',
      'Flag.subject.reference',
      'Flag.code',
      'Flag.code.coding.system',
      'Flag.code.coding.code',
      'Patient.id',
      'Patient.identifier.system',
      'Patient.identifier.value',
    ];
    for (const path of indicatorPaths) assert.equal(reason(duplicated(FOUND, path)), REPEATED, path);
    for (const path of [
      'OperationOutcome.issue.details',
      'OperationOutcome.issue.details.coding.system',
      'OperationOutcome.issue.details.coding.code',
    ]) {
      assert.equal(reason(duplicated(NONE, path), { httpStatus: 404 }), REPEATED, path);
    }
    // A note's severity is read only beside an indicator, to tell a note from an error.
    assert.equal(
      reason(
        duplicated(
          withEntry(FOUND, `<resource>${outcome('information')}</resource>`),
          'OperationOutcome.issue.severity',
        ),
      ),
      REPEATED,
      'OperationOutcome.issue.severity',
    );
    // What the profiles allow more than once is all read: a second identical one is the same answer.
    for (const path of ['Flag.code.coding', 'Patient.identifier', 'MessageHeader.data'])
      assert.equal(reason(duplicated(FOUND, path)), 'usable', path);
    for (const path of ['OperationOutcome.issue', 'OperationOutcome.issue.details.coding']) {
      const v = verdict(duplicated(NONE, path), { httpStatus: 404 });
      assert.deepEqual(v.usable && v.outcome, { kind: 'error', code: 'NO_RECORD_FOUND' }, path);
    }
  });
});

describe('safety core: a modifier on an OperationOutcome or a Patient is never read past', () => {
  const MODIFIER =
    '<modifierExtension url="https://example.org/StructureDefinition/entered-in-error"><valueBoolean value="true"/></modifierExtension>';
  const RULES = '<implicitRules value="https://example.org/rules"/>';
  const OUTCOME_MODIFIED = 'outcome carries a modifier extension or implicit rules';
  const PATIENT_MODIFIED = 'a patient carries a modifier extension or implicit rules';
  /** `inner` placed in the first resource named `host`, after its id and meta (where DSTU2 puts implicitRules and modifierExtension). */
  const into = (xml: string, host: string, inner: string) =>
    xml.replace(new RegExp(`(<${host}><id value="[^"]*"/>(<meta>.*?</meta>)?)`), `$1${inner}`);
  const ourPatient = (inner: string) =>
    `<resource><Patient><id value="p2"/>${inner}<identifier><system value="http://fhir.nhs.net/Id/nhs-number"/><value value="1234567890"/></identifier></Patient></resource>`;
  test('SMSP-VAL-004 NO_RECORD_FOUND, or a note beside the indicator, carrying a modifier extension or implicit rules is refused', () => {
    assert.equal(reason(into(NONE, 'OperationOutcome', MODIFIER), { httpStatus: 404 }), OUTCOME_MODIFIED);
    assert.equal(reason(into(NONE, 'OperationOutcome', RULES), { httpStatus: 404 }), OUTCOME_MODIFIED);
    assert.equal(
      reason(NONE.replace('<issue>', `<issue>${MODIFIER}`), { httpStatus: 404 }),
      OUTCOME_MODIFIED,
      'on the issue',
    );
    assert.equal(
      reason(withEntry(FOUND, `<resource>${into(outcome('information'), 'OperationOutcome', MODIFIER)}</resource>`)),
      OUTCOME_MODIFIED,
      'a note beside the indicator',
    );
  });
  test('SMSP-VAL-004 a Patient entry of our child carrying a modifier extension or implicit rules is refused beside an indicator and beside NO_RECORD_FOUND; a plain extension is read past', () => {
    assert.equal(
      reason(withEntry(FOUND, ourPatient(''))),
      'usable',
      "the control: our child's Patient entry alone is harmless",
    );
    assert.equal(reason(withEntry(FOUND, ourPatient(MODIFIER))), PATIENT_MODIFIED);
    assert.equal(reason(withEntry(NONE, ourPatient(RULES)), { httpStatus: 404 }), PATIENT_MODIFIED);
    // A plain extension may be ignored, on the outcome or a Patient entry.
    const extension = '<extension url="https://example.org/note"><valueString value="x"/></extension>';
    const none = verdict(into(NONE, 'OperationOutcome', extension), { httpStatus: 404 });
    assert.deepEqual(
      none.usable && none.outcome,
      { kind: 'error', code: 'NO_RECORD_FOUND' },
      none.usable ? '' : none.reason,
    );
    assert.equal(reason(withEntry(FOUND, ourPatient(extension))), 'usable');
  });
});

/** As Spine's client reads an answer: namespaces near FHIR's read as FHIR's (client.ts). */
const read = (xml: string, over: Partial<AnswerExpectation> = {}) => {
  const r = parseXml(xml, { nearFhir: true });
  assert.ok(r.ok, 'fixture parses');
  const v = checkAnswer(r.value, { ...EXPECT, ...over });
  return v.usable ? 'usable' : v.reason;
};

describe("safety core: a Flag in FHIR's namespace misspelt is a Flag Spine sent (issue 18 review F5)", () => {
  for (const ns of ['http://hl7.org/fhir/', 'https://hl7.org/fhir']) {
    test(`SMSP-VAL-004 NO_RECORD_FOUND beside a Flag whose entry is in ${ns} is ambiguous, refused; the indicator itself in ${ns} is usable`, () => {
      const near = NONE.replace('</Bundle>', `<entry xmlns="${ns}"><resource>${FLAG}</resource></entry></Bundle>`);
      assert.equal(
        reason(near, { httpStatus: 404 }),
        'FGM risk code beside an error outcome',
        'read by the exact namespace it is no FHIR Flag, but its FGM risk code is still seen',
      );
      assert.equal(read(near, { httpStatus: 404 }), CONTRADICTS);
      const contained = containedIn(NONE, 'OperationOutcome', FLAG.replace('<Flag>', `<Flag xmlns="${ns}">`));
      assert.equal(read(contained, { httpStatus: 404 }), UNREAD);
      assert.equal(read(FOUND.replace('<Bundle>', `<Bundle xmlns="${ns}">`)), 'usable');
    });
  }
});
