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
    assert.equal(breaker.allow(), true);
    breaker.failure();
  }
  assert.equal(breaker.state, 'open');
  assert.equal(breaker.allow(), false);
  assert.deepEqual(changes, ['open']);
});

test('SMSP-PERF-006 a success resets the failure count', () => {
  const { breaker } = setup();
  breaker.failure();
  breaker.failure();
  breaker.success();
  breaker.failure();
  breaker.failure();
  assert.equal(breaker.state, 'closed');
});

test('SMSP-PERF-006 after the cool-down exactly one probe goes through', () => {
  const { breaker, advance } = setup();
  for (let i = 0; i < 3; i++) breaker.failure();
  advance(999);
  assert.equal(breaker.allow(), false);
  advance(1);
  assert.equal(breaker.state, 'half-open');
  assert.equal(breaker.allow(), true);
  assert.equal(breaker.allow(), false, 'a second caller must not probe at the same time');
});

test('SMSP-PERF-006 a good probe closes the breaker, a bad one reopens it for another cool-down', () => {
  const { breaker, advance, changes } = setup();
  for (let i = 0; i < 3; i++) breaker.failure();
  advance(1000);
  assert.equal(breaker.allow(), true);
  breaker.failure();
  assert.equal(breaker.state, 'open');
  advance(1000);
  assert.equal(breaker.allow(), true);
  breaker.success();
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.allow(), true);
  assert.deepEqual(changes, ['open', 'half-open', 'open', 'half-open', 'closed']);
});
