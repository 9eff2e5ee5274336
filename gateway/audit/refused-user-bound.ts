/**
 * @module audit/refused-user-bound
 * Keeps one authenticated caller's flood of refusals (the busy tone above all: a token sending
 * thousands of requests a second) from filling the disk, while every request stays on the record
 * (SMSP-AUDIT-001/008). A refusal of an authenticated request that never reached Spine (no
 * message sent, no answer, nothing Spine said) gets its own record, as any other, for the first
 * `perWindow` of its user in each window; the user is the client system, the user id and the
 * organisation (so the summary is in that trust's IG officer's scope), or the client alone when
 * the request named no user yet. The rest of that user's refusals in the window are counted, and
 * written when the window ends as one summary record per event type and outcome: who (client,
 * user, organisation), how many, and the time span. Anything that reached Spine or carried an
 * answer, and anything unauthenticated (unauthenticated-bound.ts bounds those), passes through.
 * An all-user budget per window and a cap on the users tracked (beyond it, a client's new users
 * share one count) bound a client system that names a new user in every message.
 */
import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditEvent, AuditSink } from './audit-event.ts';
import type { BoundedAuditSink } from './unauthenticated-bound.ts';

export interface RefusedUserBoundOptions {
  /** Own records per user per window (default 20). */
  perWindow?: number;
  /** Window length (default one minute). */
  windowMs?: number;
  /** Own records per window across all users (default 1,000). */
  maxRecords?: number;
  /** Users tracked at once; beyond them, a client's new users share one count (default 1,000). */
  maxUsers?: number;
  now?: () => Date;
  /** A summary written by the background sweep could not be stored. */
  onError?: (e: Error) => void;
}

/** Beyond `maxUsers`, a client's new users are counted together under this name. */
export const OTHER_USERS = 'other users';

type Who = Pick<AuditEvent, 'clientId' | 'userId' | 'orgCode'>;
type Suppressed = Pick<AuditEvent, 'eventType' | 'outcomeCode' | 'httpStatus'> & { count: number };
type Window = { who: Who; others: boolean; start: number; admitted: number; suppressed: Map<string, Suppressed> };

const requestEvents = new Set<AuditEvent['eventType']>(['widget-query', 'fhir-query', 'cds-query', 'audit-query']);

/**
 * An authenticated request refused without Spine being asked or answering: nothing but the
 * refusal to keep. A busy tone's record names the message built for it (the id its client got),
 * which was never sent: the context says so.
 */
const refusedBeforeSpine = (e: AuditEvent, context?: AuditContext) =>
  requestEvents.has(e.eventType) &&
  e.httpStatus >= 400 &&
  e.clientId !== null &&
  (e.spineMessageId === null || context?.spineNotAsked === true) &&
  e.spineResponseId === null &&
  !e.answeredBySpine &&
  !e.spineDetail;

/** @example const sink = boundRefusedUsers(store, { now }); await sink.record(event); await sink.flush(); */
export function boundRefusedUsers(inner: AuditSink, opts: RefusedUserBoundOptions = {}): BoundedAuditSink {
  const {
    perWindow = 20,
    windowMs = 60_000,
    maxRecords = 1000,
    maxUsers = 1000,
    now = () => new Date(),
    onError = () => {},
  } = opts;
  // Insertion order is window-start order (an ended window is deleted before its user starts a
  // new one), so ended windows are always at the front.
  const windows = new Map<string, Window>();
  let budget = { start: 0, used: 0 };

  const summaries = (w: Window, end: number): AuditEvent[] =>
    [...w.suppressed.values()].map((s) => ({
      time: now().toISOString(),
      eventType: s.eventType,
      requestId: randomUUID(),
      clientMessageId: null,
      clientId: w.who.clientId,
      userId: w.who.userId,
      roleProfileId: null,
      localRoles: null,
      orgCode: w.who.orgCode,
      // The counted requests asked Spine nothing and were told nothing about anyone.
      nhsNumber: null,
      spineMessageId: null,
      spineResponseId: null,
      outcomeCode: s.outcomeCode,
      httpStatus: s.httpStatus,
      answeredBySpine: false,
      detail: JSON.stringify({
        refusedAttempts: {
          clientId: w.who.clientId,
          userId: w.others ? OTHER_USERS : w.who.userId,
          orgCode: w.who.orgCode,
          count: s.count,
          windowStart: new Date(w.start).toISOString(),
          windowEnd: new Date(end).toISOString(),
        },
      }),
    }));

  const close = (at: number, all = false): AuditEvent[] => {
    const out: AuditEvent[] = [];
    for (const [key, w] of windows) {
      if (!all && at < w.start + windowMs) break;
      windows.delete(key);
      out.push(...summaries(w, Math.min(at, w.start + windowMs)));
    }
    return out;
  };

  let sweep: NodeJS.Timeout | undefined;
  const stopSweep = () => {
    clearInterval(sweep);
    sweep = undefined;
  };
  const swept = () => {
    for (const s of close(now().getTime())) inner.record(s).catch(onError);
    if (windows.size === 0) stopSweep();
  };

  return {
    async record(event: AuditEvent, context?: AuditContext) {
      const at = now().getTime();
      const writes = close(at).map((s) => inner.record(s));
      if (!refusedBeforeSpine(event, context)) {
        await Promise.all([...writes, inner.record(event, context)]);
        return;
      }
      const own: Who = { clientId: event.clientId, userId: event.userId, orgCode: event.orgCode };
      let key = JSON.stringify([own.clientId, own.userId, own.orgCode]);
      const others = !windows.has(key) && windows.size >= maxUsers;
      // Clients are configured, so one shared count per client stays bounded however many users it names.
      if (others) key = JSON.stringify([own.clientId, OTHER_USERS]);
      let w = windows.get(key);
      if (!w) {
        const who = others ? { clientId: own.clientId, userId: null, orgCode: null } : own;
        windows.set(key, (w = { who, others, start: at, admitted: 0, suppressed: new Map() }));
      }
      sweep ??= setInterval(swept, windowMs).unref();
      if (at >= budget.start + windowMs) budget = { start: at - (at % windowMs), used: 0 };
      if (w.admitted < perWindow && budget.used < maxRecords) {
        w.admitted++;
        budget.used++;
        await Promise.all([...writes, inner.record(event, context)]);
        return;
      }
      const kind = `${event.eventType} ${event.outcomeCode} ${event.httpStatus}`;
      const s = w.suppressed.get(kind);
      if (s) s.count++;
      else
        w.suppressed.set(kind, {
          eventType: event.eventType,
          outcomeCode: event.outcomeCode,
          httpStatus: event.httpStatus,
          count: 1,
        });
      await Promise.all(writes);
    },
    async flush() {
      stopSweep();
      await Promise.all(close(now().getTime(), true).map((s) => inner.record(s)));
    },
  };
}
