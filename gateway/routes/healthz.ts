/**
 * @module routes/healthz
 * `GET /healthz` — liveness for load balancers and the Spine link state for operators
 * (`up`, `down` while the circuit breaker is open, `probing`), from the breaker: no patient data
 * and no Spine call (a health probe must not generate Spine traffic). The gateway itself is
 * healthy while Spine is down, so the status stays 200.
 */
import type { Handler } from 'hono';
import type { GatewayEnv } from '../env.ts';
import type { BreakerState } from '../spine/circuit-breaker.ts';

const LINK: Record<BreakerState, string> = { closed: 'up', open: 'down', 'half-open': 'probing' };

/**
 * @example app.get('/healthz', healthz())
 */
export function healthz({ breakerState }: { breakerState: () => BreakerState }): Handler<GatewayEnv> {
  return function healthz(c) {
    c.set('outcomeCode', 'SUCCESS');
    return c.json({ status: 'ok', spine: LINK[breakerState()] });
  };
}
