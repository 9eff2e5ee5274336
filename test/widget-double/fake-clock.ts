/**
 * @module test/widget-double/fake-clock
 * A clock the element's browser tests move by hand: `Date.now` and the window's `setTimeout` /
 * `clearTimeout`, so "24 hours after Spine's timestamp" is tested at once and exactly, not waited
 * for. Mocha keeps its own timer references, so its timeouts still run on real time; the page's
 * fetches, microtasks and animation frames are untouched.
 */

export interface FakeClock {
  /** Runs each timer due up to `at` (ms since the epoch), in order, each at its own time; then the clock reads `at`. */
  moveTo(at: number): void;
  /** The clock reads `at` and no timer runs: a sleep, or the clock set by hand. */
  jumpTo(at: number): void;
  /** Puts the real clock and timers back; timers still pending belong to elements the test is done with, and are dropped. */
  restore(): void;
}

export function fakeClock(start: number): FakeClock {
  const real = { now: Date.now, setTimeout: window.setTimeout, clearTimeout: window.clearTimeout };
  let now = start;
  // Ids far above the browser's own, so clearing a real timer never clears a fake one, or back.
  let nextId = 1e9;
  const timers = new Map<number, { at: number; run: () => void }>();
  Date.now = () => now;
  window.setTimeout = ((run: () => void, ms?: number) => {
    timers.set(++nextId, { at: now + Math.max(0, Number(ms) || 0), run });
    return nextId;
  }) as typeof window.setTimeout;
  window.clearTimeout = ((id?: number) => {
    if (!timers.delete(id!)) real.clearTimeout.call(window, id);
  }) as typeof window.clearTimeout;
  return {
    moveTo(at) {
      for (;;) {
        const due = [...timers].filter(([, t]) => t.at <= at).sort(([a, x], [b, y]) => x.at - y.at || a - b)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].run();
      }
      now = at;
    },
    jumpTo(at) {
      now = at;
    },
    restore() {
      Date.now = real.now;
      window.setTimeout = real.setTimeout;
      window.clearTimeout = real.clearTimeout;
      timers.clear();
    },
  };
}
