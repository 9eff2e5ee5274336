import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fhirAnswerCode } from '../../test/helpers/fhir-answer.ts';
import { json, portalKeys, testClient, unitApp } from '../../test/helpers/hono-unit.ts';
import { clientAuth, type PeerCertificate } from './client-auth.ts';

const FINGERPRINT = 'AB'.repeat(32);
const chs = testClient({
  id: 'test-chs',
  systemToken: {
    issuer: 'https://chs.test',
    audience: 'fgm-status-gateway/fhir',
    publicKeyFile: '/dev/null',
    algorithms: ['ES256'],
    maxLifetimeSeconds: 3600,
  },
  mtls: { fingerprint256: FINGERPRINT },
});
const { verify, sign } = await portalKeys([chs]);
const systemToken = sign('https://chs.test', 'fgm-status-gateway/fhir', { sub: 'test-chs' });
const sessionToken = sign('https://epr.test/local', 'fgm-status-gateway', {
  sub: 'ajones',
  roles: ['midwife'],
  org: 'RX1',
});

/** An app on the FHIR path whose TLS peer is `peer`; it answers with the client it was given. */
function fhirApp(peer?: PeerCertificate) {
  const app = unitApp();
  app.post('/fhir/fgm/query', clientAuth({ clients: [chs], verify, peerCertificate: () => peer }), (c) =>
    c.json({ client: c.get('client').id, audit: c.get('audit') }),
  );
  return app;
}
const post = (app: ReturnType<typeof fhirApp>, token?: string) =>
  app.request('/fhir/fgm/query', { method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {} });
/** The Details.Code of a FHIR error answer (an OperationOutcome in XML). */
const fhirCode = async (res: Response) => fhirAnswerCode(await res.text());

describe('clientAuth', () => {
  it('SMSP-IG-002 a client system is known by its CA-verified certificate, any colon form', async () => {
    const res = await post(
      fhirApp({ fingerprint256: FINGERPRINT.toLowerCase().match(/../g)!.join(':'), authorized: true }),
    );
    assert.equal((await json(res)).client, 'test-chs');
  });

  it('SMSP-IG-002 or by its own system token', async () => {
    assert.equal((await json(await post(fhirApp(), systemToken))).client, 'test-chs');
  });

  it('SMSP-IG-002 no credentials: 401 AUTHOR_CREDENTIALS_ERROR, as a FHIR answer', async () => {
    const res = await post(fhirApp());
    assert.equal(res.status, 401);
    assert.match(res.headers.get('Content-Type')!, /application\/fhir\+xml/);
    assert.equal(await fhirCode(res), 'AUTHOR_CREDENTIALS_ERROR');
  });

  it('SMSP-IG-002 a certificate the CA did not verify is no credential, whatever its fingerprint', async () => {
    assert.equal((await post(fhirApp({ fingerprint256: FINGERPRINT, authorized: false }))).status, 401);
  });

  it('SMSP-IG-002 a token no client issued: 401', async () => {
    assert.equal((await post(fhirApp(), 'not.a.jwt')).status, 401);
  });

  it("SMSP-IG-002 a portal user's session token is not a client-system credential: 401", async () => {
    const portal = testClient();
    const keys = await portalKeys([portal, chs]);
    const app = unitApp();
    app.post('/fhir/fgm/query', clientAuth({ clients: [portal, chs], verify: keys.verify }), (c) => c.text('served'));
    const res = await post(
      app,
      keys.sign('https://epr.test/local', 'fgm-status-gateway', { sub: 'ajones', roles: ['midwife'], org: 'RX1' }),
    );
    assert.equal(res.status, 401);
    assert.equal(await fhirCode(res), 'AUTHOR_CREDENTIALS_ERROR');
  });

  it('SMSP-IG-002 a well-signed token from an issuer not configured here: 401', async () => {
    assert.equal((await post(fhirApp(), sessionToken)).status, 401);
  });
});
