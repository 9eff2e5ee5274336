/**
 * @module middleware/request-metrics
 * Counts every answer by route and Details.Code for /metrics. Paths outside the gateway's fixed
 * set are counted as `other`, so client-chosen text never becomes a label.
 */
import type { MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../env.ts';
import type { GatewayMetrics } from '../observe/gateway-metrics.ts';

/**
 * @example app.use(requestMetrics({ metrics, paths: PATHS }))
 */
export function requestMetrics({
  metrics,
  paths,
}: {
  metrics: GatewayMetrics;
  paths: readonly string[];
}): MiddlewareHandler<GatewayEnv> {
  const known = new Set(paths);
  return async function requestMetrics(c, next) {
    await next();
    metrics.requests.inc({
      code: c.get('outcomeCode') ?? 'none',
      route: known.has(c.req.path) ? c.req.path : 'other',
      status: String(c.res.status),
    });
  };
}
