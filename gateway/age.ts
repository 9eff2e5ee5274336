/**
 * @module age
 * The under-18 rule (MSCA-FGMRISQ-04): FGM-IS is only for children, so the gateway refuses to
 * ask Spine about anyone whose 18th birthday has passed.
 */

/**
 * True when someone born on `birthDate` (YYYY-MM-DD) is under 18 on `today` (UTC calendar date).
 * A 29 February birthday counts as 1 March in non-leap years.
 * @example isUnder18('2014-03-02', new Date('2026-01-01')) // true
 */
export function isUnder18(birthDate: string, today: Date): boolean {
  const [y, m, d] = birthDate.split('-').map(Number) as [number, number, number];
  const eighteenth = Date.UTC(y + 18, m - 1, d);
  const day = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return day < eighteenth;
}

/** True when `value` is a real calendar date written YYYY-MM-DD. */
export function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const [y, m, d] = value.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}
