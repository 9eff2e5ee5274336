import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { corsHeaders, type CorsOptions } from './cors-headers.ts';

const options: CorsOptions = {
  origin: (o) => (o === 'https://portal.example' ? o : null),
  allowMethods: ['POST'],
  allowHeaders: ['Authorization', 'Content-Type'],
  exposeHeaders: ['X-Request-Id', 'Date', 'Retry-After'],
  maxAge: 600,
};
const appWith = (mw: MiddlewareHandler, answers: Response[] = []) =>
  new Hono()
    .use('*', async (c, next) => {
      c.header('X-Request-Id', 'r1');
      await next();
    })
    .use('*', mw)
    .all('/api', (c) => {
      const res = c.json({ ok: true }, 200, { Vary: 'Accept' });
      answers.push(res);
      return res;
    });
const headersOf = (res: Response) => [...res.headers.entries()].sort(([a], [b]) => a.localeCompare(b));

describe('corsHeaders', () => {
  const requests: [string, RequestInit][] = [
    ['allowed origin, POST', { method: 'POST', headers: { Origin: 'https://portal.example' } }],
    ['another origin, POST', { method: 'POST', headers: { Origin: 'https://evil.example' } }],
    ['no origin, GET', { method: 'GET' }],
    [
      'preflight from the allowed origin',
      {
        method: 'OPTIONS',
        headers: { Origin: 'https://portal.example', 'Access-Control-Request-Method': 'POST' },
      },
    ],
    ['preflight from another origin', { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } }],
  ];
  for (const [name, init] of requests)
    it(`answers a request (${name}) with the status and headers Hono's cors gives: CORS for configured origins only`, async () => {
      const ours = await appWith(corsHeaders(options)).request('/api', init);
      const hono = await appWith(cors(options)).request('/api', init);
      assert.equal(ours.status, hono.status);
      assert.deepEqual(headersOf(ours), headersOf(hono));
    });

  it("sends the handler's own answer, not a copy of it (the copy is what cost the CPU)", async () => {
    const answers: Response[] = [];
    const res = await appWith(corsHeaders(options), answers).request('/api', {
      method: 'POST',
      headers: { Origin: 'https://portal.example' },
    });
    assert.equal(res, answers[0]);
    assert.equal(res.headers.get('Access-Control-Allow-Origin'), 'https://portal.example');
  });
});
