import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import type { GatewayEnv } from '../env.ts';
import { requestId } from './request-id.ts';

describe('requestId', () => {
  let n = 0;
  const app = new Hono<GatewayEnv>();
  app.use('*', requestId({ generate: () => `id-${++n}` }));
  app.get('/', (c) => c.text(c.get('requestId')));

  it('gives each request a fresh id, in the context and the X-Request-Id header', async () => {
    const [a, b] = [await app.request('/'), await app.request('/')];
    assert.equal(a.headers.get('X-Request-Id'), await a.text());
    assert.notEqual(a.headers.get('X-Request-Id'), b.headers.get('X-Request-Id'));
  });

  it("ignores a client's own X-Request-Id: client text (maybe an NHS number) never becomes the id", async () => {
    const res = await app.request('/', { headers: { 'X-Request-Id': '9990000018' } });
    assert.doesNotMatch(res.headers.get('X-Request-Id')!, /9990000018/);
    assert.doesNotMatch(await res.text(), /9990000018/);
  });

  it('by default the id is a random UUID', async () => {
    const real = new Hono<GatewayEnv>().use('*', requestId()).get('/', (c) => c.text(c.get('requestId')));
    assert.match(
      await (await real.request('/')).text(),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
