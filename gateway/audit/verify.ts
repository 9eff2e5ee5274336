/**
 * @module audit/verify
 * Walks the audit chain from record 1 and checks every anchor. The answer is either "intact, N
 * records" or the first broken sequence number and why — an edit, a deletion, a reordering, a
 * record that does not match its signed anchor, or a tail truncated after an anchor.
 */
import type Database from 'better-sqlite3';
import { anchorSignatureValid, type Anchor } from './anchor.ts';
import { chainHash, GENESIS, rowValues, type AuditRow } from './chain.ts';

export type VerifyResult = { ok: true; records: number; anchors: number } | { ok: false; seq: number; reason: string };

/** One line for people: `intact, 12 records` or `broken at record 7: …`. */
export function describeVerify(r: VerifyResult): string {
  return r.ok ? `intact, ${r.records} records (${r.anchors} anchors checked)` : `broken at record ${r.seq}: ${r.reason}`;
}

export function verifyAuditChain(db: Database.Database, hmacKey: Buffer, anchors: readonly Anchor[] = [], publicKey?: string): VerifyResult {
  const hashes = new Map<number, string>();
  let expected = 1;
  let prev = GENESIS;
  // iterate() streams: a trail of millions of records is never all in memory.
  for (const row of db.prepare('SELECT * FROM audit_event ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
    if (row.seq !== expected) return { ok: false, seq: expected, reason: `record ${expected} is missing (the next stored record is ${row.seq})` };
    if (row.prevHash !== prev) return { ok: false, seq: row.seq, reason: 'its link to the previous record is broken (records removed or reordered)' };
    if (chainHash(hmacKey, row.seq, rowValues(row), row.prevHash) !== row.hash) return { ok: false, seq: row.seq, reason: 'its content does not match its hash (record altered)' };
    if (anchors.length) hashes.set(row.seq, row.hash);
    prev = row.hash;
    expected++;
  }
  const last = expected - 1;
  for (const a of anchors) {
    if (!publicKey || !anchorSignatureValid(a, publicKey)) return { ok: false, seq: a.seq, reason: `the anchor for record ${a.seq} has no valid signature` };
    if (a.seq > last) return { ok: false, seq: last + 1, reason: `record ${last + 1} is missing: the trail was truncated after record ${last} (anchored up to ${a.seq} at ${a.time})` };
    if (hashes.get(a.seq) !== a.hash) return { ok: false, seq: a.seq, reason: `record ${a.seq} does not match its anchor of ${a.time}` };
  }
  return { ok: true, records: last, anchors: anchors.length };
}
