/**
 * @module test/bench/load
 * Load generation for the benchmark. `openLoop` sends at a fixed rate whatever happens to earlier
 * requests and times each one from when it was SCHEDULED, not sent, so a stall is charged to every
 * request it delays (coordinated-omission correction). `closedLoop` keeps N requests in flight to
 * find the maximum throughput.
 */

export interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  /** Requests that could not start because `maxInFlight` were already waiting. */
  dropped: number;
  seconds: number;
  rps: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
}

/** The q-quantile of ascending `sorted` (nearest rank). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summarise(latencies: number[], ok: number, errors: number, dropped: number, seconds: number): LoadResult {
  latencies.sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    sent: ok + errors,
    ok,
    errors,
    dropped,
    seconds: r(seconds),
    rps: r(ok / seconds),
    latencyMs: {
      p50: r(percentile(latencies, 0.5)),
      p99: r(percentile(latencies, 0.99)),
      p999: r(percentile(latencies, 0.999)),
      max: r(latencies.at(-1) ?? NaN),
    },
  };
}

/** The send time of request `i` at `rate` per second from `start` (ms). */
export const scheduledAt = (start: number, rate: number, i: number) => start + (i * 1000) / rate;

export async function openLoop(o: {
  rate: number;
  seconds: number;
  maxInFlight?: number;
  send: () => Promise<boolean>;
}): Promise<LoadResult> {
  const total = Math.round(o.rate * o.seconds);
  const maxInFlight = o.maxInFlight ?? 1000;
  const latencies: number[] = [];
  let ok = 0,
    errors = 0,
    dropped = 0,
    inFlight = 0;
  const start = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = scheduledAt(start, o.rate, i);
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (inFlight >= maxInFlight) {
      dropped++;
      continue;
    }
    inFlight++;
    running.push(
      o
        .send()
        .then(
          (good) => {
            latencies.push(performance.now() - due);
            good ? ok++ : errors++;
          },
          () => {
            errors++;
          },
        )
        .finally(() => {
          inFlight--;
        }),
    );
  }
  await Promise.all(running);
  return summarise(latencies, ok, errors, dropped, (performance.now() - start) / 1000);
}

export async function closedLoop(o: {
  connections: number;
  seconds: number;
  send: () => Promise<boolean>;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0,
    errors = 0;
  const start = performance.now();
  const end = start + o.seconds * 1000;
  await Promise.all(
    Array.from({ length: o.connections }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          (await o.send()) ? ok++ : errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  return summarise(latencies, ok, errors, 0, (performance.now() - start) / 1000);
}
