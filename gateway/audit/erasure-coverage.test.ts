/**
 * @module gateway/audit/erasure-coverage.test
 * FGMISQR009 unit by unit: verify's erasure coverage (erasure-coverage.ts) fed hand-built rows —
 * it reads only the outcome columns, the erasure date, the event type, the time and the detail,
 * so no chain is needed — and the erasure run's record (erasure-record.ts). Every expected
 * date, range and reason is written out by hand.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditRow } from './chain.ts';
import { erasureCoverage, overdueFrom } from './erasure-coverage.ts';
import { erasesAnything, erasureEvent, seqRanges, type ErasurePlan } from './erasure-record.ts';

/** Verify's UK date in these tests: outcomes due 1 June or earlier are overdue (2 June is the day of slack). */
const TODAY = '2026-06-03';

/** A version 2 query record still holding its outcome, due on `eraseOn`. */
const held = (seq: number, eraseOn: string | null = '2026-06-01', extra: Partial<AuditRow> = {}): AuditRow => ({
  seq,
  prevHash: 'p',
  hash: 'h',
  time: '2026-01-01T00:00:00.000Z',
  eventType: 'widget-query',
  requestId: `r${seq}`,
  clientMessageId: null,
  clientId: 'epr',
  userId: 'u',
  roleProfileId: null,
  localRoles: null,
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: null,
  spineResponseId: null,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: 1,
  detail: null,
  outcomeSalt: 'salt',
  outcomeDigest: 'digest',
  outcomeEraseOn: eraseOn,
  ...extra,
});
/** The same record with its outcome and salt cleared, as the erasure's UPDATE leaves it. */
const cleared = (seq: number, eraseOn = '2026-06-01'): AuditRow =>
  held(seq, eraseOn, { outcomeCode: null, httpStatus: null, outcomeSalt: null });
/** An erasure run's record at `time` naming `seqs` (the detail written out as erasure-record.ts words it). */
const run = (seq: number, time: string, seqs: unknown): AuditRow =>
  held(seq, null, {
    time,
    eventType: 'outcome-erasure',
    nhsNumber: null,
    httpStatus: 0,
    detail: JSON.stringify({ erasedOutcomes: { through: time.slice(0, 10), records: 1, archives: [], seqs } }),
  });

/** Feeds `rows` in order (each with its archive when given as [row, archive]); answers what verify would ask. */
function fed(rows: readonly (AuditRow | [AuditRow, string])[], today = TODAY) {
  const c = erasureCoverage(today);
  for (const r of rows) {
    if (Array.isArray(r)) c.see(r[0], r[1]);
    else c.see(r);
  }
  return { uncovered: c.uncovered(), kept: c.kept() };
}
const early = (seq: number, date = '2026-06-01') => ({
  seq,
  reason: `its outcome was removed without an erasure record on or after its erasure date ${date} (erased early, or outside an erasure run)`,
});
const overdue = (seq: number, date = '2026-06-01', archive?: string) => ({
  seq,
  reason: `its outcome is still held although its erasure date ${date} has passed (FGMISQR009: the erasure has not run; run erase-outcomes)`,
  ...(archive ? { archive } : {}),
});
const restored = (seq: number, by: number, archive?: string) => ({
  seq,
  reason: `its outcome is held although the erasure record ${by} says it cleared it (restored from a copy, or an archive rewrite failed; run erase-outcomes)`,
  ...(archive ? { archive } : {}),
});

describe('erasure coverage: the day of slack (FGMISQR009)', () => {
  it('FGMISQR009 overdueFrom is the day before the given UK date, across month, year and leap-day boundaries', () => {
    assert.equal(overdueFrom('2026-06-03'), '2026-06-02');
    assert.equal(overdueFrom('2026-03-01'), '2026-02-28');
    assert.equal(overdueFrom('2024-03-01'), '2024-02-29');
    assert.equal(overdueFrom('2026-01-01'), '2025-12-31');
    assert.equal(overdueFrom('2026-12-31'), '2026-12-30');
  });
  it('FGMISQR009 an outcome held is overdue only once its date is before yesterday; the lowest is named', () => {
    assert.deepEqual(fed([held(1, '2026-06-01')]).kept, overdue(1));
    assert.equal(fed([held(1, '2026-06-02')]).kept, undefined, 'due yesterday: within the day of slack');
    assert.equal(fed([held(1, '2026-06-03')]).kept, undefined, 'due today');
    assert.deepEqual(
      fed([held(1, '2026-05-20'), held(2, '2026-05-01')]).kept,
      overdue(1, '2026-05-20'),
      'two overdue: the first fed (the lowest seq)',
    );
    assert.deepEqual(
      fed([[held(1, '2026-05-20'), 'a.jsonl'], held(2, '2026-05-01')]).kept,
      overdue(1, '2026-05-20', 'a.jsonl'),
      'held in an archive: the archive named',
    );
    assert.equal(
      fed([held(1, null)]).kept,
      undefined,
      'no erasure date: never erasable (an erasure run, or an outcome retention removes)',
    );
  });
  it('FGMISQR009 only a version 2 record wholly holding its outcome counts as held', () => {
    assert.equal(
      fed([held(1, '2020-01-01', { outcomeDigest: null })]).kept,
      undefined,
      'no digest (version 1): not erasable in place',
    );
    assert.equal(
      fed([held(1, '2020-01-01', { outcomeDigest: undefined as unknown as null })]).kept,
      undefined,
      'a digest absent from the row',
    );
    assert.equal(
      fed([held(1, '2020-01-01', { outcomeSalt: null })]).kept,
      undefined,
      "partly cleared: recordProblem's break, not a kept outcome",
    );
    assert.equal(fed([held(1, '2020-01-01', { outcomeCode: null, httpStatus: null })]).kept, undefined);
  });
});

describe('erasure coverage: each cleared outcome covered by a run on or after its date (FGMISQR009)', () => {
  it('FGMISQR009 a record is cleared only when its outcome and salt are all null, and it has a digest', () => {
    assert.deepEqual(fed([cleared(1)]).uncovered, early(1));
    assert.equal(
      fed([held(1, '2026-06-01', { outcomeCode: null })]).uncovered,
      undefined,
      'partly cleared: not a cleared outcome',
    );
    assert.equal(
      fed([held(1, '2026-06-01', { outcomeCode: null, httpStatus: null, outcomeSalt: null, outcomeDigest: null })])
        .uncovered,
      undefined,
      'no digest: a version 1 record',
    );
    assert.equal(
      fed([
        held(1, '2026-06-01', {
          outcomeCode: null,
          httpStatus: null,
          outcomeSalt: null,
          outcomeDigest: undefined as unknown as null,
        }),
      ]).uncovered,
      undefined,
    );
  });
  it('FGMISQR009 a run dated on the erasure date covers; the lowest uncovered is named', () => {
    assert.deepEqual(fed([cleared(1), run(2, '2026-06-01T00:00:00.000Z', [[1, 1]])]), {
      uncovered: undefined,
      kept: undefined,
    });
    assert.deepEqual(
      fed([cleared(1), run(2, '2026-05-31T22:59:59.000Z', [[1, 1]])]).uncovered,
      early(1),
      '23:59:59 BST on 31 May',
    );
    assert.deepEqual(
      fed([cleared(1), cleared(2), cleared(3), run(4, '2026-06-01T02:00:00.000Z', [[1, 1]])]).uncovered,
      early(2),
    );
    assert.deepEqual(
      fed([cleared(9), cleared(10), cleared(11), run(12, '2026-06-01T02:00:00.000Z', [[11, 11]])]).uncovered,
      early(9),
      'by number, not as text (9 before 10)',
    );
  });
  it("FGMISQR009 a run's ranges: inclusive at both ends, a malformed entry beside a good one ignored alone", () => {
    assert.equal(
      fed([cleared(1), cleared(2), cleared(3), run(4, '2026-06-01T02:00:00.000Z', [[1, 3]])]).uncovered,
      undefined,
    );
    assert.equal(
      fed([cleared(1), run(2, '2026-06-01T02:00:00.000Z', ['ab', [1, 1]])]).uncovered,
      undefined,
      'a two-character text is not a range',
    );
    assert.equal(
      fed([cleared(1), run(2, '2026-06-01T02:00:00.000Z', [{ length: 2 }, [1, 1]])]).uncovered,
      undefined,
      'an object is not a range',
    );
    assert.deepEqual(fed([cleared(1), run(2, '2026-06-01T02:00:00.000Z', [[1, 1.5]])]).uncovered, early(1));
    assert.deepEqual(
      fed([cleared(1), { ...run(2, '2026-06-01T02:00:00.000Z', []), detail: null }]).uncovered,
      early(1),
      'a run record without detail names nothing',
    );
  });
  it('FGMISQR009 a run covers only what was cleared before it, not a record cleared after', () => {
    assert.deepEqual(fed([run(1, '2026-06-01T02:00:00.000Z', [[2, 2]]), cleared(2)]).uncovered, early(2));
  });
});

describe('erasure coverage: an outcome a run says it cleared, held again (FGMISQR009)', () => {
  const at = '2026-06-01T02:00:00.000Z';
  it('FGMISQR009 a held outcome due by today and named by a run is restored; the lowest is named, with its archive', () => {
    assert.deepEqual(
      fed([held(1, '2026-06-02'), run(2, at, [[1, 1]])]).kept,
      restored(1, 2),
      'restored even within the day of slack',
    );
    assert.deepEqual(fed([held(1, '2026-06-03'), run(2, at, [[1, 1]])]).kept, restored(1, 2), 'due today');
    assert.equal(
      fed([held(1, '2026-06-04'), run(2, at, [[1, 1]])]).kept,
      undefined,
      'not yet due: no run would have cleared it',
    );
    assert.deepEqual(
      fed([held(1, '2026-06-02'), held(2, '2026-06-02'), run(3, at, [[1, 2]])]).kept,
      restored(1, 3),
      'two restored: the lowest',
    );
    assert.deepEqual(
      fed([held(1, '2026-06-02'), run(2, at, [[1, 1]]), held(3, '2026-06-02'), run(4, at, [[3, 3]])]).kept,
      restored(1, 2),
      'named by a later run: the first stays',
    );
    assert.deepEqual(fed([[held(1, '2026-06-02'), 'a.jsonl'], run(2, at, [[1, 1]])]).kept, restored(1, 2, 'a.jsonl'));
    assert.equal(fed([held(1, '2026-06-02'), run(2, at, [[2, 5]])]).kept, undefined, 'a run naming others');
  });
  it('FGMISQR009 a restored outcome is named before an overdue one, and a held one needs no cover', () => {
    assert.deepEqual(fed([held(1, '2026-05-01'), held(2, '2026-06-02'), run(3, at, [[2, 2]])]).kept, restored(2, 3));
    assert.deepEqual(fed([held(1, '2026-06-02'), run(2, at, [[1, 1]])]).uncovered, undefined);
  });
  it('FGMISQR009 a run with nothing cleared and nothing due names nothing, whatever its detail', () => {
    assert.deepEqual(fed([held(1, '2026-07-01'), { ...run(2, at, []), detail: 'not json' }]), {
      uncovered: undefined,
      kept: undefined,
    });
  });
});

describe("the erasure run's record (FGMISQR009)", () => {
  it('FGMISQR009 seqRanges: ascending by number, duplicates once, neighbours joined', () => {
    assert.deepEqual(seqRanges([]), []);
    assert.deepEqual(seqRanges([4, 4]), [[4, 4]]);
    assert.deepEqual(seqRanges([1, 2, 3]), [[1, 3]]);
    assert.deepEqual(seqRanges([10, 9, 9, 2, 3, 5]), [
      [2, 3],
      [5, 5],
      [9, 10],
    ]);
    assert.deepEqual(seqRanges([1, 3]), [
      [1, 1],
      [3, 3],
    ]);
  });
  it('FGMISQR009 the record names the run, never a patient, user or client: every field written out', () => {
    const plan: ErasurePlan = {
      time: '2026-06-01T02:00:00.000Z',
      orgCode: 'RX1',
      requestId: 'req-1',
      archives: [
        { archive: 'a.jsonl', seqs: [2, 1] },
        { archive: 'b.jsonl', seqs: [] },
      ],
    };
    assert.deepEqual(erasureEvent(plan, '2026-06-01', [4, 7, 5]), {
      time: '2026-06-01T02:00:00.000Z',
      eventType: 'outcome-erasure',
      requestId: 'req-1',
      clientMessageId: null,
      clientId: null,
      userId: null,
      roleProfileId: null,
      localRoles: null,
      orgCode: 'RX1',
      nhsNumber: null,
      spineMessageId: null,
      spineResponseId: null,
      outcomeCode: 'SUCCESS',
      httpStatus: 0,
      answeredBySpine: false,
      detail:
        '{"erasedOutcomes":{"through":"2026-06-01","records":3,"archives":[{"archive":"a.jsonl","records":2},{"archive":"b.jsonl","records":0}],"seqs":[[1,2],[4,5],[7,7]]}}',
    });
  });
  it('FGMISQR009 a run leaves a record when it cleared anything, in the store or an archive', () => {
    const plan = (archives: ErasurePlan['archives']): ErasurePlan => ({
      time: '2026-06-01T02:00:00.000Z',
      orgCode: 'RX1',
      requestId: 'r',
      archives,
    });
    assert.equal(erasesAnything(plan([]), []), false);
    assert.equal(erasesAnything(plan([{ archive: 'a.jsonl', seqs: [] }]), []), false, 'an archive with nothing due');
    assert.equal(erasesAnything(plan([]), [3]), true);
    assert.equal(
      erasesAnything(
        plan([
          { archive: 'a.jsonl', seqs: [] },
          { archive: 'b.jsonl', seqs: [1] },
        ]),
        [],
      ),
      true,
      'the second archive',
    );
  });
});
