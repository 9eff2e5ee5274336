/**
 * @module audit/erasure
 * FGMISQR009: "FGM IS indicator data held locally MUST be deleted for those over this age [18]".
 * Every query's record carries the UK date its outcome (what Spine said) must be gone: the
 * child's 18th birthday where the request gave her birth date (widget API, CDS Hooks), else the
 * query's date plus `audit.outcomeRetentionDays` (the FHIR interface, whose message carries no
 * birth date). Erasure clears the outcome and its salt — in the store and inside every archive —
 * and leaves who asked about whom, and when, proven by the chain (chain.ts). It runs in the
 * gateway at start and then at the top of every UK hour, and from the command line (`cli.js erase-outcomes`); each run
 * that erases anything is itself an audit record (`outcome-erasure`, erasure-record.ts) in the
 * chain, naming the records it cleared. The store appends that record in the transaction that
 * clears the store's outcomes, and the archives are cleared only once it is committed: no
 * outcome is ever cleared without a record (an archived one the record names but a failure left
 * uncleared is simply named again by the next run).
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { GatewayConfig } from '../config/config.ts';
import { ukToday } from '@fgm-status/element/rules/age';
import { ERASABLE_COLUMNS, type AuditRow } from './chain.ts';
import type { ErasurePlan, ErasureRun } from './erasure-record.ts';
import { eraseDue, truncateWal } from './sqlite-store.ts';
import { archiveLine, readRetentions, signedRetentions } from './chain-start.ts';

const due = (row: AuditRow, today: string) =>
  row.outcomeDigest !== null &&
  row.outcomeCode !== null &&
  row.outcomeEraseOn !== null &&
  String(row.outcomeEraseOn) <= today;

export type { ErasurePlan, ErasureRun } from './erasure-record.ts';
export { erasureEvent } from './erasure-record.ts';

/** Clears the due outcomes of a SQLite trail, and records the run, from its own connection (the command line; the gateway's run in its writer thread). */
export function eraseOutcomesSqlite(file: string, hmacKey: Buffer, today: string, plan: ErasurePlan): number[] {
  const db = new Database(file, { fileMustExist: true, timeout: 5000 });
  try {
    const seqs = eraseDue(db, hmacKey, today, plan);
    // Always tried (a previous run's may have been blocked); a gateway's reader may block it, and its writer does not know, so the command line says so.
    const emptied = truncateWal(db);
    if (seqs.length && !emptied)
      console.error(
        'the write-ahead log still holds erased outcomes (a reader was busy): run erase-outcomes again, or restart the gateway',
      );
    return seqs;
  } finally {
    db.close();
  }
}

type ArchiveFailure = (archive: string, e: Error) => void;
const readArchive = (file: string) =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditRow);

/**
 * The archived records due on or before `today`, per archive a signed retention record names
 * (format 2: its signed digest leaves out the erasable columns, so the archive still verifies
 * once cleared). Reads only: the run's record must name them before any is cleared.
 * `publicKey`: the anchor public key that proves the retention records (without it no archive is trusted).
 */
export function planArchiveErasure(
  dir: string | undefined,
  today: string,
  publicKey: string | undefined,
  onFailure: ArchiveFailure,
): { archive: string; seqs: number[] }[] {
  const planned: { archive: string; seqs: number[] }[] = [];
  // Only archives a signed retention record names, each a file inside `dir` (chain-start.ts).
  for (const r of signedRetentions(readRetentions(dir), publicKey)) {
    const file = join(dir!, r.archive);
    if (r.format !== 2 || !existsSync(file)) continue; // a missing archive is verify's to name
    // One archive that cannot be read must not keep the others' outcomes: it is reported and retried next run.
    try {
      const seqs = readArchive(file)
        .filter((row) => due(row, today))
        .map((row) => row.seq);
      if (seqs.length) planned.push({ archive: r.archive, seqs });
    } catch (e) {
      onFailure(r.archive, e as Error);
    }
  }
  return planned;
}

/**
 * Clears the planned records' outcomes inside their archives (only once the run's record naming
 * them is committed), each changed archive replaced atomically. Returns, per archive changed, the seqs cleared.
 */
export function applyArchiveErasure(
  dir: string | undefined,
  planned: readonly { archive: string; seqs: number[] }[],
  today: string,
  onFailure: ArchiveFailure,
): { archive: string; seqs: number[] }[] {
  const changed: { archive: string; seqs: number[] }[] = [];
  for (const p of planned) {
    const file = join(dir!, p.archive);
    const named = new Set(p.seqs);
    // One archive that cannot be rewritten must not keep the others' outcomes: it is reported and retried (and recorded again) next run.
    try {
      const rows = readArchive(file);
      const seqs: number[] = [];
      for (const row of rows) {
        if (!named.has(row.seq) || !due(row, today)) continue;
        for (const c of ERASABLE_COLUMNS) row[c] = null;
        seqs.push(row.seq);
      }
      if (!seqs.length) continue;
      replaceDurably(file, rows.map((row) => `${archiveLine(row)}\n`).join(''));
      changed.push({ archive: p.archive, seqs });
    } catch (e) {
      onFailure(p.archive, e as Error);
    }
  }
  return changed;
}

/** Plans and clears the archives' due outcomes at once. It writes no record: only for tests of the archive rewrite; a run is eraseDueOutcomes. */
export const eraseOutcomesInArchives = (
  dir: string | undefined,
  today: string,
  publicKey: string | undefined,
  onFailure: ArchiveFailure,
) => applyArchiveErasure(dir, planArchiveErasure(dir, today, publicKey, onFailure), today, onFailure);

/** The anchor public key the config names (it proves the retention records), read afresh each run. */
export const anchorPublicKey = (config: GatewayConfig): string | undefined =>
  config.audit.anchorPublicKeyFile ? readFileSync(config.audit.anchorPublicKeyFile, 'utf8') : undefined;

/**
 * Replaces `file` with `text` atomically and durably: a temp name of this run's own (the hourly
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

/**
 * One erasure run: plans the archives' due records, clears the store's and appends the run's
 * record naming both in one store transaction (`eraseStore`), then — only once that is
 * committed — clears the archives. A store failure leaves everything as it was.
 */
export async function eraseDueOutcomes(o: {
  eraseStore: (today: string, plan: ErasurePlan) => Promise<number[]>;
  archiveDir: string | undefined;
  publicKey: string | undefined;
  onArchiveFailure: ArchiveFailure;
  now: Date;
  orgCode: string;
  requestId: string;
}): Promise<ErasureRun> {
  const through = ukToday(o.now);
  const planned = planArchiveErasure(o.archiveDir, through, o.publicKey, o.onArchiveFailure);
  const records = (
    await o.eraseStore(through, {
      time: o.now.toISOString(),
      orgCode: o.orgCode,
      requestId: o.requestId,
      archives: planned,
    })
  ).length;
  const archives = applyArchiveErasure(o.archiveDir, planned, through, o.onArchiveFailure).map((a) => ({
    archive: a.archive,
    records: a.seqs.length,
  }));
  return { through, records, archives };
}
