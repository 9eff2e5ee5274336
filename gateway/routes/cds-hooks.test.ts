import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { CdsTokenRejected } from '../auth/cds-client.ts';
import type { CdsClientConfig } from '../config/config.ts';
import { json, spineDouble, unitApp } from '../../test/helpers/hono-unit.ts';
import { cdsAuth, FHIR_FETCH_BYTES_PER_CLIENT, fgmIsService, MAX_URI_LENGTH } from './cds-hooks.ts';

const EPR = {
  id: 'test-cds-epr',
  name: 'Test EPR',
  odsCode: 'RX1',
  priority: 'interactive',
  allowUnverified: false,
  fhirServers: [] as string[],
} as unknown as CdsClientConfig;

/** A UK Core Patient; `status` is its NHS number's verification status (01: verified). */
const patient = (nhsNumber: string, birthDate: string, status = '01') => {
  const verification = {
    url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
    valueCodeableConcept: {
      coding: [
        { system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: status },
      ],
    },
  };
  return {
    resourceType: 'Patient',
    id: 'p1',
    birthDate,
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber, extension: [verification] }],
  };
};
const call = (prefetchPatient?: unknown, more: Record<string, unknown> = {}) => ({
  hook: 'patient-view',
  hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
  context: { userId: 'Practitioner/123', patientId: 'p1' },
  ...(prefetchPatient ? { prefetch: { patient: prefetchPatient } } : {}),
  ...more,
});

/** The CDS service behind a verifier that knows one token, Spine in process (indicator for 9990000018). */
async function cdsRoute(client = EPR) {
  const double = await spineDouble();
  const app = unitApp();
  const verify = async (token: string) => {
    if (token !== 'good-epr-jwt') throw new CdsTokenRejected('bad signature');
    return client;
  };
  app.post('/cds-services/fgm-is', cdsAuth(verify), fgmIsService(double.deps()));
  const ask = (body: unknown, token = 'good-epr-jwt') =>
    app.request('/cds-services/fgm-is', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  return { ask, asked: double.asked };
}

describe('POST /cds-services/fgm-is', () => {
  it("an indicator is one warning card saying what the element's alert says", async () => {
    const { ask } = await cdsRoute();
    const { cards } = (await json(await ask(call(patient('9990000018', '2014-03-02'))))) as {
      cards: { indicator: string; summary: string; detail: string }[];
    };
    assert.equal(cards.length, 1);
    assert.equal(cards[0]!.indicator, 'warning');
    assert.match(cards[0]!.summary, /FGM risk indicator/);
    assert.match(cards[0]!.detail, /FGM assessment date: 10\/12\/2019/);
  });

  it('MSCA-FGMRISQR-03 no record is no card, 200', async () => {
    const { ask } = await cdsRoute();
    const res = await ask(call(patient('9990000026', '2016-07-19')));
    assert.deepEqual([res.status, await res.json()], [200, { cards: [] }]);
  });

  it('an unverified NHS number, a bad check digit or a patient of 18: no card, and Spine never asked', async () => {
    const { ask, asked } = await cdsRoute();
    for (const p of [
      patient('9990000018', '2014-03-02', '02'),
      patient('9990000019', '2014-03-02'),
      patient('9990000034', '2001-01-15'),
    ]) {
      assert.deepEqual(await (await ask(call(p))).json(), { cards: [] });
    }
    assert.deepEqual(asked, []);
  });

  it('no JWT, or one the verifier refuses: 401 AUTHOR_CREDENTIALS_ERROR before the body is read', async () => {
    const { ask } = await cdsRoute();
    for (const token of ['', 'forged-jwt']) {
      const res = await ask(call(patient('9990000018', '2014-03-02')), token);
      assert.deepEqual([res.status, (await json(res)).code], [401, 'AUTHOR_CREDENTIALS_ERROR']);
    }
  });

  it('a body that is not a patient-view request: 400 INPUT_MESSAGE_VALIDATION_ERROR', async () => {
    const { ask } = await cdsRoute();
    const res = await ask({ hook: 'order-sign' });
    assert.deepEqual([res.status, (await json(res)).smspCode], [400, 'SMSP-0001']);
  });

  it("the CDS spec's 412 when the patient is neither prefetched nor fetchable; another resource in the slot is not the patient", async () => {
    const { ask } = await cdsRoute();
    for (const body of [
      call(),
      call({ resourceType: 'OperationOutcome' }),
      call({ ...patient('9990000018', '2014-03-02'), id: 'someone-else' }),
    ]) {
      const res = await ask(body);
      assert.deepEqual([res.status, (await json(res)).code], [412, 'PATIENT_DATA_UNAVAILABLE']);
    }
  });

  it('an identifier system or fhirServer longer than MAX_URI_LENGTH is refused before it is compared, and Spine is not asked (issue 21)', async () => {
    const { ask, asked } = await cdsRoute();
    const p = patient('9990000018', '2014-03-02');
    const long = {
      ...p,
      identifier: [
        ...p.identifier,
        { system: `https://fhir.nhs.uk/Id/nhs-number${'/'.repeat(MAX_URI_LENGTH)}`, value: '9990000018' },
      ],
    };
    const refused = await ask(call(long));
    assert.deepEqual([refused.status, (await json(refused)).code], [412, 'PATIENT_DATA_UNAVAILABLE']);
    const server = await ask(
      call(undefined, {
        fhirServer: `https://ehr.example/${'/'.repeat(MAX_URI_LENGTH)}a`,
        fhirAuthorization: { access_token: 'x', token_type: 'Bearer' },
      }),
    );
    assert.deepEqual([server.status, (await json(server)).smspCode], [400, 'SMSP-0001']);
    assert.equal(asked.length, 0);
  });

  it("the EPR's access token goes only to a FHIR server on the CDS client's list", async () => {
    const seen: string[] = [];
    const fhir = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      res.setHeader('Content-Type', 'application/fhir+json').end(JSON.stringify(patient('9990000018', '2014-03-02')));
    });
    await new Promise<void>((r) => fhir.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(fhir.address() as { port: number }).port}`;
    try {
      const withServer = call(undefined, {
        fhirServer: url,
        fhirAuthorization: { access_token: 'epr-access-token', token_type: 'Bearer' },
      });
      const refused = await (await cdsRoute()).ask(withServer);
      assert.deepEqual([refused.status, seen], [412, []]);
      const allowed = await (await cdsRoute({ ...EPR, fhirServers: [url] })).ask(withServer);
      assert.equal(((await allowed.json()) as { cards: unknown[] }).cards.length, 1);
      assert.deepEqual(seen, ['/Patient/p1 Bearer epr-access-token']);
    } finally {
      fhir.closeAllConnections();
      await new Promise((r) => fhir.close(r));
    }
  });
  it("issue 21 one CDS client's Patient fetches hold at most FHIR_FETCH_BYTES_PER_CLIENT at once: the fetch that would pass it is refused (412) while the others, within it, are answered", async () => {
    // Five Patients of 0.9 MB (whitespace between members), each held one member short until released.
    const PAD = Math.floor(FHIR_FETCH_BYTES_PER_CLIENT / 4.5);
    const full = JSON.stringify(patient('9990000018', '2014-03-02'));
    const held: (() => void)[] = [];
    const fhir = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/fhir+json' });
      res.write(`{"resourceType":"Patient",${' '.repeat(PAD)}`);
      held.push(() => res.end(full.replace('{"resourceType":"Patient",', '')));
    });
    await new Promise<void>((r) => fhir.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(fhir.address() as { port: number }).port}`;
    try {
      const { ask } = await cdsRoute({ ...EPR, fhirServers: [url] });
      const withServer = call(undefined, {
        fhirServer: url,
        fhirAuthorization: { access_token: 'epr-access-token', token_type: 'Bearer' },
      });
      const answers = Array.from({ length: 5 }, () => Promise.resolve(ask(withServer)));
      // The first answer comes before any Patient is released: only the budget can give it.
      const first = await Promise.race(answers.map((a, i) => a.then((r) => ({ i, status: r.status }))));
      assert.equal(first.status, 412);
      for (const release of held) release();
      const statuses = await Promise.all(answers.map((a) => a.then((r) => r.status)));
      assert.deepEqual(
        statuses.toSorted((a, b) => a - b),
        [200, 200, 200, 200, 412],
      );
    } finally {
      fhir.closeAllConnections();
      await new Promise((r) => fhir.close(r));
    }
  });
});
