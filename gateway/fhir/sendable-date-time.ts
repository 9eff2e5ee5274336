/**
 * @module fhir/sendable-date-time
 * Spine's assessment dateTime as the gateway may send it on (strict on what we send): the safety
 * core reads forms a DSTU2 dateTime does not allow — a leap second (`:60`) and a time without
 * seconds (`T10:00Z`) — and our own FHIR answer must still pass the profiles. Each is written in
 * the nearest valid form; when none is, the UK calendar day the element shows.
 */
import { withoutLeapSecond } from './leap-second.ts';
import { isDstu2Primitive } from './profile-validator.ts';

/** `written` (Spine's text, already safe) as a valid DSTU2 dateTime; `ukDay` (YYYY-MM-DD or partial) when it cannot be. */
export function sendableDateTime(written: string, ukDay: string): string {
  if (isDstu2Primitive('dateTime', written)) return written;
  // The second before a leap second, as checkedAt is; zero seconds where Spine wrote none.
  const fixed = withoutLeapSecond(written).replace(/^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(?=Z$|[+-]\d{2}:\d{2}$)/, '$1:00');
  return isDstu2Primitive('dateTime', fixed) ? fixed : ukDay;
}
