/**
 * @module widget/format
 * Pure display rules for the alert (MSCA-FGMRISG-01/02): NHS number 3-3-4, dates D/MM/YYYY,
 * times HH:MM:SS in UK time, and the long forms screen readers announce.
 */
export { formatNhsNumber, isValidNhsNumber } from '../gateway/nhs-number.ts';

const UK = 'Europe/London';
const fmt = (options: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat('en-GB', options);
const datePart = (value: string) => /^\d{4}-\d{2}-\d{2}/.exec(value)?.[0];

/** `YYYY-MM-DD` (or the date part of a dateTime) as `D/MM/YYYY`; the calendar date is kept as Spine wrote it. */
export function formatDate(value: string): string {
  const d = datePart(value);
  return d ? `${Number(d.slice(8))}/${d.slice(5, 7)}/${d.slice(0, 4)}` : value;
}

/** `YYYY-MM-DD` as `10 December 2019`. */
export function longDate(value: string): string {
  const d = datePart(value);
  return d ? fmt({ dateStyle: 'long', timeZone: 'UTC' }).format(new Date(d)) : value;
}

/** An instant as `D/MM/YYYY HH:MM:SS` in UK time (GMT or BST); unreadable input is returned as is. */
export function formatDateTime(value: string): string {
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) return value;
  const p = Object.fromEntries(
    fmt({ timeZone: UK, year: 'numeric', month: '2-digit', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(t)
      .map((x) => [x.type, x.value]),
  );
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}:${p.second}`;
}

/** An instant as `24 November 2026 at 10:11:12 GMT`. */
export function longDateTime(value: string): string {
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? value : fmt({ dateStyle: 'long', timeStyle: 'long', timeZone: UK }).format(t);
}

/** True when `value` is a real calendar date written YYYY-MM-DD (2014-02-30 is not). */
export function isIsoDate(value: string): boolean {
  const t = new Date(value);
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(t.getTime()) && t.toISOString().startsWith(value);
}

/** Today's calendar date in the UK, as YYYY-MM-DD. */
export function ukToday(now: Date = new Date()): string {
  return fmt({ timeZone: UK, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now).split('/').reverse().join('-');
}

/** True while someone born on `birthDate` has not reached their 18th birthday on `today` (both YYYY-MM-DD). */
export function isUnder18(birthDate: string, today: string): boolean {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  // 29 February birthdays fall on 1 March in non-leap years, as Date.UTC rolls them over.
  const eighteenth = new Date(Date.UTC(by + 18, bm - 1, bd)).toISOString().slice(0, 10);
  return today < eighteenth;
}
