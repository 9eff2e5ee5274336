/**
 * @module audit/verify
 * Proves the whole trail: the database's own integrity, every signed retention record and the
 * archive each one names, that nothing is stored at or below the retention point and that the
 * record after it exists, the chain from there on, and every anchor. The answer is either
 * "intact, N records", a damaged database, or the first broken record or archive and why — an
 * edit, a deletion, a reordering, an outcome removed early (before its date, or with no erasure
 * record dated on or after it: erasure-coverage.ts), a forged record below the retention
 * point, a missing/altered/reordered archive, a record that does not match its signed anchor, or
 * a tail truncated after an anchor or after the retention point. `verifyAuditTail` is the cheap
 * start-up check.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { ukToday } from '@fgm-status/element/rules/age';
import { anchorSignatureValid, type Anchor } from './anchor.ts';
import { recordProblem, type AuditRow } from './chain.ts';
import { erasureCoverage, type ErasureCoverage } from './erasure-coverage.ts';
import {
  archiveContentSha256,
  archiveLine,
  GENESIS,
  retentionProblem,
  type RetentionEntry,
  type RetentionRecord,
} from './chain-start.ts';

/** Broken: at a record (`seq`), in an archive (`archive` names it), or in the database file itself (`seq` null, no archive). */
export type VerifyResult =
  | { ok: true; records: number; anchors: number; archives?: number }
  | { ok: false; seq: number | null; reason: string; archive?: string; kind?: VerifyFinding };

/**
 * A result that is not intact but not a break of the chain either: every integrity check passed.
 * `outcome-kept`: an outcome held that should be gone (FGMISQR009, erasure-coverage.ts);
 * `retention-incomplete`: a retention interrupted after its signed record, before the deletion
 * (retention.ts completes it).
 */
export type VerifyFinding = 'outcome-kept' | 'retention-incomplete';

/** One line for people: `intact, 12 records`, `broken at record 7: …`, `broken archive …: …` or `damaged database: …`. */
export function describeVerify(r: VerifyResult): string {
  if (r.ok)
    return `intact, ${r.records} records (${r.anchors} anchors${r.archives ? `, ${r.archives} archives` : ''} checked)`;
  if (r.kind === 'retention-incomplete') return r.reason;
  if (r.kind === 'outcome-kept')
    return `outcome kept at record ${r.seq}${r.archive ? ` in archive ${r.archive}` : ''}: ${r.reason}`;
  if (r.archive) return `broken archive ${r.archive}: ${r.reason}`;
  return r.seq === null ? `damaged database: ${r.reason}` : `broken at record ${r.seq}: ${r.reason}`;
}

export interface VerifyOptions {
  anchors?: readonly Anchor[];
  /** The anchor public key: checks anchors and retention records. */
  publicKey?: string | undefined;
  /** Every retention file, oldest first (chain-start.ts readRetentions). */
  retentions?: readonly RetentionEntry[];
  /** Where the archives are (audit.anchorDir); without it archives are not read (start-up check). */
  archiveDir?: string | undefined;
  /** The UK date erasure dates are checked against, both ways (default: today's UK date; tests inject it). */
  today?: string;
}

/** Where the stored chain starts, once the retention records (and, with archiveDir, their archives) are proven. */
export type ChainStart = { seq: number; hash: string; archives: number; last?: RetentionRecord };

/**
 * The signed retention records, in order, each archive they name (when `archiveDir` is given),
 * and so the retention point: a forged, unsigned, overlapping or out-of-order retention record
 * is a break, as the deletion it would hide.
 */
export function provenStart(
  key: Buffer,
  o: VerifyOptions,
  coverage?: ErasureCoverage,
): ChainStart | Extract<VerifyResult, { ok: false }> {
  let start: ChainStart = { seq: 0, hash: GENESIS, archives: 0 };
  for (const entry of o.retentions ?? []) {
    const problem = retentionProblem(entry, start.seq, o.publicKey);
    if (problem) return { ok: false, ...problem };
    const r = entry as RetentionRecord;
    if (o.archiveDir) {
      const broken = archiveProblem(join(o.archiveDir, r.archive), r, key, start.hash, o.today ?? ukToday(), coverage);
      if (broken) return { ok: false, seq: broken.seq, reason: broken.reason, archive: r.archive };
    }
    start = { seq: r.throughSeq, hash: r.lastHash, archives: start.archives + (o.archiveDir ? 1 : 0), last: r };
  }
  return start;
}

/** Checks one archive against its signed retention record: present, its digest, its chain from `prevHash` to lastHash. */
export function archiveProblem(
  file: string,
  r: RetentionRecord,
  key: Buffer,
  prevHash: string,
  today: string,
  coverage?: ErasureCoverage,
): { seq: number | null; reason: string } | undefined {
  if (!existsSync(file))
    return { seq: null, reason: `the archive of records ${r.firstSeq}-${r.throughSeq} is missing` };
  const text = readFileSync(file, 'utf8');
  const lines = text.trimEnd().split('\n').filter(Boolean);
  const rows: AuditRow[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      rows.push(JSON.parse(line) as AuditRow);
    } catch {
      return { seq: null, reason: `its line ${i + 1} is not a readable record (archive altered)` };
    }
  }
  // Format 2's digest is of the parsed records (the erasure rewrites them), so the bytes are held
  // to the one way retain and the erasure write them: a duplicated key, an escape, a blank line or
  // CRLF would otherwise change what a reader of the file sees while the digest still matched.
  if (r.format === 2 && text !== rows.map((row) => `${archiveLine(row)}\n`).join('')) {
    const at = text.split('\n').findIndex((l, i) => l !== (i < rows.length ? archiveLine(rows[i]!) : ''));
    // Every line matched: the last one lacks its newline.
    return {
      seq: null,
      reason: `its line ${at < 0 ? rows.length : at + 1} is not written as retain writes it (archive altered)`,
    };
  }
  const digest = r.format === 2 ? archiveContentSha256(rows) : createHash('sha256').update(text).digest('hex');
  if (digest !== r.archiveSha256)
    return { seq: null, reason: 'it does not match the SHA-256 its signed retention record names (archive altered)' };
  let prev = prevHash;
  let expected = r.firstSeq;
  for (const row of rows) {
    if (row.seq !== expected)
      return {
        seq: expected,
        reason: `record ${expected} is missing or out of order (the next archived record is ${row.seq})`,
      };
    if (row.prevHash !== prev)
      return { seq: row.seq, reason: 'its link to the previous record is broken (records removed or reordered)' };
    const problem = recordProblem(key, row, today);
    if (problem) return { seq: row.seq, reason: problem };
    coverage?.see(row, r.archive);
    prev = row.hash;
    expected++;
  }
  if (expected !== r.throughSeq + 1 || prev !== r.lastHash)
    return { seq: expected, reason: `it does not end at record ${r.throughSeq} as its signed retention record says` };
  return undefined;
}

/**
 * SQLite's own integrity check: the chain is walked through the table, but searches use the
 * indexes, so an index edited apart from its table (hiding a patient's records from search) is
 * caught only here. integrity_check, not quick_check: only it compares every index with the table.
 * Its messages name pages, rows and indexes, never record content.
 */
function databaseProblems(db: Database.Database): string | undefined {
  const problems = (db.pragma('integrity_check(20)') as { integrity_check: string }[]).map((r) => r.integrity_check);
  if (problems.length === 1 && problems[0] === 'ok') return undefined;
  return `SQLite's integrity check failed (an index no longer matches the table, so searches can miss records): ${problems.join('; ')}`;
}

/** A record stored at or below the retention point was never written by the chain (retention removed them all): a forgery. */
export function belowRetention(start: ChainStart, lowest: number | null | undefined): VerifyResult | undefined {
  if (start.seq === 0 || lowest === null || lowest === undefined || lowest > start.seq) return undefined;
  return {
    ok: false,
    seq: lowest,
    reason: `it is at or below the retention point (records up to ${start.seq} were archived and removed): a record inserted there`,
  };
}

/**
 * Rows still stored at or below the retention point are a forgery — unless they are exactly what
 * an interrupted `retain` leaves (crashed, or the deletion refused a lock, after the signed
 * retention record was written): every record of the newest retention's range, nothing else,
 * each proving itself, their content what the signed archive holds. Then the deletion is merely
 * pending; `retain` completes it. `stored`: those rows, oldest first (the full verify), or for the
 * cheap start-up check only the lowest seq, their count and the hash at the retention point.
 */
export function incompleteRetention(
  start: ChainStart,
  key: Buffer,
  today: string,
  stored: { rows: readonly AuditRow[] } | { lowest: number | null; count: number; hashAtPoint: string | undefined },
): Extract<VerifyResult, { ok: false }> | undefined {
  const r = start.last;
  if (!r || r.format !== 2) return undefined;
  const size = r.throughSeq - r.firstSeq + 1;
  const matches =
    'rows' in stored
      ? stored.rows.length === size &&
        stored.rows[0]!.seq === r.firstSeq &&
        stored.rows.every((row, i) => row.seq === r.firstSeq + i && recordProblem(key, row, today) === undefined) &&
        stored.rows.at(-1)!.hash === r.lastHash &&
        archiveContentSha256(stored.rows) === r.archiveSha256
      : stored.lowest === r.firstSeq && stored.count === size && stored.hashAtPoint === r.lastHash;
  if (!matches) return undefined;
  return {
    ok: false,
    seq: r.firstSeq,
    kind: 'retention-incomplete',
    reason: `retention of records ${r.firstSeq}-${r.throughSeq} incomplete: rows up to seq ${r.throughSeq} still present — run retain again`,
  };
}

/** The walk's answer once the pending deletion is known: an intact chain reports the pending deletion instead; a break stays the break. */
export const withPending = (result: VerifyResult, pending: VerifyResult | undefined): VerifyResult =>
  result.ok && pending ? pending : result;

/** A file whose audit table was dropped: the trail deleted whole, named rather than thrown as SQLite's "no such table". */
const TABLE_MISSING: VerifyResult = {
  ok: false,
  seq: null,
  reason: 'the audit table audit_event is missing (the trail was deleted)',
};
const tableMissing = (db: Database.Database) =>
  db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_event'`).get() === undefined;

const lowestSeq = (db: Database.Database, through: number) =>
  (db.prepare('SELECT MIN(seq) AS seq FROM audit_event WHERE seq <= ?').get(through) as { seq: number | null }).seq;

export function verifyAuditChain(db: Database.Database, hmacKey: Buffer, o: VerifyOptions = {}): VerifyResult {
  const damaged = databaseProblems(db);
  if (damaged) return { ok: false, seq: null, reason: damaged };
  if (tableMissing(db)) return TABLE_MISSING;
  // One coverage across the archives and the store: a record archived after its erasure is covered by a record still stored.
  const coverage = erasureCoverage(o.today ?? ukToday());
  const start = provenStart(hmacKey, o, coverage);
  if ('ok' in start) return start;
  const today = o.today ?? ukToday();
  const lowest = lowestSeq(db, start.seq);
  const pending =
    lowest === null
      ? undefined
      : incompleteRetention(start, hmacKey, today, {
          rows: db.prepare('SELECT * FROM audit_event WHERE seq <= ? ORDER BY seq').all(start.seq) as AuditRow[],
        });
  const forged = pending ? undefined : belowRetention(start, lowest);
  if (forged) return forged;
  // Anchors of archived records are the archive's to prove.
  const kept = (o.anchors ?? []).filter((a) => a.seq > start.seq);
  const walk = chainWalk(hmacKey, kept.length > 0, start, today, coverage);
  // iterate() streams: a trail of millions of records is never all in memory.
  for (const row of db
    .prepare('SELECT * FROM audit_event WHERE seq > ? ORDER BY seq')
    .iterate(start.seq) as IterableIterator<AuditRow>) {
    const broken = walk.step(row);
    if (broken) return broken;
  }
  return withPending(walk.finish(kept, o.publicKey), pending);
}

/**
 * The whole-chain walk, whatever the store: feed it every record after the retention point in
 * sequence order (`step` answers the first break), then `finish` checks that the record after
 * the retention point exists, the anchors against what it saw, and that every cleared outcome
 * was covered by an erasure record (`coverage`, shared with the archives' walk).
 */
export function chainWalk(
  hmacKey: Buffer,
  keepHashes: boolean,
  start: ChainStart,
  today: string,
  coverage: ErasureCoverage = erasureCoverage(today),
) {
  const hashes = new Map<number, string>();
  let expected = start.seq + 1;
  let prev = start.hash;
  return {
    step(row: AuditRow): VerifyResult | undefined {
      if (row.seq !== expected)
        return {
          ok: false,
          seq: expected,
          reason: `record ${expected} is missing (the next stored record is ${row.seq})`,
        };
      if (row.prevHash !== prev)
        return {
          ok: false,
          seq: row.seq,
          reason: 'its link to the previous record is broken (records removed or reordered)',
        };
      const problem = recordProblem(hmacKey, row, today);
      if (problem) return { ok: false, seq: row.seq, reason: problem };
      coverage.see(row);
      if (keepHashes) hashes.set(row.seq, row.hash);
      prev = row.hash;
      expected++;
      return undefined;
    },
    finish(anchors: readonly Anchor[], publicKey?: string): VerifyResult {
      const last = expected - 1;
      // Retention always keeps the newest record (the writer chains the next one to it).
      if (start.seq > 0 && last === start.seq)
        return {
          ok: false,
          seq: last + 1,
          reason: `record ${last + 1} is missing: the trail was truncated after the retention point (records up to ${start.seq} archived)`,
        };
      for (const a of anchors) {
        if (!publicKey || !anchorSignatureValid(a, publicKey))
          return { ok: false, seq: a.seq, reason: `the anchor for record ${a.seq} has no valid signature` };
        if (a.seq > last)
          return {
            ok: false,
            seq: last + 1,
            reason: `record ${last + 1} is missing: the trail was truncated after record ${last} (anchored up to ${a.seq} at ${a.time})`,
          };
        if (hashes.get(a.seq) !== a.hash)
          return { ok: false, seq: a.seq, reason: `record ${a.seq} does not match its anchor of ${a.time}` };
      }
      const early = coverage.uncovered();
      if (early) return { ok: false, ...early };
      // Only now, the chain proven: an outcome held too long is a finding about the erasure, not a break.
      const kept = coverage.kept();
      if (kept) return { ok: false, ...kept, kind: 'outcome-kept' };
      return {
        ok: true,
        records: last - start.seq,
        anchors: anchors.length,
        ...(start.archives ? { archives: start.archives } : {}),
      };
    },
  };
}

/** How many of the newest records the start-up check walks: enough to catch a recent edit, cheap on any trail. */
export const TAIL_RECORDS = 1000;

/**
 * The start-up check: the retention records' signatures and order (not their archives), nothing
 * at or below the retention point, the newest `tail` records (links, hashes, gap-free numbering,
 * the link to the retention point or genesis when it is among them) and the newest anchor. Not
 * the erasure coverage: the record covering a cleared outcome may be older than the window.
 */
export function verifyAuditTail(
  db: Database.Database,
  hmacKey: Buffer,
  o: VerifyOptions = {},
  tail = TAIL_RECORDS,
): VerifyResult {
  if (tableMissing(db)) return TABLE_MISSING;
  const start = provenStart(hmacKey, { ...o, archiveDir: undefined });
  if ('ok' in start) return start;
  const today = o.today ?? ukToday();
  const lowest = lowestSeq(db, start.seq);
  const below = () =>
    db
      .prepare(
        'SELECT COUNT(*) AS n, (SELECT hash FROM audit_event WHERE seq = ?) AS h FROM audit_event WHERE seq <= ?',
      )
      .get(start.seq, start.seq) as { n: number; h: string | undefined };
  const pending =
    lowest === null
      ? undefined
      : incompleteRetention(start, hmacKey, today, { lowest, count: below().n, hashAtPoint: below().h ?? undefined });
  const forged = pending ? undefined : belowRetention(start, lowest);
  if (forged) return forged;
  const rows = (
    db.prepare('SELECT * FROM audit_event WHERE seq > ? ORDER BY seq DESC LIMIT ?').all(start.seq, tail) as AuditRow[]
  ).reverse();
  const newest = newestAnchor((o.anchors ?? []).filter((a) => a.seq > start.seq));
  const anchored =
    newest &&
    (db.prepare('SELECT hash FROM audit_event WHERE seq = ?').get(newest.seq) as { hash: string } | undefined);
  return withPending(verifyTailRows(rows, hmacKey, start, newest, o.publicKey, anchored?.hash, today), pending);
}

export const newestAnchor = (anchors: readonly Anchor[]) =>
  anchors.reduce<Anchor | undefined>((a, b) => (a && a.seq >= b.seq ? a : b), undefined);

/** The tail check, whatever the store: `rows` oldest first, `anchoredHash` the stored hash at the newest anchor's seq. */
export function verifyTailRows(
  rows: readonly AuditRow[],
  hmacKey: Buffer,
  start: ChainStart,
  newest: Anchor | undefined,
  publicKey: string | undefined,
  anchoredHash: string | undefined,
  today: string,
): VerifyResult {
  let prev: AuditRow | undefined;
  for (const row of rows) {
    if (prev && row.seq !== prev.seq + 1)
      return {
        ok: false,
        seq: prev.seq + 1,
        reason: `record ${prev.seq + 1} is missing (the next stored record is ${row.seq})`,
      };
    if (prev ? row.prevHash !== prev.hash : row.seq === start.seq + 1 && row.prevHash !== start.hash)
      return {
        ok: false,
        seq: row.seq,
        reason: 'its link to the previous record is broken (records removed or reordered)',
      };
    const problem = recordProblem(hmacKey, row, today);
    if (problem) return { ok: false, seq: row.seq, reason: problem };
    prev = row;
  }
  const last = prev?.seq ?? 0;
  if (start.seq > 0 && last <= start.seq)
    return {
      ok: false,
      seq: start.seq + 1,
      reason: `record ${start.seq + 1} is missing: the trail was truncated after the retention point (records up to ${start.seq} archived)`,
    };
  if (newest) {
    if (!publicKey || !anchorSignatureValid(newest, publicKey))
      return { ok: false, seq: newest.seq, reason: `the anchor for record ${newest.seq} has no valid signature` };
    if (newest.seq > last)
      return {
        ok: false,
        seq: last + 1,
        reason: `record ${last + 1} is missing: the trail was truncated after record ${last} (anchored up to ${newest.seq} at ${newest.time})`,
      };
    if (anchoredHash !== newest.hash)
      return { ok: false, seq: newest.seq, reason: `record ${newest.seq} does not match its anchor of ${newest.time}` };
  }
  return { ok: true, records: rows.length, anchors: newest ? 1 : 0 };
}
