/**
 * @module audit/erasure-date
 * The date a query's outcome must be gone from the trail (FGMISQR009), computed where the request
 * is handled: the child's 18th birthday when the request gave her birth date, else a configured
 * number of days after the query (erasure.ts says why, and does the erasing).
 */
import { ukToday } from './uk-today.ts';

/** The 18th birthday (YYYY-MM-DD) of someone born on `birthDate`: the day isUnder18 turns false (29 February → 1 March). */
export function eighteenthBirthday(birthDate: string): string {
  const [y, m, d] = birthDate.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y + 18, m - 1, d)).toISOString().slice(0, 10);
}

/**
 * The erasure date of a query at `now` whose patient's birth date is unknown: `days` UK calendar
 * days after the query's UK date. Counted on the calendar, not in 24-hour steps: the days the
 * clocks change are 23 and 25 hours long, and stepping in hours near midnight lands a day off.
 */
export function eraseAfterDays(now: Date, days: number): string {
  const [y, m, d] = ukToday(now).split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}
