import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Identity } from '../auth/identity.ts';
import { json, testClient, unitApp } from '../../test/helpers/hono-unit.ts';
import { rbac } from './rbac.ts';

/** An app whose user acts for `orgCode` holding `activities`; the client may act for RX1 and RX2. */
function appFor(identity: Pick<Identity, 'orgCode' | 'activities'>, activity?: string) {
  const app = unitApp();
  app.use('*', async (c, next) => {
    c.set('client', testClient({ odsCodes: ['RX1', 'RX2'] }));
    c.set('identity', { author: { kind: 'local', localId: 'ajones' }, roles: [], source: 'portal', ...identity });
    await next();
  });
  app.get('/', activity ? rbac({ activity }) : rbac(), (c) => c.text('served'));
  return app;
}

describe('rbac', () => {
  it("SMSP-IG-001 a user holding B0370 at one of the client's organisations is let through", async () => {
    assert.equal(await (await appFor({ orgCode: 'RX2', activities: ['B0370'] }).request('/')).text(), 'served');
  });

  it('SMSP-IG-001 a user without B0370 is refused 403 ACCESS_DENIED', async () => {
    const res = await appFor({ orgCode: 'RX1', activities: ['B0360'] }).request('/');
    assert.equal(res.status, 403);
    assert.equal((await json(res)).code, 'ACCESS_DENIED');
  });

  it('SMSP-IG-003 a user acting for an organisation the client may not act for is refused 403 ACCESS_DENIED, B0370 or not', async () => {
    const res = await appFor({ orgCode: 'RZZ', activities: ['B0370'] }).request('/');
    assert.equal(res.status, 403);
    assert.equal((await json(res)).code, 'ACCESS_DENIED');
  });

  it('checks the activity it is given, not always B0370', async () => {
    assert.equal((await appFor({ orgCode: 'RX1', activities: ['B0370'] }, 'B0999').request('/')).status, 403);
    assert.equal((await appFor({ orgCode: 'RX1', activities: ['B0999'] }, 'B0999').request('/')).status, 200);
  });
});
