/** The in-memory jti store: replays refused, expired ids dropped, cost per claim counted (no clock). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryJtiStore } from './cds-client.ts';

describe('memoryJtiStore', () => {
  it('SMSP-IG-002 a jti is refused again within its lifetime, and accepted once it has expired', async () => {
    let t = 0;
    const store = memoryJtiStore({ now: () => t });
    assert.equal(await store.claim('a', 60), true);
    assert.equal(await store.claim('a', 60), false);
    t = 60_000;
    assert.equal(await store.claim('a', 60), true);
    assert.equal(await store.claim('a', 60), false);
  });

  it('a claim examines O(1) entries amortised, not every live jti (hostile review 21c)', async () => {
    let t = 0;
    const store = memoryJtiStore({ now: () => t });
    for (let i = 0; i < 10_000; i++) await store.claim(`live-${i}`, 300);
    const before = store.examined;
    for (let i = 0; i < 10_000; i++) await store.claim(`more-${i}`, 300);
    // One look at the queue's head each: the old store walked all 10,000+ live ids on every claim.
    assert.ok(store.examined - before <= 10_000, `examined ${store.examined - before}`);
    t = 301_000;
    const sweep = store.examined;
    assert.equal(await store.claim('after', 300), true);
    // The expired 20,000 go once, each examined once, plus the live head that stops the sweep.
    assert.equal(store.examined - sweep, 20_000);
    assert.equal(await store.claim('live-0', 300), true, 'an expired id is accepted again');
  });

  it('a full memory refuses (the replay check fails closed), and has room again once ids expire', async () => {
    let t = 0;
    const store = memoryJtiStore({ now: () => t, maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) assert.equal(await store.claim(k, 10), true);
    await assert.rejects(store.claim('d', 10), /jti memory full/);
    t = 10_000;
    assert.equal(await store.claim('d', 10), true);
  });
});
