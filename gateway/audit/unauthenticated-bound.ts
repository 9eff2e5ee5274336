/**
 * @module audit/unauthenticated-bound
 * Keeps a flood of unauthenticated requests from filling the disk while every interaction stays
 * on the record (SMSP-AUDIT-001). A request refused before any client was authenticated (any
 * refusal naming no client: 401, or 503 when CIS2 could not be asked) gets its own record for the first `perWindow` from its source in each window
 * (an IPv4 address; an IPv6 /64; a NAT64 or IPv4-mapped address by its IPv4 one: connection-bound.ts's sourceOf);
 * the rest from that source are counted, and written when the window ends as one summary record
 * per event type and outcome, with the number of attempts and the access point (what
 * SMSP-AUDIT-009 asks of unsuccessful logins). An all-address budget per window and a cap on the
 * addresses tracked bound a flood from many addresses as well. Everything else passes straight
 * through.
 */
import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditEvent, AuditSink } from './audit-event.ts';
import { sourceOf } from '../server/connection-bound.ts';

export interface UnauthenticatedBoundOptions {
  /** Own records per source address per window (default 20). */
  perWindow?: number;
  /** Window length (default one minute). */
  windowMs?: number;
  /** Own records per window across all addresses, so a flood from many addresses is bounded too (default 1,000). */
  maxRecords?: number;
  /** Addresses tracked at once; beyond them, new addresses share one count (default 1,000). */
  maxAddresses?: number;
  now?: () => Date;
  /** A summary written by the background sweep could not be stored. */
  onError?: (e: Error) => void;
}

export interface BoundedAuditSink extends AuditSink {
  /** Writes every pending summary now (at shutdown) and stops the sweep. */
  flush(): Promise<void>;
}

/** Beyond `maxAddresses`, new addresses are counted together under this name. */
export const OTHER_ADDRESSES = 'other addresses';

type Suppressed = Pick<AuditEvent, 'eventType' | 'outcomeCode' | 'httpStatus'> & { count: number };
type Window = { start: number; admitted: number; suppressed: Map<string, Suppressed> };

// Any refusal naming no client, whatever its status: a 503 CIS2_UNAVAILABLE for a made-up
// session is as cheap to send as a 401, so it is bounded the same way.
const unauthenticated = (e: AuditEvent) => e.httpStatus >= 400 && e.clientId === null;

/** @example const sink = boundUnauthenticated(store, { now }); await sink.record(event, { sourceAddress }); await sink.flush(); */
export function boundUnauthenticated(inner: AuditSink, opts: UnauthenticatedBoundOptions = {}): BoundedAuditSink {
  const {
    perWindow = 20,
    windowMs = 60_000,
    maxRecords = 1000,
    maxAddresses = 1000,
    now = () => new Date(),
    onError = () => {},
  } = opts;
  // Insertion order is window-start order (an ended window is deleted before its address starts
  // a new one), so ended windows are always at the front.
  const windows = new Map<string, Window>();
  // The all-address budget, over fixed windows.
  let budget = { start: 0, used: 0 };

  const summaries = (address: string, w: Window, end: number): AuditEvent[] =>
    [...w.suppressed.values()].map((s) => ({
      time: now().toISOString(),
      eventType: s.eventType,
      requestId: randomUUID(),
      clientMessageId: null,
      clientId: null,
      userId: null,
      roleProfileId: null,
      localRoles: null,
      orgCode: null,
      nhsNumber: null,
      spineMessageId: null,
      spineResponseId: null,
      outcomeCode: s.outcomeCode,
      httpStatus: s.httpStatus,
      answeredBySpine: false,
      detail: JSON.stringify({
        unauthenticatedAttempts: {
          sourceAddress: address,
          count: s.count,
          windowStart: new Date(w.start).toISOString(),
          windowEnd: new Date(end).toISOString(),
        },
      }),
    }));

  /** Removes the windows that ended by `at` (all of them when `all`) and returns their summaries. */
  const close = (at: number, all = false): AuditEvent[] => {
    const out: AuditEvent[] = [];
    for (const [address, w] of windows) {
      if (!all && at < w.start + windowMs) break;
      windows.delete(address);
      out.push(...summaries(address, w, Math.min(at, w.start + windowMs)));
    }
    return out;
  };

  // Writes the summaries of quiet addresses; runs only while some window is open.
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
      const address = context?.sourceAddress;
      if (!address || !unauthenticated(event)) {
        await Promise.all([...writes, inner.record(event, context)]);
        return;
      }
      // Counted by source: an IPv6 /64 or a NAT64 address's IPv4 one, as the connection bound
      // counts them (one host holds a /64: counted per address it would have 2^64 windows).
      const source = sourceOf(address);
      const key = windows.has(source) || windows.size < maxAddresses ? source : OTHER_ADDRESSES;
      let w = windows.get(key);
      if (!w) windows.set(key, (w = { start: at, admitted: 0, suppressed: new Map() }));
      sweep ??= setInterval(swept, windowMs).unref();
      if (at >= budget.start + windowMs) budget = { start: at - (at % windowMs), used: 0 };
      if (w.admitted < perWindow && budget.used < maxRecords) {
        w.admitted++;
        budget.used++;
        // SMSP-AUDIT-009 for unsuccessful logins: the access point and this attempt's number in the window.
        const detail = JSON.stringify({
          ...JSON.parse(event.detail ?? '{}'),
          sourceAddress: address,
          attempt: w.admitted,
        });
        await Promise.all([...writes, inner.record({ ...event, detail }, context)]);
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
