/**
 * @module spine/circuit-breaker
 * Outage tolerance (SMSP-PERF-006): after repeated failures to reach Spine the gateway stops
 * trying for a cool-down and answers COULD_NOT_CONNECT_TO_SPINE at once, so portals stay snappy;
 * then a single probe request checks whether Spine is back.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive connection failures that open the breaker. */
  failureThreshold?: number;
  /** How long the breaker stays open before one probe is let through. */
  coolDownMs?: number;
  now?: () => number;
  /** Told of every state change (for metrics and an operator log line). */
  onStateChange?: (state: BreakerState) => void;
}

export interface CircuitBreaker {
  readonly state: BreakerState;
  /** True if a call may go to Spine now; in half-open only the one probe gets true. */
  allow(): boolean;
  /** Spine answered (any HTTP answer counts: the link is up). */
  success(): void;
  /** No connection, TLS failure or timeout. */
  failure(): void;
  /** The probe let through by allow() was not sent after all: another caller may probe. */
  release(): void;
}

export function createCircuitBreaker({
  failureThreshold = 5,
  coolDownMs = 10_000,
  now = Date.now,
  onStateChange,
}: CircuitBreakerOptions = {}): CircuitBreaker {
  let state: BreakerState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let probing = false;

  const set = (next: BreakerState) => {
    if (next === state) return;
    state = next;
    onStateChange?.(next);
  };

  return {
    get state() {
      if (state === 'open' && now() - openedAt >= coolDownMs) set('half-open');
      return state;
    },
    allow() {
      const current = this.state;
      if (current === 'closed') return true;
      if (current === 'open' || probing) return false;
      probing = true;
      return true;
    },
    success() {
      failures = 0;
      probing = false;
      set('closed');
    },
    release() {
      probing = false;
    },
    failure() {
      probing = false;
      failures++;
      if (state === 'half-open' || failures >= failureThreshold) {
        openedAt = now();
        set('open');
      }
    },
  };
}
