/**
 * @module audit/sqlite-writer.worker
 * The audit store's writer thread: receives batches of events, appends each batch in one
 * synchronous=FULL transaction, and answers once it is on disk (see sqlite-store.ts); and runs
 * the outcome erasure (FGMISQR009) between batches, on the same connection.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AuditEvent } from './audit-event.ts';
import type { ErasurePlan } from './erasure-record.ts';
import { openAuditWriter, type AuditWriter } from './sqlite-store.ts';

const { file, hmacKey } = workerData as { file: string; hmacKey: Uint8Array };
let writer: AuditWriter;
try {
  writer = openAuditWriter(file, Buffer.from(hmacKey));
  parentPort!.postMessage({ ready: true });
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
  process.exit(0);
}
parentPort!.on('message', (m: { events: AuditEvent[] } | { erase: string; plan: ErasurePlan }) => {
  try {
    if ('erase' in m) return parentPort!.postMessage({ ok: true, erased: writer.eraseOutcomes(m.erase, m.plan) });
    writer.commit(m.events);
    parentPort!.postMessage({ ok: true });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: (e as Error).message });
  }
});
