import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGatewayMetrics } from '../observe/gateway-metrics.ts';
import { unitApp } from '../../test/helpers/hono-unit.ts';
import { SmspError } from '../smsp-error.ts';
import { requestMetrics } from './request-metrics.ts';

describe('requestMetrics', () => {
  const metrics = createGatewayMetrics();
  const app = unitApp();
  app.use('*', requestMetrics({ metrics, paths: ['/api/fgm-status'] }));
  app.post('/api/fgm-status', (c) => {
    c.set('outcomeCode', 'NO_RECORD_FOUND');
    return c.json({}, 404);
  });
  app.post('/api/refused', () => {
    throw new SmspError('no-credentials');
  });
  const counted = async () =>
    (await metrics.registry.getSingleMetricAsString('fgm_gateway_requests_total'))
      .split('\n')
      .filter((l) => !l.startsWith('#'));

  it('counts each answer by route, Details.Code and status', async () => {
    await app.request('/api/fgm-status', { method: 'POST' });
    assert.ok(
      (await counted()).includes(
        'fgm_gateway_requests_total{code="NO_RECORD_FOUND",route="/api/fgm-status",status="404"} 1',
      ),
    );
  });

  it('counts a refusal with the code the error handler gave it', async () => {
    await app.request('/api/refused', { method: 'POST' });
    assert.ok(
      (await counted()).includes(
        'fgm_gateway_requests_total{code="AUTHOR_CREDENTIALS_ERROR",route="other",status="401"} 1',
      ),
    );
  });

  it('a path outside the fixed set is counted as "other": client text (say an NHS number) never becomes a label', async () => {
    await app.request('/api/9990000018');
    const lines = await counted();
    assert.ok(lines.includes('fgm_gateway_requests_total{code="none",route="other",status="404"} 1'));
    assert.ok(!lines.some((l) => l.includes('9990000018')));
  });
});
