/**
 * The CIS2 UserInfo client against a real local HTTP server serving fixed documents (the
 * oidc-provider double's tests are in test/gateway/gateway-cis2.test.ts): the cache never outlives a JWT
 * access token's exp, nonsense and failures are told apart, the call cap holds, and discovery
 * checks the issuer it was asked about.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signJwt } from '../../test/helpers/jwt.ts';
import { Cis2Refused, createCis2UserInfo, OPAQUE_TOKEN_REASON } from './cis2-userinfo.ts';

/** A fixed UserInfo document, written by hand from NHS CIS2 Authentication's UserInfo claims (docs/development/design.md, "Flows"). */
const DOCUMENT = {
  sub: '555021935107',
  nhsid_useruid: '555021935107',
  selected_roleid: '555021936108',
  nhsid_nrbac_roles: [{ person_roleid: '555021936108', org_code: 'RX1', activity_codes: ['B0370'] }],
};

/** The issuer's signing key; its public half is served as the JWKS. */
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const JWKS = JSON.stringify({
  keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }],
});

let calls = 0;
const held: ServerResponse[] = [];
/** How many held calls are open at once, and the most there ever were. */
let open = 0;
let mostOpen = 0;
let base = '';
const server = createServer((req, res) => {
  const send = (status: number, type: string, body: string) =>
    res.writeHead(status, { 'content-type': type }).end(body);
  if (req.url === '/jwks') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JWKS);
  calls++;
  if (req.url === '/me') return send(200, 'application/json', JSON.stringify(DOCUMENT));
  if (req.url === '/seq') return send(200, 'application/json-seq', JSON.stringify(DOCUMENT));
  if (req.url === '/html') return send(200, 'text/html', '<p>maintenance</p>');
  if (req.url === '/not-json') return send(200, 'application/json', '{"nhsid_useruid":');
  if (req.url === '/no-user') return send(200, 'application/json', '{"nhsid_nrbac_roles":[]}');
  if (req.url === '/refuse') return send(401, 'application/json', '{"error":"invalid_token"}');
  if (req.url === '/down') return send(503, 'text/plain', 'down');
  if (req.url === '/hold') {
    mostOpen = Math.max(mostOpen, ++open);
    res.on('close', () => open--);
    return void held.push(res);
  }
  if (req.url === '/other-issuer/.well-known/openid-configuration')
    return send(
      200,
      'application/json',
      JSON.stringify({ issuer: 'https://elsewhere', userinfo_endpoint: `${base}/me` }),
    );
  if (req.url === '/issuer/.well-known/openid-configuration')
    return send(
      200,
      'application/json',
      JSON.stringify({ issuer: `${base}/issuer`, userinfo_endpoint: `${base}/me`, jwks_uri: `${base}/jwks` }),
    );
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

const ISSUER = 'https://cis2.test/issuer';
const CLIENT_ID = 'portal-1';
/** A userInfoEndpoint config for `path`, with the test JWKS. */
const config = (over: Record<string, unknown>) => ({
  issuer: ISSUER,
  clientId: CLIENT_ID,
  jwksUrl: `${base}/jwks`,
  timeoutMs: 1000,
  cacheSeconds: 60,
  maxConcurrentCalls: 4,
  ...over,
});
/** An RFC 9068 access token from the test issuer for the portal, 10 minutes from `nowMs`. */
const accessToken = (claims: Record<string, unknown> = {}, nowMs = Date.now()) =>
  signJwt(
    {
      iss: ISSUER,
      sub: DOCUMENT.sub,
      client_id: CLIENT_ID,
      iat: Math.floor(nowMs / 1000),
      exp: Math.floor(nowMs / 1000) + 600,
      jti: Math.random().toString(36),
      ...claims,
    },
    { alg: 'RS256', key: privateKey, kid: 'k1', header: { typ: 'at+jwt' } },
  );
const refused = (kind: string) => (e: unknown) => e instanceof Cis2Refused && e.kind === kind;

describe('CIS2 UserInfo client (SMSP-AUDIT-002)', () => {
  it("SMSP-AUDIT-002 a cached answer never outlives a JWT access token's exp, though cacheSeconds is longer", async () => {
    let now = 1_800_000_000_000;
    const userInfo = createCis2UserInfo({ config: config({ userInfoEndpoint: `${base}/me` }), now: () => now });
    const token = accessToken({ exp: now / 1000 + 10 }, now);
    const start = calls;
    await userInfo(token);
    now += 9_000;
    await userInfo(token);
    assert.equal(calls, start + 1, 'cached before exp');
    now += 2_000;
    await assert.rejects(
      userInfo(token),
      refused('token-refused'),
      'past exp the cached answer is gone (cacheSeconds 60 would have kept it) and the token is refused',
    );
    assert.equal(calls, start + 1, 'an expired token is refused locally');
  });

  it('SMSP-AUDIT-002 nonsense is answer-invalid, a 5xx unavailable: both fail closed, told apart', async () => {
    for (const path of ['/html', '/seq', '/not-json', '/no-user']) {
      await assert.rejects(
        createCis2UserInfo({ config: config({ userInfoEndpoint: `${base}${path}` }) })(accessToken()),
        refused('answer-invalid'),
        path,
      );
    }
    await assert.rejects(
      createCis2UserInfo({ config: config({ userInfoEndpoint: `${base}/down` }) })(accessToken()),
      refused('unavailable'),
    );
  });

  it('SMSP-AUDIT-002 at most maxConcurrentCalls calls are in flight; the next waits and is refused at the deadline', async () => {
    const userInfo = createCis2UserInfo({
      config: config({ userInfoEndpoint: `${base}/hold`, maxConcurrentCalls: 2, timeoutMs: 1500 }),
    });
    mostOpen = 0;
    const results = await Promise.allSettled([accessToken(), accessToken(), accessToken()].map((t) => userInfo(t)));
    // Never more than two at CIS2 at once (a third may start once a first gives up at its deadline).
    assert.ok(mostOpen <= 2, `${mostOpen} calls were at CIS2 at once: the cap is 2`);
    for (const r of results) assert.ok(r.status === 'rejected' && refused('unavailable')(r.reason));
  });

  it('SMSP-AUDIT-002 discovery finds UserInfo, and refuses a document naming another issuer', async () => {
    const discovered = { issuer: `${base}/issuer`, jwksUrl: undefined };
    assert.equal(
      (await createCis2UserInfo({ config: config(discovered) })(accessToken({ iss: `${base}/issuer` }))).userId,
      DOCUMENT.nhsid_useruid,
    );
    await assert.rejects(
      createCis2UserInfo({ config: config({ issuer: `${base}/other-issuer`, jwksUrl: undefined }) })(
        accessToken({ iss: `${base}/other-issuer` }),
      ),
      refused('unavailable'),
    );
  });

  it('SMSP-AUDIT-002 before UserInfo is asked: a token of another client, another issuer, expired, unsigned by the issuer or opaque is refused', async () => {
    const userInfo = createCis2UserInfo({ config: config({ userInfoEndpoint: `${base}/me` }) });
    const start = calls;
    const { privateKey: stranger } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const foreign = [
      accessToken({ client_id: 'another-app' }),
      accessToken({ iss: 'https://cis2.test/elsewhere' }),
      accessToken({ exp: Math.floor(Date.now() / 1000) - 60 }),
      signJwt(
        { iss: ISSUER, sub: DOCUMENT.sub, client_id: CLIENT_ID, exp: Math.floor(Date.now() / 1000) + 600 },
        { alg: 'RS256', key: stranger, kid: 'k1' },
      ),
      'an-opaque-token',
    ];
    for (const t of foreign) await assert.rejects(userInfo(t), refused('token-refused'));
    await assert.rejects(
      userInfo('an-opaque-token'),
      (e) => e instanceof Cis2Refused && e.reason === OPAQUE_TOKEN_REASON,
    );
    assert.equal(calls, start, 'UserInfo was never called');
    // azp, or an aud entry, binds a token as client_id does.
    assert.equal(
      (await userInfo(accessToken({ client_id: undefined, azp: CLIENT_ID }))).userId,
      DOCUMENT.nhsid_useruid,
    );
    assert.equal(
      (await userInfo(accessToken({ client_id: undefined, aud: ['api', CLIENT_ID] }))).userId,
      DOCUMENT.nhsid_useruid,
    );
  });

  it("SMSP-AUDIT-002 UserInfo's 401 for a token is remembered briefly by its hash: a replay does not ask CIS2 again, and after it does", async () => {
    let now = Date.now();
    const userInfo = createCis2UserInfo({ config: config({ userInfoEndpoint: `${base}/refuse` }), now: () => now });
    const token = accessToken({}, now);
    const start = calls;
    await assert.rejects(userInfo(token), refused('token-refused'));
    await assert.rejects(userInfo(token), refused('token-refused'));
    assert.equal(calls, start + 1, 'the second refusal came from the negative cache');
    now += 30_001;
    await assert.rejects(userInfo(token), refused('token-refused'));
    assert.equal(calls, start + 2, 'the remembered refusal expired');
  });

  it("SMSP-AUDIT-002 a UserInfo answer about another sub than the access token's is answer-invalid", async () => {
    await assert.rejects(
      createCis2UserInfo({ config: config({ userInfoEndpoint: `${base}/me` }) })(accessToken({ sub: 'someone-else' })),
      refused('answer-invalid'),
    );
  });
});

describe('CIS2 cache and a changed key set (SMSP-AUDIT-002, issue 22)', () => {
  const rotated = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwkOf = (k: KeyObject, kid: string) => ({ ...k.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' });
  const idp = { keys: [jwkOf(publicKey, 'k1')], jwksFetches: 0, userInfoCalls: 0, jwksDown: false };
  const own = createServer((req, res) => {
    if (req.url === '/jwks') {
      idp.jwksFetches++;
      if (idp.jwksDown) return void res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: idp.keys }));
    }
    idp.userInfoCalls++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(DOCUMENT));
  });
  after(() => own.close());

  it('SMSP-AUDIT-002 a cached answer is not used once the key that signed its token is withdrawn from the fetched set', async (t) => {
    // jose reads Date.now() for its refresh cooldown; only Date is mocked, the sockets stay real.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    own.listen(0, '127.0.0.1');
    await once(own, 'listening');
    const at = `http://127.0.0.1:${(own.address() as AddressInfo).port}`;
    const userInfo = createCis2UserInfo({
      config: config({ userInfoEndpoint: `${at}/me`, jwksUrl: `${at}/jwks`, cacheSeconds: 3600 }),
      now: () => Date.now(),
    });
    const old = accessToken({ exp: Math.floor(Date.now() / 1000) + 3000 });
    await userInfo(old);
    await userInfo(old);
    assert.equal(idp.userInfoCalls, 1, 'control: the second answer came from the cache');
    // CIS2 withdraws k1; a token signed by the new key makes jose fetch the set again (after its cooldown).
    idp.keys = [jwkOf(rotated.publicKey, 'k2')];
    t.mock.timers.tick(60_000);
    const fresh = signJwt(
      {
        iss: ISSUER,
        sub: DOCUMENT.sub,
        client_id: CLIENT_ID,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 600,
      },
      { alg: 'RS256', key: rotated.privateKey, kid: 'k2', header: { typ: 'at+jwt' } },
    );
    await userInfo(fresh);
    assert.equal(idp.jwksFetches, 2, 'control: the key set was fetched again');
    await assert.rejects(userInfo(old), refused('token-refused'));
  });

  it("SMSP-AUDIT-002 the same key set fetched again forgets nothing: a forged token naming a made-up kid cannot wipe every clinician's cached answer (hostile review atk21b F4)", async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    if (!own.listening) {
      own.listen(0, '127.0.0.1');
      await once(own, 'listening');
    }
    idp.keys = [jwkOf(publicKey, 'k1')];
    const at = `http://127.0.0.1:${(own.address() as AddressInfo).port}`;
    const userInfo = createCis2UserInfo({
      config: config({ userInfoEndpoint: `${at}/me`, jwksUrl: `${at}/jwks`, cacheSeconds: 3600 }),
      now: () => Date.now(),
    });
    const [fetches, calls] = [idp.jwksFetches, idp.userInfoCalls];
    const hers = accessToken({ exp: Math.floor(Date.now() / 1000) + 3000 });
    await userInfo(hers);
    assert.equal(idp.userInfoCalls, calls + 1);
    // Anyone can write CIS2's issuer and the portal's client id; the kid is made up, the signature junk.
    t.mock.timers.tick(60_000);
    const forged = `${signJwt(
      {
        iss: ISSUER,
        sub: 'x',
        client_id: CLIENT_ID,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 600,
      },
      { alg: 'RS256', key: privateKey, kid: 'made-up', header: { typ: 'at+jwt' } },
    )
      .split('.')
      .slice(0, 2)
      .join('.')}.AAAA`;
    await assert.rejects(userInfo(forged));
    assert.equal(idp.jwksFetches, fetches + 2, 'control: the made-up kid made jose fetch the set again');
    await userInfo(hers);
    assert.equal(idp.userInfoCalls, calls + 1, 'her answer still came from the cache: UserInfo was not asked again');
  });

  it("SMSP-AUDIT-002 while CIS2's key set answers an error, forged tokens naming made-up kids fetch it at most once per 30 s and wipe no clinician's cached answer (hostile review atk21c F4)", async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    if (!own.listening) {
      own.listen(0, '127.0.0.1');
      await once(own, 'listening');
    }
    idp.keys = [jwkOf(publicKey, 'k1')];
    idp.jwksDown = false;
    const at = `http://127.0.0.1:${(own.address() as AddressInfo).port}`;
    const userInfo = createCis2UserInfo({
      config: config({ userInfoEndpoint: `${at}/me`, jwksUrl: `${at}/jwks`, cacheSeconds: 3600 }),
      now: () => Date.now(),
    });
    const hers = accessToken({ exp: Math.floor(Date.now() / 1000) + 3000 });
    await userInfo(hers);
    const [fetches, calls] = [idp.jwksFetches, idp.userInfoCalls];
    t.mock.timers.tick(60_000);
    idp.jwksDown = true;
    const forged = (i: number) =>
      `${signJwt(
        {
          iss: ISSUER,
          sub: 'x',
          client_id: CLIENT_ID,
          iat: Math.floor(Date.now() / 1000),
          exp: Math.floor(Date.now() / 1000) + 600,
        },
        { alg: 'RS256', key: privateKey, kid: `made-up-${i}`, header: { typ: 'at+jwt' } },
      )
        .split('.')
        .slice(0, 2)
        .join('.')}.AAAA`;
    for (let i = 0; i < 20; i++) {
      await assert.rejects(userInfo(forged(i)));
      await userInfo(hers);
    }
    assert.equal(idp.jwksFetches, fetches + 1, 'one fetch of the failing key set, not one per forged token');
    assert.equal(idp.userInfoCalls, calls, 'her answers all came from the cache');
    idp.jwksDown = false;
  });
});
