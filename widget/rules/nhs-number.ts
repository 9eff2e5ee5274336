/**
 * @module nhs-number
 * NHS number rules shared by the widget and the gateway (the widget package owns them, so it
 * publishes them without reaching into gateway/): pure, no Node or DOM APIs.
 */

/**
 * True when `value` is ten digits whose modulus-11 check digit is right (SMSP-VAL-002).
 * A remainder giving check digit 10 means the number can never be valid.
 * @example isValidNhsNumber('9990000018') // true
 */
export function isValidNhsNumber(value: string): boolean {
  if (!/^\d{10}$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(value[i]) * (10 - i);
  const check = 11 - (sum % 11);
  const expected = check === 11 ? 0 : check;
  return expected !== 10 && expected === Number(value[9]);
}

/**
 * Formats ten digits as 3-3-4 (`999 000 0018`), as MSCA-FGMRISG-01 asks for display.
 * Input that is not ten digits is returned unchanged rather than guessed at.
 */
export function formatNhsNumber(value: string): string {
  return /^\d{10}$/.test(value) ? `${value.slice(0, 3)} ${value.slice(3, 6)} ${value.slice(6)}` : value;
}
