/**
 * @module audit/sqlite-writer.worker
 * The audit store's writer thread: receives batches of events, appends each batch in one
 * synchronous=FULL transaction (one at a time when one record is refused), and answers once it is
 * on disk (see sqlite-store.ts); and runs
 * the outcome erasure (FGMISQR009) between batches, on the same connection.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AuditEvent } from './audit-event.ts';
import type { ErasurePlan } from './erasure-record.ts';
import { commitGroup } from './group-commit.ts';
import { openAuditWriter, refusedRecord, type AuditWriter } from './sqlite-store.ts';

const { file, hmacKey } = workerData as { file: string; hmacKey: Uint8Array };
let writer: AuditWriter;
try {
  writer = openAuditWriter(file, Buffer.from(hmacKey));
  parentPort!.postMessage({ ready: true });
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
  process.exit(0);
}
// eslint-disable-next-line @typescript-eslint/no-misused-promises -- the handler catches every error and answers with it
parentPort!.on('message', async (m: { events: AuditEvent[] } | { erase: string; plan: ErasurePlan }) => {
  try {
    if ('erase' in m) return parentPort!.postMessage({ ok: true, erased: writer.eraseOutcomes(m.erase, m.plan) });
    // One record SQLite refuses fails alone (group-commit.ts); the store's own failure fails the batch.
    const { failures, storeError } = await commitGroup(m.events, (events) => writer.commit(events), refusedRecord);
    if (storeError) return parentPort!.postMessage({ ok: false, error: storeError.message });
    parentPort!.postMessage({ ok: true, failed: failures.map((e) => e?.message ?? null) });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: (e as Error).message });
  }
});
