import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cis2Refused, type Cis2User } from '../auth/cis2-userinfo.ts';
import { signJwt } from '../../test/helpers/jwt.ts';
import { json, keptLines, portalKeys, testClient, unitApp } from '../../test/helpers/hono-unit.ts';
import type { Cis2Directory } from './cis2-session.ts';
import { sessionAuth } from './session-auth.ts';

const portal = testClient();
const other = testClient({
  id: 'other-epr',
  origins: ['https://other.test'],
  token: { ...portal.token!, issuer: 'https://other.test/local' },
});
const smartcard = testClient({
  id: 'cis2-epr',
  claims: 'cis2',
  token: undefined,
  origins: ['https://cis2-epr.test'],
  cis2: { issuer: 'https://cis2.test', clientId: 'cis2-rp', timeoutMs: 3000, cacheSeconds: 60, maxConcurrentCalls: 16 },
});
const { verify, sign } = await portalKeys([portal, other]);
const midwife = sign('https://epr.test/local', 'fgm-status-gateway', { sub: 'ajones', roles: ['midwife'], org: 'RX1' });
const GP: Cis2User = {
  userId: '555021935107',
  selectedRoleId: '555021936108',
  roles: [{ roleProfileId: '555021936108', orgCode: 'RX1', activities: ['B0370'] }],
};
/** A CIS2 access token bound to the smartcard portal (CIS2's own signature is checked by cis2-userinfo.ts, not here). */
const cis2Token = signJwt({ iss: 'https://cis2.test', client_id: 'cis2-rp', sub: GP.userId }, { alg: 'none' });

/** CIS2 as the test wants it: confirming GP, or refusing with `refusal`. */
const cis2As =
  (refusal?: Cis2Refused): Cis2Directory =>
  () =>
  async () => {
    if (refusal) throw refusal;
    return GP;
  };

function widgetApp(cis2: Cis2Directory = cis2As()) {
  const kept = keptLines();
  const app = unitApp(kept.log);
  // What the access log would write: the refusal's reason, which must be a fixed phrase.
  app.use('*', async (c, next) => (await next(), kept.log({ reason: c.get('refusalReason') })));
  app.post('/api/fgm-status', sessionAuth({ verify, clients: [portal, other, smartcard], cis2 }), (c) => {
    const { author, orgCode, activities, source } = c.get('identity');
    return c.json({ client: c.get('client').id, author, orgCode, activities, source });
  });
  return { app, ...kept };
}
const post = (app: ReturnType<typeof widgetApp>['app'], headers: Record<string, string>) =>
  app.request('/api/fgm-status', { method: 'POST', headers });
const bearer = (token: string, more: Record<string, string> = {}) => ({ Authorization: `Bearer ${token}`, ...more });

/** SMSP-IG-002, SMSP-AUDIT-005: every way in that fails is 401 AUTHOR_CREDENTIALS_ERROR (SMSP-0005). */
async function assertRefused(res: Response) {
  assert.equal(res.status, 401);
  const body = await json(res);
  assert.deepEqual([body.code, body.smspCode], ['AUTHOR_CREDENTIALS_ERROR', 'SMSP-0005']);
}

describe('sessionAuth', () => {
  it('SMSP-IG-002 a portal session becomes a local identity, its roles mapped to activities', async () => {
    const body = await json(await post(widgetApp().app, bearer(midwife, { Origin: 'https://epr.test' })));
    assert.deepEqual(body, {
      client: 'test-epr',
      author: { kind: 'local', localId: 'ajones' },
      orgCode: 'RX1',
      activities: ['B0370'],
      source: 'portal',
    });
  });

  it('SMSP-IG-002 no bearer token: 401', async () => assertRefused(await post(widgetApp().app, {})));
  it('SMSP-IG-002 a token no portal signed: 401', async () =>
    assertRefused(
      await post(
        widgetApp().app,
        bearer(
          signJwt(
            { iss: 'https://epr.test/local', aud: 'fgm-status-gateway', sub: 'x', iat: 1, exp: 2 },
            { alg: 'none' },
          ),
        ),
      ),
    ));
  it("SMSP-IG-002 a portal's token used from another portal's page: 401", async () =>
    assertRefused(await post(widgetApp().app, bearer(midwife, { Origin: 'https://other.test' }))));
  it('SMSP-AUDIT-005 a token naming no user: 401', async () =>
    assertRefused(
      await post(widgetApp().app, bearer(sign('https://epr.test/local', 'fgm-status-gateway', { roles: ['midwife'] }))),
    ));
  it("SMSP-IG-002 a client system's own token names no user: 401", async () => {
    const chs = testClient({
      id: 'chs',
      token: undefined,
      systemToken: { ...portal.token!, issuer: 'https://chs.test' },
    });
    const keys = await portalKeys([chs]);
    const app = unitApp();
    app.post('/', sessionAuth({ verify: keys.verify, clients: [chs], cis2: cis2As() }), (c) => c.text('served'));
    await assertRefused(
      await app.request('/', {
        method: 'POST',
        headers: bearer(keys.sign('https://chs.test', 'fgm-status-gateway', { sub: 'chs' })),
      }),
    );
  });

  it("SMSP-AUDIT-002 a CIS2 access token picks its client by its binding, and CIS2's answer alone makes the identity", async () => {
    const body = await json(await post(widgetApp().app, bearer(cis2Token, { Origin: 'https://cis2-epr.test' })));
    assert.deepEqual(body, {
      client: 'cis2-epr',
      author: { kind: 'sds', userId: '555021935107', roleProfileId: '555021936108' },
      orgCode: 'RX1',
      activities: ['B0370'],
      source: 'cis2',
    });
  });

  it("SMSP-AUDIT-002 a CIS2 access token from another client's origin: 401, CIS2 not asked", async () => {
    let asked = 0;
    const { app } = widgetApp(() => async () => (asked++, GP));
    await assertRefused(await post(app, bearer(cis2Token, { Origin: 'https://epr.test' })));
    assert.equal(asked, 0);
  });

  it('SMSP-AUDIT-002 a token CIS2 refuses: 401', async () =>
    assertRefused(
      await post(widgetApp(cis2As(new Cis2Refused('token-refused', 'UserInfo said 401'))).app, bearer(cis2Token)),
    ));

  it('SMSP-AUDIT-002 CIS2 unreachable fails closed: 503 CIS2_UNAVAILABLE', async () => {
    const res = await post(widgetApp(cis2As(new Cis2Refused('unavailable', 'CIS2 timed out'))).app, bearer(cis2Token));
    assert.equal(res.status, 503);
    assert.equal((await json(res)).code, 'CIS2_UNAVAILABLE');
  });

  it('SMSP-AUDIT-002 an opaque (non-JWT) token where CIS2 clients are configured: 401, its binding unprovable', async () => {
    await assertRefused(await post(widgetApp().app, bearer('opaque-access-token-9990000018')));
  });

  it("a refusal's logged reason is a fixed phrase, never the token", async () => {
    const { app, lines, text } = widgetApp(cis2As(new Cis2Refused('unavailable', 'CIS2 timed out')));
    await post(app, bearer(cis2Token));
    await post(app, bearer('opaque-access-token-9990000018'));
    assert.deepEqual(
      lines.map((l) => l.reason),
      ['CIS2: CIS2 timed out', 'token: the access token is not a JWT: its binding to this client could not be proven'],
    );
    assert.doesNotMatch(text(), /opaque-access-token|9990000018|eyJ/);
  });
});
