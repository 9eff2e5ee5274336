/**
 * @module test/spine/spine-answer-findings
 * The safety core's reading of what Spine means rather than how it spells it (issue 18, review 18d;
 * commit 576a140), end to end over real sockets: the gateway on HTTPS asking for client
 * certificates, the simulator (TLS-MA) answering from the spec's example messages with one answer
 * variant switched on, asked through each interface (the element's JSON API, the FHIR interface,
 * CDS Hooks). What changes nothing (active true, NHS England's https://fhir.nhs.uk host, a
 * version-specific subject of the version carried, a 2-0 code beside its 1-0 original) is shown and
 * reported to IT; what contradicts the answer under those spellings (a CPIS coding under the other
 * host, another child or risk indicator in a nested Parameters part, another version of the
 * Patient, "no record" naming a Flag it does not carry) is an error IT can see, never an indicator
 * or "no record". Oracles: the test patients' dates (demo/spine/patients.json), the simulator's own
 * record of what it sent, the reasons' and deviations' fixed phrases, and the spec's error table,
 * hand-written.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { parseQueryResponse } from '../../gateway/fhir/response-bundle.ts';
import type { Fault } from '../../demo/spine/faults.ts';
import { signJwt } from '../helpers/jwt.ts';
import { GATEWAY_ASID, LOCAL_MIDWIFE, startTestStack, TEST_CLIENTS, type TestStack } from '../helpers/stack.ts';

const CDS_BASE = 'https://fgm.example.nhs.uk';
const EPR = { id: 'epr-findings', issuer: 'https://epr.findings.example/' };
const eprKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let stack: TestStack;
const keyDir = mkdtempSync(join(tmpdir(), 'fgm-findings-'));
before(async () => {
  const pem = join(keyDir, 'epr-findings.pub.pem');
  writeFileSync(pem, eprKey.publicKey.export({ type: 'spki', format: 'pem' }));
  stack = await startTestStack({
    tls: true,
    configure: (raw) => {
      raw.cdsHooks = {
        baseUrl: `${CDS_BASE}/`,
        clients: [
          {
            id: EPR.id,
            name: 'Findings EPR',
            odsCode: 'RYJ',
            issuer: EPR.issuer,
            publicKeyFile: pem,
            algorithms: ['ES256'],
            maxLifetimeSeconds: 300,
            priority: 'interactive',
          },
        ],
      };
    },
  });
});
after(async () => {
  await stack?.close();
  rmSync(keyDir, { recursive: true, force: true });
});

/** 9990000018 has an indicator assessed 2019-12-10, 9990000026 no record, 9990000034 is over 18 (demo/spine/patients.json). */
async function widget(nhsNumber = '9990000018', birthDate = '2014-03-02') {
  const res = await stack.request('/api/fgm-status', {
    token: stack.signToken(LOCAL_MIDWIFE),
    json: { nhsNumber, birthDate },
  });
  return { res, body: JSON.parse(res.body) };
}

/** The FHIR interface, as a client system with its certificate, read as a client system reads this SMSP's answers. */
async function fhir(nhsNumber = '9990000018') {
  const xml = buildQueryBundle({
    nhsNumber,
    sourceAsid: '918999198993',
    destinationAsid: GATEWAY_ASID,
    author: { kind: 'local', localId: 'chs-user-18' },
    organization: { odsCode: TEST_CLIENTS.system.ods, name: 'Test Child Health System' },
  }).xml;
  const res = await stack.request('/fhir/fgm/query', {
    body: xml,
    headers: { 'content-type': 'application/fhir+xml' },
    clientCert: true,
  });
  const parsed = parseQueryResponse(res.body, { localCodes: true });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  return { res, answer: parsed.value };
}

/** CDS Hooks patient-view, as an EPR signing its own JWT, the Patient prefetched with a verified NHS number. */
async function cds(nhsNumber = '9990000018', birthDate = '2014-03-02') {
  const now = Math.floor(Date.now() / 1000);
  const token = signJwt(
    { iss: EPR.issuer, aud: `${CDS_BASE}/cds-services/fgm-is`, iat: now, exp: now + 60, jti: randomUUID() },
    { alg: 'ES256', key: eprKey.privateKey, kid: 'epr-findings-1' },
  );
  const patient = {
    resourceType: 'Patient',
    id: 'p1',
    identifier: [
      {
        system: 'https://fhir.nhs.uk/Id/nhs-number',
        value: nhsNumber,
        extension: [
          {
            url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
            valueCodeableConcept: {
              coding: [
                { system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '01' },
              ],
            },
          },
        ],
      },
    ],
    birthDate,
  };
  const res = await stack.request('/cds-services/fgm-is', {
    token,
    json: {
      hook: 'patient-view',
      hookInstance: randomUUID(),
      context: { userId: 'Practitioner/example', patientId: 'p1' },
      prefetch: { patient },
    },
  });
  return { res, json: JSON.parse(res.body) };
}

const withFault = async <T>(fault: Fault, run: () => Promise<T>): Promise<T> => {
  stack.sim.setFault(fault);
  try {
    return await run();
  } finally {
    stack.sim.setFault(null);
  }
};

/** What the simulator last sent: its HTTP status and body. */
const sent = () => stack.sim.received.at(-1)!.answer!;
const lastRequestLog = () => JSON.parse(stack.logs.filter((l) => l.includes('"msg":"request"')).at(-1)!);
const lastDeviations = () =>
  (stack.auditDetail(stack.auditRows().at(-1)!).spineAnswer as { spineAnswerDeviations: string[] })
    .spineAnswerDeviations;

/** Each variant shown as the indicator, what the simulator put in it, and the deviations (path and phrase) it must be reported under. */
const SHOWN = [
  {
    kind: 'patient-active-default',
    carries: /<\/identifier><active value="true"\/><deceasedBoolean value="false"\/><\/Patient>/,
    deviations: [
      'Patient.active modifier element at the value that changes nothing read past',
      'Patient.deceased[x] modifier element at the value that changes nothing read past',
    ],
  },
  {
    kind: 'risk-system-nhs-uk',
    carries:
      /<system value="https:\/\/fhir\.nhs\.uk\/Id\/nhs-number"\/>.*<system value="https:\/\/fhir\.nhs\.uk\/ValueSet\/risk-indicator-type-1-0"\/><code value="FGM"\/>/s,
    deviations: [
      'Flag.code.coding.system risk-indicator system under https://fhir.nhs.uk',
      'Patient.identifier.system NHS number only under https://fhir.nhs.uk/Id/nhs-number',
    ],
  },
  {
    kind: 'subject-versioned',
    carries:
      /<reference value="Patient\/[^"/]+\/_history\/1"\/>.*<Patient><id value="[^"]+"\/><meta><versionId value="1"\/>/s,
    deviations: ['Flag.subject.reference version-specific subject resolved and its version matched'],
  },
] as const;

describe('SMSP-VAL-004 what Spine means, however it spells it, is shown and reported (review 18d)', () => {
  for (const s of SHOWN) {
    it(`SMSP-VAL-004 an indicator answer with ${s.kind} is shown with Spine's assessment date on the JSON API, FHIR and CDS Hooks, the deviation logged and audited`, async () => {
      const logs = stack.logs.length;
      const { res, body } = await withFault({ kind: s.kind }, () => widget());
      assert.match(sent().body, s.carries, 'the simulator sent the answer under test');
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(
        [body.status, body.code, body.nhsNumber, body.assessmentDate],
        ['indicator', 'SUCCESS', '9990000018', '2019-12-10'],
      );
      const row = stack.auditRows().at(-1)!;
      assert.deepEqual([row.outcomeCode, row.answeredBySpine], ['SUCCESS', 1]);
      for (const d of s.deviations) assert.ok(lastDeviations().includes(d), `audited: ${d} in ${lastDeviations()}`);
      const path = s.deviations[0].split(' ')[0]!;
      assert.ok(
        stack.logs
          .slice(logs)
          .some((l) => l.includes('Spine answer deviates from the profiles; used') && l.includes(`"path":"${path}"`)),
        'logged for IT',
      );
      assert.ok(!stack.logs.slice(logs).some((l) => l.includes('9990000018')), 'no NHS number in the log');

      const f = await withFault({ kind: s.kind }, () => fhir());
      assert.equal(f.res.status, 200, f.res.body);
      assert.deepEqual(f.answer.outcome, { kind: 'indicator', nhsNumber: '9990000018', assessmentDate: '2019-12-10' });

      const c = await withFault({ kind: s.kind }, () => cds());
      assert.equal(c.res.status, 200, c.res.body);
      assert.equal(c.json.cards.length, 1, 'one card');
      assert.match(c.json.cards[0].detail, /10\/12\/2019/);
    });
  }
});

/** The spec's error table (fgm-query-v2.md), hand-written: each code and its original 1-0 code. */
const NOT_FOUND = { code: 'NO_RECORD_FOUND', original: 'FGM-0001' };
const OVER_18 = { code: 'PATIENT_OVER_18', original: 'FGM-0003' };

describe("SMSP-ERR-004 Spine's error code beside its original code, or under NHS England's host, is its code", () => {
  it('SMSP-ERR-004 SMSP-VAL-004 original-code-beside: NO_RECORD_FOUND with FGM-0001 beside it is 404 no-record on the JSON API, FHIR and CDS Hooks (no cards), answered by Spine and reported', async () => {
    const { res, body } = await withFault({ kind: 'original-code-beside' }, () => widget('9990000026', '2016-07-19'));
    assert.match(
      sent().body,
      new RegExp(
        `<code value="${NOT_FOUND.code}"/>.*</coding><coding><system value="http://fhir\\.nhs\\.net/ValueSet/spine-response-code-1-0"/><code value="${NOT_FOUND.original}"/>`,
        's',
      ),
      'the simulator sent the answer under test',
    );
    assert.deepEqual(
      [res.status, body.status, body.code, body.smspCode],
      [404, 'no-record', NOT_FOUND.code, NOT_FOUND.original],
    );
    const row = stack.auditRows().at(-1)!;
    assert.deepEqual([row.outcomeCode, row.answeredBySpine], [NOT_FOUND.code, 1]);
    assert.ok(
      lastDeviations().includes(
        'OperationOutcome.issue.details.coding original 1-0 code beside its 2-0 code read as the 2-0 code',
      ),
      String(lastDeviations()),
    );
    const f = await withFault({ kind: 'original-code-beside' }, () => fhir('9990000026'));
    assert.equal(f.res.status, 404, f.res.body);
    assert.equal(f.answer.outcome.kind === 'operation-outcome' && f.answer.outcome.code, NOT_FOUND.code);
    const c = await withFault({ kind: 'original-code-beside' }, () => cds('9990000026', '2016-07-19'));
    assert.equal(c.res.status, 200, c.res.body);
    assert.deepEqual(c.json, { cards: [] });
    assert.equal(stack.auditRows().at(-1)!.outcomeCode, NOT_FOUND.code);
  });

  it('SMSP-ERR-004 original-code-beside: PATIENT_OVER_18 with FGM-0003 beside it is passed on to FHIR clients as PATIENT_OVER_18', async () => {
    // The element's API never asks Spine about an adult (the gateway's own under-18 rule); FHIR clients do.
    const f = await withFault({ kind: 'original-code-beside' }, () => fhir('9990000034'));
    assert.match(
      sent().body,
      new RegExp(`<code value="${OVER_18.original}"/>`),
      'the simulator sent the answer under test',
    );
    assert.equal(f.res.status, 400, f.res.body);
    assert.equal(f.answer.outcome.kind === 'operation-outcome' && f.answer.outcome.code, OVER_18.code);
  });

  it('SMSP-ERR-004 SMSP-VAL-004 risk-system-nhs-uk: NO_RECORD_FOUND under https://fhir.nhs.uk/ValueSet/spine-response-code-2-0 is 404 no-record everywhere, the host reported', async () => {
    const { res, body } = await withFault({ kind: 'risk-system-nhs-uk' }, () => widget('9990000026', '2016-07-19'));
    assert.match(
      sent().body,
      /https:\/\/fhir\.nhs\.uk\/ValueSet\/spine-response-code-2-0"\/><code value="NO_RECORD_FOUND"/,
    );
    assert.deepEqual([res.status, body.status, body.code], [404, 'no-record', NOT_FOUND.code]);
    assert.ok(
      lastDeviations().includes(
        'OperationOutcome.issue.details.coding.system Spine response code under https://fhir.nhs.uk/ValueSet/spine-response-code-2-0',
      ),
      String(lastDeviations()),
    );
    const f = await withFault({ kind: 'risk-system-nhs-uk' }, () => fhir('9990000026'));
    assert.equal(f.answer.outcome.kind === 'operation-outcome' && f.answer.outcome.code, NOT_FOUND.code);
    const c = await withFault({ kind: 'risk-system-nhs-uk' }, () => cds('9990000026', '2016-07-19'));
    assert.deepEqual([c.res.status, c.json], [200, { cards: [] }]);
  });
});

const ANOTHER = 'answer carries a patient other than the one asked about';
/** Each refused variant, what Spine's answer says on its face, what the simulator put in it, and the safety core's reason. */
const REFUSED = [
  {
    kind: 'risk-system-mixed',
    spine: 200,
    carries:
      /<code value="FGM"\/><\/coding><coding><system value="https:\/\/fhir\.nhs\.uk\/ValueSet\/risk-indicator-type-1-0"\/><code value="CPIS"\/>/,
    reason: 'indicator is not the FGM risk indicator',
  },
  {
    kind: 'no-record-risk-nhs-uk',
    spine: 404,
    carries: /<Basic>.*https:\/\/fhir\.nhs\.uk\/ValueSet\/risk-indicator-type-1-0"\/><code value="FGM"\/>.*<\/Basic>/s,
    reason: 'FGM risk code beside an error outcome',
  },
  {
    kind: 'parameters-part-other-patient',
    spine: 200,
    carries:
      /<parameter><name value="query"\/><part>.*<part><name value="NHSNumber"\/><valueString value="9990000026"\/><\/part><\/part>/s,
    reason: ANOTHER,
  },
  {
    kind: 'no-record-parameters-part-risk',
    spine: 404,
    carries:
      /<part><name value="criteria"\/>.*<part><name value="RiskIndicator"\/><valueString value="CPIS"\/><\/part><\/part>/s,
    reason: 'answer echoes a risk indicator other than FGM',
  },
  {
    kind: 'subject-version-mismatch',
    spine: 200,
    carries: /<reference value="Patient\/[^"/]+\/_history\/1"\/>.*<meta><versionId value="2"\/>/s,
    reason: 'indicator subject names another version of its Patient',
  },
  {
    kind: 'no-record-other-number-text',
    spine: 404,
    carries: /<diagnostics value="No record found for NHS number 999 000 0026"\/>/,
    reason: 'error answer text names another NHS number',
  },
  {
    kind: 'no-record-other-number-location',
    spine: 404,
    carries: /<location value="\/Patient\/9990000026"\/>/,
    reason: 'error answer text names another NHS number',
  },
  {
    kind: 'no-record-parameters-lowercase',
    spine: 404,
    carries: /<part><name value="nhsNumber"\/><valueString value="9990000026"\/><\/part>/,
    reason: ANOTHER,
  },
  {
    kind: 'no-record-data-absent',
    spine: 404,
    carries: /<data><reference value="Flag\/[^"]+"\/><\/data><\/MessageHeader>(?!.*<Flag>)/s,
    reason: 'no-record answer names a resource it does not carry',
  },
] as const;

describe('SMSP-VAL-004 what contradicts the answer under any spelling is an error IT can see, never an indicator or "no record" (review 18d)', () => {
  for (const r of REFUSED) {
    it(`SMSP-VAL-004 ${r.kind} (Spine: HTTP ${r.spine}) → RESPONSE_MESSAGE_VALIDATION_ERROR on the JSON API, FHIR and CDS Hooks, the reason in the log and audit`, async () => {
      const { res, body } = await withFault({ kind: r.kind }, () => widget());
      assert.equal(sent().status, r.spine, 'the simulator sent the answer under test');
      assert.match(sent().body, r.carries);
      assert.equal(res.status, 400, res.body);
      assert.deepEqual(
        [body.status, body.code, body.smspCode, body.assessmentDate],
        ['error', 'RESPONSE_MESSAGE_VALIDATION_ERROR', 'SMSP-0002', null],
      );
      assert.equal(lastRequestLog().reason, `unsafe Spine answer: ${r.reason}`);
      const row = stack.auditRows().at(-1)!;
      assert.deepEqual([row.outcomeCode, row.answeredBySpine], ['RESPONSE_MESSAGE_VALIDATION_ERROR', 0]);
      assert.equal(
        (stack.auditDetail(row).spineAnswer as { spineAnswerNotUsed: string }).spineAnswerNotUsed,
        `unsafe Spine answer: ${r.reason}`,
      );

      const f = await withFault({ kind: r.kind }, () => fhir());
      assert.equal(f.res.status, 400);
      assert.equal(
        f.answer.outcome.kind === 'operation-outcome' && f.answer.outcome.code,
        'RESPONSE_MESSAGE_VALIDATION_ERROR',
      );
      assert.doesNotMatch(f.res.body, /<Flag|NO_RECORD_FOUND/);

      const c = await withFault({ kind: r.kind }, () => cds());
      assert.equal(c.res.status, 400, c.res.body);
      assert.deepEqual(
        [c.json.code, c.json.smspCode, c.json.cards],
        ['RESPONSE_MESSAGE_VALIDATION_ERROR', 'SMSP-0002', undefined],
      );
      const cdsRow = stack.auditRows().at(-1)!;
      assert.deepEqual([cdsRow.eventType, cdsRow.outcomeCode], ['cds-query', 'RESPONSE_MESSAGE_VALIDATION_ERROR']);
      assert.equal(
        (stack.auditDetail(cdsRow).spineAnswer as { spineAnswerNotUsed: string }).spineAnswerNotUsed,
        `unsafe Spine answer: ${r.reason}`,
      );
    });
  }
});
