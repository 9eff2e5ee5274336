/**
 * @module spine/protected-spine
 * Wraps the Spine client with the protections an SMSP owes a national service: a circuit breaker
 * that fails fast while Spine is unreachable (SMSP-PERF-006), then a gateway-wide rate limit that
 * answers the busy tone at once instead of queueing (SMSP-PERF-001), with interactive clients
 * served before batch ones (SMSP-PERF-007). It also times every Spine call for /metrics.
 */
import type { Priority, RateLimiter } from './rate-limiter.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import type { SpineAbandoned, SpineAnswer, SpineClient, SpineFailure } from './client.ts';

/** The busy tone: too many requests for Spine right now; try again after `retryAfterSeconds`. */
export interface SpineBusy {
  kind: 'busy';
  code: 'SPINE_BUSY';
  retryAfterSeconds: number;
}

/**
 * The two measurements the protection records. An interface of its own so the spine core knows
 * nothing of how /metrics is kept (observe/gateway-metrics.ts supplies them).
 */
export interface SpineMetrics {
  rateLimited: { inc(labels: { priority: Priority; client: string }): void };
  spineSeconds: { observe(seconds: number): void };
}

export interface ProtectedSpine {
  /** `clientId` picks the client's share of the budget, `userId` the user's part of it (the rate limiter's fairness). */
  query(
    xml: string,
    opts: { signal?: AbortSignal; priority: Priority; clientId: string; userId?: string },
  ): Promise<SpineAnswer | SpineFailure | SpineBusy | SpineAbandoned>;
}

export function protectSpine(
  spine: SpineClient,
  { limiter, breaker, metrics }: { limiter: RateLimiter; breaker: CircuitBreaker; metrics: SpineMetrics },
): ProtectedSpine {
  return {
    async query(xml, { signal, priority, clientId, userId }) {
      // The client is gone already: nothing to ask, no Spine budget spent, nothing learnt about Spine.
      if (signal?.aborted) return { kind: 'abandoned', code: 'CLIENT_CLOSED_REQUEST' };
      // Who is asking, as the breaker counts failures: two callers must fail before it opens.
      const caller = `${clientId}\u0000${userId ?? ''}`;
      if (!breaker.allow(caller))
        return {
          kind: 'failure',
          code: 'COULD_NOT_CONNECT_TO_SPINE',
          reason: 'circuit open: Spine unreachable recently',
        };
      // In half-open, allow() says yes to the one probe only: this call holds it.
      const probe = breaker.state === 'half-open';
      if (!(await limiter.tryAcquire(priority, clientId, userId))) {
        // The probe was not sent: let another caller probe.
        if (probe) breaker.release();
        // By client, so IT can see whose callers hear it (a flood, or a client system rotating user ids).
        metrics.rateLimited.inc({ priority, client: clientId });
        return {
          kind: 'busy',
          code: 'SPINE_BUSY',
          retryAfterSeconds: await limiter.retryAfterSeconds(priority, clientId, userId),
        };
      }
      const started = performance.now();
      const result = await spine.query(xml, signal ? { signal } : {});
      // A client hang-up says nothing about Spine: not timed, not counted, and a probe it held is
      // handed back so the next request can probe.
      if (result.kind === 'abandoned') {
        if (probe) breaker.release();
        return result;
      }
      metrics.spineSeconds.observe((performance.now() - started) / 1000);
      // Any answer, even an unusable one, proves the link is up; only "could not connect" counts against it.
      if (result.kind === 'failure' && result.code === 'COULD_NOT_CONNECT_TO_SPINE') breaker.failure(caller);
      else breaker.success();
      return result;
    },
  };
}
