import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { json, testClient, unitApp } from '../../test/helpers/hono-unit.ts';
import { clientInService } from './client-in-service.ts';

describe('clientInService', () => {
  const enabled = new Set(['in-service']);
  const app = unitApp();
  app.use('*', async (c, next) => {
    c.set('client', testClient({ id: c.req.header('X-Test-Client')! }));
    await next();
  });
  app.get('/', clientInService({ isEnabled: (id) => enabled.has(id) }), (c) => c.text('served'));

  it('SMSP-SEC-001 lets a client in service through', async () => {
    const res = await app.request('/', { headers: { 'X-Test-Client': 'in-service' } });
    assert.equal(await res.text(), 'served');
  });

  it('SMSP-SEC-001 refuses a client taken out of service: 403 CLIENT_DISABLED', async () => {
    const res = await app.request('/', { headers: { 'X-Test-Client': 'withdrawn' } });
    assert.equal(res.status, 403);
    assert.equal((await json(res)).code, 'CLIENT_DISABLED');
  });

  it('SMSP-SEC-001 asks on every request, so a reload applies at once', async () => {
    enabled.add('withdrawn');
    assert.equal((await app.request('/', { headers: { 'X-Test-Client': 'withdrawn' } })).status, 200);
    enabled.delete('withdrawn');
    assert.equal((await app.request('/', { headers: { 'X-Test-Client': 'withdrawn' } })).status, 403);
  });
});
