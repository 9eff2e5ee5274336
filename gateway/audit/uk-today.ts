/**
 * @module audit/uk-today
 * The gateway's ukToday (widget/rules/age.ts), remembered per UTC hour: Intl's formatting cost
 * about 30 µs of CPU per request on the hot path, where the audit middleware, the erasure date,
 * the under-18 check and the answer's safety checks each ask for a UK date. The UK's offsets
 * (GMT, BST) are whole hours and change on the hour, so the UK date is the same throughout each
 * UTC hour; remembering it per hour gives the same answer as asking Intl every time.
 */
import { ukToday as intlUkToday } from '@fgm-status/element/rules/age';

const HOUR_MS = 3_600_000;
/** Hours remembered: now, and the few hours of Spine's timestamps; cleared when full, never grown without bound. */
const MAX_HOURS = 64;

/**
 * `ukDate` remembered per UTC hour of its argument; an invalid date is passed through (and throws, as Intl does).
 * @example const today = ukTodayByHour(); today(new Date()) // '2026-12-02'
 */
export function ukTodayByHour(ukDate: (now: Date) => string = intlUkToday): (now?: Date) => string {
  const byHour = new Map<number, string>();
  return (now = new Date()) => {
    const hour = Math.floor(now.getTime() / HOUR_MS);
    const known = byHour.get(hour);
    if (known !== undefined) return known;
    const day = ukDate(now);
    if (byHour.size >= MAX_HOURS) byHour.clear();
    byHour.set(hour, day);
    return day;
  };
}

/** The calendar date in the UK at `now`, as YYYY-MM-DD (as widget/rules/age.ts's ukToday). */
export const ukToday = ukTodayByHour();
