/**
 * Hostile review of issue 22's corsHeaders: answers whose headers differ from what Hono's cors gave
 * at e7d1a08, each failing before its fix: corsHeaders matches Hono's cors on that path (with @hono/node-server's
 * Response as on the gateway's wire, and without it).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { corsHeaders, type CorsOptions } from './cors-headers.ts';

const options: CorsOptions = {
  origin: (o) => (o === 'https://portal.example' ? o : null),
  allowMethods: ['POST'],
  exposeHeaders: ['X-Request-Id', 'Date', 'Retry-After'],
};
const headersOf = (res: Response) => [...res.headers.entries()].sort(([a], [b]) => a.localeCompare(b));
const fromPortal = { method: 'POST', headers: { Origin: 'https://portal.example' } };

describe('corsHeaders against Hono cors (attack 22)', () => {
  // Hono's cors appended Vary by c.header, which copies a finalized answer first; corsHeaders
  // appends to the answer's own headers, which Response.redirect (and fetch) make immutable.
  const redirectingApp = (mw: MiddlewareHandler) => {
    const app = new Hono().use('*', mw).post('/api', () => Response.redirect('https://portal.example/x', 302));
    app.onError((e, c) => c.text(e.name, 500));
    return app;
  };
  it('an answer with immutable headers (Response.redirect) is sent, not turned into a 500', async () => {
    const ours = await redirectingApp(corsHeaders(options)).request('/api', fromPortal);
    const hono = await redirectingApp(cors(options)).request('/api', fromPortal);
    assert.equal(ours.status, hono.status);
    assert.deepEqual(headersOf(ours), headersOf(hono));
  });
});
