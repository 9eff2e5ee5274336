/**
 * @module audit/erasure-date
 * The date a query's outcome must be gone from the trail (FGMISQR009), computed where the request
 * is handled: the child's 18th birthday when the request gave her birth date, else a configured
 * number of days after the query (erasure.ts says why, and does the erasing).
 */
import { ukToday } from '../../widget/rules/age.ts';

/** The 18th birthday (YYYY-MM-DD) of someone born on `birthDate`: the day isUnder18 turns false (29 February → 1 March). */
export function eighteenthBirthday(birthDate: string): string {
  const [y, m, d] = birthDate.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y + 18, m - 1, d)).toISOString().slice(0, 10);
}

/** The erasure date of a query at `now` whose patient's birth date is unknown: `days` UK days later. */
export const eraseAfterDays = (now: Date, days: number): string => ukToday(new Date(now.getTime() + days * 86_400_000));
