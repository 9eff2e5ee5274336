/**
 * @module age
 * The under-18 rule (MSCA-FGMRISQ-04) on the UK calendar, shared by the gateway, the simulator and
 * the widget: FGM-IS is only for children, so nobody asks Spine about anyone whose 18th birthday
 * has begun in the UK — at UK midnight, GMT or BST.
 */

const UK_DATE = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/**
 * The calendar date in the UK at `now`, as YYYY-MM-DD.
 * @example ukToday(new Date('2026-07-01T23:30:00Z')) // '2026-07-02' (00:30 BST)
 */
export function ukToday(now: Date = new Date()): string {
  return UK_DATE.format(now).split('/').reverse().join('-');
}

/**
 * True while someone born on `birthDate` has not reached their 18th birthday on `today` (both
 * YYYY-MM-DD). A 29 February birthday counts as 1 March in non-leap years, as Date.UTC rolls it over.
 * @example isUnder18('2014-03-02', ukToday()) // true until 2032-03-02
 */
export function isUnder18(birthDate: string, today: string): boolean {
  const [y, m, d] = birthDate.split('-').map(Number) as [number, number, number];
  return today < new Date(Date.UTC(y + 18, m - 1, d)).toISOString().slice(0, 10);
}

/** True when `value` is a real calendar date written YYYY-MM-DD (2014-02-30 is not). */
export function isIsoDate(value: string): boolean {
  // A date-only ISO string is read as UTC midnight; an impossible one rolls over, or is Invalid
  // Date, whose toJSON() is null.
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !!new Date(value).toJSON()?.startsWith(value);
}
