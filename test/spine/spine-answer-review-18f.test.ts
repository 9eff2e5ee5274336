/**
 * @module test/spine/spine-answer-review-18f
 * Review 18f of issue 18, end to end over real sockets: the gateway on HTTPS asking for client
 * certificates, the simulator (TLS-MA) answering from the spec's example messages with one fault
 * or answer variant switched on, asked through the element's JSON API, the FHIR interface and CDS
 * Hooks. "No record" under a status, response code or issue type that says something failed is an
 * error IT can see, never "no record" (F1); entries holding nothing and another destination beside
 * ours are read past beside the indicator, reported (F6); another number on an ended identifier of
 * our child is her old number, and our number only on an ended one is refused (F8). Oracles: the
 * test patients' dates (demo/spine/patients.json), the simulator's own record of what it sent, the
 * fixed phrases of reasons and deviations, and the spec's error table, hand-written.
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
const EPR = { id: 'epr-18f', issuer: 'https://epr.review18f.example/' };
const eprKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let stack: TestStack;
const keyDir = mkdtempSync(join(tmpdir(), 'fgm-18f-'));
before(async () => {
  const pem = join(keyDir, 'epr-18f.pub.pem');
  writeFileSync(pem, eprKey.publicKey.export({ type: 'spki', format: 'pem' }));
  stack = await startTestStack({
    tls: true,
    configure: (raw) => {
      raw.cdsHooks = {
        baseUrl: `${CDS_BASE}/`,
        clients: [
          {
            id: EPR.id,
            name: 'Review 18f EPR',
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
    author: { kind: 'local', localId: 'chs-user-18f' },
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
    { alg: 'ES256', key: eprKey.privateKey, kid: 'epr-18f-1' },
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

/** The indicator's Patient (9990000018), the no-record patient (9990000026), as demo/spine/patients.json holds them. */
const NO_RECORD = ['9990000026', '2016-07-19'] as const;
const INVALID = ['RESPONSE_MESSAGE_VALIDATION_ERROR', 'SMSP-0002'] as const;

/** Each way "no record" says something failed: the fault, what the simulator sent, and the safety core's reason. */
const FAILING_NO_RECORD = [
  {
    fault: { kind: 'http-status', status: 500 },
    status: 500,
    reason: 'error outcome under an HTTP status not its own',
  },
  {
    fault: { kind: 'http-status', status: 503 },
    status: 503,
    reason: 'error outcome under an HTTP status not its own',
  },
  {
    fault: { kind: 'no-record-transient-error' },
    status: 404,
    carries: /<response><identifier value="[^"]*"\/><code value="transient-error"\/>/,
    reason: 'error outcome with a response code other than ok or fatal-error',
  },
  {
    fault: { kind: 'no-record-exception-issue' },
    status: 404,
    carries: /<code value="exception"\/><details>.*NO_RECORD_FOUND/,
    reason: 'error outcome with an issue type that is not a business answer',
  },
] as const satisfies { fault: Fault; status: number; carries?: RegExp; reason: string }[];

describe('SMSP-FGMRI-001 "no record" is believed only as Spine\'s business answer (review 18f F1)', () => {
  it("SMSP-FGMRI-001 the control: Spine's NO_RECORD_FOUND under 404 is no record everywhere", async () => {
    const { res, body } = await widget(...NO_RECORD);
    assert.equal(sent().status, 404);
    assert.deepEqual([res.status, body.status, body.code], [404, 'no-record', 'NO_RECORD_FOUND']);
  });
  for (const f of FAILING_NO_RECORD) {
    const name = f.fault.kind === 'http-status' ? `HTTP ${f.fault.status}` : f.fault.kind;
    it(`SMSP-FGMRI-001 SMSP-VAL-004 NO_RECORD_FOUND under ${name} → RESPONSE_MESSAGE_VALIDATION_ERROR on the JSON API, FHIR and CDS Hooks, never no record`, async () => {
      const { res, body } = await withFault(f.fault, () => widget(...NO_RECORD));
      assert.equal(sent().status, f.status, 'the simulator sent the answer under test');
      assert.match(sent().body, /<code value="NO_RECORD_FOUND"\/>/);
      if ('carries' in f) assert.match(sent().body, f.carries);
      assert.equal(res.status, 400, res.body);
      assert.deepEqual([body.status, body.code, body.smspCode], ['error', ...INVALID]);
      assert.equal(lastRequestLog().reason, `unsafe Spine answer: ${f.reason}`);
      const row = stack.auditRows().at(-1)!;
      assert.deepEqual([row.outcomeCode, row.answeredBySpine], [INVALID[0], 0]);

      const fh = await withFault(f.fault, () => fhir(NO_RECORD[0]));
      assert.equal(fh.res.status, 400, fh.res.body);
      assert.equal(fh.answer.outcome.kind === 'operation-outcome' && fh.answer.outcome.code, INVALID[0]);
      assert.doesNotMatch(fh.res.body, /NO_RECORD_FOUND/);

      const c = await withFault(f.fault, () => cds(...NO_RECORD));
      assert.equal(c.res.status, 400, c.res.body);
      assert.deepEqual(
        [c.json.code, c.json.smspCode, c.json.cards],
        [...INVALID, undefined],
        'an error, not an empty card list',
      );
    });
  }
});

/** Each variant read past beside the indicator, what the simulator put in it, and the deviation it is reported under. */
const READ_PAST = [
  {
    kind: 'empty-entry',
    carries: /<entry\/><entry><resource\/><\/entry><\/Bundle>/,
    deviation: 'Bundle.entry entry without a resource read past',
  },
  {
    kind: 'extra-destination',
    carries:
      /<destination><name value="Another system"\/><endpoint value="urn:nhs:addressing:asid:111111111111"\/><\/destination><destination>/,
    deviation: 'MessageHeader.destination destinations beside ours read past',
  },
  {
    kind: 'old-number-ended',
    carries: /<value value="9990000026"\/><period><end value="2015-01-01"\/><\/period><\/identifier><\/Patient>/,
    deviation: 'Patient.identifier another NHS number on an old identifier of our child read as her old number',
  },
] as const;

describe('SMSP-VAL-004 what says nothing, or names us among others, never refuses the indicator (review 18f F6, F8)', () => {
  for (const r of READ_PAST) {
    it(`SMSP-VAL-004 an indicator answer with ${r.kind} is shown with Spine's assessment date on the JSON API, FHIR and CDS Hooks, the deviation audited and logged`, async () => {
      const logs = stack.logs.length;
      const { res, body } = await withFault({ kind: r.kind }, () => widget());
      assert.match(sent().body, r.carries, 'the simulator sent the answer under test');
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(
        [body.status, body.code, body.nhsNumber, body.assessmentDate],
        ['indicator', 'SUCCESS', '9990000018', '2019-12-10'],
      );
      assert.ok(lastDeviations().includes(r.deviation), `audited: ${r.deviation} in ${lastDeviations()}`);
      assert.ok(
        stack.logs
          .slice(logs)
          .some(
            (l) =>
              l.includes('deviates from the profiles; used') &&
              l.includes(r.deviation.slice(r.deviation.indexOf(' ') + 1)),
          ),
        'logged for IT',
      );
      assert.ok(!stack.logs.slice(logs).some((l) => /9990000018|9990000026/.test(l)), 'no NHS number in the log');

      const f = await withFault({ kind: r.kind }, () => fhir());
      assert.equal(f.res.status, 200, f.res.body);
      assert.deepEqual(f.answer.outcome, { kind: 'indicator', nhsNumber: '9990000018', assessmentDate: '2019-12-10' });

      const c = await withFault({ kind: r.kind }, () => cds());
      assert.equal(c.res.status, 200, c.res.body);
      assert.equal(c.json.cards.length, 1, 'one card');
      assert.match(c.json.cards[0].detail, /10\/12\/2019/);
    });
  }

  it('SMSP-VAL-004 nhs-number-ended: our number only on an ended identifier → RESPONSE_MESSAGE_VALIDATION_ERROR on the JSON API, FHIR and CDS Hooks (docs/api.md: ask with her current number)', async () => {
    const reason = 'unsafe Spine answer: the NHS number asked about is on an ended identifier only';
    const { res, body } = await withFault({ kind: 'nhs-number-ended' }, () => widget());
    assert.match(sent().body, /<value value="9990000018"\/><period><end value="2015-01-01"\/><\/period><\/identifier>/);
    assert.equal(res.status, 400, res.body);
    assert.deepEqual([body.status, body.code, body.smspCode, body.assessmentDate], ['error', ...INVALID, null]);
    assert.equal(lastRequestLog().reason, reason);
    const f = await withFault({ kind: 'nhs-number-ended' }, () => fhir());
    assert.equal(f.answer.outcome.kind === 'operation-outcome' && f.answer.outcome.code, INVALID[0]);
    assert.doesNotMatch(f.res.body, /<Flag/);
    const c = await withFault({ kind: 'nhs-number-ended' }, () => cds());
    assert.deepEqual([c.res.status, c.json.code, c.json.cards], [400, INVALID[0], undefined]);
  });
});
