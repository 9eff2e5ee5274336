/**
 * @module audit/erasure-coverage
 * Verify's proof that every cleared outcome was cleared by an erasure run on or after its date
 * (FGMISQR009). recordProblem alone compares the erasure date with today, so an outcome cleared
 * early — by hand, or by a faulty run — would pass once that date had gone by. Each run's
 * `outcome-erasure` record (erasure-record.ts) names the seqs it cleared and is chained, so it
 * cannot be forged without the audit key: a cleared record that no such record, dated on or after
 * its erasure date, names is an early or unrecorded erasure.
 */
import { ukToday } from '../../widget/rules/age.ts';
import { ERASABLE_COLUMNS, type AuditRow } from './chain.ts';

/** A version 2 record whose outcome and salt are all cleared (a partial clearing is recordProblem's break). */
const cleared = (row: AuditRow) => row.outcomeDigest !== null && row.outcomeDigest !== undefined && ERASABLE_COLUMNS.every((c) => row[c] === null);

/** The seq ranges an erasure record names; none when its detail is not the erasure's (a break is then named for each record it should cover). */
function namedRanges(row: AuditRow): [number, number][] {
  try {
    const seqs = (JSON.parse(String(row.detail)) as { erasedOutcomes?: { seqs?: unknown } }).erasedOutcomes?.seqs;
    return Array.isArray(seqs) ? seqs.filter((r): r is [number, number] => Array.isArray(r) && r.length === 2 && r.every(Number.isInteger)) : [];
  } catch {
    return [];
  }
}

/** Fed every record in seq order (the archives', then the store's); `uncovered` names the first cleared outcome no erasure record accounts for. */
export function erasureCoverage() {
  /** Cleared records not yet covered: seq → erasure date. */
  const pending = new Map<number, string>();
  return {
    see(row: AuditRow): void {
      if (cleared(row)) pending.set(row.seq, String(row.outcomeEraseOn));
      if (row.eventType !== 'outcome-erasure' || pending.size === 0) return;
      const ranges = namedRanges(row);
      const day = ukToday(new Date(String(row.time)));
      for (const [seq, eraseOn] of pending) {
        if (eraseOn <= day && ranges.some(([first, last]) => first <= seq && seq <= last)) pending.delete(seq);
      }
    },
    uncovered(): { seq: number; reason: string } | undefined {
      const [first] = [...pending.keys()].sort((a, b) => a - b);
      if (first === undefined) return undefined;
      return { seq: first, reason: `its outcome was removed without an erasure record on or after its erasure date ${pending.get(first)} (erased early, or outside an erasure run)` };
    },
  };
}
export type ErasureCoverage = ReturnType<typeof erasureCoverage>;
