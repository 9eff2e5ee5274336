import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildQueryResponse, parseQueryResponse } from './response-bundle.ts';
import { example, variants, without, withValue, duplicated } from '../../test/helpers/fhir-fixtures.ts';

const FOUND = example('query-response-2-0-indicator-found');
const INVALID_NHS = example('query-response-2-0-invalid-nhs-number');

describe('FGMQueryResponse_2_0: the spec examples', () => {
  for (const [form, xml] of Object.entries(variants(FOUND))) {
    test(`SMSP-VAL-004 the indicator-found example validates (${form})`, () => {
      assert.deepEqual(parseQueryResponse(xml), {
        ok: true,
        value: {
          bundleId: '13daadee-26e1-4d6a-9e6a-7f4af9b58878',
          messageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58879',
          respondsTo: '14daadee-26e1-4d6a-9e6a-7f4af9b58877',
          responseCode: 'ok',
          timestamp: '2015-07-04T10:10:15+00:00',
          sourceAsid: '990101234567',
          destinationAsid: '047192794544',
          outcome: { kind: 'indicator', nhsNumber: '1234567890', assessmentDate: '2015-02-04' },
        },
      });
    });
  }
  for (const [form, xml] of Object.entries(variants(INVALID_NHS))) {
    test(`SMSP-VAL-004 the invalid-NHS-number example validates (${form})`, () => {
      assert.deepEqual(parseQueryResponse(xml), {
        ok: true,
        value: {
          bundleId: '22daadee-26e1-4d6a-9e6a-7f4af9b58892',
          messageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58879',
          respondsTo: '14daadee-26e1-4d6a-9e6a-7f4af9b58877',
          responseCode: 'fatal-error',
          timestamp: '2015-07-04T10:10:15+00:00',
          sourceAsid: '990101234567',
          destinationAsid: '047192794544',
          outcome: {
            kind: 'operation-outcome',
            severity: 'error',
            issueType: 'invalid',
            code: 'INVALID_NHS_NUMBER',
            display: 'Invalid NHS Number',
          },
        },
      });
    });
  }
});

const REQUIRED_FOUND = [
  'MessageHeader.id',
  'MessageHeader.timestamp',
  'MessageHeader.event',
  'MessageHeader.event.system',
  'MessageHeader.event.code',
  'MessageHeader.response',
  'MessageHeader.response.identifier',
  'MessageHeader.response.code',
  'MessageHeader.source',
  'MessageHeader.source.endpoint',
  'MessageHeader.destination',
  'MessageHeader.destination.endpoint',
  'Flag.status',
  'Flag.period',
  'Flag.period.start',
  'Flag.subject',
  'Flag.subject.reference',
  'Flag.code',
  'Flag.code.coding',
  'Flag.code.coding.system',
  'Flag.code.coding.code',
  'Patient.identifier',
  'Patient.identifier.system',
  'Patient.identifier.value',
];
const REQUIRED_OUTCOME = [
  'OperationOutcome.issue',
  'OperationOutcome.issue.severity',
  'OperationOutcome.issue.code',
  'OperationOutcome.issue.details',
  'OperationOutcome.issue.details.coding',
  'OperationOutcome.issue.details.coding.system',
  'OperationOutcome.issue.details.coding.code',
];

describe('FGMQueryResponse_2_0: each required element', () => {
  for (const path of REQUIRED_FOUND) {
    test(`SMSP-VAL-004 an answer without ${path} is refused naming it`, () => {
      const r = parseQueryResponse(without(FOUND, path));
      assert.equal(!r.ok && r.error.element, path, !r.ok ? r.error.message : 'accepted');
    });
  }
  for (const path of REQUIRED_OUTCOME) {
    test(`SMSP-VAL-004 an error answer without ${path} is refused naming it`, () => {
      const r = parseQueryResponse(without(INVALID_NHS, path));
      assert.equal(!r.ok && r.error.element, path, !r.ok ? r.error.message : 'accepted');
    });
  }

  test('the tables cover every min-1 line of the response profiles in the digest', () => {
    const digest = readFileSync(new URL('../../test/spec/profiles-digest.txt', import.meta.url), 'utf8');
    const sections = digest
      .split('\n== ')
      .filter((s) =>
        /^Spine-(Response-MessageHeader-2-0|RIS-Flag-1-0|RIS-Patient-1-0|OperationOutcome-1-0)\.xml/.test(s),
      );
    const required = sections.flatMap((s) =>
      s.split('\n').flatMap((l) => /^\s+([\w.]+)\s+1\.\./.exec(l)?.slice(1) ?? []),
    );
    // Whole resources are checked through their children; details.reference only when details is present (below).
    const viaChildren = new Set([
      'MessageHeader',
      'Flag',
      'Patient',
      'OperationOutcome',
      'MessageHeader.response.details.reference',
    ]);
    const covered = new Set([...REQUIRED_FOUND, ...REQUIRED_OUTCOME]);
    assert.deepEqual(
      [...new Set(required)].filter((p) => !viaChildren.has(p) && !covered.has(p)),
      [],
    );
  });
});

describe('FGMQueryResponse_2_0: fixed values and references', () => {
  const cases: [string, string, string, string][] = [
    [FOUND, 'Flag.status', 'inactive', 'Flag.status'],
    [FOUND, 'Flag.code.coding.code', 'XYZ', 'Flag.code.coding.code'],
    [FOUND, 'Flag.code.coding.system', 'http://example.org', 'Flag.code.coding.system'],
    [FOUND, 'Flag.period.start', '2015-13', 'Flag.period.start'],
    // Gregorian dates that do not exist must not reach a clinician's screen.
    [FOUND, 'Flag.period.start', '2010-09-31', 'Flag.period.start'],
    [FOUND, 'Flag.period.start', '2010-13-01', 'Flag.period.start'],
    [FOUND, 'Flag.period.start', '2019-02-29', 'Flag.period.start'],
    [FOUND, 'Flag.period.start', '2019-12-10T24:00:00Z', 'Flag.period.start'],
    [FOUND, 'MessageHeader.timestamp', '2024-02-30T10:00:00Z', 'MessageHeader.timestamp'],
    [FOUND, 'MessageHeader.timestamp', '2024-02-10T10:61:00Z', 'MessageHeader.timestamp'],
    [FOUND, 'MessageHeader.timestamp', '2024-02-10T10:00:00+15:00', 'MessageHeader.timestamp'],
    [FOUND, 'Flag.subject.reference', '#nobody', 'Flag.subject.reference'],
    [FOUND, 'Patient.identifier.system', 'http://example.org', 'Patient.identifier.system'],
    [
      FOUND,
      'MessageHeader.event.code',
      'urn:nhs:names:services:clinicals-sync:FGMQuery_2_0',
      'MessageHeader.event.code',
    ],
    [FOUND, 'MessageHeader.response.code', 'maybe', 'MessageHeader.response.code'],
    [FOUND, 'MessageHeader.data.reference', 'Flag/other', 'MessageHeader.data.reference'],
    [INVALID_NHS, 'OperationOutcome.issue.severity', 'bad', 'OperationOutcome.issue.severity'],
    [
      INVALID_NHS,
      'OperationOutcome.issue.details.coding.system',
      'http://example.org',
      'OperationOutcome.issue.details.coding.system',
    ],
  ];
  for (const [xml, path, bad, named] of cases) {
    test(`SMSP-VAL-004 a wrong ${path} (${bad}) is refused by name`, () => {
      const r = parseQueryResponse(withValue(xml, path, bad));
      assert.equal(!r.ok && r.error.element, named, !r.ok ? r.error.message : 'accepted');
    });
  }
  test('SMSP-VAL-004 real dates are accepted: a leap day, a zone, fractions of a second', () => {
    for (const [path, good] of [
      ['Flag.period.start', '2020-02-29'],
      ['Flag.period.start', '2019-12-10T09:30:00+01:00'],
      ['MessageHeader.timestamp', '2024-12-31T23:59:59.999-05:30'],
    ]) {
      const r = parseQueryResponse(withValue(FOUND, path!, good!));
      assert.ok(r.ok, `${path} ${good}: ${r.ok ? '' : r.error.message}`);
    }
  });
  test('SMSP-VAL-004 the same resource id twice in a bundle is refused', () => {
    const r = parseQueryResponse(duplicated(FOUND, 'Bundle.entry[1]'));
    assert.equal(!r.ok && r.error.element, 'Flag.id', !r.ok ? r.error.message : 'accepted');
  });
  test('SMSP-VAL-004 two Flags are refused: the answer cannot be mapped safely', () => {
    const two = duplicated(FOUND, 'Bundle.entry[1]').replace(
      '<id value="8cb73a48-090d-469a-a2b2-04f1e6b11ea2"/>',
      '<id value="another"/>',
    );
    const r = parseQueryResponse(two);
    assert.equal(!r.ok && r.error.element, 'Bundle.entry', !r.ok ? r.error.message : 'accepted');
  });
  for (const [xml, path] of [
    [FOUND, 'MessageHeader.response'],
    [FOUND, 'MessageHeader.response.identifier'],
    [FOUND, 'Flag.status'],
    [FOUND, 'Flag.period.start'],
    [FOUND, 'Flag.code.coding'],
    [FOUND, 'Patient.identifier'],
    [INVALID_NHS, 'OperationOutcome.issue.details.coding'],
  ] as const) {
    test(`SMSP-VAL-004 a duplicated 1..1 ${path} is refused by name`, () => {
      const r = parseQueryResponse(duplicated(xml, path));
      assert.equal(!r.ok && r.error.element, path, !r.ok ? r.error.message : 'accepted');
    });
  }
  const withDetails = (reference: string) =>
    INVALID_NHS.replace(
      '<code value="fatal-error"/>',
      `<code value="fatal-error"/><details><reference value="${reference}"/></details>`,
    );
  test('SMSP-VAL-004 response.details resolves to the OperationOutcome entry, and a dangling one is refused by name', () => {
    assert.equal(parseQueryResponse(withDetails('OperationOutcome/22daadee-26e1-4d6a-9e6a-7f4af9b58877')).ok, true);
    const r = parseQueryResponse(withDetails('OperationOutcome/nope'));
    assert.equal(!r.ok && r.error.element, 'MessageHeader.response.details.reference');
  });
  test('SMSP-VAL-004 an OperationOutcome must not be announced as the data of an indicator', () => {
    const r = parseQueryResponse(
      INVALID_NHS.replace(
        '</destination>',
        '</destination><data><reference value="Flag/22daadee-26e1-4d6a-9e6a-7f4af9b58877"/></data>',
      ),
    );
    assert.equal(!r.ok && r.error.element, 'MessageHeader.data.reference');
  });
  test('a Flag in a foreign namespace is not a FHIR Flag', () => {
    const r = parseQueryResponse(FOUND.replace('<Flag>', '<Flag xmlns="urn:other">'));
    assert.equal(!r.ok && r.error.element, 'Bundle.entry.resource');
  });
});

describe('FGMQueryResponse_2_0: building', () => {
  const common = {
    respondsTo: 'req-1',
    sourceAsid: '990101234567',
    destinationAsid: '200000000111',
    timestamp: new Date('2026-11-24T10:00:00.000Z'),
  };
  test('an indicator answer round-trips and echoes the request id', () => {
    const { xml, messageId } = buildQueryResponse({
      ...common,
      outcome: { kind: 'indicator', nhsNumber: '9990000018', assessmentDate: '2019-12-10' },
    });
    const r = parseQueryResponse(xml);
    assert.ok(r.ok, !r.ok ? r.error.message : '');
    assert.equal(r.value.messageId, messageId);
    assert.equal(r.value.respondsTo, 'req-1');
    assert.equal(r.value.responseCode, 'ok');
    assert.equal(r.value.timestamp, '2026-11-24T10:00:00.000Z');
    assert.deepEqual(r.value.outcome, { kind: 'indicator', nhsNumber: '9990000018', assessmentDate: '2019-12-10' });
  });
  test('the builder escapes values: a hostile display round-trips; a hostile id is refused by name (it must be a FHIR id)', () => {
    const hostile = `"/><Flag>&amp;<'x'>`;
    const outcome = {
      kind: 'operation-outcome',
      severity: 'fatal',
      issueType: 'exception',
      code: 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE',
      display: hostile,
    } as const;
    const r = parseQueryResponse(buildQueryResponse({ ...common, outcome }).xml);
    assert.ok(r.ok, !r.ok ? r.error.message : '');
    assert.deepEqual(r.value.outcome, outcome);
    const id = parseQueryResponse(buildQueryResponse({ ...common, respondsTo: hostile, outcome }).xml);
    assert.deepEqual(!id.ok && id.error, {
      kind: 'invalid',
      element: 'MessageHeader.response.identifier',
      message: 'is not a valid id',
    });
  });
  test('no record is a successful interaction; an error is fatal-error', () => {
    const none = buildQueryResponse({
      ...common,
      outcome: {
        kind: 'operation-outcome',
        severity: 'error',
        issueType: 'not-found',
        code: 'NO_RECORD_FOUND',
        display: 'No Record Found',
      },
    });
    const bad = buildQueryResponse({
      ...common,
      outcome: { kind: 'operation-outcome', severity: 'error', issueType: 'invalid', code: 'PATIENT_OVER_18' },
    });
    const a = parseQueryResponse(none.xml);
    const b = parseQueryResponse(bad.xml);
    assert.ok(a.ok && b.ok);
    assert.equal(a.value.responseCode, 'ok');
    assert.equal(b.value.responseCode, 'fatal-error');
    assert.deepEqual(b.value.outcome, {
      kind: 'operation-outcome',
      severity: 'error',
      issueType: 'invalid',
      code: 'PATIENT_OVER_18',
    });
  });
});
