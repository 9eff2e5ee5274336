/**
 * @module widget/gateway-client
 * The one place the element talks to the gateway: `POST {gateway}/api/fgm-status`. It never
 * throws to the element: a network failure, an unreadable answer, or one it cannot check is a
 * typed result.
 */

import type { StatusBody } from './rules/status-body.ts';
import { isIsoDate } from './rules/age.ts';

export type { StatusBody };

/**
 * The answer (with its headers: `Date`, the gateway's clock, ages it; `Retry-After` paces a retry),
 * or why there is none: the element's `fgm-status-error` detail as it is.
 */
export type GatewayResult = { httpStatus: number; body: StatusBody; headers: Headers } | { code: 'GATEWAY_UNREACHABLE' } | { code: 'GATEWAY_BAD_RESPONSE'; httpStatus: number };

export interface StatusQuery {
  gateway: string;
  token: string;
  /** The CIS2 selected role, sent as NHSD-Session-URID. */
  urid?: string | undefined;
  nhsNumber: string;
  birthDate: string;
  signal: AbortSignal;
}

/** A real date written YYYY-MM-DD, alone or with a time of day and a zone: a FHIR dateTime with a full date. */
const isDateTime = (v: unknown): v is string =>
  typeof v == 'string' && isIsoDate(v.slice(0, 10)) && /^.{10}(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-](0\d|1[0-4]):[0-5]\d))?$/.test(v);
/** An assessment date: a full one, or a year or month alone (a partial DSTU2 date, shown as Spine wrote it). */
const isAssessed = (v: unknown): v is string => isDateTime(v) || /^\d{4}(-(0[1-9]|1[0-2]))?$/.test(v as string);
/** An instant, as Spine's timestamp is: a dateTime to the second (`YYYY-MM-DDThh:mm:ss`, a fraction, a zone). */
const isInstant = (v: unknown): v is string => isDateTime(v) && v[16] == ':';

/**
 * An answer the element can use about `nhsNumber`: every field it shows or hands on has the form
 * the widget API promises, the assessment date is a real date (or a dateTime on one, as FHIR allows
 * for Flag.period.start), and the answer names the patient asked about. Anything else is
 * GATEWAY_BAD_RESPONSE, and nothing of it is shown. Form only: whether a date is plausible (not
 * after Spine's timestamp, say) is for the gateway's safety core, which knows Spine's clock; a
 * check here on the browser's calendar would hide real indicators.
 */
function isStatusBody(v: unknown, nhsNumber: string): v is StatusBody {
  const b = v as StatusBody;
  const { status, checkedAt: at } = b ?? {};
  return typeof b?.code == 'string' && typeof b.smspCode == 'string' && typeof (b.messageId ?? '') == 'string' &&
    (status == 'error' ||
      (b.nhsNumber === nhsNumber &&
        (status == 'indicator'
          ? isInstant(at) && isAssessed(b.assessmentDate)
          : status == 'no-record' && (at == null || isInstant(at)))));
}

/** Asks the gateway about one patient. An aborted request resolves as unreachable; callers drop it. */
export async function queryFgmStatus({ gateway, token, urid, nhsNumber, birthDate, signal }: StatusQuery): Promise<GatewayResult> {
  let res: Response;
  try {
    res = await fetch(`${gateway.replace(/\/$/, '')}/api/fgm-status`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(urid && { 'NHSD-Session-URID': urid }) },
      body: JSON.stringify({ nhsNumber, birthDate }),
      signal,
      // No cookies, and no referrer: the page's URL may name the patient. (POST answers are never cached.)
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    return { code: 'GATEWAY_UNREACHABLE' };
  }
  const body: unknown = await res.json().catch(() => undefined);
  return isStatusBody(body, nhsNumber) ? { httpStatus: res.status, body, headers: res.headers } : { code: 'GATEWAY_BAD_RESPONSE', httpStatus: res.status };
}
