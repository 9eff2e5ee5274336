/**
 * @module audit/erasure
 * FGMISQR009: "FGM IS indicator data held locally MUST be deleted for those over this age [18]".
 * Every query's record carries the UK date its outcome (what Spine said) must be gone: the
 * child's 18th birthday where the request gave her birth date (widget API, CDS Hooks), else the
 * query's date plus `audit.outcomeRetentionDays` (the FHIR interface, whose message carries no
 * birth date). Erasure clears the outcome and its salt — in the store and inside every archive —
 * and leaves who asked about whom, and when, proven by the chain (chain.ts). It runs in the
 * gateway at start and then daily, and from the command line (`cli.js erase-outcomes`); each run
 * that erases anything is itself an audit record (`outcome-erasure`) in the chain.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { GatewayConfig } from '../config.ts';
import { ukToday } from '../../widget/rules/age.ts';
import type { AuditEvent, AuditSink } from './audit-event.ts';
import { ERASABLE_COLUMNS, type AuditRow } from './chain.ts';
import { eraseDue, truncateWal } from './sqlite-store.ts';
import { archiveLine, readRetentions, signedRetentions } from './chain-start.ts';

const due = (row: AuditRow, today: string) => row.outcomeDigest !== null && row.outcomeCode !== null && row.outcomeEraseOn !== null && String(row.outcomeEraseOn) <= today;

/** Clears the due outcomes of a SQLite trail from its own connection (the command line; the gateway's run in its writer thread). */
export function eraseOutcomesSqlite(file: string, today: string): number[] {
  const db = new Database(file, { fileMustExist: true, timeout: 5000 });
  try {
    const seqs = eraseDue(db, today);
    // Always tried (a previous run's may have been blocked); a gateway's reader may block it, and its writer does not know, so the command line says so.
    const emptied = truncateWal(db);
    if (seqs.length && !emptied) console.error('the write-ahead log still holds erased outcomes (a reader was busy): run erase-outcomes again, or restart the gateway');
    return seqs;
  } finally {
    db.close();
  }
}

/**
 * Clears the due outcomes inside every archive a retention record names (format 2: its signed
 * digest leaves out the erasable columns, so the archive still verifies). Each changed archive
 * is replaced atomically. Returns, per archive changed, the seqs erased. `publicKey`: the anchor
 * public key that proves the retention records (without it no archive is trusted).
 */
export function eraseOutcomesInArchives(dir: string | undefined, today: string, publicKey: string | undefined, onFailure: (archive: string, e: Error) => void): { archive: string; seqs: number[] }[] {
  const changed: { archive: string; seqs: number[] }[] = [];
  // Only archives a signed retention record names, each a file inside `dir` (chain-start.ts).
  for (const r of signedRetentions(readRetentions(dir), publicKey)) {
    const file = join(dir!, r.archive);
    if (r.format !== 2 || !existsSync(file)) continue; // a missing archive is verify's to name
    // One archive that cannot be read or rewritten must not keep the others' outcomes: it is reported and retried next run.
    try {
      const rows = readFileSync(file, 'utf8').trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRow);
      const seqs: number[] = [];
      for (const row of rows) {
        if (!due(row, today)) continue;
        for (const c of ERASABLE_COLUMNS) row[c] = null;
        seqs.push(row.seq);
      }
      if (!seqs.length) continue;
      replaceDurably(file, rows.map((row) => `${archiveLine(row)}\n`).join(''));
      changed.push({ archive: r.archive, seqs });
    } catch (e) {
      onFailure(r.archive, e as Error);
    }
  }
  return changed;
}

/** The anchor public key the config names (it proves the retention records), read afresh each run. */
export const anchorPublicKey = (config: GatewayConfig): string | undefined => (config.audit.anchorPublicKeyFile ? readFileSync(config.audit.anchorPublicKeyFile, 'utf8') : undefined);

/**
 * Replaces `file` with `text` atomically and durably: a temp name of this run's own (the daily
 * task and the command line may rewrite the same archive at once), synced, renamed over, and the
 * folder synced so the rename itself survives a crash.
 */
function replaceDurably(file: string, text: string): void {
  const tmp = `${file}.${randomUUID()}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dirFd = openSync(dirname(file), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export interface ErasureRun {
  /** The UK date erased through. */
  through: string;
  /** Records whose outcome the store cleared. */
  records: number;
  /** Archived records whose outcome was cleared, per archive. */
  archives: { archive: string; records: number }[];
}

/** The `outcome-erasure` record: how many, through which date, never whose. */
export function erasureEvent(run: ErasureRun, time: Date, orgCode: string, requestId: string): AuditEvent {
  return {
    time: time.toISOString(), eventType: 'outcome-erasure', requestId, clientMessageId: null, clientId: null, userId: null, roleProfileId: null,
    localRoles: null, orgCode, nhsNumber: null, spineMessageId: null, spineResponseId: null, outcomeCode: 'SUCCESS', httpStatus: 0, answeredBySpine: false,
    detail: JSON.stringify({ erasedOutcomes: run }),
  };
}

/**
 * One erasure run: the store (`eraseStore`), then the archives in `archiveDir`, then — when
 * anything was erased — its record through `sink`.
 */
export async function eraseDueOutcomes(o: { eraseStore: (today: string) => Promise<number[]>; archiveDir: string | undefined; publicKey: string | undefined; onArchiveFailure: (archive: string, e: Error) => void; sink: AuditSink; now: Date; orgCode: string; requestId: string }): Promise<ErasureRun> {
  const through = ukToday(o.now);
  const records = (await o.eraseStore(through)).length;
  const archives = eraseOutcomesInArchives(o.archiveDir, through, o.publicKey, o.onArchiveFailure).map((a) => ({ archive: a.archive, records: a.seqs.length }));
  const run = { through, records, archives };
  if (records || archives.length) await o.sink.record(erasureEvent(run, o.now, o.orgCode, o.requestId));
  return run;
}
