import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { noStore } from './no-store.ts';

describe('noStore', () => {
  const app = new Hono();
  app.use('*', noStore());
  app.get('/ok', (c) => c.json({ ok: true }, 200, { 'Cache-Control': 'public, max-age=600' }));
  app.get('/boom', () => {
    throw new Error('boom');
  });
  app.onError((_e, c) => c.text('failed', 500));

  it("SMSP-FGMRI-003 overrides a handler's own caching with no-store", async () => {
    const res = await app.request('/ok');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('Cache-Control'), 'no-store');
  });

  it('SMSP-FGMRI-003 errors are no-store too', async () => {
    const res = await app.request('/boom');
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('Cache-Control'), 'no-store');
  });

  it('SMSP-FGMRI-003 so is a 404 for a path nobody serves', async () => {
    assert.equal((await app.request('/nowhere')).headers.get('Cache-Control'), 'no-store');
  });
});
