/**
 * @module gateway/auth/verify-session-token-cache.test
 * The verified-token cache (issue 22) may only save work, never accept what verification would
 * refuse: a token past its exp, a different token sharing the cached one's prefix, a token whose
 * key left the key set. A cache hit is seen as the same session object coming back.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { signJwt } from '../../test/helpers/jwt.ts';
import type { ClientConfig } from '../config/config.ts';
import {
  createSessionVerifier,
  JWKS_REFRESH_MS,
  MAX_CLOCK_SKEW_SECONDS,
  TOKEN_CACHE_MAX_BYTES,
  TOKEN_CACHE_MAX_SECONDS,
  TokenRejected,
} from './verify-session-token.ts';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const NOW = 1_900_000_000;

function client(token: Partial<NonNullable<ClientConfig['token']>> & { issuer: string }): ClientConfig {
  return {
    id: 'local',
    name: 'local',
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
const claims = (over: Record<string, unknown> = {}) => ({
  iss: 'https://local.example',
  aud: 'gw',
  iat: NOW - 10,
  exp: NOW + 60,
  sub: 'u1',
  ...over,
});
const refusedFor = (reason: RegExp) => (e: unknown) => e instanceof TokenRejected && reason.test(e.reason);

describe('verified-token cache (SMSP-IG-002, issue 22)', () => {
  const pem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const clock = { t: NOW };
  const verify = createSessionVerifier({
    clients: [client({ issuer: 'https://local.example' })],
    clientKeys: new Map([['local', pem]]),
    now: () => clock.t,
  });

  it('SMSP-IG-002 serves a repeated token from the cache (the same session object)', async () => {
    clock.t = NOW;
    const token = signJwt(claims({ sub: 'repeat' }), { alg: 'ES256', key: ec.privateKey });
    const first = await verify(token);
    assert.equal(await verify(token), first, 'the second call is the cached session');
  });

  it('SMSP-IG-002 refuses a cached token once its exp has passed (beyond the clock skew)', async () => {
    clock.t = NOW;
    const token = signJwt(claims({ sub: 'expiring' }), { alg: 'ES256', key: ec.privateKey });
    await verify(token);
    clock.t = NOW + 30;
    assert.equal((await verify(token)).payload.sub, 'expiring', 'control: still valid, from the cache');
    // exp is NOW + 60; verification allows MAX_CLOCK_SKEW_SECONDS after it, and no more.
    clock.t = NOW + 60 + MAX_CLOCK_SKEW_SECONDS + 1;
    await assert.rejects(verify(token), refusedFor(/^expired$/));
  });

  it('SMSP-IG-002 verifies again after TOKEN_CACHE_MAX_SECONDS even when exp is further off', async () => {
    clock.t = NOW;
    const token = signJwt(claims({ sub: 'long', exp: NOW + 550 }), { alg: 'ES256', key: ec.privateKey });
    const first = await verify(token);
    clock.t = NOW + TOKEN_CACHE_MAX_SECONDS - 1;
    assert.equal(await verify(token), first, 'control: cached within the bound');
    clock.t = NOW + TOKEN_CACHE_MAX_SECONDS;
    const again = await verify(token);
    assert.notEqual(again, first, 'verified afresh past the bound');
    assert.equal(again.payload.sub, 'long');
  });

  it("SMSP-IG-002 refuses a different token sharing the cached one's header and claims (another signature)", async () => {
    clock.t = NOW;
    const good = signJwt(claims({ sub: 'prefix' }), { alg: 'ES256', key: ec.privateKey });
    const forged = signJwt(claims({ sub: 'prefix' }), { alg: 'ES256', key: other.privateKey });
    const dot = good.lastIndexOf('.');
    assert.equal(
      forged.slice(0, dot + 1),
      good.slice(0, dot + 1),
      'control: the two share everything before the signature',
    );
    await verify(good);
    await assert.rejects(verify(forged), refusedFor(/signature does not verify/));
    // A truncated signature is a different token too, not a shorter key into the cache.
    await assert.rejects(verify(good.slice(0, -4)), TokenRejected);
  });

  it('SMSP-IG-002 does not remember a refusal: a token refused as not yet valid is accepted once it is', async () => {
    clock.t = NOW;
    const token = signJwt(claims({ sub: 'early', nbf: NOW + MAX_CLOCK_SKEW_SECONDS + 5, exp: NOW + 120 }), {
      alg: 'ES256',
      key: ec.privateKey,
    });
    await assert.rejects(verify(token), refusedFor(/not yet valid/));
    clock.t = NOW + 10;
    assert.equal((await verify(token)).payload.sub, 'early');
  });
});

describe('verified-token cache bounds (issue 22)', () => {
  const pem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const clock = { t: NOW };
  const verify = createSessionVerifier({
    clients: [client({ issuer: 'https://local.example' })],
    clientKeys: new Map([['local', pem]]),
    now: () => clock.t,
  });

  it("SMSP-IG-002 a clock stepped back before a cached token's iat refuses it, as verification does", async () => {
    clock.t = NOW;
    const token = signJwt(claims({ sub: 'stepped', iat: NOW, nbf: NOW }), { alg: 'ES256', key: ec.privateKey });
    const first = await verify(token);
    assert.equal(await verify(token), first, 'control: cached');
    clock.t = NOW - MAX_CLOCK_SKEW_SECONDS - 90;
    await assert.rejects(verify(token), refusedFor(/not yet valid|issued in the future/));
  });

  it('large tokens are held within TOKEN_CACHE_MAX_BYTES, not 10,000 of them (the heap limit holds)', async () => {
    clock.t = NOW;
    // ~9 KB tokens, as an Entra ID token with many groups is: far fewer than 10,000 fit in the bytes.
    const groups = Array.from({ length: 250 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`);
    const big = (i: number) => signJwt(claims({ sub: `big-${i}`, groups }), { alg: 'ES256', key: ec.privateKey });
    const firstToken = big(0);
    assert.ok(firstToken.length > 9000, `control: a ${firstToken.length}-character token`);
    const first = await verify(firstToken);
    const fit = Math.floor(TOKEN_CACHE_MAX_BYTES / firstToken.length);
    for (let i = 1; i <= fit; i++) await verify(big(i));
    // Pushed out by bytes (fewer than 1,000 tokens, where the entry bound is 10,000): verified again.
    assert.ok(fit < 1000);
    assert.notEqual(await verify(firstToken), first, 'the oldest large token was let go');
  });
});

describe('verified-token cache and a changed key set (SMSP-IG-002, issue 22)', () => {
  const a = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwkOf = (k: typeof a, kid: string) => ({
    ...k.publicKey.export({ format: 'jwk' }),
    kid,
    alg: 'RS256',
    use: 'sig',
  });
  const idp = { keys: [jwkOf(a, 'ka')], fetches: 0 };
  const server = createServer((_req, res) => {
    idp.fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: idp.keys }));
  });
  after(() => server.close());

  it('SMSP-IG-002 refuses a cached token once its key is removed from the fetched key set', async (t) => {
    // jose and the refresh guard read Date.now(); only Date is mocked, the key server's socket is real.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const verify = createSessionVerifier({
      clients: [client({ issuer: 'cis2', algorithms: ['RS256'], jwksUrl: url })],
      clientKeys: new Map(),
      now: () => NOW,
    });
    const old = signJwt(claims({ iss: 'cis2' }), { alg: 'RS256', key: a.privateKey, kid: 'ka' });
    const first = await verify(old);
    assert.equal(await verify(old), first, 'control: cached');
    // The identity provider rotates: ka is withdrawn, kb replaces it; a kb token makes us fetch the set again.
    idp.keys = [jwkOf(b, 'kb')];
    t.mock.timers.tick(JWKS_REFRESH_MS + 1);
    await verify(signJwt(claims({ iss: 'cis2' }), { alg: 'RS256', key: b.privateKey, kid: 'kb' }));
    assert.equal(idp.fetches, 2, 'control: the set was fetched again');
    await assert.rejects(verify(old), refusedFor(/unknown key id/));
  });

  it('SMSP-IG-002 a token of the withdrawn key verified while the new set is still arriving is not remembered', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 10 * JWKS_REFRESH_MS });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    // The second fetch's answer has its headers at once and its body only when released.
    const fetchFn = (async () => {
      calls++;
      const body = JSON.stringify({ keys: calls === 1 ? [jwkOf(a, 'ka')] : [jwkOf(b, 'kb')] });
      if (calls === 1) return new Response(body, { headers: { 'content-type': 'application/json' } });
      const stream = new ReadableStream({
        async start(c) {
          await held;
          c.enqueue(new TextEncoder().encode(body));
          c.close();
        },
      });
      return new Response(stream, { headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const verify = createSessionVerifier({
      clients: [client({ issuer: 'race', algorithms: ['RS256'], jwksUrl: 'https://idp.example/jwks.json' })],
      clientKeys: new Map(),
      now: () => NOW,
      fetch: fetchFn,
    });
    const old = signJwt(claims({ iss: 'race', sub: 'victim' }), { alg: 'RS256', key: a.privateKey, kid: 'ka' });
    await verify(old); // the first set, ka in it
    t.mock.timers.tick(JWKS_REFRESH_MS + 1);
    // A kb token starts the refetch; its headers are in, its body is held.
    const rotating = verify(
      signJwt(claims({ iss: 'race', sub: 'new' }), { alg: 'RS256', key: b.privateKey, kid: 'kb' }),
    );
    await new Promise((r) => setImmediate(r));
    // In the gap, the old token is checked against the old set still installed (a fresh one: not cached).
    const oldAgain = signJwt(claims({ iss: 'race', sub: 'victim', jti: 'gap' }), {
      alg: 'RS256',
      key: a.privateKey,
      kid: 'ka',
    });
    await verify(oldAgain).catch(() => {});
    release();
    await rotating;
    await new Promise((r) => setImmediate(r));
    await assert.rejects(
      verify(oldAgain),
      refusedFor(/unknown key id/),
      'not accepted from the cache after the new set is in',
    );
  });
});

describe('verified-token cache: its byte count (review atk22b F1)', () => {
  it('SMSP-IG-002 a token verified twice at once is counted once: tokens filling seven tenths of the bound keep the first one cached', async () => {
    const pem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const verify = createSessionVerifier({
      clients: [client({ issuer: 'https://local.example' })],
      clientKeys: new Map([['local', pem]]),
      now: () => NOW,
    });
    const sign = (sub: string, pad: string) =>
      signJwt({ ...claims({ exp: NOW + 300, sub }), pad }, { alg: 'ES256', key: ec.privateKey });
    const first = sign('first', '');
    const session = await verify(first);
    // ~4.5 KB payloads (~10.6 KB each as counted): once, 550 of them fill seven tenths of the
    // bound; counted twice they would pass it and evict the first.
    const pad = 'x'.repeat(4400);
    for (let i = 0; i < Math.floor((0.7 * TOKEN_CACHE_MAX_BYTES) / 10_600); i++) {
      const token = sign(`u${i}`, pad);
      await Promise.all([verify(token), verify(token)]);
    }
    assert.equal(await verify(first), session, 'the first token is still a cache hit');
  });
});
