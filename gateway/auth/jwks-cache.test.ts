import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createJwksCache } from './jwks-cache.ts';

// The identity provider is an in-process fetch function here: the rotation timeline needs a
// controllable clock; the real HTTP fetch is exercised in verify-session-token.test.ts.
function idp() {
  const state = { kids: ['k1'], fetches: 0, fail: false };
  const fetchFn = (async () => {
    state.fetches++;
    if (state.fail) throw new Error('idp down');
    return new Response(JSON.stringify({ keys: state.kids.map((kid) => ({ kty: 'EC', kid })) }), { headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { state, fetchFn };
}

describe('JWKS cache', () => {
  it('picks up a rotated key on an unknown kid, but not more often than minRefreshMs', async () => {
    const { state, fetchFn } = idp();
    let t = 0;
    const jwks = createJwksCache({ url: 'https://idp.test/jwks.json', fetch: fetchFn, minRefreshMs: 30_000, now: () => t });
    assert.equal((await jwks.find('k1'))?.kid, 'k1');
    state.kids = ['k2'];
    t = 10_000;
    assert.equal(await jwks.find('k2'), undefined, 'too soon to refresh');
    assert.equal(state.fetches, 1);
    t = 31_000;
    assert.equal((await jwks.find('k2'))?.kid, 'k2');
    assert.equal(state.fetches, 2);
  });
  it('keeps the known keys when the identity provider is down', async () => {
    const { state, fetchFn } = idp();
    let t = 0;
    const jwks = createJwksCache({ url: 'https://idp.test/jwks.json', fetch: fetchFn, minRefreshMs: 1000, now: () => t });
    await jwks.find('k1');
    state.fail = true;
    t = 5000;
    assert.equal(await jwks.find('k9'), undefined);
    assert.equal((await jwks.find('k1'))?.kid, 'k1');
  });
});
