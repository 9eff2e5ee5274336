/**
 * @module fhir/birth-date-range
 * A FHIR `date` birth date may be partial (YYYY, YYYY-MM). Read as the span of days it allows, so
 * the under-18 rule can ask Spine whenever she may be a child, and call her an adult only when
 * even the latest day it allows is 18 years ago.
 */
import { isIsoDate } from '@fgm-status/element/rules/age';

/** The first and last day (YYYY-MM-DD) a FHIR date allows; undefined when it is not a real FHIR date. */
export function birthDateRange(v: string): { earliest: string; latest: string } | undefined {
  if (isIsoDate(v)) return { earliest: v, latest: v };
  const m = /^(\d{4})(?:-(0[1-9]|1[0-2]))?$/.exec(v);
  if (!m) return undefined;
  const year = Number(m[1]);
  if (!m[2]) return { earliest: `${m[1]}-01-01`, latest: `${m[1]}-12-31` };
  // Day 0 of the next month is the last day of this one (UTC, so no zone can move it).
  const last = new Date(Date.UTC(year, Number(m[2]), 0)).getUTCDate();
  return { earliest: `${m[1]}-${m[2]}-01`, latest: `${m[1]}-${m[2]}-${String(last).padStart(2, '0')}` };
}
