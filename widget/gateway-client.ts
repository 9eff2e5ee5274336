/**
 * @module widget/gateway-client
 * The one place the element talks to the gateway: `POST {gateway}/api/fgm-status`. It never
 * throws to the element: a network failure or an unreadable answer is a typed result.
 */

import type { StatusBody } from './rules/status-body.ts';

export type { StatusBody };

export type GatewayResult =
  | { ok: true; httpStatus: number; body: StatusBody }
  | { ok: false; httpStatus?: number; code: 'GATEWAY_UNREACHABLE' | 'GATEWAY_BAD_RESPONSE' };

export interface StatusQuery {
  gateway: string;
  token: string;
  /** The CIS2 selected role, sent as NHSD-Session-URID. */
  urid?: string | undefined;
  nhsNumber: string;
  birthDate: string;
  signal: AbortSignal;
}

function isStatusBody(v: unknown): v is StatusBody {
  const b = v as StatusBody;
  return !!b && ['indicator', 'no-record', 'error'].includes(b.status) && typeof b.code === 'string' && typeof b.smspCode === 'string';
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
    return { ok: false, code: 'GATEWAY_UNREACHABLE' };
  }
  const body: unknown = await res.json().catch(() => undefined);
  return isStatusBody(body) ? { ok: true, httpStatus: res.status, body } : { ok: false, httpStatus: res.status, code: 'GATEWAY_BAD_RESPONSE' };
}
