/**
 * @module widget/format
 * Pure display rules for the alert (MSCA-FGMRISG-01/02): NHS number 3-3-4, dates D/MM/YYYY,
 * times HH:MM:SS in UK time, and the long forms screen readers announce.
 */
export { formatNhsNumber, isValidNhsNumber } from './rules/nhs-number.ts';
export { isIsoDate, isUnder18, ukToday } from './rules/age.ts';
import { ukToday } from './rules/age.ts';

const UK = 'Europe/London';
const fmt = (options: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat('en-GB', options);
const datePart = (value: string) => /^\d{4}-\d{2}-\d{2}/.exec(value)?.[0];

/** `YYYY-MM-DD` as `D/MM/YYYY`, the calendar date as the gateway gives it. */
export function formatDate(value: string): string {
  const d = datePart(value);
  // A partial date (a year, or a month) as MM/YYYY or YYYY.
  return d ? `${Number(d.slice(8))}/${d.slice(5, 7)}/${d.slice(0, 4)}` : value.split('-').reverse().join('/');
}

/** `YYYY-MM-DD` as `10 December 2019`. */
export function longDate(value: string): string {
  const d = datePart(value);
  return d
    ? fmt({ dateStyle: 'long', timeZone: 'UTC' }).format(new Date(d))
    : value[4]
      ? fmt({ month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(value))
      : value;
}

/** An instant as `D/MM/YYYY HH:MM:SS` in UK time (GMT or BST); unreadable input is returned as is. */
export function formatDateTime(value: string): string {
  const t = new Date(value);
  // The UK calendar date, then en-GB's medium time: 24-hour HH:MM:SS.
  return isNaN(+t) ? value : `${formatDate(ukToday(t))} ${fmt({ timeStyle: 'medium', timeZone: UK }).format(t)}`;
}

/** An instant as `24 November 2026 at 10:11:12 GMT`. */
export function longDateTime(value: string): string {
  const t = new Date(value);
  return isNaN(+t) ? value : fmt({ dateStyle: 'long', timeStyle: 'long', timeZone: UK }).format(t);
}
