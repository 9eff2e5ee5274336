import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { signJwt } from '../../test/helpers/jwt.ts';
import type { ClientConfig } from '../config/config.ts';
import {
  createSessionVerifier,
  JWKS_REFRESH_MS,
  MAX_CLOCK_SKEW_SECONDS,
  TokenRejected,
} from './verify-session-token.ts';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const publicPem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;

function client(over: Partial<ClientConfig['token']> & { id: string; issuer: string }): ClientConfig {
  const { id, ...token } = over;
  return {
    id,
    name: id,
    odsCode: 'RX1',
    odsCodes: ['RX1'],
    origins: [],
    claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
    roleActivities: {},
    auditorRoles: [],
    priority: 'interactive',
    enabled: true,
    token: { audience: 'gw', algorithms: ['ES256'], maxLifetimeSeconds: 600, ...token },
  };
}

const NOW = 1_900_000_000;
const local = client({ id: 'local', issuer: 'https://local.example' });
const verifier = createSessionVerifier({
  clients: [local],
  clientKeys: new Map([['local', publicPem]]),
  now: () => NOW,
});
const claims = (over: Record<string, unknown> = {}) => {
  const real = Math.floor(Date.now() / 1000);
  return {
    iss: 'https://local.example',
    aud: 'gw',
    iat: NOW - 10,
    nbf: NOW - 10,
    exp: Math.max(NOW, real) + 300,
    sub: 'u1',
    ...over,
  };
};
const refused = async (token: string, reason: RegExp) => {
  await assert.rejects(verifier(token), (e: unknown) => e instanceof TokenRejected && reason.test(e.reason));
};

describe('verifySessionToken (SMSP-IG-002)', () => {
  it('accepts a token signed by the client key with the right iss, aud and times', async () => {
    const { client: c, payload } = await verifier(signJwt(claims(), { alg: 'ES256', key: ec.privateKey }));
    assert.equal(c.id, 'local');
    assert.equal(payload.sub, 'u1');
  });
  it('refuses alg none', () => refused(signJwt(claims(), { alg: 'none' }), /algorithm not allowed/));
  it('refuses HS256 signed with the public key as the secret', () =>
    refused(signJwt(claims(), { alg: 'HS256', key: publicPem }), /algorithm not allowed/));
  it('refuses a token signed by another key', () =>
    refused(signJwt(claims(), { alg: 'ES256', key: other.privateKey }), /signature does not verify/));
  it('refuses an expired token (beyond the clock skew)', () =>
    refused(
      signJwt(claims({ exp: NOW - MAX_CLOCK_SKEW_SECONDS - 1, iat: NOW - 100 }), { alg: 'ES256', key: ec.privateKey }),
      /expired|Expired/,
    ));
  it('refuses a token without exp', () => {
    const { exp: _exp, ...noExp } = claims();
    return refused(signJwt(noExp, { alg: 'ES256', key: ec.privateKey }), /exp missing/);
  });
  it('refuses a token without iat', () => {
    const { iat: _iat, ...noIat } = claims();
    return refused(signJwt(noIat, { alg: 'ES256', key: ec.privateKey }), /iat missing/);
  });
  it('refuses a token not yet valid (nbf beyond the skew)', () =>
    refused(
      signJwt(claims({ nbf: NOW + MAX_CLOCK_SKEW_SECONDS + 5 }), { alg: 'ES256', key: ec.privateKey }),
      /not yet valid/,
    ));
  it('accepts nbf and iat within the clock skew', async () => {
    await verifier(signJwt(claims({ nbf: NOW + 20, iat: NOW + 20 }), { alg: 'ES256', key: ec.privateKey }));
  });
  it('refuses a token issued in the future', () =>
    refused(
      signJwt(claims({ iat: NOW + MAX_CLOCK_SKEW_SECONDS + 5 }), { alg: 'ES256', key: ec.privateKey }),
      /future/,
    ));
  it('refuses the wrong audience', () =>
    refused(signJwt(claims({ aud: 'other' }), { alg: 'ES256', key: ec.privateKey }), /wrong audience/));
  it('refuses an unknown issuer', () =>
    refused(signJwt(claims({ iss: 'https://evil.example' }), { alg: 'ES256', key: ec.privateKey }), /unknown issuer/));
  it('refuses a token living longer than maxLifetimeSeconds', () =>
    refused(signJwt(claims({ iat: NOW - 10, exp: NOW + 600 }), { alg: 'ES256', key: ec.privateKey }), /lifetime/));
  it('refuses garbage', () => refused('not.a.jwt', /not a JWT/));
  it('refuses another kind of signed object (typ other than JWT)', () =>
    refused(signJwt(claims(), { alg: 'ES256', key: ec.privateKey, header: { typ: 'logout+jwt' } }), /not a JWT/));
  it('refuses a critical header extension it does not understand', () =>
    refused(
      signJwt(claims(), { alg: 'ES256', key: ec.privateKey, header: { crit: ['x-bind'], 'x-bind': 1 } }),
      /not a JWT/,
    ));

  it('verifies RS256, PS256 and EdDSA with their allow-lists', async () => {
    const rs = client({ id: 'rs', issuer: 'rs', algorithms: ['RS256', 'PS256'] });
    const eddsa = client({ id: 'ed', issuer: 'ed', algorithms: ['EdDSA'] });
    const v = createSessionVerifier({
      clients: [rs, eddsa],
      clientKeys: new Map([
        ['rs', rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string],
        ['ed', ed.publicKey.export({ type: 'spki', format: 'pem' }) as string],
      ]),
      now: () => NOW,
    });
    assert.equal((await v(signJwt(claims({ iss: 'rs' }), { alg: 'RS256', key: rsa.privateKey }))).client.id, 'rs');
    assert.equal((await v(signJwt(claims({ iss: 'rs' }), { alg: 'PS256', key: rsa.privateKey }))).client.id, 'rs');
    assert.equal((await v(signJwt(claims({ iss: 'ed' }), { alg: 'EdDSA', key: ed.privateKey }))).client.id, 'ed');
    await assert.rejects(v(signJwt(claims({ iss: 'ed' }), { alg: 'ES256', key: ec.privateKey })), TokenRejected);
  });
});

describe('system tokens (SMSP-IG-002)', () => {
  const both: ClientConfig = {
    ...client({ id: 'chs', issuer: 'https://chs.example/users' }),
    systemToken: { issuer: 'https://chs.example', audience: 'gw/fhir', algorithms: ['ES256'], maxLifetimeSeconds: 600 },
  };
  const v = createSessionVerifier({
    clients: [both],
    clientKeys: new Map([['chs', publicPem]]),
    systemKeys: new Map([['chs', publicPem]]),
    now: () => NOW,
  });
  it('says which kind of token it verified, by its issuer', async () => {
    assert.equal(
      (await v(signJwt(claims({ iss: 'https://chs.example/users' }), { alg: 'ES256', key: ec.privateKey }))).kind,
      'session',
    );
    assert.equal(
      (await v(signJwt(claims({ iss: 'https://chs.example', aud: 'gw/fhir' }), { alg: 'ES256', key: ec.privateKey })))
        .kind,
      'system',
    );
  });
  it('checks a system token against the systemToken audience', () =>
    assert.rejects(
      v(signJwt(claims({ iss: 'https://chs.example', aud: 'gw' }), { alg: 'ES256', key: ec.privateKey })),
      TokenRejected,
    ));
  it('refuses to start without a systemToken key', () =>
    assert.throws(
      () => createSessionVerifier({ clients: [both], clientKeys: new Map([['chs', publicPem]]) }),
      /no system token verification key/,
    ));
});

describe('JWKS clients', () => {
  const jwk = { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  after(() => server.close());

  it('fetches the key set, caches it, and limits refreshes for unknown kids', async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const cis2 = client({ id: 'cis2', issuer: 'cis2', algorithms: ['RS256'], jwksUrl: url });
    const v = createSessionVerifier({ clients: [cis2], clientKeys: new Map(), now: () => NOW });
    const good = signJwt(claims({ iss: 'cis2' }), { alg: 'RS256', key: rsa.privateKey, kid: 'k1' });
    assert.equal((await v(good)).client.id, 'cis2');
    await v(good);
    assert.equal(fetches, 1, 'the key set is cached');
    const unknownKid = signJwt(claims({ iss: 'cis2' }), { alg: 'RS256', key: rsa.privateKey, kid: 'k2' });
    await assert.rejects(v(unknownKid), /unknown key id/);
    await assert.rejects(v(unknownKid), /unknown key id/);
    assert.equal(fetches, 1, 'an unknown kid does not refetch within the refresh interval');
  });
});

describe('JWKS key rotation and outages (jose key set, the refresh guard)', () => {
  const rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwkOf = (k: typeof rsa, kid: string) => ({
    ...k.publicKey.export({ format: 'jwk' }),
    kid,
    alg: 'RS256',
    use: 'sig',
  });
  const idp = { keys: [jwkOf(rsa, 'k1')], fetches: 0, down: false };
  const server = createServer((_req, res) => {
    idp.fetches++;
    if (idp.down) return void res.writeHead(503).end();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: idp.keys }));
  });
  after(() => server.close());
  // jose and the guard read Date.now(); only Date is mocked, so the key server's sockets stay real.
  const verifierFor = async () => {
    if (!server.listening) {
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    }
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    return createSessionVerifier({
      clients: [client({ id: 'cis2', issuer: 'cis2', algorithms: ['RS256'], jwksUrl: url })],
      clientKeys: new Map(),
      now: () => NOW,
    });
  };
  const token = (key: typeof rsa, kid: string) =>
    signJwt(claims({ iss: 'cis2' }), { alg: 'RS256', key: key.privateKey, kid });

  it('picks up a rotated key on an unknown kid, but not sooner than the refresh interval', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    Object.assign(idp, { keys: [jwkOf(rsa, 'k1')], fetches: 0, down: false });
    const v = await verifierFor();
    await v(token(rsa, 'k1'));
    idp.keys = [jwkOf(rsa, 'k1'), jwkOf(rsa2, 'k2')];
    t.mock.timers.tick(JWKS_REFRESH_MS / 3);
    await assert.rejects(v(token(rsa2, 'k2')), /unknown key id/);
    assert.equal(idp.fetches, 1, 'too soon to refresh');
    t.mock.timers.tick(JWKS_REFRESH_MS);
    assert.equal((await v(token(rsa2, 'k2'))).client.id, 'cis2');
    assert.equal(idp.fetches, 2);
  });
  it('keeps the known keys while the identity provider is down, and does not hammer it', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    Object.assign(idp, { keys: [jwkOf(rsa, 'k1')], fetches: 0, down: false });
    const v = await verifierFor();
    await v(token(rsa, 'k1'));
    idp.down = true;
    t.mock.timers.tick(JWKS_REFRESH_MS + 1);
    await assert.rejects(v(token(rsa2, 'k9')), TokenRejected);
    await assert.rejects(v(token(rsa2, 'k9')), TokenRejected);
    assert.equal(idp.fetches, 2, 'a failed refresh also waits the refresh interval');
    assert.equal((await v(token(rsa, 'k1'))).client.id, 'cis2', 'a known key still verifies');
    t.mock.timers.tick(24 * 3600 * 1000);
    assert.equal((await v(token(rsa, 'k1'))).client.id, 'cis2', 'the set does not expire while the provider is down');
  });
  it('refuses a JWKS token without a kid', async () => {
    const v = await verifierFor();
    await assert.rejects(v(signJwt(claims({ iss: 'cis2' }), { alg: 'RS256', key: rsa.privateKey })), /unknown key id/);
  });
});
