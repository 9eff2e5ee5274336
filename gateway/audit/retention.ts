/**
 * @module audit/retention
 * Audit retention on the SQLite store (FGMISQR009; SMSP-AUDIT-001 asks for records kept "for
 * periods as defined by DH policy", not for ever). Records older than `audit.retentionDays` are
 * exported to an archive file, a retention record signed with the offline anchor key names the
 * archive's SHA-256 and the hash of its last record, and only then are they deleted (with
 * secure_delete, so the freed pages keep no patient data). What remains verifies from that signed
 * link, and the archive verifies on its own. Without the key nobody can forge a retention record,
 * so deleting records any other way is still named by verify.
 * PostgreSQL's append-only triggers are kept: retention there is not provided (README, "Audit").
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { chainHash, GENESIS, rowValues, type AuditRow } from './chain.ts';
import { describeVerify, verifyAuditChain } from './verify.ts';

export interface RetentionRecord {
  /** Records 1 (or the previous retention's next) … throughSeq are archived and removed. */
  firstSeq: number;
  throughSeq: number;
  /** Hash of record throughSeq: where the remaining chain starts. */
  lastHash: string;
  archive: string;
  archiveSha256: string;
  time: string;
  /** Ed25519 signature (the anchor key) of the other fields, base64. */
  signature: string;
}

const payload = (r: Omit<RetentionRecord, 'signature'>) =>
  Buffer.from(JSON.stringify({ firstSeq: r.firstSeq, throughSeq: r.throughSeq, lastHash: r.lastHash, archive: r.archive, archiveSha256: r.archiveSha256, time: r.time }));

export function retentionSignatureValid(r: RetentionRecord, publicKey: string): boolean {
  try {
    return verify(null, payload(r), createPublicKey(publicKey), Buffer.from(r.signature, 'base64'));
  } catch {
    return false;
  }
}

/** The newest retention record in `dir` (they sit beside the anchors), or undefined. */
export function readRetention(dir: string | undefined): RetentionRecord | undefined {
  if (!dir || !existsSync(dir)) return undefined;
  const newest = readdirSync(dir).filter((f) => /^retention-\d+\.json$/.test(f)).sort().at(-1);
  return newest ? (JSON.parse(readFileSync(join(dir, newest), 'utf8')) as RetentionRecord) : undefined;
}

/**
 * Archives and removes the records older than `before` (always keeping the newest record, which
 * the writer chains the next one to). Refuses when the trail does not verify first.
 */
export function retainSqlite(file: string, hmacKey: Buffer, o: { before: Date; privateKey: string; publicKey: string; dir: string; now?: Date }): { removed: number; retention?: RetentionRecord } {
  const previous = readRetention(o.dir);
  const db = new Database(file, { fileMustExist: true });
  try {
    const before = verifyAuditChain(db, hmacKey, [], o.publicKey, previous);
    if (!before.ok) throw new Error(`the trail does not verify (${describeVerify(before)}): nothing removed`);
    const bound = db.prepare('SELECT MIN(seq) AS keep FROM audit_event WHERE time >= ?').get(o.before.toISOString()) as { keep: number | null };
    const newest = (db.prepare('SELECT MAX(seq) AS seq FROM audit_event').get() as { seq: number | null }).seq ?? 0;
    const throughSeq = Math.min((bound.keep ?? newest + 1) - 1, newest - 1);
    const firstSeq = (previous?.throughSeq ?? 0) + 1;
    if (throughSeq < firstSeq) return { removed: 0 };
    const rows = db.prepare('SELECT * FROM audit_event WHERE seq BETWEEN ? AND ? ORDER BY seq').all(firstSeq, throughSeq) as AuditRow[];
    mkdirSync(o.dir, { recursive: true });
    const archive = join(o.dir, `audit-archive-${String(firstSeq).padStart(12, '0')}-${String(throughSeq).padStart(12, '0')}.jsonl`);
    const text = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    writeFileSync(archive, text, { flag: 'wx' });
    const body = { firstSeq, throughSeq, lastHash: rows.at(-1)!.hash, archive: basename(archive), archiveSha256: createHash('sha256').update(text).digest('hex'), time: (o.now ?? new Date()).toISOString() };
    const retention: RetentionRecord = { ...body, signature: sign(null, payload(body), createPrivateKey(o.privateKey)).toString('base64') };
    // The signed record is written before anything is removed: verification already starts from it.
    const marker = join(o.dir, `retention-${String(throughSeq).padStart(12, '0')}.json`);
    writeFileSync(`${marker}.tmp`, `${JSON.stringify(retention, null, 2)}\n`);
    renameSync(`${marker}.tmp`, marker);
    // The one controlled path past the append-only trigger: lift it, delete, restore it, atomically.
    const trigger = (db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'audit_event_no_delete'`).get() as { sql: string }).sql;
    db.pragma('secure_delete = ON');
    db.transaction(() => {
      db.exec('DROP TRIGGER audit_event_no_delete');
      db.prepare('DELETE FROM audit_event WHERE seq <= ?').run(throughSeq);
      db.exec(trigger);
    }).immediate();
    return { removed: rows.length, retention };
  } finally {
    db.close();
  }
}

/** Checks an archive against its signed retention record: its SHA-256, and its chain up to lastHash. */
export function verifyArchive(dir: string, r: RetentionRecord, hmacKey: Buffer, publicKey: string, previous?: RetentionRecord): { ok: true; records: number } | { ok: false; reason: string } {
  if (!retentionSignatureValid(r, publicKey)) return { ok: false, reason: 'the retention record has no valid signature' };
  const text = readFileSync(join(dir, r.archive), 'utf8');
  if (createHash('sha256').update(text).digest('hex') !== r.archiveSha256) return { ok: false, reason: `${r.archive} does not match its SHA-256` };
  let prev = previous?.lastHash ?? GENESIS;
  let expected = r.firstSeq;
  for (const line of text.trimEnd().split('\n')) {
    const row = JSON.parse(line) as AuditRow;
    if (row.seq !== expected || row.prevHash !== prev || chainHash(hmacKey, row.seq, rowValues(row), row.prevHash) !== row.hash) return { ok: false, reason: `record ${row.seq} of ${r.archive} does not verify` };
    prev = row.hash;
    expected++;
  }
  return prev === r.lastHash && expected === r.throughSeq + 1 ? { ok: true, records: r.throughSeq - r.firstSeq + 1 } : { ok: false, reason: `${r.archive} does not end at record ${r.throughSeq}` };
}
