/**
 * @module audit/chain
 * The audit trail's hash chain: each record's hash is an HMAC-SHA256, keyed with the gateway's
 * audit secret, over its sequence number, every field, and the previous record's hash. Editing,
 * deleting or reordering a record breaks the chain from that point, and without the key nobody
 * can write a consistent replacement (SMSP-AUDIT-009).
 */
import { createHmac } from 'node:crypto';
import type { AuditEvent } from './audit-event.ts';

/** The previous hash of record 1. */
export const GENESIS = '0'.repeat(64);

/** Audit columns in their one canonical order (the table's, the CSV export's, the hash's). */
export const AUDIT_COLUMNS = [
  'time', 'eventType', 'requestId', 'clientMessageId', 'clientId', 'userId', 'roleProfileId', 'localRoles',
  'orgCode', 'nhsNumber', 'spineMessageId', 'spineResponseId', 'outcomeCode', 'httpStatus', 'answeredBySpine', 'detail',
] as const satisfies readonly (keyof AuditEvent)[];

/** A stored record: the event as stored (answeredBySpine 0/1) with its chain fields. */
export type AuditRow = { seq: number; prevHash: string; hash: string } & Record<(typeof AUDIT_COLUMNS)[number], string | number | null>;

/** The hash of record `seq` holding `values` (in AUDIT_COLUMNS order) after `prevHash`. */
export function chainHash(key: Buffer, seq: number, values: readonly (string | number | null)[], prevHash: string): string {
  return createHmac('sha256', key).update(JSON.stringify([seq, ...values, prevHash])).digest('hex');
}

/** The column values of a stored row, in canonical order. */
export const rowValues = (row: AuditRow) => AUDIT_COLUMNS.map((c) => row[c]);
