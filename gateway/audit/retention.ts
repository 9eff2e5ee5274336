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
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import type { AuditRow } from './chain.ts';
import {
  archiveContentSha256,
  archiveLine,
  readRetention,
  readRetentions,
  retentionPayload,
  type RetentionRecord,
} from './chain-start.ts';
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
function range(
  previous: RetentionRecord | undefined,
  keep: number | null,
  newest: number,
): { firstSeq: number; throughSeq: number } | undefined {
  const throughSeq = Math.min((keep ?? newest + 1) - 1, newest - 1);
  const firstSeq = (previous?.throughSeq ?? 0) + 1;
  return throughSeq < firstSeq ? undefined : { firstSeq, throughSeq };
}

const ARCHIVE_FILE = /^audit-archive-(\d{12})-(\d{12})\.jsonl$/;
const archiveName = (firstSeq: number, throughSeq: number) =>
  `audit-archive-${String(firstSeq).padStart(12, '0')}-${String(throughSeq).padStart(12, '0')}.jsonl`;

/**
 * An archive no retention record names: what a retain interrupted after writing the archive and
 * before signing its record leaves. Only one starting at `firstSeq` can be that (its range is
 * resumed); any other is named, never silently kept or overwritten.
 */
function orphanArchive(dir: string, firstSeq: number): { name: string; throughSeq: number } | undefined {
  if (!existsSync(dir)) return undefined;
  const named = new Set(readRetentions(dir).map((r) => ('archive' in r ? r.archive : undefined)));
  const orphans = readdirSync(dir).filter((f) => ARCHIVE_FILE.test(f) && !named.has(f));
  for (const name of orphans) {
    const [, first, through] = ARCHIVE_FILE.exec(name)!.map(Number) as [number, number, number];
    if (first !== firstSeq)
      throw new Error(
        `the archive ${name} has no retention record and does not start where retention continues (record ${firstSeq}): check it and move it aside, nothing removed`,
      );
    return { name, throughSeq: through };
  }
  return undefined;
}

/** Writes `text` to `file` durably: a temp file synced, renamed into place, the folder synced (a crash never leaves a partial archive under its name). */
function writeDurably(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dirFd = openSync(dirname(file), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * Writes the archive of `rows` — or reuses one an interrupted retain left, when its content is
 * exactly what would be written (else it is named and nothing is removed) — then its signed
 * retention record (before anything is removed: verification already starts from it).
 */
function writeArchive(rows: readonly AuditRow[], o: RetainOptions): RetentionRecord {
  const firstSeq = rows[0]!.seq;
  const throughSeq = rows.at(-1)!.seq;
  mkdirSync(o.dir, { recursive: true });
  const name = archiveName(firstSeq, throughSeq);
  const archive = join(o.dir, name);
  const text = rows.map((r) => `${archiveLine(r)}\n`).join('');
  if (!existsSync(archive)) writeDurably(archive, text);
  else if (readFileSync(archive, 'utf8') !== text)
    throw new Error(
      `the archive ${name} has no retention record and is not what retain would write (records ${firstSeq}-${throughSeq} as stored): check it and move it aside, nothing removed`,
    );
  const body = {
    firstSeq,
    throughSeq,
    lastHash: rows.at(-1)!.hash,
    archive: name,
    archiveSha256: archiveContentSha256(rows),
    format: 2 as const,
    time: (o.now ?? new Date()).toISOString(),
  };
  const retention: RetentionRecord = {
    ...body,
    signature: sign(null, retentionPayload(body), createPrivateKey(o.privateKey)).toString('base64'),
  };
  const marker = join(o.dir, `retention-${String(throughSeq).padStart(12, '0')}.json`);
  writeDurably(marker, `${JSON.stringify(retention, null, 2)}\n`);
  return retention;
}

/** The range to archive, resuming an interrupted retain's archive when one was left (its range, if still within what may go). */
function resumeRange(
  dir: string,
  r: { firstSeq: number; throughSeq: number },
): { firstSeq: number; throughSeq: number } {
  const orphan = orphanArchive(dir, r.firstSeq);
  return orphan && orphan.throughSeq <= r.throughSeq ? { firstSeq: r.firstSeq, throughSeq: orphan.throughSeq } : r;
}

/** Retention needs a proven chain; an outcome held too long (a finding, not a break) is the erasure's to clear, archived or not. */
const refuseBroken = (r: VerifyResult) => {
  if (!r.ok && r.kind !== 'outcome-kept' && r.kind !== 'retention-incomplete')
    throw new Error(`the trail does not verify (${describeVerify(r)}): nothing removed`);
};

/**
 * Checked in the deleting transaction itself: what is about to be deleted is only what verify
 * proved before — the gap-free run from the previous retention's first record (still there when
 * its deletion was interrupted) or from the new range's. A row inserted below it since verify ran
 * (a forgery) would otherwise be deleted unseen: then nothing is removed.
 */
function refuseUnverified(
  stored: { n: number; lowest: number | null },
  throughSeq: number,
  previous: RetentionRecord | undefined,
): void {
  const lowest = stored.lowest ?? throughSeq + 1;
  if (lowest < (previous?.firstSeq ?? 1) || stored.n !== throughSeq - lowest + 1) {
    throw new Error(
      `a record was stored at or below ${throughSeq} after verify ran (the lowest stored is ${lowest}, with ${stored.n} records at or below ${throughSeq}): run verify, nothing removed`,
    );
  }
}

/** The one controlled path past the append-only trigger: lift it, delete, restore it, atomically (a lock failure leaves it all as it was). */
function deleteThroughSqlite(db: Database.Database, throughSeq: number, previous: RetentionRecord | undefined): number {
  const trigger = (
    db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'audit_event_no_delete'`).get() as { sql: string }
  ).sql;
  db.pragma('secure_delete = ON');
  return db
    .transaction(() => {
      refuseUnverified(
        db.prepare('SELECT COUNT(*) AS n, MIN(seq) AS lowest FROM audit_event WHERE seq <= ?').get(throughSeq) as {
          n: number;
          lowest: number | null;
        },
        throughSeq,
        previous,
      );
      db.exec('DROP TRIGGER audit_event_no_delete');
      const n = db.prepare('DELETE FROM audit_event WHERE seq <= ?').run(throughSeq).changes;
      db.exec(trigger);
      return n;
    })
    .immediate();
}

export type RetainResult = { removed: number; retention?: RetentionRecord; completed?: true };

/**
 * Archives and removes the SQLite records older than `before` (always keeping the newest record,
 * which the writer chains the next one to). Refuses when the trail, archives included, does not verify first.
 */
export function retainSqlite(file: string, hmacKey: Buffer, o: RetainOptions): RetainResult {
  const previous = readRetention(o.dir);
  const db = new Database(file, { fileMustExist: true });
  try {
    const verified = verifyAuditChain(db, hmacKey, {
      publicKey: o.publicKey,
      retentions: readRetentions(o.dir),
      archiveDir: o.dir,
    });
    refuseBroken(verified);
    // An interrupted retain (its signed record written, the rows not yet deleted): complete it, nothing more this run.
    if (!verified.ok && verified.kind === 'retention-incomplete')
      return {
        removed: deleteThroughSqlite(db, previous!.throughSeq, previous),
        retention: previous!,
        completed: true,
      };
    const bound = db
      .prepare('SELECT MIN(seq) AS keep FROM audit_event WHERE time >= ?')
      .get(o.before.toISOString()) as { keep: number | null };
    const newest = (db.prepare('SELECT MAX(seq) AS seq FROM audit_event').get() as { seq: number | null }).seq ?? 0;
    const computed = range(previous, bound.keep, newest);
    if (!computed) return { removed: 0 };
    const r = resumeRange(o.dir, computed);
    const rows = db
      .prepare('SELECT * FROM audit_event WHERE seq BETWEEN ? AND ? ORDER BY seq')
      .all(r.firstSeq, r.throughSeq) as AuditRow[];
    const retention = writeArchive(rows, o);
    return { removed: deleteThroughSqlite(db, r.throughSeq, previous), retention };
  } finally {
    db.close();
  }
}

/** `audit_retain` in one REPEATABLE READ snapshot with the check: a row committed after it is neither counted nor deleted. */
async function retainThroughPostgres(
  ownerPool: pg.Pool,
  throughSeq: number,
  previous: RetentionRecord | undefined,
): Promise<number> {
  const client = await ownerPool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    refuseUnverified(
      (
        await client.query<{ n: number; lowest: number | null }>(
          'SELECT count(*)::int AS n, min(seq) AS lowest FROM audit_event WHERE seq <= $1',
          [throughSeq],
        )
      ).rows[0]!,
      throughSeq,
      previous,
    );
    const removed = (await client.query<{ n: number }>('SELECT audit_retain($1) AS n', [throughSeq])).rows[0]!.n;
    await client.query('COMMIT');
    return removed;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/**
 * The same on PostgreSQL, as the schema's owner (`ownerPool`): the archive and its signed record
 * first, then `audit_retain(throughSeq)`. `verify` is the whole-trail check (trail.ts).
 */
export async function retainPostgres(
  ownerPool: pg.Pool,
  verify: () => Promise<VerifyResult>,
  o: RetainOptions,
): Promise<RetainResult> {
  const verified = await verify();
  refuseBroken(verified);
  const previous = readRetention(o.dir);
  if (!verified.ok && verified.kind === 'retention-incomplete') {
    const removed = await retainThroughPostgres(ownerPool, previous!.throughSeq, previous);
    await ownerPool.query('VACUUM audit_event');
    return { removed, retention: previous!, completed: true };
  }
  const bound = (
    await ownerPool.query<{ keep: number | null; newest: number | null }>(
      'SELECT (SELECT MIN(seq) FROM audit_event WHERE "time" >= $1) AS keep, (SELECT MAX(seq) FROM audit_event) AS newest',
      [o.before.toISOString()],
    )
  ).rows[0]!;
  const computed = range(previous, bound.keep, bound.newest ?? 0);
  if (!computed) return { removed: 0 };
  const r = resumeRange(o.dir, computed);
  const rows = (
    await ownerPool.query<AuditRow>('SELECT * FROM audit_event WHERE seq BETWEEN $1 AND $2 ORDER BY seq', [
      r.firstSeq,
      r.throughSeq,
    ])
  ).rows;
  const retention = writeArchive(rows, o);
  const removed = await retainThroughPostgres(ownerPool, r.throughSeq, previous);
  // The deleted rows, and the old versions of those the hourly erasure cleared, leave the table's pages.
  await ownerPool.query('VACUUM audit_event');
  return { removed, retention };
}
