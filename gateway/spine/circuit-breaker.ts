/**
 * @module spine/circuit-breaker
 * Outage tolerance (SMSP-PERF-006): after repeated failures to reach Spine the gateway stops
 * trying for a cool-down and answers COULD_NOT_CONNECT_TO_SPINE at once, so portals stay snappy;
 * then a single probe request checks whether Spine is back. The failures must come from at least
 * two callers (client and user): one user asking again and again about an answer that never comes
 * (a child whose lookup times out, say) must not take Spine from every other clinician (issue 18
 * review F1). An outage fails everyone, so it still opens the breaker as soon as a second caller
 * fails; a gateway with a single user fails each call at its own deadline instead.
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
  /** True if `caller`'s call may go to Spine now; in half-open only the one probe gets true, and never for a caller whose probe failed. */
  allow(caller: string): boolean;
  /** Spine answered (any HTTP answer counts: the link is up). */
  success(): void;
  /** No connection, TLS failure or timeout, for `caller` (client and user). */
  failure(caller: string): void;
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
  // Who failed since the last success (kept while open, so a failed probe reopens only an outage
  // more than one caller saw). Bounded: only whether there are two matters.
  const failing = new Set<string>();
  const callersToOpen = Math.min(2, failureThreshold);
  let openedAt = 0;
  let probing = false;
  // Callers whose probe failed in this half-open: each may fail one, so one caller's bad lookup
  // cannot keep the breaker open (another caller's probe decides).
  const probeFailed = new Set<string>();

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
    allow(caller: string) {
      const current = this.state;
      if (current === 'closed') return true;
      if (current === 'open' || probing || probeFailed.has(caller)) return false;
      probing = true;
      return true;
    },
    success() {
      failures = 0;
      failing.clear();
      probeFailed.clear();
      probing = false;
      set('closed');
    },
    release() {
      probing = false;
    },
    failure(caller: string) {
      probing = false;
      failures++;
      if (state === 'half-open') probeFailed.add(caller);
      else if (failing.size < 2) failing.add(caller);
      const open =
        state === 'half-open'
          ? probeFailed.size >= callersToOpen
          : failing.size >= callersToOpen && failures >= failureThreshold;
      if (open) {
        probeFailed.clear();
        openedAt = now();
        set('open');
      }
    },
  };
}
