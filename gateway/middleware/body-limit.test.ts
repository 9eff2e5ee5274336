import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { json, listen, unitApp } from '../../test/helpers/hono-unit.ts';
import { bodyLimit } from './body-limit.ts';

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
