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
const nhs = (value: string, system = DSTU2) =>
  `<identifier><system value="${system}"/><value value="${value}"/></identifier>`;
const patient = (inner: string) => `<Patient><id value="p2"/>${inner}</Patient>`;
/** The answer with one more Bundle entry holding `resource`. */
const withEntry = (xml: string, resource: string) =>
  xml.replace('</Bundle>', `<entry><resource>${resource}</resource></entry></Bundle>`);
/** The indicator with a second Patient contained in the Flag, which its subject does not reference. */
const withContained = (resource: string) =>
  FOUND.replace('</contained>', `</contained><contained>${resource}</contained>`);

describe('safety core: every Patient in the answer is the child asked about', () => {
  test('SMSP-VAL-004 an unreferenced Patient entry with another NHS number is refused, under either system and in any spelling of it', () => {
    assert.equal(reason(withEntry(FOUND, patient(nhs('9990000026')))), ANOTHER);
    assert.equal(reason(withEntry(FOUND, patient(nhs('9990000026', 'https://fhir.nhs.uk/Id/nhs-number')))), ANOTHER);
    assert.equal(
      reason(withEntry(FOUND, patient(nhs('9990000026', 'HTTP://FHIR.NHS.NET/Id/nhs-number/')))),
      ANOTHER,
      'RFC 3986: the same system',
    );
    // RFC 3986 §6.2.2–6.2.3 forms of the same system (a default port, %2D, a dot-segment): hostile review of issue 18.
    for (const system of [
      'http://fhir.nhs.net:80/Id/nhs-number',
      'http://fhir.nhs.net/Id/nhs%2Dnumber',
      'http://fhir.nhs.net/Id/./nhs-number',
    ])
      assert.equal(
        reason(
          FOUND.replace(
            '</identifier></Patient></contained>',
            `</identifier>${nhs('9990000026', system)}</Patient></contained>`,
          ),
        ),
        'indicator is for another patient',
        `the Flag's own Patient names another child under ${system}`,
      );
    assert.equal(reason(withEntry(FOUND, patient(nhs('999 000 0026')))), ANOTHER);
    assert.equal(
      reason(withEntry(FOUND, patient(nhs('1234567890') + nhs('9990000026')))),
      ANOTHER,
      'ours beside another is still another',
    );
  });
  test('SMSP-VAL-004 a Patient not named by any NHS number may be another child: refused', () => {
    assert.equal(reason(withEntry(FOUND, patient(nhs('local-77', 'https://example.org/mrn')))), ANOTHER);
    assert.equal(reason(withEntry(FOUND, patient(''))), ANOTHER);
    assert.equal(
      reason(withEntry(FOUND, patient(`<identifier><system value="${DSTU2}"/></identifier>`))),
      ANOTHER,
      'an NHS-number identifier without a value',
    );
  });
  test('SMSP-VAL-004 another child contained in the Flag beside ours, or nested inside a Patient of ours, is refused', () => {
    assert.equal(reason(withContained(patient(nhs('9990000026')))), ANOTHER);
    assert.equal(
      reason(withEntry(FOUND, patient(`${nhs('1234567890')}<contained>${patient(nhs('9990000026'))}</contained>`))),
      ANOTHER,
    );
  });
  test('SMSP-VAL-004 a second Patient named by our NHS number (spaced, either system) is the same child: usable', () => {
    assert.equal(reason(withEntry(FOUND, patient(nhs('123 456 7890')))), 'usable');
    assert.equal(reason(withContained(patient(nhs('1234567890', 'https://fhir.nhs.uk/Id/nhs-number')))), 'usable');
    const padded = verdict(withEntry(FOUND, patient(nhs('1234567890', ` ${DSTU2} `))));
    assert.deepEqual(
      padded.usable && padded.deviations,
      [{ path: 'Patient.identifier.system', message: 'whitespace around the value removed' }],
      'read trimmed, and said so',
    );
    // Only FHIR elements are resources: a foreign element of that name is no Patient.
    assert.equal(reason(FOUND.replace('<resource><Flag>', '<resource><x:Patient xmlns:x="urn:x"/><Flag>')), 'usable');
  });
  test('SMSP-ERR-004 an error answer carrying another child is refused (its code may be about that child); carrying ours it keeps its code', () => {
    assert.equal(reason(withEntry(ERROR, patient(nhs('9990000026'))), { httpStatus: 400 }), ANOTHER);
    const nrf = ERROR.replace('INVALID_NHS_NUMBER', 'NO_RECORD_FOUND');
    assert.equal(
      reason(withEntry(nrf, patient(nhs('9990000026'))), { httpStatus: 404 }),
      ANOTHER,
      'a not-found about another child would hide ours',
    );
    assert.equal(reason(withEntry(ERROR, patient(nhs('1234567890'))), { httpStatus: 400 }), 'usable');
  });
});

const NRF = ERROR.replace('INVALID_NHS_NUMBER', 'NO_RECORD_FOUND');
const OID = 'urn:oid:2.16.840.1.113883.2.1.4.1';
/** A Parameters entry as the request writes it, naming `value` by NHSNumber (`valueString`, or `valueIdentifier` under `system`). */
const parameters = (value: string, system?: string) =>
  `<Parameters><id value="params-1"/><parameter><name value="RiskIndicator"/><valueString value="FGM"/></parameter><parameter><name value="NHSNumber"/>${
    system === undefined
      ? `<valueString value="${value}"/>`
      : `<valueIdentifier><system value="${system}"/><value value="${value}"/></valueIdentifier>`
  }</parameter></Parameters>`;

describe('safety core: an NHS number anywhere in the answer is the child asked about (issue 18, third hostile review)', () => {
  test('SMSP-VAL-004 a Parameters entry naming another child is refused beside NO_RECORD_FOUND and beside an indicator, in either form and under any NHS-number system', () => {
    assert.equal(
      reason(withEntry(NRF, parameters('9990000026', DSTU2)), { httpStatus: 404 }),
      ANOTHER,
      'never "no record" for a question about another child',
    );
    assert.equal(
      reason(withEntry(NRF, parameters('9990000026')), { httpStatus: 404 }),
      ANOTHER,
      "the request's own valueString form",
    );
    assert.equal(
      reason(withEntry(FOUND, parameters('9990000026', 'https://fhir.nhs.uk/Id/nhs-number'))),
      ANOTHER,
      'never shown as SUCCESS',
    );
    assert.equal(reason(withEntry(FOUND, parameters('9990000026', OID))), ANOTHER);
    assert.equal(
      reason(withEntry(FOUND, parameters('9990000026', 'https://example.org/not-an-nhs-number-system'))),
      ANOTHER,
      'NHSNumber names an NHS number whatever the system',
    );
  });
  test("SMSP-VAL-004 another child's NHS number under the other scheme of either name (http://fhir.nhs.uk, https://fhir.nhs.net) in a RelatedPerson is another patient, beside an indicator or a no-record (issue 18 review F9)", () => {
    for (const system of [
      'http://fhir.nhs.uk/Id/nhs-number',
      'https://fhir.nhs.net/Id/nhs-number',
      'HTTP://FHIR.NHS.UK/Id/nhs-number/',
    ]) {
      const related = `<RelatedPerson><id value="r1"/>${nhs('9990000026', system)}</RelatedPerson>`;
      assert.equal(reason(withEntry(FOUND, related)), ANOTHER, system);
      assert.equal(reason(withEntry(NRF, related), { httpStatus: 404 }), ANOTHER, system);
    }
  });
  test('SMSP-VAL-004 our child named only under http://fhir.nhs.uk/Id/nhs-number is ours, reported', () => {
    const v = verdict(FOUND.replace(DSTU2, 'http://fhir.nhs.uk/Id/nhs-number'));
    assert.ok(v.usable, v.usable ? '' : v.reason);
    assert.deepEqual(
      v.deviations.map((d) => `${d.path} ${d.message}`),
      ['Patient.identifier.system NHS number only under http://fhir.nhs.uk/Id/nhs-number'],
    );
  });
  test('SMSP-VAL-004 any resource holding another NHS number (RelatedPerson, Person, an extension) is refused; an NHS-number identifier without a value names nobody known', () => {
    assert.equal(
      reason(
        withEntry(
          NRF,
          `<RelatedPerson><id value="r1"/>${nhs('9990000026', 'https://fhir.nhs.uk/Id/nhs-number')}</RelatedPerson>`,
        ),
        { httpStatus: 404 },
      ),
      ANOTHER,
    );
    assert.equal(reason(withEntry(FOUND, `<Person><id value="r1"/>${nhs('9990000026')}</Person>`)), ANOTHER);
    const extension = `<extension url="https://example.org/sibling"><valueIdentifier><system value="${DSTU2}"/><value value="9990000026"/></valueIdentifier></extension>`;
    assert.equal(reason(FOUND.replace('<status value="active"/>', `${extension}<status value="active"/>`)), ANOTHER);
    assert.equal(
      reason(withEntry(FOUND, `<Person><id value="r1"/><identifier><system value="${DSTU2}"/></identifier></Person>`)),
      ANOTHER,
    );
    assert.equal(
      reason(withEntry(FOUND, `<Person><id value="r1"/>${nhs('9990000026', 'https://example.org/mrn')}</Person>`)),
      'usable',
      'a number under another system is no NHS number',
    );
  });
  test("SMSP-VAL-004 a Parameters entry echoing our child's NHS number is harmless: the indicator is shown, no-record kept, the Parameters reported", () => {
    const found = verdict(withEntry(FOUND, parameters('1234567890', DSTU2)));
    assert.ok(found.usable && found.outcome.kind === 'indicator', 'shown');
    assert.ok(
      found.deviations.some((d) => d.path === 'Parameters'),
      JSON.stringify(found.deviations),
    );
    const echoed = verdict(withEntry(NRF, parameters('123 456 7890')), { httpStatus: 404 });
    assert.deepEqual(echoed.usable && echoed.outcome, { kind: 'error', code: 'NO_RECORD_FOUND' });
  });
  test('SMSP-VAL-004 a Parameters entry echoing another risk indicator than FGM is refused beside NO_RECORD_FOUND and beside an indicator; FGM echoed is harmless', () => {
    const OTHER = 'answer echoes a risk indicator other than FGM';
    const cpis = parameters('1234567890').replace('<valueString value="FGM"/>', '<valueString value="CPIS"/>');
    assert.equal(
      reason(withEntry(NRF, cpis), { httpStatus: 404 }),
      OTHER,
      'a not-found about CPIS says nothing of FGM',
    );
    assert.equal(reason(withEntry(FOUND, cpis)), OTHER, 'never shown as SUCCESS');
    const bare = parameters('1234567890').replace('<valueString value="FGM"/>', '');
    assert.equal(reason(withEntry(NRF, bare), { httpStatus: 404 }), OTHER, 'an echo naming no indicator is not FGM');
    assert.equal(reason(withEntry(NRF, parameters('1234567890')), { httpStatus: 404 }), 'usable');
  });
  test('SMSP-VAL-004 the NHS-number OID names the NHS number: ours under it alone is shown (reported), another under it beside ours is refused', () => {
    const oid = verdict(FOUND.replace('http://fhir.nhs.net/Id/nhs-number', OID));
    assert.ok(oid.usable && oid.outcome.kind === 'indicator', oid.usable ? '' : oid.reason);
    assert.deepEqual(oid.deviations, [{ path: 'Patient.identifier.system', message: `NHS number only under ${OID}` }]);
    assert.ok(
      verdict(FOUND.replace('http://fhir.nhs.net/Id/nhs-number', 'URN:OID:2.16.840.1.113883.2.1.4.1')).usable,
      'URN namespace in any case',
    );
    const beside = FOUND.replace('</identifier></Patient>', `</identifier>${nhs('9990000026', OID)}</Patient>`);
    assert.equal(reason(beside), 'indicator is for another patient');
    assert.equal(reason(withEntry(FOUND, patient(nhs('9990000026', OID)))), ANOTHER);
    assert.equal(reason(withEntry(NRF, patient(nhs('9990000026', OID))), { httpStatus: 404 }), ANOTHER);
  });
});

const PATIENT_ID = '20daadee-26e1-4d6a-9e6a-7f4af9b58877';
/** The indicator with its Patient moved out of the Flag into an entry (with `fullUrl`, if any), the subject naming it by `reference`. */
function subjectEntry(
  reference: string,
  fullUrl?: string,
  resource = /<Patient>.*<\/Patient>/s.exec(FOUND)![0],
  flagUrl?: string,
) {
  const flag = FOUND.replace(/<contained>.*<\/contained>/s, '').replace(
    `<reference value="#${PATIENT_ID}"/>`,
    `<reference value="${reference}"/>`,
  );
  const url = (u: string | undefined) => (u === undefined ? '' : `<fullUrl value="${u}"/>`);
  return withEntry(
    flagUrl === undefined ? flag : flag.replace('<entry><resource><Flag>', `<entry>${url(flagUrl)}<resource><Flag>`),
    resource,
  ).replace(`<entry><resource>${resource}`, `<entry>${url(fullUrl)}<resource>${resource}`);
}

describe('safety core: the Flag subject resolved within the Bundle (DSTU2 Bundle reference resolution)', () => {
  test('SMSP-VAL-004 a Flag subject naming our Patient entry by urn:uuid fullUrl, RESTful fullUrl or Type/id is shown (reported)', () => {
    for (const xml of [
      subjectEntry(`urn:uuid:${PATIENT_ID}`, `urn:uuid:${PATIENT_ID}`),
      subjectEntry(`urn:uuid:${PATIENT_ID.toUpperCase()}`, `urn:uuid:${PATIENT_ID}`),
      subjectEntry(`Patient/${PATIENT_ID}`),
      subjectEntry(`Patient/${PATIENT_ID}`, `urn:uuid:${PATIENT_ID}`),
      subjectEntry('https://spine.example/fhir/Patient/p1', 'https://spine.example/fhir/Patient/p1'),
      subjectEntry(
        'Patient/p1',
        'https://spine.example/fhir/Patient/p1',
        undefined,
        'https://spine.example/fhir/Flag/f1',
      ),
    ]) {
      const v = verdict(xml);
      assert.ok(v.usable && v.outcome.kind === 'indicator', v.usable ? '' : `${v.reason}: ${xml}`);
      assert.ok(
        v.deviations.some((d) => d.path === 'Flag.subject.reference'),
        'reported',
      );
    }
  });
  test('SMSP-VAL-004 a Flag subject resolving to another child, to a non-Patient, to nothing or to two entries is refused', () => {
    const other = patient(nhs('9990000026')).replace('<id value="p2"/>', `<id value="${PATIENT_ID}"/>`);
    assert.equal(reason(subjectEntry(`Patient/${PATIENT_ID}`, undefined, other)), 'indicator is for another patient');
    assert.equal(
      reason(subjectEntry(`urn:uuid:${PATIENT_ID}`, `urn:uuid:${PATIENT_ID}`, other)),
      'indicator is for another patient',
    );
    const basic = `<Basic><id value="${PATIENT_ID}"/>${nhs('1234567890')}</Basic>`;
    assert.equal(
      reason(subjectEntry(`urn:uuid:${PATIENT_ID}`, `urn:uuid:${PATIENT_ID}`, basic)),
      'indicator names no patient by NHS number',
    );
    assert.equal(
      reason(subjectEntry(`Basic/${PATIENT_ID}`, undefined, basic)),
      'indicator names no patient by NHS number',
    );
    assert.equal(
      reason(subjectEntry('urn:uuid:00000000-0000-4000-8000-000000000000', `urn:uuid:${PATIENT_ID}`)),
      'indicator names no patient by NHS number',
      'no entry has that fullUrl',
    );
    assert.equal(
      reason(subjectEntry(`Patient/${PATIENT_ID}`, 'https://other.example/fhir/Patient/x')),
      'indicator names no patient by NHS number',
      'a RESTful fullUrl says where the entry is',
    );
    assert.equal(
      reason(
        subjectEntry(
          'Patient/p1',
          'https://other.example/fhir/Patient/p1',
          undefined,
          'https://spine.example/fhir/Flag/f1',
        ),
      ),
      'indicator names no patient by NHS number',
      'another base',
    );
    const twice = withEntry(subjectEntry(`Patient/${PATIENT_ID}`), /<Patient>.*<\/Patient>/s.exec(FOUND)![0]);
    assert.equal(
      reason(twice),
      'indicator names no patient by NHS number',
      'two entries answer: which is meant is a guess',
    );
    const modified = /<Patient>.*<\/Patient>/s
      .exec(FOUND)![0]
      .replace(
        '<identifier>',
        '<modifierExtension url="https://example.org/x"><valueBoolean value="true"/></modifierExtension><identifier>',
      );
    assert.equal(
      reason(subjectEntry(`Patient/${PATIENT_ID}`, undefined, modified)),
      'indicator carries a modifier extension or implicit rules',
    );
  });
});

const RISK = 'http://fhir.nhs.net/ValueSet/risk-indicator-type-1-0';
const fgmCode = (system = RISK) => `<code><coding><system value="${system}"/><code value="FGM"/></coding></code>`;

describe('safety core: what contradicts "no record", and Spine codes under every spelling of its systems', () => {
  test('SMSP-VAL-004 an FGM risk code on a Basic or a Condition (any spelling of the system) beside NO_RECORD_FOUND is refused', () => {
    const refused = 'FGM risk code beside an error outcome';
    assert.equal(reason(withEntry(NRF, `<Basic><id value="b1"/>${fgmCode()}</Basic>`), { httpStatus: 404 }), refused);
    assert.equal(
      reason(
        withEntry(
          NRF,
          `<Condition><id value="c1"/>${fgmCode('HTTP://FHIR.NHS.NET/ValueSet/risk-indicator-type-1-0/')}</Condition>`,
        ),
        { httpStatus: 404 },
      ),
      refused,
    );
    assert.equal(
      reason(
        withEntry(
          NRF,
          `<Basic><id value="b1"/><code><coding><system value="${RISK}"/><code value="CPIS"/></coding></code></Basic>`,
        ),
        { httpStatus: 404 },
      ),
      'usable',
      'another risk is not FGM',
    );
  });
  test("SMSP-VAL-004 Spine's error code under the 1-0 system or the fhir.nhs.uk value-set URL beside a Flag is refused", () => {
    const note = (system: string, code: string) =>
      withEntry(
        FOUND,
        `<OperationOutcome><id value="o2"/><issue><severity value="warning"/><code value="not-found"/><details><coding><system value="${system}"/><code value="${code}"/></coding></details></issue></OperationOutcome>`,
      );
    const refused = 'indicator beside a Spine error code';
    assert.equal(reason(note('http://fhir.nhs.net/ValueSet/spine-response-code-1-0', 'FGM-0001')), refused);
    assert.equal(reason(note('http://fhir.nhs.net/ValueSet/spine-response-code-1-0', 'NO_RECORD_FOUND')), refused);
    assert.equal(reason(note('https://fhir.nhs.uk/ValueSet/spine-response-code-2-0', 'NO_RECORD_FOUND')), refused);
    assert.equal(reason(note('HTTPS://FHIR.NHS.UK/ValueSet/spine-response-code-2-0/', 'NO_RECORD_FOUND')), refused);
  });
  test('SMSP-ERR-004 NO_RECORD_FOUND under the fhir.nhs.uk value-set URL keeps its code (reported); a 1-0 code is not read as an answer', () => {
    const uk = verdict(
      NRF.replace(
        'http://fhir.nhs.net/ValueSet/spine-response-code-2-0',
        'https://fhir.nhs.uk/ValueSet/spine-response-code-2-0',
      ),
      { httpStatus: 404 },
    );
    assert.deepEqual(uk.usable && uk.outcome, { kind: 'error', code: 'NO_RECORD_FOUND' });
    assert.ok(uk.usable && uk.deviations.some((d) => d.path === 'OperationOutcome.issue.details.coding.system'));
    assert.equal(
      reason(
        NRF.replace(
          'http://fhir.nhs.net/ValueSet/spine-response-code-2-0',
          'http://fhir.nhs.net/ValueSet/spine-response-code-1-0',
        ).replace('NO_RECORD_FOUND', 'FGM-0001'),
        { httpStatus: 404 },
      ),
      'unknown outcome code',
    );
    const both = NRF.replace(
      '</coding>',
      '</coding><coding><system value="http://fhir.nhs.net/ValueSet/spine-response-code-1-0"/><code value="FGM-0002"/></coding>',
    );
    assert.equal(
      reason(both, { httpStatus: 404 }),
      'outcome carries several Spine codes',
      'a 1-0 code beside the 2-0 one is Spine saying two things',
    );
  });
  test('SMSP-VAL-004 the risk-indicator system in capitals or with a trailing slash is the same system: shown, and reported', () => {
    const v = verdict(FOUND.replace(RISK, 'HTTP://FHIR.NHS.NET/ValueSet/risk-indicator-type-1-0/'));
    assert.ok(v.usable && v.outcome.kind === 'indicator', v.usable ? '' : v.reason);
    assert.deepEqual(v.deviations, [
      {
        path: 'Flag.code.coding.system',
        message: 'risk-indicator system written in another case or with a trailing slash',
      },
    ]);
  });
});

describe('safety core: modifier elements the profiles mark isModifier (Spine-RIS-Patient-1-0 snapshot)', () => {
  const UNREAD = 'message carries a modifier element the gateway cannot read past';
  /** The indicator's Patient with `inner` after its identifier. */
  const onPatient = (inner: string) => FOUND.replace('</identifier></Patient>', `</identifier>${inner}</Patient>`);
  test('SMSP-VAL-004 SMSP-FGMRI-001 a Patient that is inactive, deceased, an animal or linked (replaced) is refused, beside an indicator and beside NO_RECORD_FOUND', () => {
    for (const inner of [
      '<active value="false"/>',
      '<deceasedBoolean value="true"/>',
      '<deceasedDateTime value="2020-01-01"/>',
      '<animal><species><text value="dog"/></species></animal>',
      '<link><other><reference value="Patient/p9"/></other><type value="replace"/></link>',
    ]) {
      assert.equal(reason(onPatient(inner)), UNREAD, inner);
      assert.equal(
        reason(withEntry(NRF, patient(`${nhs('1234567890')}${inner}`)), { httpStatus: 404 }),
        UNREAD,
        `no record beside ${inner}`,
      );
    }
  });
  test("SMSP-VAL-004 our child's NHS number marked old, temp or secondary is refused; official or usual is shown", () => {
    const used = (use: string) => FOUND.replace('<identifier><system', `<identifier><use value="${use}"/><system`);
    for (const use of ['old', 'temp', 'secondary'])
      assert.equal(reason(used(use)), "a patient's NHS number is marked old, temporary or secondary", use);
    for (const use of ['official', 'usual']) assert.equal(reason(used(use)), 'usable', use);
  });
  test('SMSP-VAL-004 a modifier on an element the core never reads (a name marked old) is read past: the indicator is shown', () => {
    assert.equal(reason(onPatient('<name><use value="old"/><family value="X"/></name>')), 'usable');
  });
});

describe('safety core: the findings of the 18d hostile review', () => {
  const UK_RISK = 'https://fhir.nhs.uk/ValueSet/risk-indicator-type-1-0';
  const onPatient = (inner: string) => FOUND.replace('</identifier></Patient>', `</identifier>${inner}</Patient>`);
  test('SMSP-VAL-004 one rule for every system: the risk-indicator system under https://fhir.nhs.uk is the DSTU2 one', () => {
    const v = verdict(FOUND.replace(RISK, UK_RISK));
    assert.ok(v.usable && v.outcome.kind === 'indicator', v.usable ? '' : v.reason);
    assert.ok(v.deviations.some((d) => d.message === 'risk-indicator system under https://fhir.nhs.uk'));
    const cpis = `<coding><system value="${UK_RISK}"/><code value="CPIS"/></coding>`;
    assert.equal(
      reason(FOUND.replace('<code value="FGM"/></coding>', `<code value="FGM"/></coding>${cpis}`)),
      'indicator is not the FGM risk indicator',
    );
    assert.equal(
      reason(
        FOUND.replace(RISK, UK_RISK).replace('<code value="FGM"/></coding>', `<code value="FGM"/></coding>${cpis}`),
      ),
      'indicator is not the FGM risk indicator',
    );
    assert.equal(
      reason(withEntry(NRF, `<Basic><id value="b1"/>${fgmCode(UK_RISK)}</Basic>`), { httpStatus: 404 }),
      'FGM risk code beside an error outcome',
    );
    assert.equal(
      reason(
        withEntry(
          NRF,
          `<Basic><id value="b1"/>${fgmCode('HTTPS://FHIR.NHS.UK/ValueSet/risk-indicator-type-1-0/')}</Basic>`,
        ),
        {
          httpStatus: 404,
        },
      ),
      'FGM risk code beside an error outcome',
    );
  });
  test('SMSP-VAL-004 a Parameters echo in parameter.part at any depth is read like a top-level one', () => {
    const part = (name: string, value: string) => `<part><name value="${name}"/><valueString value="${value}"/></part>`;
    const params = (inner: string) =>
      `<Parameters><id value="q"/><parameter><name value="query"/>${inner}</parameter></Parameters>`;
    assert.equal(reason(withEntry(FOUND, params(part('NHSNumber', '9990000026')))), ANOTHER);
    assert.equal(
      reason(withEntry(FOUND, params(`<part><name value="deeper"/>${part('NHSNumber', '9990000026')}</part>`))),
      ANOTHER,
    );
    assert.equal(
      reason(withEntry(NRF, params(part('NHSNumber', '1234567890') + part('RiskIndicator', 'CPIS'))), {
        httpStatus: 404,
      }),
      'answer echoes a risk indicator other than FGM',
    );
    assert.equal(
      reason(withEntry(FOUND, params(part('NHSNumber', '1234567890') + part('RiskIndicator', 'FGM')))),
      'usable',
    );
  });
  test('SMSP-VAL-004 a modifier at the value that changes nothing (active true, the snapshot default; deceasedBoolean false) is read past and reported', () => {
    for (const [inner, path] of [
      ['<active value="true"/>', 'Patient.active'],
      ['<deceasedBoolean value="false"/>', 'Patient.deceased[x]'],
    ] as const) {
      const v = verdict(onPatient(inner));
      assert.ok(v.usable && v.outcome.kind === 'indicator', `${inner}: ${v.usable ? '' : v.reason}`);
      assert.ok(
        v.deviations.some((d) => d.path === path),
        `${inner} reported under ${path}`,
      );
      const n = verdict(withEntry(NRF, patient(`${nhs('1234567890')}${inner}`)), { httpStatus: 404 });
      assert.deepEqual(n.usable && n.outcome, { kind: 'error', code: 'NO_RECORD_FOUND' }, inner);
    }
    assert.equal(
      reason(onPatient('<deceasedDateTime value="false"/>')),
      'message carries a modifier element the gateway cannot read past',
    );
  });
  test('SMSP-VAL-004 DSTU2 bundle.html#references: a version-specific subject is matched without its version, then by meta.versionId', () => {
    const entry = (version: string) =>
      `<Patient><id value="p1"/>${version ? `<meta><versionId value="${version}"/></meta>` : ''}${nhs('1234567890')}</Patient>`;
    const flagRef = (ref: string, version: string, fullUrl?: string) => {
      const xml = FOUND.replace(/<contained>.*?<\/contained>/s, '').replace(
        /<subject><reference value="[^"]*"\/><\/subject>/,
        `<subject><reference value="${ref}"/></subject>`,
      );
      return fullUrl
        ? xml.replace(
            '</Bundle>',
            `<entry><fullUrl value="${fullUrl}"/><resource>${entry(version)}</resource></entry></Bundle>`,
          )
        : withEntry(xml, entry(version));
    };
    for (const [ref, version, fullUrl] of [
      ['Patient/p1/_history/1', '1'],
      ['Patient/p1/_history/1', ''],
      ['https://spine.example/fhir/Patient/p1/_history/2', '2', 'https://spine.example/fhir/Patient/p1'],
    ] as const) {
      const v = verdict(flagRef(ref, version, fullUrl));
      assert.ok(v.usable && v.outcome.kind === 'indicator', `${ref}: ${v.usable ? '' : v.reason}`);
      assert.ok(
        v.deviations.some((d) => d.message.startsWith('version-specific subject')),
        ref,
      );
    }
    assert.equal(
      reason(flagRef('Patient/p1/_history/1', '2')),
      'indicator subject names another version of its Patient',
    );
    assert.equal(
      reason(flagRef('https://spine.example/fhir/Patient/p1/_history/1', '2', 'https://spine.example/fhir/Patient/p1')),
      'indicator subject names another version of its Patient',
    );
  });
  test('SMSP-VAL-004 an error answer (NO_RECORD_FOUND, PATIENT_OVER_18, INVALID_NHS_NUMBER) whose MessageHeader.data names a resource the message does not carry is refused; naming its own outcome is read', () => {
    const data = (ref: string) =>
      NRF.replace('</MessageHeader>', `<data><reference value="${ref}"/></data></MessageHeader>`);
    assert.equal(
      reason(data('Flag/8cb73a48-090d-469a-a2b2-04f1e6b11ea2'), { httpStatus: 404 }),
      'no-record answer names a resource it does not carry',
    );
    // Spine's other "nothing to show" codes hide an indicator as surely (CDS Hooks shows no card for them).
    for (const code of ['PATIENT_OVER_18', 'INVALID_NHS_NUMBER'])
      assert.equal(
        reason(data('Flag/8cb73a48-090d-469a-a2b2-04f1e6b11ea2').replaceAll('NO_RECORD_FOUND', code), {
          httpStatus: 400,
          isKnownCode: () => true,
        }),
        'error answer names a resource it does not carry',
        code,
      );
    // Beside those, naming a Parameters the answer does not carry is read as naming our request's.
    const echoed = verdict(data('Parameters/params-1').replaceAll('NO_RECORD_FOUND', 'INVALID_NHS_NUMBER'), {
      httpStatus: 400,
    });
    assert.deepEqual(echoed.usable && echoed.outcome, { kind: 'error', code: 'INVALID_NHS_NUMBER' });
    const own = /<OperationOutcome><id value="([^"]+)"/.exec(NRF)![1]!;
    const v = verdict(data(`OperationOutcome/${own}`), { httpStatus: 404 });
    assert.deepEqual(v.usable && v.outcome, { kind: 'error', code: 'NO_RECORD_FOUND' });
  });
  test("SMSP-ERR-004 a 2-0 code and the 1-0 original code the spec's table maps it to are one outcome: the 2-0 code (reported)", () => {
    const withOriginal = (xml: string, code: string) =>
      xml.replace(
        '</coding>',
        `</coding><coding><system value="http://fhir.nhs.net/ValueSet/spine-response-code-1-0"/><code value="${code}"/></coding>`,
      );
    const v = verdict(withOriginal(NRF, 'FGM-0001'), { httpStatus: 404 });
    assert.deepEqual(v.usable && v.outcome, { kind: 'error', code: 'NO_RECORD_FOUND' });
    assert.ok(v.usable && v.deviations.some((d) => d.path === 'OperationOutcome.issue.details.coding'));
    const e = verdict(withOriginal(ERROR, 'FGM-0002'), { httpStatus: 400 });
    assert.deepEqual(e.usable && e.outcome, { kind: 'error', code: 'INVALID_NHS_NUMBER' });
    assert.equal(reason(withOriginal(NRF, 'FGM-0002'), { httpStatus: 404 }), 'outcome carries several Spine codes');
  });
});

describe('safety core: another child named in any spelling or in free text (conformance review atk18c F1)', () => {
  const TEXT = 'error answer text names another NHS number';
  /** The error answer with `diagnostics` after the issue's details, as DSTU2 orders them. */
  const diagnosing = (xml: string, text: string) =>
    xml.replace('</details>', `</details><diagnostics value="${text}"/>`);
  /** A Parameters entry echoing `value` under a parameter named `name`. */
  const echo = (name: string, value: string) =>
    `<Parameters><id value="params-1"/><parameter><name value="${name}"/><valueString value="${value}"/></parameter></Parameters>`;

  test('SMSP-VAL-004 SMSP-FGMRI-001 "no record" (or another nothing-to-show code) whose diagnostics name another child, however the number is written, is refused', () => {
    for (const written of ['9990000026', '999 000 0026', '999-000-0026'])
      assert.equal(
        reason(diagnosing(NRF, `No record found for NHS number ${written}`), { httpStatus: 404 }),
        TEXT,
        written,
      );
    assert.equal(reason(diagnosing(ERROR, 'NHS number 9990000026 is not valid'), { httpStatus: 400 }), TEXT);
  });
  test('SMSP-VAL-004 a CodeableConcept text or a coding display naming another child beside "no record" is refused', () => {
    assert.equal(
      reason(NRF.replace('</coding></details>', '</coding><text value="none for 9990000026"/></details>'), {
        httpStatus: 404,
      }),
      TEXT,
    );
    assert.equal(
      reason(NRF.replace('<display value="Invalid NHS Number"/>', '<display value="No record: 9990000026"/>'), {
        httpStatus: 404,
      }),
      TEXT,
    );
  });
  test('SMSP-FGMRI-001 text naming our child, ten digits failing modulus 11, or digits inside a longer number (an ASID) keeps "no record"', () => {
    for (const text of [
      'No record found for NHS number 1234567890',
      'reference 9990000027',
      'ASID 990101234567 answered',
      'id 19990000026',
    ])
      assert.equal(reason(diagnosing(NRF, text), { httpStatus: 404 }), 'usable', text);
  });
  test('SMSP-VAL-004 beside the indicator for our child a note naming another number takes nothing from it: shown, and reported', () => {
    const v = verdict(
      withEntry(
        FOUND,
        '<OperationOutcome><id value="information-1"/><issue><severity value="information"/><code value="informational"/><diagnostics value="sibling 9990000026 also checked"/></issue></OperationOutcome>',
      ),
    );
    assert.ok(v.usable, v.usable ? '' : v.reason);
    assert.ok(
      v.deviations.some(
        (d) =>
          d.path === 'OperationOutcome.issue.diagnostics' &&
          d.message === 'text names another NHS number beside the indicator',
      ),
    );
  });
  test('SMSP-VAL-004 SMSP-FGMRI-001 text naming another child is found wherever it sits, whatever answer was read before it (issue 22: one expression searches every value)', () => {
    // The first answer's match ends far into its text; the second's number sits early in the first value read.
    assert.equal(reason(diagnosing(NRF, `${'x'.repeat(300)} 9990000026`), { httpStatus: 404 }), TEXT);
    const early = NRF.replace('<meta>', `<meta><versionId value="9990000026 ${'x'.repeat(400)}"/>`);
    assert.equal(reason(early, { httpStatus: 404 }), TEXT);
  });
  test('SMSP-VAL-004 a Parameters echo named nhsNumber or NhsNumber (any case) with another child is refused beside "no record"; with ours it is read', () => {
    for (const name of ['nhsNumber', 'NhsNumber', 'nhsnumber'])
      assert.equal(reason(withEntry(NRF, echo(name, '9990000026')), { httpStatus: 404 }), ANOTHER, name);
    assert.equal(reason(withEntry(NRF, echo('nhsNumber', '1234567890')), { httpStatus: 404 }), 'usable');
  });
  test('SMSP-VAL-004 a Parameters echo named riskIndicator (any case) with another risk beside "no record" is refused', () => {
    assert.equal(
      reason(withEntry(NRF, echo('riskIndicator', 'CPIS')), { httpStatus: 404 }),
      'answer echoes a risk indicator other than FGM',
    );
  });

  test('SMSP-VAL-004 SMSP-FGMRI-001 "no record" naming another child in an issue location, an extension string, a reference, or with dots, slashes, dashes or any white space between the groups is refused (atk18d F1)', () => {
    const other = '9990000026';
    for (const [where, xml] of [
      ['issue location', NRF.replace('</details>', `</details><location value="/Patient/${other}"/>`)],
      [
        'extension valueString',
        NRF.replace('<issue>', `<issue><extension url="urn:x"><valueString value="child ${other}"/></extension>`),
      ],
      ...['999.000.0026', '999/000/0026', '999\u2013000\u20130026', '999\u00a0000\u00a00026', '99 90 00 00 26'].map(
        (w) => [w, diagnosing(NRF, `No record for ${w}`)],
      ),
    ] as const)
      assert.equal(reason(xml, { httpStatus: 404 }), TEXT, where);
  });
  test('SMSP-FGMRI-001 a UUID, a UK phone number, a timestamp or an ASID in "no record"\'s text keeps it; our own number spaced too', () => {
    for (const text of [
      'correlation 68f0a8db-f95a-4ce9-bcef-2977305815f8',
      'call 0113 496 0000 or +44 113 496 0000',
      'at 2026-12-04T01:36:41Z',
      'ASID 990101234567',
      'no record for 123 456 7890',
    ])
      assert.equal(reason(diagnosing(NRF, text), { httpStatus: 404 }), 'usable', text);
  });
  test('SMSP-VAL-004 a Parameters echo named "NHS Number" or nhs_number with another child is refused beside "no record"', () => {
    for (const name of ['NHS Number', 'nhs_number'])
      assert.equal(reason(withEntry(NRF, echo(name, '9990000026')), { httpStatus: 404 }), ANOTHER, name);
  });
  test('SMSP-VAL-004 beside the indicator, an echo of our request as valueCode or valueCoding, in another case, or holding no value, is read: the indicator is shown (atk18d F3)', () => {
    const param = (name: string, value: string) =>
      withEntry(
        FOUND,
        `<Parameters><id value="params-1"/><parameter><name value="${name}"/>${value}</parameter></Parameters>`,
      );
    for (const [what, xml] of [
      ['RiskIndicator valueCode', param('RiskIndicator', '<valueCode value="FGM"/>')],
      [
        'RiskIndicator valueCoding',
        param(
          'RiskIndicator',
          '<valueCoding><system value="http://fhir.nhs.net/ValueSet/risk-indicator-type-1-0"/><code value="FGM"/></valueCoding>',
        ),
      ],
      ['RiskIndicator fgm', param('RiskIndicator', '<valueString value=" fgm"/>')],
      ['NHSNumber valueCode ours', param('NHSNumber', '<valueCode value="1234567890"/>')],
      ['NHSNumber with no value', param('NHSNumber', '<part><name value="x"/><valueString value="y"/></part>')],
    ] as const)
      assert.equal(reason(xml), 'usable', what);
    assert.equal(
      reason(param('RiskIndicator', '<valueCode value="CPIS"/>')),
      'answer echoes a risk indicator other than FGM',
    );
  });

  test('SMSP-VAL-004 "no record" naming another child on an identifier of no NHS-number system (a local one, or none) is refused; Spine\'s own ids are never read as a number', () => {
    const basic = (identifier: string) =>
      NRF.replace('<issue>', `<contained><Basic><id value="b1"/>${identifier}</Basic></contained><issue>`);
    assert.equal(reason(basic('<identifier><value value="9990000026"/></identifier>'), { httpStatus: 404 }), TEXT);
    assert.equal(
      reason(basic('<identifier><system value="urn:local"/><value value="9990000026"/></identifier>'), {
        httpStatus: 404,
      }),
      TEXT,
    );
    assert.equal(
      reason(NRF.replace('<OperationOutcome><id value="', '<OperationOutcome><id value="9990000026'), {
        httpStatus: 404,
      }),
      'usable',
      'an id is an id',
    );
  });
  test('SMSP-FGMRI-001 our own child\'s number, however written, and longer numbers written in groups keep "no record"', () => {
    for (const text of [
      'no record for 999 000 0018',
      'no record for 999-000-0018',
      'ref 1 999 000 0026',
      'ref 1  999 000 0026',
      'ref 999 000 0026 1',
      'ref 999 000 0026  1',
    ])
      assert.equal(reason(diagnosing(NRF, text), { httpStatus: 404, nhsNumber: '9990000018' }), 'usable', text);
  });
  test('SMSP-VAL-004 beside the indicator any value naming another number, not only free text, is reported; the indicator is shown', () => {
    const v = verdict(
      FOUND.replace('<Flag>', '<Flag><extension url="urn:x"><valueString value="sibling 9990000026"/></extension>'),
    );
    assert.ok(v.usable, v.usable ? '' : v.reason);
    assert.ok(
      v.deviations.some(
        (d) =>
          d.path === 'Flag.extension.valueString' && d.message === 'text names another NHS number beside the indicator',
      ),
      JSON.stringify(v.deviations),
    );
  });
});
