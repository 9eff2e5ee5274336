import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRateLimiter } from './rate-limiter.ts';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('SMSP-PERF-001 lets through the burst then refuses at once', () => {
  const c = clock();
  const limiter = createRateLimiter({ perSecond: 10, burst: 4, now: c.now });
  const admitted = Array.from({ length: 20 }, () => limiter.tryAcquire('interactive')).filter(Boolean).length;
  assert.equal(admitted, 5); // burst + 1
});

test('SMSP-PERF-001 never admits more than rate × time + burst over a long run', () => {
  const c = clock();
  const limiter = createRateLimiter({ perSecond: 50, burst: 10, now: c.now });
  let admitted = 0;
  // 10 s of clients at 10× the rate: one attempt every 2 ms
  for (let i = 0; i < 5000; i++) {
    if (limiter.tryAcquire('interactive')) admitted++;
    c.advance(2);
  }
  assert.ok(admitted <= 50 * 10 + 11, `admitted ${admitted}`);
  assert.ok(admitted >= 50 * 10 - 1, `admitted ${admitted}: the limiter must not starve a legal rate`);
});

test('SMSP-PERF-007 batch traffic cannot take the reserve kept for interactive users', () => {
  const c = clock();
  const limiter = createRateLimiter({ perSecond: 10, burst: 9, now: c.now }); // capacity 10, reserve 5
  let batch = 0;
  while (limiter.tryAcquire('batch')) batch++;
  assert.equal(batch, 5);
  let interactive = 0;
  while (limiter.tryAcquire('interactive')) interactive++;
  assert.equal(interactive, 5);
});

test('SMSP-PERF-007 under interactive saturation batch is refused while interactive still succeeds', () => {
  const c = clock();
  const limiter = createRateLimiter({ perSecond: 100, burst: 10, now: c.now });
  let interactiveOk = 0;
  let batchOk = 0;
  for (let i = 0; i < 2000; i++) {
    // interactive asks at exactly the rate, batch at the same rate on top
    if (limiter.tryAcquire('interactive')) interactiveOk++;
    if (limiter.tryAcquire('batch')) batchOk++;
    c.advance(10);
  }
  assert.ok(interactiveOk >= 1990, `interactive ${interactiveOk}`);
  assert.ok(batchOk < 20, `batch ${batchOk}`);
});

test('SMSP-PERF-007 batch alone gets the whole rate', () => {
  const c = clock();
  const limiter = createRateLimiter({ perSecond: 20, burst: 0, now: c.now });
  let ok = 0;
  for (let i = 0; i < 1000; i++) {
    if (limiter.tryAcquire('batch')) ok++;
    c.advance(5); // 200 attempts/s for 5 s
  }
  assert.ok(ok >= 95 && ok <= 101, `batch admitted ${ok}`);
});

test('Retry-After is at least one second and grows with the deficit', () => {
  const c = clock();
  const limiter = createRateLimiter({ perSecond: 0.5, burst: 0, now: c.now });
  assert.equal(limiter.tryAcquire('interactive'), true);
  assert.equal(limiter.tryAcquire('interactive'), false);
  assert.equal(limiter.retryAfterSeconds('interactive'), 2);
});

test('bad settings are refused at start-up', () => {
  assert.throws(() => createRateLimiter({ perSecond: 0, burst: 1 }), /perSecond/);
  assert.throws(() => createRateLimiter({ perSecond: 1, burst: -1 }), /burst/);
});
