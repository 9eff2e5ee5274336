/**
 * @module audit/erasure-record
 * The `outcome-erasure` record (FGMISQR009): how many outcomes a run cleared, through which UK
 * date, and which records — as seq ranges, never whose. Verify (erasure-coverage.ts) requires
 * every cleared outcome to be covered by one of these, dated on or after its erasure date, so an
 * outcome cleared early stays detectable after its date has passed. The stores append it in the
 * same transaction that clears the outcomes (sqlite-store.ts; on PostgreSQL the erasure function
 * itself appends it, postgres-erase.ts).
 */
import type { AuditEvent, ErasurePlan } from './audit-event.ts';

// The plan is part of the store interface (audit-event.ts); kept importable from here for erasure's modules.
export type { ErasurePlan } from './audit-event.ts';

/** What one erasure run did. */
export interface ErasureRun {
  /** The UK date erased through. */
  through: string;
  /** Records whose outcome the store cleared. */
  records: number;
  /** Archived records whose outcome was cleared, per archive. */
  archives: { archive: string; records: number }[];
}

/** Seqs as inclusive [first, last] ranges, ascending: a run over a year of queries stays one short line. */
export function seqRanges(seqs: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const s of [...new Set(seqs)].sort((a, b) => a - b)) {
    const last = ranges.at(-1);
    if (last && s === last[1] + 1) last[1] = s;
    else ranges.push([s, s]);
  }
  return ranges;
}

/** The record of a run that cleared `storeSeqs` in the store and will clear the plan's archived seqs. */
export function erasureEvent(plan: ErasurePlan, through: string, storeSeqs: readonly number[]): AuditEvent {
  const run: ErasureRun = {
    through,
    records: storeSeqs.length,
    archives: plan.archives.map((a) => ({ archive: a.archive, records: a.seqs.length })),
  };
  return {
    time: plan.time,
    eventType: 'outcome-erasure',
    requestId: plan.requestId,
    clientMessageId: null,
    clientId: null,
    userId: null,
    roleProfileId: null,
    localRoles: null,
    orgCode: plan.orgCode,
    nhsNumber: null,
    spineMessageId: null,
    spineResponseId: null,
    outcomeCode: 'SUCCESS',
    httpStatus: 0,
    answeredBySpine: false,
    detail: JSON.stringify({
      erasedOutcomes: { ...run, seqs: seqRanges([...storeSeqs, ...plan.archives.flatMap((a) => a.seqs)]) },
    }),
  };
}

/** Whether a run with this plan and these cleared seqs must leave a record (it cleared, or will clear, anything). */
export const erasesAnything = (plan: ErasurePlan, storeSeqs: readonly number[]) =>
  storeSeqs.length > 0 || plan.archives.some((a) => a.seqs.length > 0);
