/**
 * @module audit/chain
 * The audit trail's hash chain: each record's hash is an HMAC-SHA256, keyed with the gateway's
 * audit secret, over its sequence number, every field, and the previous record's hash. Editing,
 * deleting or reordering a record breaks the chain from that point, and without the key nobody
 * can write a consistent replacement (SMSP-AUDIT-009).
 *
 * What Spine said (the outcome: `outcomeCode`, `httpStatus`) must be erasable once the child is 18
 * (FGMISQR009) while the record of who asked about her, and when, still verifies. So since schema
 * version 2 the chain commits to the outcome only through `outcomeDigest`, an HMAC over the
 * outcome and a random salt stored beside it. Erasure clears the outcome and the salt; the digest
 * stays, and without the salt it reveals nothing (not even with the key: there are only a few
 * outcome codes, so an unsalted digest could be reversed by trying each). Records written before
 * version 2 (no digest) keep the original formula and verify unchanged; their outcome cannot be
 * erased in place (docs/audit.md, "Retention": retention removes them).
 *
 * Every value is put in canonical form (canonical.ts) here, before it is hashed or stored.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { AuditEvent } from './audit-event.ts';
import { canonicalValue } from './canonical.ts';
import { seal, SEALED_KEY } from './sealed-detail.ts';

/** The event's columns in their one canonical order (the table's, the CSV export's, the version 1 hash's). */
export const AUDIT_COLUMNS = [
  'time',
  'eventType',
  'requestId',
  'clientMessageId',
  'clientId',
  'userId',
  'roleProfileId',
  'localRoles',
  'orgCode',
  'nhsNumber',
  'spineMessageId',
  'spineResponseId',
  'outcomeCode',
  'httpStatus',
  'answeredBySpine',
  'detail',
] as const satisfies readonly (keyof AuditEvent)[];

/** What an erasure clears: the outcome, and the salt without which its digest says nothing. */
export const ERASABLE_COLUMNS = ['outcomeCode', 'httpStatus', 'outcomeSalt'] as const;

/** Every stored column after seq, in table order (schema version 2). */
export const STORED_COLUMNS = [...AUDIT_COLUMNS, 'outcomeSalt', 'outcomeDigest', 'outcomeEraseOn'] as const;
export type StoredColumn = (typeof STORED_COLUMNS)[number];

/** What the version 2 hash covers: every stored column but the erasable ones. */
export const CHAINED_COLUMNS = STORED_COLUMNS.filter((c) => !(ERASABLE_COLUMNS as readonly string[]).includes(c));

/** A stored record: the event as stored (answeredBySpine 0/1) with its chain fields. */
export type AuditRow = { seq: number; prevHash: string; hash: string } & Record<StoredColumn, string | number | null>;

const hmac = (key: Buffer, parts: readonly unknown[]) =>
  createHmac('sha256', key).update(JSON.stringify(parts)).digest('hex');

/** The version 1 hash (records written before the outcome digest) of record `seq` holding `values` (in AUDIT_COLUMNS order) after `prevHash`. */
export function chainHash(
  key: Buffer,
  seq: number,
  values: readonly (string | number | null)[],
  prevHash: string,
): string {
  return hmac(key, [seq, ...values, prevHash]);
}

/** The version 2 hash: tagged so no version 1 record can be read as one, over CHAINED_COLUMNS. */
export function chainHashV2(key: Buffer, row: Omit<AuditRow, 'hash'>): string {
  return hmac(key, ['fgm-audit/2', row.seq, ...CHAINED_COLUMNS.map((c) => row[c]), row.prevHash]);
}

/** The keyed, salted digest the chain holds in place of record `seq`'s outcome. */
export function outcomeDigest(
  key: Buffer,
  seq: number,
  salt: string,
  outcomeCode: string | number | null,
  httpStatus: string | number | null,
): string {
  return hmac(key, ['fgm-audit/outcome', seq, salt, outcomeCode, httpStatus]);
}

/** The column values of a stored row, in version 1 order. */
export const rowValues = (row: AuditRow) => AUDIT_COLUMNS.map((c) => row[c]);

/** The event's own detail as an object to seal beside: its JSON object, or any other text kept whole under `text`. */
function detailObject(detail: string | null | undefined): Record<string, unknown> {
  if (!detail) return {};
  try {
    const parsed: unknown = JSON.parse(detail);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // not JSON: kept as text below
  }
  return { text: detail };
}

/** Builds record `head.seq + 1` from `event`: canonical values, a fresh salt, Spine's detail sealed with it, the outcome digest and the hash. */
export function chainRecord(key: Buffer, head: { seq: number; hash: string }, event: AuditEvent): AuditRow {
  const seq = head.seq + 1;
  const row = { seq } as Record<string, string | number | null>;
  for (const c of AUDIT_COLUMNS)
    row[c] = canonicalValue(c === 'answeredBySpine' ? (event.answeredBySpine ? 1 : 0) : (event[c] ?? null));
  row.outcomeSalt = randomBytes(16).toString('hex');
  // What Spine's answer looked like is sealed with the salt, so erasing the salt erases it
  // (sealed-detail.ts). Every record with an outcome to erase carries a seal, empty or not: were
  // only some sealed, having one would tell which answers deviated (some deviations occur only on
  // an indicator).
  if (event.spineDetail || event.outcomeEraseOn) {
    const other = detailObject(event.detail);
    row.detail = canonicalValue(
      JSON.stringify({
        ...other,
        [SEALED_KEY]: seal(key, seq, row.outcomeSalt, String(canonicalValue(event.spineDetail ?? '{}'))),
      }),
    );
  }
  row.outcomeDigest = outcomeDigest(key, seq, row.outcomeSalt, row.outcomeCode!, row.httpStatus!);
  row.outcomeEraseOn = canonicalValue(event.outcomeEraseOn ?? null);
  row.prevHash = head.hash;
  const stored = row as Omit<AuditRow, 'hash'>;
  return { ...stored, hash: chainHashV2(key, stored) } as AuditRow;
}

/** The records of `events` after `head`, each chained to the one before: what both stores append, inside their transaction. */
export function chainRecords(
  key: Buffer,
  head: { seq: number; hash: string },
  events: readonly AuditEvent[],
): AuditRow[] {
  const rows: AuditRow[] = [];
  for (const event of events) rows.push((head = chainRecord(key, head, event)));
  return rows;
}

/**
 * Why a stored record does not prove itself (its link to the previous one is the walker's to
 * check), or undefined. `today` (UK date) tells a due erasure from an outcome removed early.
 */
export function recordProblem(key: Buffer, row: AuditRow, today: string): string | undefined {
  if (row.outcomeDigest === null || row.outcomeDigest === undefined) {
    return chainHash(key, row.seq, rowValues(row), row.prevHash) === row.hash
      ? undefined
      : 'its content does not match its hash (record altered)';
  }
  if (chainHashV2(key, row) !== row.hash) return 'its content does not match its hash (record altered)';
  const erased = ERASABLE_COLUMNS.filter((c) => row[c] === null).length;
  if (erased === 0) {
    return outcomeDigest(key, row.seq, row.outcomeSalt as string, row.outcomeCode, row.httpStatus) === row.outcomeDigest
      ? undefined
      : 'its outcome does not match its digest (outcome altered)';
  }
  if (erased < ERASABLE_COLUMNS.length) return 'its outcome was partly removed (outcome altered)';
  if (row.outcomeEraseOn === null || String(row.outcomeEraseOn) > today)
    return `its outcome was removed before its erasure date ${row.outcomeEraseOn ?? '(none: never erasable)'}`;
  return undefined;
}
