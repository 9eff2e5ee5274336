/**
 * @module routes/healthz
 * `GET /healthz` — liveness for load balancers and the Spine link state for operators
 * (`up`, `down` while the circuit breaker is open, `probing`), from the breaker: no patient data
 * and no Spine call (a health probe must not generate Spine traffic). The gateway itself is
 * healthy while Spine is down, so the status stays 200.
 *
 * With the scale-out engines it also says where the audit store and the Spine budget stand. An
 * unreachable audit store answers 503 with the reason: every request fails closed until it is
 * back, so a load balancer should send clinicians elsewhere. Redis lost is 200 with
 * `spineBudget: "local-fallback"`: the gateway still serves, on its own share; with CDS Hooks,
 * `cdsReplayCheck: "local-fallback"` too: CDS calls are still served, replays checked in memory.
 */
import type { Handler } from 'hono';
import type { EngineHealth } from '../server/engines.ts';
import type { GatewayEnv } from '../env.ts';
import type { BreakerState } from '../spine/circuit-breaker.ts';

const LINK: Record<BreakerState, string> = { closed: 'up', open: 'down', 'half-open': 'probing' };

/**
 * @example app.get('/healthz', healthz())
 */
export function healthz({
  breakerState,
  engines,
}: {
  breakerState: () => BreakerState;
  engines?: () => EngineHealth;
}): Handler<GatewayEnv> {
  return function healthz(c) {
    c.set('outcomeCode', 'SUCCESS');
    if (!engines) return c.json({ status: 'ok', spine: LINK[breakerState()] });
    const { audit, spineBudget, cdsReplayCheck } = engines();
    return c.json(
      {
        status: audit.ok ? 'ok' : 'unavailable',
        spine: LINK[breakerState()],
        audit: audit.ok ? 'up' : 'down',
        ...(audit.reason ? { auditReason: audit.reason } : {}),
        ...(audit.warning ? { auditWarning: audit.warning } : {}),
        spineBudget: spineBudget.mode,
        ...(spineBudget.reason ? { spineBudgetReason: spineBudget.reason } : {}),
        ...(cdsReplayCheck ? { cdsReplayCheck: cdsReplayCheck.mode } : {}),
        ...(cdsReplayCheck?.reason ? { cdsReplayCheckReason: cdsReplayCheck.reason } : {}),
      },
      audit.ok ? 200 : 503,
    );
  };
}
