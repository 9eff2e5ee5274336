/**
 * @module test/cds-hooks/cds-busy
 * Issue 21 on CDS Hooks, over real sockets against the test stack: a check that did not happen is
 * never `{"cards": []}` — which an EPR reads as "no record" — but an HTTP error the CDS Hooks spec
 * allows (4xx/5xx): the busy tone of the Spine budget is 429 with Retry-After, in the CDS
 * interface's error shape (no `cards`, no patient data). "Spine not asked" is proven by the
 * simulator's count of what reached it, never by the clock.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signJwt } from '../helpers/jwt.ts';
import { startTestStack, type TestResponse, type TestStack } from '../helpers/stack.ts';

const CDS_BASE = 'https://fgm.example.nhs.uk';
const EPR = { id: 'trust-epr', issuer: 'https://epr.trust.example/' };
const eprKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let stack: TestStack;
before(async () => {
  const pem = join(mkdtempSync(join(tmpdir(), 'fgm-cds-busy-')), 'epr.pub.pem');
  writeFileSync(pem, eprKey.publicKey.export({ type: 'spki', format: 'pem' }));
  stack = await startTestStack({
    configure: (raw) => {
      // Two tokens and a refill of one per 10,000 s: only the budget's rules decide.
      raw.spine.rateLimit = { perSecond: 0.0001, burst: 1 };
      raw.cdsHooks = {
        baseUrl: CDS_BASE,
        clients: [
          {
            id: EPR.id,
            name: 'Trust EPR',
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
});

/** A patient-view call by `userId` about a verified child with an indicator, the Patient prefetched. */
function cdsCall(userId: string): Promise<TestResponse> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = signJwt(
    { iss: EPR.issuer, aud: `${CDS_BASE}/cds-services/fgm-is`, iat: now, exp: now + 60, jti: randomUUID() },
    { alg: 'ES256', key: eprKey.privateKey, kid: 'epr-1' },
  );
  const verified = {
    url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
    valueCodeableConcept: {
      coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '01' }],
    },
  };
  return stack.request('/cds-services/fgm-is', {
    token: jwt,
    json: {
      hook: 'patient-view',
      hookInstance: randomUUID(),
      context: { userId, patientId: 'p1' },
      prefetch: {
        patient: {
          resourceType: 'Patient',
          id: 'p1',
          birthDate: '2014-03-02',
          identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990000018', extension: [verified] }],
        },
      },
    },
  });
}

describe('issue 21: a CDS check that did not happen is never "no cards"', () => {
  it('SMSP-PERF-001 MSCA-FGMRISQR-04 the Spine budget spent: 429 SPINE_BUSY with Retry-After, no cards key, no patient data; audited, and Spine not asked', async () => {
    // By hand: her first call and her own part's first token come from the newcomers' part (2 -> 1),
    // her second is within her part (1 -> 0), her third finds nothing: the busy tone.
    const answers: TestResponse[] = [];
    for (let i = 0; i < 3; i++) answers.push(await cdsCall('Practitioner/clinician'));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 429],
    );
    for (const a of answers.slice(0, 2)) assert.equal(JSON.parse(a.body).cards.length, 1, 'her indicator card');
    const reached = stack.sim.received.length;
    const busy = await cdsCall('Practitioner/clinician');
    assert.equal(stack.sim.received.length, reached, 'Spine was not asked');
    assert.equal(busy.status, 429);
    assert.ok(Number(busy.headers['retry-after']) >= 1, `Retry-After ${String(busy.headers['retry-after'])}`);
    const body = JSON.parse(busy.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['code', 'display', 'smspCode']);
    assert.equal(body.code, 'SPINE_BUSY');
    assert.doesNotMatch(busy.body, /9990000018/);
    const row = stack.auditRows().at(-1)!;
    assert.deepEqual([row.eventType, row.outcomeCode, row.answeredBySpine], ['cds-query', 'SPINE_BUSY', 0]);
  });
});
