/**
 * @module audit/retention
 * Audit retention on either store (SMSP-AUDIT-001 asks for records kept "for periods as defined
 * by DH policy", not for ever; FGMISQR009). Records older than `audit.retentionDays` (a default,
 * not an option) are exported to an archive file, a retention record signed with the offline
 * anchor key names the archive's digest and the hash of its last record, and only then are they
 * removed: on SQLite with secure_delete, so the freed pages keep no patient data; on PostgreSQL
 * through `audit_retain`, the one SECURITY DEFINER function the append-only trigger lets delete,
 * which only the schema's owner may run. What remains verifies from that signed link, and the
 * archive verifies with it (verify.ts). Without the key nobody can forge a retention record, so
 * deleting records any other way is still named by verify.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import type { AuditRow } from './chain.ts';
import { archiveContentSha256, archiveLine, readRetention, readRetentions, retentionPayload, type RetentionRecord } from './chain-start.ts';
import { describeVerify, verifyAuditChain, type VerifyResult } from './verify.ts';

export interface RetainOptions {
  before: Date;
  privateKey: string;
  publicKey: string;
  /** audit.anchorDir: the archives and retention records sit beside the anchors. */
  dir: string;
  now?: Date;
}

/** Which records to archive: from after the previous retention point up to the newest older than `before`, never the newest record. */
function range(previous: RetentionRecord | undefined, keep: number | null, newest: number): { firstSeq: number; throughSeq: number } | undefined {
  const throughSeq = Math.min((keep ?? newest + 1) - 1, newest - 1);
  const firstSeq = (previous?.throughSeq ?? 0) + 1;
  return throughSeq < firstSeq ? undefined : { firstSeq, throughSeq };
}

/** Writes the archive of `rows`, then its signed retention record (before anything is removed: verification already starts from it). */
function writeArchive(rows: readonly AuditRow[], o: RetainOptions): RetentionRecord {
  const firstSeq = rows[0]!.seq;
  const throughSeq = rows.at(-1)!.seq;
  mkdirSync(o.dir, { recursive: true });
  const archive = join(o.dir, `audit-archive-${String(firstSeq).padStart(12, '0')}-${String(throughSeq).padStart(12, '0')}.jsonl`);
  writeFileSync(archive, rows.map((r) => `${archiveLine(r)}\n`).join(''), { flag: 'wx', mode: 0o600 });
  const body = { firstSeq, throughSeq, lastHash: rows.at(-1)!.hash, archive: basename(archive), archiveSha256: archiveContentSha256(rows), format: 2 as const, time: (o.now ?? new Date()).toISOString() };
  const retention: RetentionRecord = { ...body, signature: sign(null, retentionPayload(body), createPrivateKey(o.privateKey)).toString('base64') };
  const marker = join(o.dir, `retention-${String(throughSeq).padStart(12, '0')}.json`);
  writeFileSync(`${marker}.tmp`, `${JSON.stringify(retention, null, 2)}\n`);
  renameSync(`${marker}.tmp`, marker);
  return retention;
}

/** Retention needs a proven chain; an outcome held too long (a finding, not a break) is the erasure's to clear, archived or not. */
const refuseBroken = (r: VerifyResult) => {
  if (!r.ok && r.kind !== 'outcome-kept') throw new Error(`the trail does not verify (${describeVerify(r)}): nothing removed`);
};

/**
 * Archives and removes the SQLite records older than `before` (always keeping the newest record,
 * which the writer chains the next one to). Refuses when the trail, archives included, does not verify first.
 */
export function retainSqlite(file: string, hmacKey: Buffer, o: RetainOptions): { removed: number; retention?: RetentionRecord } {
  const previous = readRetention(o.dir);
  const db = new Database(file, { fileMustExist: true });
  try {
    refuseBroken(verifyAuditChain(db, hmacKey, { publicKey: o.publicKey, retentions: readRetentions(o.dir), archiveDir: o.dir }));
    const bound = db.prepare('SELECT MIN(seq) AS keep FROM audit_event WHERE time >= ?').get(o.before.toISOString()) as { keep: number | null };
    const newest = (db.prepare('SELECT MAX(seq) AS seq FROM audit_event').get() as { seq: number | null }).seq ?? 0;
    const r = range(previous, bound.keep, newest);
    if (!r) return { removed: 0 };
    const rows = db.prepare('SELECT * FROM audit_event WHERE seq BETWEEN ? AND ? ORDER BY seq').all(r.firstSeq, r.throughSeq) as AuditRow[];
    const retention = writeArchive(rows, o);
    // The one controlled path past the append-only trigger: lift it, delete, restore it, atomically.
    const trigger = (db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'audit_event_no_delete'`).get() as { sql: string }).sql;
    db.pragma('secure_delete = ON');
    db.transaction(() => {
      db.exec('DROP TRIGGER audit_event_no_delete');
      db.prepare('DELETE FROM audit_event WHERE seq <= ?').run(r.throughSeq);
      db.exec(trigger);
    }).immediate();
    return { removed: rows.length, retention };
  } finally {
    db.close();
  }
}

/**
 * The same on PostgreSQL, as the schema's owner (`ownerPool`): the archive and its signed record
 * first, then `audit_retain(throughSeq)`. `verify` is the whole-trail check (trail.ts).
 */
export async function retainPostgres(ownerPool: pg.Pool, verify: () => Promise<VerifyResult>, o: RetainOptions): Promise<{ removed: number; retention?: RetentionRecord }> {
  refuseBroken(await verify());
  const previous = readRetention(o.dir);
  const bound = (await ownerPool.query<{ keep: number | null; newest: number | null }>('SELECT (SELECT MIN(seq) FROM audit_event WHERE "time" >= $1) AS keep, (SELECT MAX(seq) FROM audit_event) AS newest', [o.before.toISOString()])).rows[0]!;
  const r = range(previous, bound.keep, bound.newest ?? 0);
  if (!r) return { removed: 0 };
  const rows = (await ownerPool.query<AuditRow>('SELECT * FROM audit_event WHERE seq BETWEEN $1 AND $2 ORDER BY seq', [r.firstSeq, r.throughSeq])).rows;
  const retention = writeArchive(rows, o);
  const removed = (await ownerPool.query<{ n: number }>('SELECT audit_retain($1) AS n', [r.throughSeq])).rows[0]!.n;
  // The deleted rows, and the old versions of those the daily erasure cleared, leave the table's pages.
  await ownerPool.query('VACUUM audit_event');
  return { removed, retention };
}
