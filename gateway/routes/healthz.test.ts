import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unitApp } from '../../test/helpers/hono-unit.ts';
import type { EngineHealth } from '../server/engines.ts';
import type { BreakerState } from '../spine/circuit-breaker.ts';
import { healthz } from './healthz.ts';

function probe(state: BreakerState, engines?: EngineHealth) {
  const app = unitApp();
  app.get('/healthz', healthz({ breakerState: () => state, ...(engines ? { engines: () => engines } : {}) }));
  return app.request('/healthz');
}

describe('GET /healthz', () => {
  it('the gateway is healthy while Spine is down: 200, with the link state from the breaker', async () => {
    for (const [state, spine] of [
      ['closed', 'up'],
      ['open', 'down'],
      ['half-open', 'probing'],
    ] as const) {
      const res = await probe(state);
      assert.deepEqual([res.status, await res.json()], [200, { status: 'ok', spine }]);
    }
  });

  it('an unreachable audit store is 503 with its reason: every request would fail closed', async () => {
    const res = await probe('closed', {
      audit: { ok: false, reason: 'connection refused' },
      spineBudget: { mode: 'shared' },
    });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), {
      status: 'unavailable',
      spine: 'up',
      audit: 'down',
      auditReason: 'connection refused',
      spineBudget: 'shared',
    });
  });

  it('Redis lost is still 200: the gateway serves on its local fallback share', async () => {
    const res = await probe('closed', {
      audit: { ok: true },
      spineBudget: { mode: 'local-fallback', reason: 'redis unreachable' },
    });
    assert.deepEqual(
      [res.status, ((await res.json()) as { spineBudget: string }).spineBudget],
      [200, 'local-fallback'],
    );
  });
});
