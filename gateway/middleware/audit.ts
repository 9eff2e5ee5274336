/**
 * @module middleware/audit
 * Writes ONE audit record per interaction — accepted or refused — from the fields the request
 * gathered (`noteAudit`), BEFORE the client gets its answer. If the write fails the answer is
 * replaced by 500 GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE: no audit, no Spine data.
 * The sink also gets the connection's source address (server.ts's sink bounds unauthenticated
 * floods per address with it).
 */
import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import type { AuditEvent, AuditSink } from '../audit/audit-event.ts';
import { eraseAfterDays } from '../audit/erasure-date.ts';
import { ukToday } from '../audit/uk-today.ts';
import type { GatewayEnv } from '../env.ts';
import type { Logger } from '../observe/logger.ts';

export interface AuditOptions {
  sink: AuditSink;
  eventType: 'widget-query' | 'fhir-query' | 'cds-query' | 'audit-query';
  log: Logger;
  /** Builds the replacement answer when the audit write fails (the app's error formatter). */
  onFailure: (c: Context<GatewayEnv>) => Response | Promise<Response>;
  /** FGMISQR009: a query's outcome is erased this many days on unless the route noted the child's 18th birthday (`audit.outcomeRetentionDays`). */
  outcomeRetentionDays: number;
  now?: () => Date;
}

/**
 * An erasure date already past (she was 18 before she was asked about, so her outcome is
 * PATIENT_OVER_18) is the query's own UK day: the next hourly run erases it, and verify, which
 * allows a day's slack after the erasure date, does not report the outcome as kept meanwhile.
 */
const notBeforeToday = (eraseOn: string, time: Date) => {
  const today = ukToday(time);
  return eraseOn < today ? today : eraseOn;
};

/**
 * @example app.use('/api/fgm-status', audit({ sink, eventType: 'widget-query', log, onFailure }))
 */
export function audit({
  sink,
  eventType,
  log,
  onFailure,
  outcomeRetentionDays,
  now = () => new Date(),
}: AuditOptions): MiddlewareHandler<GatewayEnv> {
  return async function audit(c, next) {
    await next();
    const a = c.get('audit') ?? {};
    const requestId = c.get('requestId');
    // The peer's address (@hono/node-server's bindings; absent in app.request tests) lets the sink bound unauthenticated floods per address.
    const sourceAddress = (c.env as HttpBindings | undefined)?.incoming?.socket?.remoteAddress;
    // SMSP-AUDIT-009: the access point and the originating system (a FHIR client's source ASID)
    // go in `detail`, so neither store's schema changes.
    const originatingAsid = c.get('fhirRequest')?.sourceAsid;
    // SMSP-AUDIT-002: whether the user, role and organisation came from CIS2 or were asserted locally.
    const identity = c.get('identitySource');
    const where = {
      ...(sourceAddress && { sourceAddress }),
      ...(originatingAsid && { originatingAsid }),
      ...(identity && { identity }),
    };
    const detail = Object.keys(where).length
      ? JSON.stringify({ ...(a.detail ? JSON.parse(a.detail) : {}), ...where })
      : (a.detail ?? null);
    const time = now();
    const event: AuditEvent = {
      time: time.toISOString(),
      eventType,
      requestId,
      clientMessageId: a.clientMessageId ?? (eventType === 'widget-query' ? requestId : null),
      clientId: a.clientId ?? null,
      userId: a.userId ?? null,
      roleProfileId: a.roleProfileId ?? null,
      localRoles: a.localRoles ?? null,
      orgCode: a.orgCode ?? null,
      nhsNumber: a.nhsNumber ?? null,
      spineMessageId: a.spineMessageId ?? null,
      spineResponseId: a.spineResponseId ?? null,
      outcomeCode: c.get('outcomeCode') ?? 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE',
      httpStatus: c.res.status,
      answeredBySpine: a.answeredBySpine ?? false,
      detail,
      ...(a.spineDetail && { spineDetail: a.spineDetail }),
      // An auditor's query holds nothing Spine said about a child; every patient query's outcome has its erasure date.
      outcomeEraseOn:
        eventType === 'audit-query'
          ? null
          : notBeforeToday(a.outcomeEraseOn ?? eraseAfterDays(time, outcomeRetentionDays), time),
    };
    try {
      await sink.record(event, {
        ...(sourceAddress && { sourceAddress }),
        ...(c.get('spineNotAsked') && { spineNotAsked: true }),
      });
    } catch (e) {
      log({ level: 'error', msg: 'audit write failed', requestId, error: (e as Error).name });
      c.set('outcomeCode', 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE');
      c.set('refusalReason', 'audit write failed');
      c.res = undefined;
      c.res = await onFailure(c);
    }
  };
}
