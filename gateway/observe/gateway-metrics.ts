/**
 * @module observe/gateway-metrics
 * The gateway's metrics (GET /metrics, Prometheus text format). Every label is from a closed set
 * chosen in code — route paths, vocabulary codes, priorities, breaker states — so no patient data
 * or user identity can ever appear here.
 */
import { Counter, Gauge, Histogram, MetricsRegistry } from './metrics.ts';
import type { BreakerState } from '../spine/circuit-breaker.ts';

export interface GatewayMetrics {
  registry: MetricsRegistry;
  requests: Counter;
  spineSeconds: Histogram;
  rateLimited: Counter;
  breakerState(state: BreakerState): void;
}

const STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new MetricsRegistry();
  const requests = registry.register(new Counter('fgm_gateway_requests_total', 'Requests answered, by route and Details.Code'));
  const spineSeconds = registry.register(
    new Histogram('fgm_gateway_spine_request_seconds', 'Time for one Spine call (connect to validated answer)', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  );
  const rateLimited = registry.register(new Counter('fgm_gateway_spine_rate_limited_total', 'Requests refused with the busy tone, by client priority'));
  const breaker = registry.register(new Gauge('fgm_gateway_spine_breaker_state', 'Spine circuit breaker: 1 for the current state'));
  const breakerState = (state: BreakerState) => STATES.forEach((s) => breaker.set(s === state ? 1 : 0, { state: s }));
  breakerState('closed');
  return { registry, requests, spineSeconds, rateLimited, breakerState };
}
