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
  Buffer.from(JSON.stringify({ firstSeq: r.firstSeq, throughSeq: r.throughSeq, lastHash: r.lastHash, archive: r.archive, archiveSha256: r.archiveSha256, time: r.time, ...(r.format ? { format: r.format } : {}) }));

export function retentionSignatureValid(r: RetentionRecord, publicKey: string): boolean {
  try {
    return verify(null, retentionPayload(r), createPublicKey(publicKey), Buffer.from(r.signature, 'base64'));
  } catch {
    return false;
  }
}

const RETENTION_FILE = /^retention-\d+\.json$/;

/** Every retention record in `dir` (they sit beside the anchors), oldest first. */
export function readRetentions(dir: string | undefined): RetentionRecord[] {
  if (!dir || !existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => RETENTION_FILE.test(f)).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as RetentionRecord);
}

/** The newest retention record in `dir`: the retention point, or undefined. */
export const readRetention = (dir: string | undefined): RetentionRecord | undefined => readRetentions(dir).at(-1);

/** An archive line: one stored record as JSON. */
export const archiveLine = (row: AuditRow) => JSON.stringify(row);

/** The format 2 archive digest: its records, in order, without their erasable columns. */
export function archiveContentSha256(rows: readonly AuditRow[]): string {
  const h = createHash('sha256');
  for (const row of rows) {
    const kept = Object.fromEntries(Object.entries(row).filter(([c]) => !(ERASABLE_COLUMNS as readonly string[]).includes(c)));
    h.update(`${JSON.stringify(kept)}\n`);
  }
  return h.digest('hex');
}
