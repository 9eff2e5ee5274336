/**
 * The CIS2 UserInfo client against a real local HTTP server serving fixed documents (the
 * oidc-provider double's tests are in test/gateway-cis2.test.ts): the cache never outlives a JWT
 * access token's exp, nonsense and failures are told apart, the call cap holds, and discovery
 * checks the issuer it was asked about.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { signJwt } from '../../test/helpers/jwt.ts';
import { Cis2Refused, createCis2UserInfo } from './cis2-userinfo.ts';

/** A fixed UserInfo document, written by hand from spec/cis2.md. */
const DOCUMENT = { nhsid_useruid: '555021935107', selected_roleid: '555021936108', nhsid_nrbac_roles: [{ person_roleid: '555021936108', org_code: 'RX1', activity_codes: ['B0370'] }] };

let calls = 0;
const held: ServerResponse[] = [];
/** How many held calls are open at once, and the most there ever were. */
let open = 0;
let mostOpen = 0;
let base = '';
const server = createServer((req, res) => {
  calls++;
  const send = (status: number, type: string, body: string) => res.writeHead(status, { 'content-type': type }).end(body);
  if (req.url === '/me') return send(200, 'application/json', JSON.stringify(DOCUMENT));
  if (req.url === '/html') return send(200, 'text/html', '<p>maintenance</p>');
  if (req.url === '/not-json') return send(200, 'application/json', '{"nhsid_useruid":');
  if (req.url === '/no-user') return send(200, 'application/json', '{"nhsid_nrbac_roles":[]}');
  if (req.url === '/down') return send(503, 'text/plain', 'down');
  if (req.url === '/hold') {
    mostOpen = Math.max(mostOpen, ++open);
    res.on('close', () => open--);
    return void held.push(res);
  }
  if (req.url === '/other-issuer/.well-known/openid-configuration') return send(200, 'application/json', JSON.stringify({ issuer: 'https://elsewhere', userinfo_endpoint: `${base}/me` }));
  if (req.url === '/issuer/.well-known/openid-configuration') return send(200, 'application/json', JSON.stringify({ issuer: `${base}/issuer`, userinfo_endpoint: `${base}/me` }));
  send(404, 'text/plain', 'no');
});
before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  for (const r of held) r.destroy();
  server.close();
});

const config = (over: Record<string, unknown>) => ({ timeoutMs: 1000, cacheSeconds: 60, maxConcurrentCalls: 4, ...over });
const refused = (kind: string) => (e: unknown) => e instanceof Cis2Refused && e.kind === kind;

describe('CIS2 UserInfo client (SMSP-AUDIT-002)', () => {
  it('SMSP-AUDIT-002 a cached answer never outlives a JWT access token\'s exp, though cacheSeconds is longer', async () => {
    let now = 1_800_000_000_000;
    const userInfo = createCis2UserInfo({ config: config({ userInfoEndpoint: `${base}/me` }), now: () => now });
    // A JWT-shaped access token expiring in 10 s (its signature is CIS2's business: UserInfo is the check).
    const token = signJwt({ exp: now / 1000 + 10 }, { alg: 'HS256', key: 'k' });
    const start = calls;
    await userInfo(token);
    now += 9_000;
    await userInfo(token);
    assert.equal(calls, start + 1, 'cached before exp');
    now += 2_000;
    await userInfo(token);
    assert.equal(calls, start + 2, 'past exp CIS2 is asked again (cacheSeconds 60 would have kept it)');
  });

  it('SMSP-AUDIT-002 nonsense is answer-invalid, a 5xx unavailable: both fail closed, told apart', async () => {
    for (const path of ['/html', '/not-json', '/no-user']) {
      await assert.rejects(createCis2UserInfo({ config: config({ userInfoEndpoint: `${base}${path}` }) })('t'), refused('answer-invalid'), path);
    }
    await assert.rejects(createCis2UserInfo({ config: config({ userInfoEndpoint: `${base}/down` }) })('t'), refused('unavailable'));
  });

  it('SMSP-AUDIT-002 at most maxConcurrentCalls calls are in flight; the next waits and is refused at the deadline', async () => {
    const userInfo = createCis2UserInfo({ config: config({ userInfoEndpoint: `${base}/hold`, maxConcurrentCalls: 2, timeoutMs: 1500 }) });
    mostOpen = 0;
    const results = await Promise.allSettled(['a', 'b', 'c'].map((t) => userInfo(t)));
    // Never more than two at CIS2 at once (a third may start once a first gives up at its deadline).
    assert.ok(mostOpen <= 2, `${mostOpen} calls were at CIS2 at once: the cap is 2`);
    for (const r of results) assert.ok(r.status === 'rejected' && refused('unavailable')(r.reason));
  });

  it('SMSP-AUDIT-002 discovery finds UserInfo, and refuses a document naming another issuer', async () => {
    assert.equal((await createCis2UserInfo({ config: config({ issuer: `${base}/issuer` }) })('t')).userId, DOCUMENT.nhsid_useruid);
    await assert.rejects(createCis2UserInfo({ config: config({ issuer: `${base}/other-issuer` }) })('t'), refused('unavailable'));
  });
});
