/**
 * @module test/helpers/erase-call
 * A direct call of the PostgreSQL erasure function, as any holder of the gateway's role could make
 * it with psql: an `outcome-erasure` record (jsonb) chained to the newest record, hashed with the
 * audit key when one is given, else with a made-up hash (a caller without the key).
 */
import type { AuditRow } from '../../gateway/audit/chain.ts';
import { chainRecord } from '../../gateway/audit/chain.ts';
import { erasureEvent } from '../../gateway/audit/erasure-record.ts';
import { sqlAs } from './services.ts';

/** Calls audit_erase_outcomes as the user of `url` with a record naming `seqs` and counting `records` (default: all of them). */
export async function callEraseFunction(
  url: string,
  o: { time: string; through: string; seqs: number[]; records?: number; key?: Buffer; seqOffset?: number },
): Promise<number[]> {
  const [head] = await sqlAs<{ seq: number; hash: string }>(
    url,
    'SELECT seq::int AS seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1',
  );
  const event = erasureEvent(
    { time: o.time, orgCode: 'RX1', requestId: `direct-${o.time}`, archives: [] },
    o.through,
    o.seqs,
  );
  const record: AuditRow = chainRecord(
    o.key ?? Buffer.from('not the audit key'),
    { seq: head!.seq + (o.seqOffset ?? 0), hash: head!.hash },
    event,
  );
  if (o.records !== undefined)
    record.detail = JSON.stringify({
      erasedOutcomes: { ...JSON.parse(String(record.detail)).erasedOutcomes, records: o.records },
    });
  return (
    await sqlAs<{ seq: number }>(url, 'SELECT s::int AS seq FROM audit_erase_outcomes($1::jsonb) AS s', [
      JSON.stringify(record),
    ])
  ).map((r) => r.seq);
}
