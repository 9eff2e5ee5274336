import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { json, listen, testClient, unitApp } from '../../test/helpers/hono-unit.ts';
import { BODY_BYTES_FREE, bodyLimit } from './body-limit.ts';

const app = unitApp();
app.post('/', bodyLimit({ maxBytes: 10 }), async (c) => c.text(`read ${(await c.req.text()).length}`));

/** Sends `chunks` with Transfer-Encoding: chunked (no Content-Length) over a real socket. */
function chunked(port: number, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'Transfer-Encoding': 'chunked' } },
      (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (d) => (body += d))
          .on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('bodyLimit', () => {
  // app.request sets no Content-Length of its own: each request here declares one, as Node's parser would pass it on.
  it('lets a declared body at the limit through', async () => {
    assert.equal(
      await (
        await app.request('/', { method: 'POST', headers: { 'Content-Length': '10' }, body: '0123456789' })
      ).text(),
      'read 10',
    );
  });

  it('refuses a declared Content-Length over the limit with 413 REQUEST_TOO_LARGE', async () => {
    const res = await app.request('/', { method: 'POST', headers: { 'Content-Length': '11' }, body: '0123456789A' });
    assert.equal(res.status, 413);
    assert.equal((await json(res)).code, 'REQUEST_TOO_LARGE');
  });

  it('refuses a Content-Length that is not a number, rather than trusting it', async () => {
    const res = await app.request('/', { method: 'POST', headers: { 'Content-Length': '1e1' }, body: 'x' });
    assert.equal(res.status, 413);
  });

  describe('over a real socket, without a Content-Length', () => {
    let server: Awaited<ReturnType<typeof listen>>;
    before(async () => (server = await listen(app)));
    after(() => server.close());

    it('counts a chunked body as it arrives: within the limit it is read', async () => {
      assert.deepEqual(await chunked(server.port, ['01234', '56789']), { status: 200, body: 'read 10' });
    });

    it('refuses a chunked body once it passes the limit: 413 REQUEST_TOO_LARGE', async () => {
      const res = await chunked(server.port, ['01234', '56789', 'A']);
      assert.equal(res.status, 413);
      assert.equal(JSON.parse(res.body).code, 'REQUEST_TOO_LARGE');
    });
  });
});

describe('bodyLimit: request bodies held at once (issue 21 review 21b H1)', () => {
  const KB = 1024;
  // Each request's handler holds its body until the test lets it go.
  const gates: (() => void)[] = [];
  const held = unitApp();
  held.use('*', async (c, next) => {
    c.set('client', testClient({ id: c.req.header('x-client') ?? 'a' }));
    await next();
  });
  held.post('/', bodyLimit({ maxBytes: 64 * KB, total: 40 * KB, perClient: 24 * KB }), async (c) => {
    const text = await c.req.text();
    await new Promise<void>((resolve) => gates.push(resolve));
    return c.text(`read ${text.length}`);
  });
  const send = (client: string, bytes: number) =>
    held.request('/', {
      method: 'POST',
      headers: { 'Content-Length': String(bytes), 'x-client': client },
      body: 'x'.repeat(bytes),
    });
  /** Resolves once `n` handlers hold their bodies. */
  const holding = async (n: number) => {
    while (gates.length < n) await new Promise((r) => setImmediate(r));
  };

  it(`bodies beyond ${BODY_BYTES_FREE / 1024} KB draw on the client's part and the gateway's: beyond them the busy tone, a small body never; released when answered`, async () => {
    // 30 KB holds 14 KB of the budgets; a second from client a would hold 28 KB of its 24.
    const first = send('a', 30 * KB);
    await holding(1);
    const second = await send('a', 30 * KB);
    assert.equal(second.status, 429);
    assert.equal((await json(second)).code, 'SPINE_BUSY');
    assert.equal(second.headers.get('retry-after'), '1');
    // A clinician's small request from the same client is not charged.
    const small = send('a', 10 * KB);
    await holding(2);
    // Client b has its own part: 14 + 14 of the gateway's 40.
    const b = send('b', 30 * KB);
    await holding(3);
    // A third large body would take the gateway past 40 KB, whichever client sends it.
    assert.equal((await send('c', 30 * KB)).status, 429);
    gates.splice(0).forEach((open) => open());
    assert.deepEqual(await Promise.all([first, small, b].map(async (r) => (await r).text())), [
      `read ${30 * KB}`,
      `read ${10 * KB}`,
      `read ${30 * KB}`,
    ]);
    // Given back: client a's large body is let in again.
    const again = send('a', 30 * KB);
    await holding(1);
    gates.splice(0).forEach((open) => open());
    assert.equal((await again).status, 200);
  });
});
