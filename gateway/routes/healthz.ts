/**
 * @module routes/healthz
 * `GET /healthz` — liveness for load balancers: a fixed body, no patient data, no Spine call
 * (a health probe must not generate Spine traffic).
 */
import type { Handler } from 'hono';
import type { GatewayEnv } from '../env.ts';

/**
 * @example app.get('/healthz', healthz())
 */
export function healthz(): Handler<GatewayEnv> {
  return function healthz(c) {
    c.set('outcomeCode', 'SUCCESS');
    return c.json({ status: 'ok' });
  };
}
