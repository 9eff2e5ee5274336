/**
 * @module widget/gateway-client
 * The one place the element talks to the gateway: `POST {gateway}/api/fgm-status`. It never
 * throws to the element: a network failure, an unreadable answer, or one it cannot check is a
 * typed result.
 */

import type { StatusBody } from './rules/status-body.ts';
import { isIsoDate, ukToday } from './rules/age.ts';

export type { StatusBody };

/**
 * The answer (with its headers: `Date`, the gateway's clock, ages it; `Retry-After` paces a retry),
 * or why there is none: the element's `fgm-status-error` detail as it is.
 */
export type GatewayResult =
  | { httpStatus: number; body: StatusBody; headers: Headers }
  | { code: 'GATEWAY_UNREACHABLE' }
  | { code: 'GATEWAY_BAD_RESPONSE'; httpStatus: number };

export interface StatusQuery {
  gateway: string;
  token: string;
  /** The CIS2 selected role, sent as NHSD-Session-URID. */
  urid?: string | undefined;
  nhsNumber: string;
  birthDate: string;
  signal: AbortSignal;
}

/**
 * An assessment date as the gateway sends it: the UK calendar day, YYYY-MM-DD, or Spine's year or
 * month alone (a partial DSTU2 date). Never a dateTime: the gateway maps Spine's to its UK day, so
 * one here is not its answer, and a date read off it could be a day out.
 */
const isAssessed = (v: unknown): v is string =>
  typeof v == 'string' && (isIsoDate(v) || /^\d{4}(-(0[1-9]|1[0-2]))?$/.test(v));
/** An instant, as Spine's timestamp is: a real date and time to the second (`YYYY-MM-DDThh:mm:ss`, a fraction, a zone). */
const isInstant = (v: unknown): v is string =>
  typeof v == 'string' &&
  isIsoDate(v.slice(0, 10)) &&
  /^.{10}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-](0\d|1[0-4]):[0-5]\d)$/.test(v);
/**
 * Not after the day of Spine's timestamp `at`: the later of the date Spine wrote and the UK date, as
 * the gateway's safety core bounds it (a date-only assessment cannot be placed in a zone). Compared
 * as text, so a year or month is compared at its own precision: 2026-07 is not after 2026-07-01.
 */
const notAfter = (day: string, at: string) => day <= [at.slice(0, 10), ukToday(new Date(at))].sort()[1]!;
/**
 * Not before 2000-01-01, at the day's own precision: the gateway's safety core refuses any earlier
 * assessment as implausible (FGM-IS began in 2014), whatever the birth date, and so does the element.
 */
const notEarly = (day: string) => day >= '2000-01-01'.slice(0, day.length);
/**
 * The forms an error answer's fields have (docs/api.md, the vocabulary): a code in upper-case snake
 * case as the vocabulary's schema requires, an original code of upper-case letters and digits in
 * hyphenated parts (`SMSP-0001`, `FGM-0002`, `300`, `SMSP-LOCAL-0403-CLIENT`), and the MessageHeader id
 * the gateway gave its message to Spine, a UUID, or none. They go to the host for IT as they are: anything
 * else (markup, a sentence, a child's number) is no answer of the gateway's (review 18f F10). One
 * pattern over the three joined by commas, which none of them may hold: the element's bytes are budgeted.
 */
const ERROR_FORMS = /^[A-Z\d_]+,[A-Z\d]+(-[A-Z\d]+)*,([\dA-Fa-f]{8}(-[\dA-Fa-f]{4}){3}-[\dA-Fa-f]{12})?$/;
/** HTTP status, code and SMSP code of an indicator and of no record (the FGM-IS client requirements' Appendix A, the gateway's vocabulary). */
const AGREES: Record<string, string> = {
  indicator: '200,SUCCESS,SMSP-0000',
  'no-record': '404,NO_RECORD_FOUND,FGM-0001',
};

/**
 * An answer the element can use about `nhsNumber`: every field it shows or hands on has the form
 * the widget API promises; an indicator or no-record answer carries the HTTP status and codes
 * that status has, and names the patient asked about; an indicator's assessment date is a real
 * date from 2000 on, not after the day of Spine's timestamp; an error's codes and message id have their
 * documented forms (ERROR_FORMS). Anything else is GATEWAY_BAD_RESPONSE, and nothing
 * of it is shown. Whether the timestamp is plausible needs the gateway's clock (the answer's
 * `Date`): the element judges that when it ages the answer.
 */
function isStatusBody(v: unknown, nhsNumber: string, httpStatus: number): v is StatusBody {
  const b = v as StatusBody;
  const { status, checkedAt: at, assessmentDate: day } = b ?? {};
  return (
    typeof b?.code == 'string' &&
    typeof b.smspCode == 'string' &&
    typeof (b.messageId ?? '') == 'string' &&
    (status == 'error'
      ? ERROR_FORMS.test([b.code, b.smspCode, b.messageId] + '')
      : b.nhsNumber === nhsNumber &&
        [httpStatus, b.code, b.smspCode] + '' == AGREES[status] &&
        (status == 'no-record'
          ? at == null || isInstant(at)
          : isInstant(at) && isAssessed(day) && notEarly(day) && notAfter(day, at)))
  );
}

/** Asks the gateway about one patient. An aborted request resolves as unreachable; callers drop it. */
export async function queryFgmStatus({
  gateway,
  token,
  urid,
  nhsNumber,
  birthDate,
  signal,
}: StatusQuery): Promise<GatewayResult> {
  let res: Response;
  try {
    res = await fetch(`${gateway.replace(/\/$/, '')}/api/fgm-status`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        ...(urid && { 'NHSD-Session-URID': urid }),
      },
      body: JSON.stringify({ nhsNumber, birthDate }),
      signal,
      // No cookies, and no referrer: the page's URL may name the patient. (POST answers are never cached.)
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    return { code: 'GATEWAY_UNREACHABLE' };
  }
  // A body cut off (the connection dropped, or stalled past the deadline) is a transport failure,
  // retried as an outage is; only a body that arrived whole and cannot be used is a bad response.
  let text: string;
  try {
    text = await res.text();
  } catch {
    return { code: 'GATEWAY_UNREACHABLE' };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: refused below as any unusable answer is.
  }
  return isStatusBody(body, nhsNumber, res.status)
    ? { httpStatus: res.status, body, headers: res.headers }
    : { code: 'GATEWAY_BAD_RESPONSE', httpStatus: res.status };
}
