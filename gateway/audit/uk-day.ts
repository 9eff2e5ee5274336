/**
 * @module audit/uk-day
 * The throughput report's day and hours are UK civil time (Europe/London, BST aware): a trust reads
 * "Tuesday" and "the 9 o'clock peak" as its staff lived them, not as UTC. Stored times are UTC.
 */
import { ukToday } from '@fgm-status/element/rules/age';

const london = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
});

/** Minutes Europe/London is ahead of UTC at `ms` (0 or 60). */
function londonOffsetMinutes(ms: number): number {
  const p = Object.fromEntries(london.formatToParts(ms).map((x) => [x.type, x.value]));
  return (Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!) - Math.floor(ms / 60_000) * 60_000) / 60_000;
}

/** UTC instant of 00:00 UK time on `date` (YYYY-MM-DD). UK clocks change at 01:00 UTC, so the offset at 00:00 UTC is the one at UK midnight. */
function ukMidnight(date: string): number {
  const utc = Date.parse(`${date}T00:00:00Z`);
  return utc - londonOffsetMinutes(utc) * 60_000;
}

/** The UTC bounds [start, end) of the UK calendar day `date`, written as the store writes times (toISOString). */
export function ukDayBounds(date: string): { start: string; end: string } {
  const next = new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return { start: new Date(ukMidnight(date)).toISOString(), end: new Date(ukMidnight(next)).toISOString() };
}

/** Milliseconds from `now` to the next 00:00 UK time (a UK day is 23, 24 or 25 hours long). */
export function msToNextUkMidnight(now: Date): number {
  return Date.parse(ukDayBounds(ukToday(now)).end) - now.getTime();
}

/** Milliseconds from `now` to the top of the next UK hour. UK offsets are whole hours, so it is the top of the next UTC hour. */
export function msToNextUkHour(now: Date): number {
  return 3_600_000 - (now.getTime() % 3_600_000);
}

/**
 * Runs `task` at the top of every UK hour after now, as the injected clock tells it (FGMISQR009:
 * an outcome due on a UK date goes at that date's first hour; a record written just after a run
 * — a request crossing midnight — or missed because a database clock is a little behind, goes at
 * the next hour's, not a day later). Re-armed from the clock after each run, so a late timer
 * never drifts the next one. `timers`: the real ones, or a test's.
 */
export function atEveryUkHour(
  now: () => Date,
  task: () => void,
  timers: { set: (f: () => void, ms: number) => unknown; clear: (t: unknown) => void } = {
    set: (f, ms) => setTimeout(f, ms).unref(),
    clear: (t) => clearTimeout(t as NodeJS.Timeout),
  },
): { stop(): void } {
  let timer: unknown;
  let stopped = false;
  const arm = () => {
    timer = timers.set(
      () => {
        if (stopped) return;
        task();
        arm();
      },
      Math.max(1, msToNextUkHour(now())),
    );
  };
  arm();
  return { stop: () => ((stopped = true), timers.clear(timer)) };
}

/**
 * Folds counts per UTC hour (`YYYY-MM-DDTHH`, as `substr(time, 1, 13)`) into the report's UK peak
 * hour. UK offsets are whole hours, so each UTC hour is exactly one UK hour; on the autumn change
 * the two 01:00 hours count together.
 */
export function ukPeak(date: string, utcHours: readonly { hour: string; n: number }[]) {
  const byUkHour = new Map<string, number>();
  for (const { hour, n } of utcHours) {
    const ms = Date.parse(`${hour}:00:00Z`);
    const uk = String((new Date(ms).getUTCHours() + londonOffsetMinutes(ms) / 60) % 24).padStart(2, '0');
    byUkHour.set(uk, (byUkHour.get(uk) ?? 0) + n);
  }
  const [peak] = [...byUkHour].sort(([ha, a], [hb, b]) => b - a || ha.localeCompare(hb));
  const total = utcHours.reduce((s, h) => s + h.n, 0);
  return { date, total, peakHour: peak?.[0] ?? null, peakHourCount: peak?.[1] ?? 0 };
}
