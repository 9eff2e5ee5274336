/**
 * @module audit/verify
 * Checks the database's own integrity, walks the audit chain from record 1 and checks every
 * anchor. The answer is either "intact, N records", a damaged database, or the first broken
 * sequence number and why — an edit, a deletion, a reordering, a record that does not match its
 * signed anchor, or a tail truncated after an anchor. `verifyAuditTail` is the cheap start-up check.
 */
import type Database from 'better-sqlite3';
import { anchorSignatureValid, type Anchor } from './anchor.ts';
import { chainHash, GENESIS, rowValues, type AuditRow } from './chain.ts';
import { retentionSignatureValid, type RetentionRecord } from './retention.ts';

/** Broken: at a record (`seq`), or in the database file itself (`seq` null: its own integrity check failed). */
export type VerifyResult = { ok: true; records: number; anchors: number } | { ok: false; seq: number | null; reason: string };

/** One line for people: `intact, 12 records`, `broken at record 7: …` or `damaged database: …`. */
export function describeVerify(r: VerifyResult): string {
  if (r.ok) return `intact, ${r.records} records (${r.anchors} anchors checked)`;
  return r.seq === null ? `damaged database: ${r.reason}` : `broken at record ${r.seq}: ${r.reason}`;
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

/**
 * A signed retention record (retention.ts) moves the chain's start past the archived records;
 * an unsigned or forged one is a break, as the deletion it would hide.
 */
function retentionStart(retention: RetentionRecord | undefined, publicKey: string | undefined): VerifyResult | { seq: number; hash: string } | undefined {
  if (!retention) return undefined;
  if (!publicKey || !retentionSignatureValid(retention, publicKey)) return { ok: false, seq: retention.throughSeq, reason: `the retention record for records up to ${retention.throughSeq} has no valid signature` };
  return { seq: retention.throughSeq, hash: retention.lastHash };
}

export function verifyAuditChain(db: Database.Database, hmacKey: Buffer, anchors: readonly Anchor[] = [], publicKey?: string, retention?: RetentionRecord): VerifyResult {
  const damaged = databaseProblems(db);
  if (damaged) return { ok: false, seq: null, reason: damaged };
  const start = retentionStart(retention, publicKey);
  if (start && 'ok' in start) return start;
  // Anchors of archived records are the archive's to prove.
  const kept = anchors.filter((a) => a.seq > (start?.seq ?? 0));
  const walk = chainWalk(hmacKey, kept.length > 0, start);
  // iterate() streams: a trail of millions of records is never all in memory.
  for (const row of db.prepare('SELECT * FROM audit_event WHERE seq > ? ORDER BY seq').iterate(start?.seq ?? 0) as IterableIterator<AuditRow>) {
    const broken = walk.step(row);
    if (broken) return broken;
  }
  return walk.finish(kept, publicKey);
}

/**
 * The whole-chain walk, whatever the store: feed it every record in sequence order (`step`
 * answers the first break), then `finish` checks the anchors against what it saw.
 */
export function chainWalk(hmacKey: Buffer, keepHashes: boolean, start?: { seq: number; hash: string }) {
  const hashes = new Map<number, string>();
  let expected = (start?.seq ?? 0) + 1;
  let prev = start?.hash ?? GENESIS;
  return {
    step(row: AuditRow): VerifyResult | undefined {
      if (row.seq !== expected) return { ok: false, seq: expected, reason: `record ${expected} is missing (the next stored record is ${row.seq})` };
      if (row.prevHash !== prev) return { ok: false, seq: row.seq, reason: 'its link to the previous record is broken (records removed or reordered)' };
      if (chainHash(hmacKey, row.seq, rowValues(row), row.prevHash) !== row.hash) return { ok: false, seq: row.seq, reason: 'its content does not match its hash (record altered)' };
      if (keepHashes) hashes.set(row.seq, row.hash);
      prev = row.hash;
      expected++;
      return undefined;
    },
    finish(anchors: readonly Anchor[], publicKey?: string): VerifyResult {
      const last = expected - 1;
      for (const a of anchors) {
        if (!publicKey || !anchorSignatureValid(a, publicKey)) return { ok: false, seq: a.seq, reason: `the anchor for record ${a.seq} has no valid signature` };
        if (a.seq > last) return { ok: false, seq: last + 1, reason: `record ${last + 1} is missing: the trail was truncated after record ${last} (anchored up to ${a.seq} at ${a.time})` };
        if (hashes.get(a.seq) !== a.hash) return { ok: false, seq: a.seq, reason: `record ${a.seq} does not match its anchor of ${a.time}` };
      }
      return { ok: true, records: last - (start?.seq ?? 0), anchors: anchors.length };
    },
  };
}

/** How many of the newest records the start-up check walks: enough to catch a recent edit, cheap on any trail. */
export const TAIL_RECORDS = 1000;

/**
 * The start-up check: the newest `tail` records (links, hashes, gap-free numbering, record 1's
 * genesis link when it is among them) and the newest anchor, without walking the whole chain.
 */
export function verifyAuditTail(db: Database.Database, hmacKey: Buffer, anchors: readonly Anchor[] = [], publicKey?: string, tail = TAIL_RECORDS, retention?: RetentionRecord): VerifyResult {
  const start = retentionStart(retention, publicKey);
  if (start && 'ok' in start) return start;
  const rows = (db.prepare('SELECT * FROM audit_event ORDER BY seq DESC LIMIT ?').all(tail) as AuditRow[]).reverse();
  const newest = newestAnchor(anchors.filter((a) => a.seq > (start?.seq ?? 0)));
  const anchored = newest && (db.prepare('SELECT hash FROM audit_event WHERE seq = ?').get(newest.seq) as { hash: string } | undefined);
  return verifyTailRows(rows, hmacKey, newest, publicKey, anchored?.hash);
}

export const newestAnchor = (anchors: readonly Anchor[]) => anchors.reduce<Anchor | undefined>((a, b) => (a && a.seq >= b.seq ? a : b), undefined);

/** The tail check, whatever the store: `rows` oldest first, `anchoredHash` the stored hash at the newest anchor's seq. */
export function verifyTailRows(rows: readonly AuditRow[], hmacKey: Buffer, newest: Anchor | undefined, publicKey: string | undefined, anchoredHash: string | undefined): VerifyResult {
  let prev: AuditRow | undefined;
  for (const row of rows) {
    if (prev && row.seq !== prev.seq + 1) return { ok: false, seq: prev.seq + 1, reason: `record ${prev.seq + 1} is missing (the next stored record is ${row.seq})` };
    if (prev ? row.prevHash !== prev.hash : row.seq === 1 && row.prevHash !== GENESIS) return { ok: false, seq: row.seq, reason: 'its link to the previous record is broken (records removed or reordered)' };
    if (chainHash(hmacKey, row.seq, rowValues(row), row.prevHash) !== row.hash) return { ok: false, seq: row.seq, reason: 'its content does not match its hash (record altered)' };
    prev = row;
  }
  const last = prev?.seq ?? 0;
  if (newest) {
    if (!publicKey || !anchorSignatureValid(newest, publicKey)) return { ok: false, seq: newest.seq, reason: `the anchor for record ${newest.seq} has no valid signature` };
    if (newest.seq > last) return { ok: false, seq: last + 1, reason: `record ${last + 1} is missing: the trail was truncated after record ${last} (anchored up to ${newest.seq} at ${newest.time})` };
    if (anchoredHash !== newest.hash) return { ok: false, seq: newest.seq, reason: `record ${newest.seq} does not match its anchor of ${newest.time}` };
  }
  return { ok: true, records: rows.length, anchors: newest ? 1 : 0 };
}
