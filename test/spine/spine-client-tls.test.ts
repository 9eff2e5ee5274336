/**
 * The Spine client's side of TLS mutual authentication (docs/development/design.md: TLS 1.2+ both ways): it speaks TLS 1.2 or later
 * only, and checks that Spine's certificate names the host it called, over real sockets to
 * servers of this test's own. Each refusal has a control: the same server answers a client that
 * would accept it, so the refusal is the gateway's, not a server that cannot talk at all.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPki, type DevPki } from '../../demo/pki.ts';
import { createHttpsSpineClient } from '../../gateway/spine/client.ts';

const ANSWER = '<Bundle xmlns="http://hl7.org/fhir"><type value="message"/></Bundle>';

describe('the Spine client: TLS 1.2 or later, and the host named by Spine’s certificate', () => {
  let dir: string;
  let pki: DevPki;
  const read = (f: string) => readFileSync(f, 'utf8');
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fgm-spine-tls-'));
    pki = await createPki(join(dir, 'pki'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** An HTTPS server with the simulator's certificate that requires a client certificate, counting requests. */
  async function spineLike(
    host: string,
    tls: ServerOptions = {},
  ): Promise<{ server: Server; port: number; hits: () => number }> {
    let hits = 0;
    const server = createServer(
      {
        cert: read(pki.leaf.spine.cert),
        key: read(pki.leaf.spine.key),
        ca: read(pki.caCert),
        requestCert: true,
        rejectUnauthorized: true,
        ...tls,
      },
      (req, res) => {
        hits++;
        req.resume();
        res.writeHead(200, { 'content-type': 'application/fhir+xml' }).end(ANSWER);
      },
    );
    server.listen(0, host);
    await once(server, 'listening');
    return { server, port: (server.address() as AddressInfo).port, hits: () => hits };
  }
  const gatewayClient = (endpoint: string) =>
    createHttpsSpineClient({
      endpoint,
      tls: {
        cert: read(pki.leaf['gateway-client'].cert),
        key: read(pki.leaf['gateway-client'].key),
        ca: read(pki.caCert),
      },
      timeoutMs: 10_000,
      maxResponseBytes: 262_144,
    });
  /** Control: a plain client with the same certificates and the given TLS settings, the status it got or its error code. */
  const control = (url: string, tls: { minVersion?: 'TLSv1'; checkServerIdentity?: () => undefined }) =>
    new Promise<number | string>((resolve) => {
      const req = request(url, {
        method: 'POST',
        cert: read(pki.leaf['gateway-client'].cert),
        key: read(pki.leaf['gateway-client'].key),
        ca: read(pki.caCert),
        ciphers: 'DEFAULT@SECLEVEL=0',
        ...tls,
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.end('<x/>');
    });

  it('refuses a Spine that offers only TLS 1.1: nothing is sent', async () => {
    const old = await spineLike('127.0.0.1', {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    const spine = gatewayClient(`https://127.0.0.1:${old.port}/q`);
    try {
      assert.equal(
        await control(`https://127.0.0.1:${old.port}/q`, { minVersion: 'TLSv1' }),
        200,
        'the server speaks TLS 1.1',
      );
      const before = old.hits();
      const r = await spine.query('<x/>');
      assert.equal(r.kind, 'failure');
      assert.equal(r.kind === 'failure' && r.code, 'COULD_NOT_CONNECT_TO_SPINE');
      assert.equal(old.hits(), before, 'no request reached the TLS 1.1 server');
    } finally {
      spine.close();
      old.server.close();
    }
  });

  it('refuses a Spine whose certificate does not name the host called (127.0.0.2 is not in its names)', async () => {
    const other = await spineLike('127.0.0.2');
    const spine = gatewayClient(`https://127.0.0.2:${other.port}/q`);
    try {
      assert.equal(
        await control(`https://127.0.0.2:${other.port}/q`, { checkServerIdentity: () => undefined }),
        200,
        'the server answers a client that skips the name check',
      );
      const r = await spine.query('<x/>');
      assert.equal(r.kind === 'failure' && r.code, 'COULD_NOT_CONNECT_TO_SPINE');
      assert.equal(r.kind === 'failure' && r.reason, 'connection: ERR_TLS_CERT_ALTNAME_INVALID');
      assert.equal(other.hits(), 1, 'only the control reached it');
    } finally {
      spine.close();
      other.server.close();
    }
  });

  it('answers over TLS 1.2+ from a Spine whose certificate names the host, on one context for every connection', async () => {
    const good = await spineLike('127.0.0.1');
    const spine = gatewayClient(`https://127.0.0.1:${good.port}/q`);
    try {
      // More calls at once than one socket carries: several connections, each needing the client certificate.
      const answers = await Promise.all(Array.from({ length: 8 }, () => spine.query('<x/>')));
      assert.deepEqual(
        answers.map((a) => a.kind),
        Array(8).fill('answer'),
      );
      assert.equal(good.hits(), 8);
    } finally {
      spine.close();
      good.server.close();
    }
  });
});
