/**
 * @module observe/gateway-metrics
 * The gateway's metrics (GET /metrics, Prometheus text format) in a prom-client registry of their
 * own, beside prom-client's standard Node process metrics (event-loop lag, GC, heap, RSS, file
 * descriptors). Every label is from a closed set chosen in code — route paths, vocabulary codes,
 * priorities, breaker states, profile element paths — or the config's own client ids, so no patient data or
 * user identity can ever appear here.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerState } from '../spine/circuit-breaker.ts';

export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'code' | 'route' | 'status'>;
  spineSeconds: Histogram;
  /** Busy tones, by priority and by the configured client whose caller heard it (a closed set from the config). */
  rateLimited: Counter<'priority' | 'client'>;
  /** Connections the listener closed for a newcomer or refused (connection-bound.ts), by action and reason. */
  connectionsShed: Counter<'action' | 'reason'>;
  /** Departures from the profiles in Spine's answers that were transformed, not refused (SMSP-VAL-004). */
  spineAnswerDeviations: Counter<'path'>;
  breakerState(state: BreakerState): void;
}

const STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

export function createGatewayMetrics(): GatewayMetrics {
  // A registry per gateway, not prom-client's global one: tests and embedders run several in one process.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const requests = new Counter({
    name: 'fgm_gateway_requests_total',
    help: 'Requests answered, by route and Details.Code',
    labelNames: ['code', 'route', 'status'] as const,
    registers,
  });
  const spineSeconds = new Histogram({
    name: 'fgm_gateway_spine_request_seconds',
    help: 'Time for one Spine call (connect to validated answer)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const rateLimited = new Counter({
    name: 'fgm_gateway_spine_rate_limited_total',
    help: 'Requests refused with the busy tone, by client priority and client id',
    labelNames: ['priority', 'client'] as const,
    registers,
  });
  // `path` is a profile element path from the snapshots (a closed set), never text from the answer.
  const spineAnswerDeviations = new Counter({
    name: 'fgm_spine_answer_deviations_total',
    help: "Deviations from the FGM-IS profiles in Spine's answers, by profile path (used as transformed, or in an answer refused as unsafe: the log line says which)",
    labelNames: ['path'] as const,
    registers,
  });
  const breaker = new Gauge({
    name: 'fgm_gateway_spine_breaker_state',
    help: 'Spine circuit breaker: 1 for the current state',
    labelNames: ['state'] as const,
    registers,
  });
  const breakerState = (state: BreakerState) => STATES.forEach((s) => breaker.set({ state: s }, s === state ? 1 : 0));
  breakerState('closed');
  const connectionsShed = new Counter({
    name: 'fgm_gateway_connections_shed_total',
    help: 'Connections closed for a newcomer (evicted) or refused, by reason',
    labelNames: ['action', 'reason'] as const,
    registers,
  });
  return { registry, requests, spineSeconds, rateLimited, connectionsShed, spineAnswerDeviations, breakerState };
}
