import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCircuitBreaker, type BreakerState } from './circuit-breaker.ts';

function setup() {
  let t = 0;
  const changes: BreakerState[] = [];
  const breaker = createCircuitBreaker({
    failureThreshold: 3,
    coolDownMs: 1000,
    now: () => t,
    onStateChange: (s) => changes.push(s),
  });
  return { breaker, changes, advance: (ms: number) => (t += ms) };
}

test('SMSP-PERF-006 opens after repeated connection failures and then fails fast', () => {
  const { breaker, changes } = setup();
  for (let i = 0; i < 3; i++) {
    assert.equal(breaker.allow(`user-${i}`), true);
    breaker.failure(`user-${i}`);
  }
  assert.equal(breaker.state, 'open');
  assert.equal(breaker.allow('user-9'), false);
  assert.deepEqual(changes, ['open']);
});

test('SMSP-PERF-006 a success resets the failure count', () => {
  const { breaker } = setup();
  breaker.failure('a');
  breaker.failure('b');
  breaker.success();
  breaker.failure('a');
  breaker.failure('b');
  assert.equal(breaker.state, 'closed');
});

test('SMSP-PERF-006 after the cool-down exactly one probe goes through', () => {
  const { breaker, advance } = setup();
  for (let i = 0; i < 3; i++) breaker.failure(`user-${i}`);
  advance(999);
  assert.equal(breaker.allow('a'), false);
  advance(1);
  assert.equal(breaker.state, 'half-open');
  assert.equal(breaker.allow('a'), true);
  assert.equal(breaker.allow('b'), false, 'a second caller must not probe at the same time');
});

test('SMSP-PERF-006 a good probe closes the breaker, a bad one reopens it for another cool-down', () => {
  const { breaker, advance, changes } = setup();
  for (let i = 0; i < 3; i++) breaker.failure(`user-${i}`);
  advance(1000);
  assert.equal(breaker.allow('a'), true);
  breaker.failure('a');
  assert.equal(breaker.state, 'half-open', "one caller's failed probe: another caller may probe");
  assert.equal(breaker.allow('a'), false, 'not the caller whose probe failed');
  assert.equal(breaker.allow('b'), true);
  breaker.failure('b');
  assert.equal(breaker.state, 'open', 'two callers failed: Spine is down');
  advance(1000);
  assert.equal(breaker.allow('a'), true, 'a new half-open: every caller may probe again');
  breaker.success();
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.allow('a'), true);
  assert.deepEqual(changes, ['open', 'half-open', 'open', 'half-open', 'closed']);
});

test("SMSP-PERF-006 issue 18 review F1 one caller's failures, however many, never open the breaker for the rest", () => {
  const { breaker, changes } = setup();
  for (let i = 0; i < 100; i++) {
    assert.equal(breaker.allow('flooder'), true);
    breaker.failure('flooder');
  }
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.allow('clinician'), true);
  breaker.failure('clinician');
  assert.equal(breaker.state, 'open', 'a second caller failing too is an outage');
  assert.deepEqual(changes, ['open']);
});

test('SMSP-PERF-006 with a threshold of 1 one failure opens it (a single caller is all it asks for)', () => {
  const breaker = createCircuitBreaker({ failureThreshold: 1, coolDownMs: 1000, now: () => 0 });
  breaker.failure('a');
  assert.equal(breaker.state, 'open');
});
