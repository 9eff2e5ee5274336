/**
 * @module audit/sqlite-writer.worker
 * The audit store's writer thread: receives batches of events, appends each batch in one
 * synchronous=FULL transaction, and answers once it is on disk (see sqlite-store.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AuditEvent } from './audit-event.ts';
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
parentPort!.on('message', (events: AuditEvent[]) => {
  try {
    writer.commit(events);
    parentPort!.postMessage({ ok: true });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: (e as Error).message });
  }
});
