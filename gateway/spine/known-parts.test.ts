import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKnownParts } from './known-parts.ts';

const SHARING_MS = 60_000;
const options = {
  perSecond: 10,
  capacity: 20,
  userShare: 0.25,
  knownShare: 0.4,
  sharingMs: SHARING_MS,
  maxKnown: 20_000,
};

test("SMSP-PERF-001 a known user's part is min(userShare, KNOWN_SHARE / users sharing) of her client's share", () => {
  // By hand, share 0.5 of 10 a second: alone 0.25 × 5 = 1.25 a second; 2 sharing 0.2 × 5 = 1;
  // 4 sharing 0.1 × 5 = 0.5; 10 sharing 0.04 × 5 = 0.2.
  for (const [sharing, rate] of [
    [1, 1.25],
    [2, 1],
    [4, 0.5],
    [10, 0.2],
  ] as const) {
    const parts = createKnownParts(options);
    for (let i = 0; i < sharing; i++) parts.admit('a', 0.5, `u${i}`, 0, 0);
    let last;
    for (let i = 0; i < sharing; i++) last = parts.ask(`u${i}`, 0);
    assert.ok(Math.abs(last!.rate - rate) < 1e-12, `${sharing} sharing: ${last!.rate} a second, not ${rate}`);
  }
});

/** A small seeded generator, so a failing case can be run again. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

test('SMSP-PERF-001 whatever the ids do, the known users of a client take no more than KNOWN_SHARE of its share a second (plus what they were given to start)', () => {
  // The ids' ways to be credited more: ask one after another as the crowd grows (a rate fixed at
  // each request would give the first the most), fall silent to save tokens and return together,
  // or ask at random. Each takes a token whenever its part has one.
  const strategies = {
    // The gap before request i and the id that makes it.
    ramp: (r: () => number, i: number, n: number) => [(i % n) * 37 + r() * 5, i % n],
    silentThenTogether: (r: () => number, i: number, n: number) => [i % n === 0 ? SHARING_MS + 1000 : r() * 3, i % n],
    random: (r: () => number, _i: number, n: number) => [r() * 2000, Math.floor(r() * n)],
  } satisfies Record<string, (r: () => number, i: number, n: number) => [number, number]>;
  for (const [name, gap] of Object.entries(strategies)) {
    for (let seed = 1; seed <= 20; seed++) {
      const r = random(seed);
      const parts = createKnownParts(options);
      const share = 0.5;
      const n = 2 + Math.floor(r() * 1000);
      let given = 0;
      for (let i = 0; i < n; i++) {
        const start = Math.min(1, r() * 2);
        parts.admit('a', share, `id-${i}`, 0, start);
        given += start;
      }
      let t = 0;
      let taken = 0;
      for (let i = 0; i < 20_000; i++) {
        const [wait, id] = gap(r, i, n);
        t += wait;
        const key = `id-${id}`;
        const b = parts.ask(key, t);
        if (b && b.tokens >= 1 - 1e-9) {
          parts.take(key);
          taken++;
        }
      }
      // By hand: 0.4 of a 0.5 share of 10 a second is 2 a second.
      const allowed = given + (t / 1000) * 0.4 * share * 10;
      assert.ok(
        taken <= allowed + 1e-6,
        `${name}, seed ${seed}, ${n} ids: took ${taken} in ${(t / 1000).toFixed(0)} s; the part allows ${allowed.toFixed(2)}`,
      );
    }
  }
});

test('SMSP-PERF-001 a known user silent for SHARING_MS is credited nothing until she asks again, and keeps what she had', () => {
  const parts = createKnownParts({ ...options, capacity: 2000 });
  parts.admit('a', 1, 'u', 0, 0);
  assert.equal(parts.ask('u', 0)!.tokens, 0);
  // Alone: 0.25 of 10 a second (her bucket holds 0.25 × 2000 = 500). After 1 s, 2.5.
  assert.ok(Math.abs(parts.ask('u', 1000)!.tokens - 2.5) < 1e-9);
  // Credited until SHARING_MS after that request (60 s more: 150), then nothing while silent.
  const back = parts.ask('u', 1000 + 10 * SHARING_MS)!.tokens;
  assert.ok(Math.abs(back - 152.5) < 1e-9, `${back}`);
});
