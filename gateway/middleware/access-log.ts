/**
 * @module middleware/access-log
 * One JSON log line per request: request id, method, path, status, Details.Code, duration and
 * client id (the client system's or the CDS client's). Never the body, query string or headers — those may hold NHS numbers or tokens.
 *
 * On the patient-query paths the line never says what Spine answered: the audit trail keeps each
 * request id with its NHS number for ever, so a logged SUCCESS (indicator) or NO_RECORD_FOUND —
 * or the 200 and 404 that carry them — would outlive the outcome's erasure (FGMISQR009, hazard
 * H11). Those lines carry `outcome: "answered"`, no status and no code; refusals and errors, which
 * say nothing about an indicator, keep their status and code (`outcome` "refused" or "error").
 *
 * `userKey` names the user (or the originating user a client system or CDS client asserts) by a
 * keyed hash of client and user id, never the id itself: IT can follow one user's flood across
 * lines and gateways (every gateway with the same audit key gives the same key) without the log
 * identifying anyone. The key is derived from the audit HMAC key for this use alone
 * (logUserKeySecret), so a log line cannot be matched against the audit trail's hashes.
 */
import { createHmac } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../env.ts';
import type { Logger } from '../observe/logger.ts';

/** The paths whose answers say whether a child has an indicator. */
const PATIENT_QUERIES = new Set(['/api/fgm-status', '/fhir/fgm/query', '/cds-services/fgm-is']);
/** The outcomes that say it. */
const REVEALING = new Set(['SUCCESS', 'NO_RECORD_FOUND']);

/** What a patient-query line may say of its outcome: whether it was answered, never how. */
function outcomeClass(status: number, code: string | null): 'answered' | 'refused' | 'error' {
  if (code !== null && REVEALING.has(code)) return 'answered';
  // A CDS service answers its errors with 200 and no cards: only a 4xx is a refusal.
  return status >= 400 && status < 500 ? 'refused' : 'error';
}

/** The secret of the access log's user keys, derived from the audit HMAC key (its only other use is the trail's). */
export function logUserKeySecret(auditHmacKey: Buffer): Buffer {
  return createHmac('sha256', auditHmacKey).update('fgm-status access-log user key v1').digest();
}

/** A user's pseudonymous key in the access log: 16 base64url characters of HMAC-SHA-256(secret, client id NUL user id). */
export function logUserKey(secret: Buffer, clientId: string, userId: string): string {
  return createHmac('sha256', secret).update(`${clientId}\u0000${userId}`).digest('base64url').slice(0, 16);
}

/**
 * @example app.use(accessLog({ log: jsonLineLogger(), paths: ['/healthz'], userKeySecret: logUserKeySecret(hmacKey) }))
 */
export function accessLog({
  log,
  paths,
  userKeySecret,
  now = () => performance.now(),
}: {
  log: Logger;
  paths: readonly string[];
  userKeySecret: Buffer;
  now?: () => number;
}): MiddlewareHandler<GatewayEnv> {
  const known = new Set(paths);
  return async function accessLog(c, next) {
    const start = now();
    await next();
    const code = c.get('outcomeCode') ?? null;
    const outcome = PATIENT_QUERIES.has(c.req.path) ? outcomeClass(c.res.status, code) : undefined;
    const hidden = outcome === 'answered';
    const clientId = c.get('client')?.id ?? c.get('cdsClient')?.id;
    const userId = c.get('callerUser');
    log({
      level: c.res.status >= 500 ? 'error' : 'info',
      msg: 'request',
      requestId: c.get('requestId'),
      method: c.req.method,
      // Only the gateway's own fixed paths are logged: any other path is client text, not echoed.
      path: known.has(c.req.path) ? c.req.path : 'other',
      status: hidden ? null : c.res.status,
      code: hidden ? null : code,
      reason: c.get('refusalReason') ?? null,
      ...(outcome && { outcome }),
      // Whoever asked, on every interface: a client system (widget API, FHIR) or a CDS client (EPR).
      clientId: clientId ?? null,
      userKey: clientId !== undefined && userId !== undefined ? logUserKey(userKeySecret, clientId, userId) : null,
      durationMs: Math.round(now() - start),
    });
  };
}
