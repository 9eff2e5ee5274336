/**
 * @module audit/erasure-coverage
 * Verify's proof that the erasure did its job both ways (FGMISQR009):
 * - every cleared outcome was cleared by an erasure run on or after its date. recordProblem alone
 *   compares the erasure date with today, so an outcome cleared early — by hand, or by a faulty
 *   run — would pass once that date had gone by. Each run's `outcome-erasure` record
 *   (erasure-record.ts) names the seqs it cleared and is chained, so it cannot be forged without
 *   the audit key: a cleared record that no such record, dated on or after its erasure date,
 *   names is an early or unrecorded erasure;
 * - no outcome is kept that should be gone: one still present (in the store or an archive) that
 *   an erasure record says it cleared was put back, and one whose date is past the slack
 *   (`overdueFrom`) was never erased. These are findings, not breaks of the chain: the records
 *   still prove who asked about whom; verify names them after every integrity check has passed.
 */
import { ukToday } from '@fgm-status/element/rules/age';
import { ERASABLE_COLUMNS, type AuditRow } from './chain.ts';

/** A version 2 record whose outcome and salt are all cleared (a partial clearing is recordProblem's break). */
const cleared = (row: AuditRow) =>
  row.outcomeDigest !== null && row.outcomeDigest !== undefined && ERASABLE_COLUMNS.every((c) => row[c] === null);
/** A version 2 record that still holds its outcome and has an erasure date (version 1 records have none: retention removes them). */
const held = (row: AuditRow) =>
  row.outcomeDigest !== null &&
  row.outcomeDigest !== undefined &&
  row.outcomeEraseOn !== null &&
  row.outcomeEraseOn !== undefined &&
  ERASABLE_COLUMNS.every((c) => row[c] !== null);

/**
 * The first erasure date verify calls overdue on UK date `today`: the day before yesterday and
 * earlier. An outcome due on D goes at the first hourly run on D (or at start); verify waits a
 * full day more, so a gateway down at midnight, a run a few hours late or a database clock a
 * little behind is not accused, and a run that never happens is named by the day after next.
 */
export function overdueFrom(today: string): string {
  const [y, m, d] = today.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
}

/** The seq ranges an erasure record names; none when its detail is not the erasure's (a break is then named for each record it should cover). */
function namedRanges(row: AuditRow): [number, number][] {
  try {
    const seqs = (JSON.parse(String(row.detail)) as { erasedOutcomes?: { seqs?: unknown } }).erasedOutcomes?.seqs;
    return Array.isArray(seqs)
      ? seqs.filter((r): r is [number, number] => Array.isArray(r) && r.length === 2 && r.every(Number.isInteger))
      : [];
  } catch {
    return [];
  }
}

/** A finding about a kept outcome: at record `seq`, in `archive` when the outcome is held there. */
export type KeptOutcome = { seq: number; reason: string; archive?: string };

/**
 * Fed every record in seq order (the archives', then the store's, `archive` naming where an
 * archived one is held); `uncovered` names the first cleared outcome no erasure record accounts
 * for, `kept` the first outcome held that should be gone (restored first, then overdue).
 * `today`: verify's UK date (injectable). Held outcomes are remembered only once due, so memory
 * stays with what the erasure should already have cleared.
 */
export function erasureCoverage(today: string = ukToday()) {
  /** Cleared records not yet covered: seq → erasure date. */
  const pending = new Map<number, string>();
  /** Outcomes still held whose date has come: seq → erasure date and archive. */
  const due = new Map<number, { eraseOn: string; archive?: string | undefined }>();
  const overdueBefore = overdueFrom(today);
  let overdue: KeptOutcome | undefined;
  let restored: KeptOutcome | undefined;
  const where = (archive: string | undefined) => (archive ? { archive } : {});
  return {
    see(row: AuditRow, archive?: string): void {
      if (cleared(row)) pending.set(row.seq, String(row.outcomeEraseOn));
      if (held(row)) {
        const eraseOn = String(row.outcomeEraseOn);
        if (eraseOn <= today) due.set(row.seq, { eraseOn, archive });
        if (!overdue && eraseOn < overdueBefore) {
          overdue = {
            seq: row.seq,
            reason: `its outcome is still held although its erasure date ${eraseOn} has passed (FGMISQR009: the erasure has not run; run erase-outcomes)`,
            ...where(archive),
          };
        }
      }
      if (row.eventType !== 'outcome-erasure' || (pending.size === 0 && due.size === 0)) return;
      const ranges = namedRanges(row);
      const named = (seq: number) => ranges.some(([first, last]) => first <= seq && seq <= last);
      const day = ukToday(new Date(String(row.time)));
      for (const [seq, eraseOn] of pending) {
        if (eraseOn <= day && named(seq)) pending.delete(seq);
      }
      for (const [seq, d] of due) {
        if (restored || !named(seq)) continue;
        restored = {
          seq,
          reason: `its outcome is held although the erasure record ${row.seq} says it cleared it (restored from a copy, or an archive rewrite failed; run erase-outcomes)`,
          ...where(d.archive),
        };
      }
    },
    uncovered(): { seq: number; reason: string } | undefined {
      const [first] = [...pending.keys()].sort((a, b) => a - b);
      if (first === undefined) return undefined;
      return {
        seq: first,
        reason: `its outcome was removed without an erasure record on or after its erasure date ${pending.get(first)} (erased early, or outside an erasure run)`,
      };
    },
    kept: (): KeptOutcome | undefined => restored ?? overdue,
  };
}
export type ErasureCoverage = ReturnType<typeof erasureCoverage>;
