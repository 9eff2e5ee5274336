/**
 * @module spine/rate-limiter
 * The gateway-wide token bucket in front of Spine (SMSP-PERF-001). It never queues: a request
 * that finds no token gets the busy tone at once, so a burst from clients cannot pile up.
 * Interactive traffic may take any token; batch traffic only takes a token while the bucket holds
 * more than a reserve kept for people at a screen (SMSP-PERF-007).
 */

export type Priority = 'interactive' | 'batch';

export interface RateLimiterOptions {
  /** Sustained requests per second allowed to reach Spine. */
  perSecond: number;
  /** Extra requests allowed in a burst above the sustained rate. */
  burst: number;
  /** Tokens batch traffic must leave in the bucket; default half the bucket (none when burst is 0). */
  interactiveReserve?: number;
  /** Milliseconds clock, injectable for tests. */
  now?: () => number;
}

export interface RateLimiter {
  /** Takes a token if the priority may have one now; false means answer with the busy tone. */
  tryAcquire(priority: Priority): boolean;
  /** Seconds until a token for `priority` is likely, for Retry-After (at least 1). */
  retryAfterSeconds(priority: Priority): number;
}

/**
 * @example const limiter = createRateLimiter({ perSecond: 50, burst: 20 });
 * if (!limiter.tryAcquire('interactive')) return busyTone();
 */
export function createRateLimiter({ perSecond, burst, interactiveReserve, now = performance.now.bind(performance) }: RateLimiterOptions): RateLimiter {
  if (!(perSecond > 0)) throw new Error('rateLimit.perSecond must be greater than 0');
  if (!(burst >= 0)) throw new Error('rateLimit.burst must be 0 or more');
  // The bucket holds the burst plus one token: with burst 0 a single request per 1/rate still passes.
  const capacity = burst + 1;
  // Batch must always be able to reach the last token, or it would starve even with Spine idle.
  const reserve = Math.min(interactiveReserve ?? Math.floor(capacity / 2), capacity - 1);
  let tokens = capacity;
  let last = now();

  const refill = () => {
    const t = now();
    tokens = Math.min(capacity, tokens + ((t - last) / 1000) * perSecond);
    last = t;
  };
  const floor = (p: Priority) => (p === 'batch' ? reserve : 0);

  return {
    tryAcquire(priority) {
      refill();
      // The epsilon absorbs float drift from many small refills (0.1 × 10 is 0.9999…).
      if (tokens - 1 < floor(priority) - 1e-9) return false;
      tokens -= 1;
      return true;
    },
    retryAfterSeconds(priority) {
      refill();
      const missing = floor(priority) + 1 - tokens;
      return Math.max(1, Math.ceil(missing / perSecond));
    },
  };
}
