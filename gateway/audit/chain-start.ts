/**
 * @module audit/chain-start
 * Where the stored chain starts: at the genesis hash, or — after retention has archived the
 * oldest records — at the link a signed retention record names. retention.ts writes these
 * records, verify.ts proves the trail from them; both import this module and not each other.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERASABLE_COLUMNS, type AuditRow } from './chain.ts';

/** The previous hash of record 1. */
export const GENESIS = '0'.repeat(64);

export interface RetentionRecord {
  /** Records firstSeq (1, or the previous retention's throughSeq + 1) … throughSeq are archived and removed. */
  firstSeq: number;
  throughSeq: number;
  /** Hash of record throughSeq: where the remaining chain starts. */
  lastHash: string;
  archive: string;
  /**
   * SHA-256 of the archive. Format 2: of its records without their erasable columns, so an
   * outcome erased inside the archive (FGMISQR009) leaves it matching; absent (format 1, written
   * before erasure existed): of the file's bytes.
   */
  archiveSha256: string;
  format?: 2;
  time: string;
  /** Ed25519 signature (the anchor key) of the other fields, base64. */
  signature: string;
}

export const retentionPayload = (r: Omit<RetentionRecord, 'signature'>) =>
  Buffer.from(
    JSON.stringify({
      firstSeq: r.firstSeq,
      throughSeq: r.throughSeq,
      lastHash: r.lastHash,
      archive: r.archive,
      archiveSha256: r.archiveSha256,
      time: r.time,
      ...(r.format ? { format: r.format } : {}),
    }),
  );

export function retentionSignatureValid(r: RetentionRecord, publicKey: string): boolean {
  try {
    return verify(null, retentionPayload(r), createPublicKey(publicKey), Buffer.from(r.signature, 'base64'));
  } catch {
    return false;
  }
}

const RETENTION_FILE = /^retention-\d+\.json$/;

/** A retention file that is not a retention record (not JSON, or not an object): verify names it as a break. */
export type UnreadableRetention = { unreadable: string };
export type RetentionEntry = RetentionRecord | UnreadableRetention;
export const isUnreadable = (r: RetentionEntry): r is UnreadableRetention => 'unreadable' in r;

/** Every retention file in `dir` (they sit beside the anchors), oldest first; one that does not parse stays in its place, named. */
export function readRetentions(dir: string | undefined): RetentionEntry[] {
  if (!dir || !existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => RETENTION_FILE.test(f))
    .sort()
    .map((f) => {
      let r: unknown;
      try {
        r = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      } catch {
        return { unreadable: f };
      }
      // Outside the try: the check must decide each shape itself, not lean on `in` throwing for a primitive.
      return r && typeof r === 'object' && !Array.isArray(r) && !('unreadable' in r)
        ? (r as RetentionRecord)
        : { unreadable: f };
    });
}

/** The newest readable retention record in `dir` (what retention continues from; verify proves the rest first), or undefined. */
export const readRetention = (dir: string | undefined): RetentionRecord | undefined =>
  readRetentions(dir)
    .filter((r): r is RetentionRecord => !isUnreadable(r))
    .at(-1);

/**
 * An archive name is a file name inside the anchor folder, never a path out of it: no separator,
 * no `..`, not `.` (the folder itself: reading it throws EISDIR), no NUL byte (no file system
 * has one in a name: verify would call the archive missing instead of naming the record).
 */
export const safeArchiveName = (name: unknown): name is string =>
  typeof name === 'string' && name.length > 0 && name !== '.' && !/[/\\\0]/.test(name) && !name.includes('..');

/**
 * Why a retention record cannot stand where it is (after the one ending at `previousSeq`), or
 * undefined: unreadable, unsigned, out of order, or naming an archive outside the folder.
 */
export function retentionProblem(
  r: RetentionEntry,
  previousSeq: number,
  publicKey: string | undefined,
): { seq: number | null; reason: string } | undefined {
  if (isUnreadable(r))
    return { seq: null, reason: `the retention file ${r.unreadable} is not a readable retention record` };
  if (!publicKey || !retentionSignatureValid(r, publicKey))
    return {
      seq: typeof r.throughSeq === 'number' ? r.throughSeq : null,
      reason: `the retention record for records up to ${r.throughSeq} has no valid signature`,
    };
  if (r.firstSeq !== previousSeq + 1 || r.throughSeq < r.firstSeq)
    return {
      seq: r.firstSeq,
      reason: `the retention record for records ${r.firstSeq}-${r.throughSeq} does not follow the one before it (records up to ${previousSeq})`,
    };
  if (!safeArchiveName(r.archive))
    return {
      seq: r.firstSeq,
      reason: `the retention record for records ${r.firstSeq}-${r.throughSeq} names an archive outside the anchor folder`,
    };
  return undefined;
}

/**
 * The signed retention records, oldest first, up to the first that cannot stand (retentionProblem):
 * the only ones search and erasure may trust — an unsigned file must not move the retention point.
 */
export function signedRetentions(entries: readonly RetentionEntry[], publicKey: string | undefined): RetentionRecord[] {
  const proven: RetentionRecord[] = [];
  for (const r of entries) {
    if (retentionProblem(r, proven.at(-1)?.throughSeq ?? 0, publicKey)) break;
    proven.push(r as RetentionRecord);
  }
  return proven;
}

/** An archive line: one stored record as JSON. */
export const archiveLine = (row: AuditRow) => JSON.stringify(row);

/** The format 2 archive digest: its records, in order, without their erasable columns. */
export function archiveContentSha256(rows: readonly AuditRow[]): string {
  const h = createHash('sha256');
  for (const row of rows) {
    const kept = Object.fromEntries(
      Object.entries(row).filter(([c]) => !(ERASABLE_COLUMNS as readonly string[]).includes(c)),
    );
    h.update(`${JSON.stringify(kept)}\n`);
  }
  return h.digest('hex');
}
