import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fhirAnswerCode } from '../../test/helpers/fhir-answer.ts';
import { Cis2Refused, type Cis2User } from '../auth/cis2-userinfo.ts';
import { testClient, unitApp } from '../../test/helpers/hono-unit.ts';
import { cis2Author, type Cis2Directory } from './cis2-session.ts';

const GP: Cis2User = {
  userId: '555021935107',
  roles: [{ roleProfileId: '555021936108', orgCode: 'RX1', activities: ['B0370'] }],
};
/** CIS2 for clients with `cis2` only: confirming GP, or refusing with `refusal`. */
const cis2As =
  (refusal?: Cis2Refused): Cis2Directory =>
  (client) =>
    client.cis2
      ? async () => {
          if (refusal) throw refusal;
          return GP;
        }
      : undefined;
const withCis2 = testClient({
  id: 'chs',
  cis2: { issuer: 'https://cis2.test', clientId: 'chs', timeoutMs: 3000, cacheSeconds: 60, maxConcurrentCalls: 16 },
});

function fhirApp(cis2: Cis2Directory, client = withCis2) {
  const app = unitApp();
  app.post(
    '/fhir/fgm/query',
    async (c, next) => (c.set('client', client), next()),
    cis2Author({ cis2 }),
    (c) => c.json({ cis2User: c.get('cis2User') ?? null }),
  );
  return app;
}
const post = (app: ReturnType<typeof fhirApp>, token?: string) =>
  app.request('/fhir/fgm/query', {
    method: 'POST',
    headers: token === undefined ? {} : { 'X-CIS2-Access-Token': token },
  });
const fhirCode = async (res: Response) => fhirAnswerCode(await res.text());

describe('cis2Author', () => {
  it('without X-CIS2-Access-Token the request goes on unconfirmed (a local author may still be named)', async () => {
    assert.deepEqual(await (await post(fhirApp(cis2As()))).json(), { cis2User: null });
  });

  it('SMSP-AUDIT-002 a token CIS2 confirms: its user is kept for the route to match the Practitioner against', async () => {
    assert.deepEqual(await (await post(fhirApp(cis2As()), 'access.token.jwt')).json(), { cis2User: GP });
  });

  it('SMSP-AUDIT-002 a token sent by a client with no CIS2 configured: 401 AUTHOR_CREDENTIALS_ERROR', async () => {
    const res = await post(fhirApp(cis2As(), testClient()), 'access.token.jwt');
    assert.deepEqual([res.status, await fhirCode(res)], [401, 'AUTHOR_CREDENTIALS_ERROR']);
  });

  it('SMSP-AUDIT-002 a header that is not a token: 401, CIS2 not asked', async () => {
    let asked = 0;
    const res = await post(
      fhirApp(() => async () => (asked++, GP)),
      'not a token',
    );
    assert.deepEqual([res.status, asked], [401, 0]);
  });

  it('SMSP-AUDIT-002 a token CIS2 refuses: 401 AUTHOR_CREDENTIALS_ERROR', async () => {
    const res = await post(fhirApp(cis2As(new Cis2Refused('token-refused', 'UserInfo said 401'))), 'access.token.jwt');
    assert.deepEqual([res.status, await fhirCode(res)], [401, 'AUTHOR_CREDENTIALS_ERROR']);
  });

  it('SMSP-AUDIT-002 CIS2 unreachable or answering nonsense fails closed: 503 CIS2_UNAVAILABLE', async () => {
    for (const kind of ['unavailable', 'answer-invalid'] as const) {
      const res = await post(fhirApp(cis2As(new Cis2Refused(kind, 'CIS2 failed'))), 'access.token.jwt');
      assert.deepEqual([res.status, await fhirCode(res)], [503, 'CIS2_UNAVAILABLE'], kind);
    }
  });
});
