/**
 * @module audit/sqlite-store
 * The audit store (SMSP-AUDIT-001…011): one SQLite file, WAL with synchronous=FULL, append-only
 * (DELETE, and every UPDATE but the FGMISQR009 outcome erasure, are refused by triggers), a
 * gap-free sequence and an HMAC hash chain (chain.ts). `record()` resolves only once its row is
 * committed to disk. The writer runs in a worker thread and commits records that arrive together
 * in one transaction (group commit), so a burst costs one disk sync, and no sync ever blocks the
 * gateway; a record SQLite refuses fails alone (group-commit.ts). The schema and its versioned migrations live here and only here.
 */
import { closeSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { AuditEvent, AuditSink, OutcomeEraser } from './audit-event.ts';
import {
  AUDIT_COLUMNS,
  CHAINED_COLUMNS,
  chainRecords,
  ERASABLE_COLUMNS,
  STORED_COLUMNS,
  type AuditRow,
} from './chain.ts';
import { GENESIS } from './chain-start.ts';
import { erasesAnything, erasureEvent, type ErasurePlan } from './erasure-record.ts';
import { ukDayBounds, ukPeak } from './uk-day.ts';

/** The version 1 table (before the outcome digest): what a trail written by earlier gateways holds. */
const TABLE_V1 = `
CREATE TABLE audit_event (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  eventType TEXT NOT NULL,
  requestId TEXT NOT NULL,
  clientMessageId TEXT,
  clientId TEXT,
  userId TEXT,
  roleProfileId TEXT,
  localRoles TEXT,
  orgCode TEXT,
  nhsNumber TEXT,
  spineMessageId TEXT,
  spineResponseId TEXT,
  outcomeCode TEXT NOT NULL,
  httpStatus INTEGER NOT NULL,
  answeredBySpine INTEGER NOT NULL CHECK (answeredBySpine IN (0, 1)),
  detail TEXT,
  prevHash TEXT NOT NULL,
  hash TEXT NOT NULL
);`;

const INDEXES = `
CREATE INDEX audit_event_user ON audit_event (userId);
CREATE INDEX audit_event_patient ON audit_event (nhsNumber);
CREATE INDEX audit_event_client_message ON audit_event (clientMessageId);
CREATE INDEX audit_event_spine_message ON audit_event (spineMessageId);
CREATE INDEX audit_event_time ON audit_event (time);`;

const NO_DELETE = `
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
  BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;`;

/**
 * The one UPDATE the table accepts (FGMISQR009): clearing a version 2 record's outcome and salt
 * on or after its erasure date, every other column unchanged. Verify names any other change.
 */
const ERASURE_ONLY = `NEW.seq IS OLD.seq AND ${[...CHAINED_COLUMNS, 'prevHash', 'hash'].map((c) => `NEW.${c} IS OLD.${c}`).join(' AND ')}
    AND ${ERASABLE_COLUMNS.map((c) => `NEW.${c} IS NULL`).join(' AND ')} AND OLD.outcomeDigest IS NOT NULL AND OLD.outcomeEraseOn IS NOT NULL`;

/**
 * Schema versions (PRAGMA user_version), oldest first; a released migration is never edited,
 * only followed by a new one. A file written before versions were counted holds version 1's table.
 */
const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `${TABLE_V1}${INDEXES}
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
  BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;${NO_DELETE}`,
  },
  {
    // The outcome becomes erasable: nullable, beside its salt, digest and erasure date. SQLite
    // cannot drop NOT NULL in place, so the table is rebuilt, every row copied unchanged.
    version: 2,
    sql: `
DROP TRIGGER audit_event_no_update;
DROP TRIGGER audit_event_no_delete;
ALTER TABLE audit_event RENAME TO audit_event_v1;
CREATE TABLE audit_event (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  eventType TEXT NOT NULL,
  requestId TEXT NOT NULL,
  clientMessageId TEXT,
  clientId TEXT,
  userId TEXT,
  roleProfileId TEXT,
  localRoles TEXT,
  orgCode TEXT,
  nhsNumber TEXT,
  spineMessageId TEXT,
  spineResponseId TEXT,
  outcomeCode TEXT,
  httpStatus INTEGER,
  answeredBySpine INTEGER NOT NULL CHECK (answeredBySpine IN (0, 1)),
  detail TEXT,
  outcomeSalt TEXT,
  outcomeDigest TEXT,
  outcomeEraseOn TEXT,
  prevHash TEXT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_event (seq, ${AUDIT_COLUMNS.join(', ')}, prevHash, hash) SELECT seq, ${AUDIT_COLUMNS.join(', ')}, prevHash, hash FROM audit_event_v1;
DROP TABLE audit_event_v1;${INDEXES}
CREATE INDEX audit_event_erase ON audit_event (outcomeEraseOn) WHERE outcomeCode IS NOT NULL;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event WHEN NOT (${ERASURE_ONLY})
  BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;${NO_DELETE}`,
  },
];
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** Brings the file's schema to SQLITE_SCHEMA_VERSION in one transaction; returns the versions applied. */
export function migrateSqlite(db: Database.Database): number[] {
  return db
    .transaction(() => {
      const columns = (db.prepare(`SELECT name FROM pragma_table_info('audit_event')`).all() as { name: string }[]).map(
        (c) => c.name,
      );
      const stored = db.pragma('user_version', { simple: true }) as number;
      const current = stored || (columns.length ? 1 : 0);
      if (current > SQLITE_SCHEMA_VERSION)
        throw new Error(
          `the audit schema is at version ${current}, newer than this gateway's ${SQLITE_SCHEMA_VERSION}: upgrade the gateway`,
        );
      const applied = MIGRATIONS.filter((m) => m.version > current);
      for (const m of applied) db.exec(m.sql);
      db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
      return applied.map((m) => m.version);
    })
    .immediate();
}

export interface AuditSearch {
  userId?: string;
  /** Matches the client's message id, the Spine message id or the gateway's request id. */
  messageId?: string;
  nhsNumber?: string;
  /** Inclusive lower bound. */
  from?: Date;
  /** Exclusive upper bound. */
  to?: Date;
  /** Only this client's records (an auditor who is not SMSP-wide). */
  clientId?: string;
  /** Only records at this organisation (an auditor who is not SMSP-wide acts for their own). */
  orgCode?: string;
  /** At most this many rows (default 1000), oldest first, after `afterSeq`. */
  limit?: number;
  afterSeq?: number;
}

/** One client's records at one organisation (an auditor who is not SMSP-wide). */
export interface ThroughputScope {
  clientId: string;
  orgCode: string;
}

export interface Throughput {
  date: string;
  total: number;
  /** UK hour (00–23, Europe/London) with the most requests, or null on a day without any. */
  peakHour: string | null;
  peakHourCount: number;
}

export interface SqliteAuditStore extends AuditSink, OutcomeEraser {
  /** Waits for records in flight, then closes the file. */
  close(): Promise<void>;
}

/** Opens a store for reading only (verification, search, reports from the command line). */
export function openAuditReader(file: string): Database.Database {
  return new Database(file, { readonly: true, fileMustExist: true });
}

/** Searches a store (used by the store and by the CLI). */
export function searchAudit(db: Database.Database, q: AuditSearch): AuditRow[] {
  const where: string[] = ['seq > @afterSeq'];
  if (q.userId) where.push('userId = @userId');
  if (q.messageId)
    where.push('(clientMessageId = @messageId OR spineMessageId = @messageId OR requestId = @messageId)');
  if (q.nhsNumber) where.push('nhsNumber = @nhsNumber');
  if (q.from) where.push('time >= @from');
  if (q.to) where.push('time < @to');
  if (q.clientId) where.push('clientId = @clientId');
  if (q.orgCode) where.push('orgCode = @orgCode');
  // Stored times are all toISOString() (UTC, milliseconds), so the bounds are written the same
  // way: then text order is time order, whatever offset or precision the caller used.
  return db.prepare(`SELECT * FROM audit_event WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`).all({
    afterSeq: q.afterSeq ?? 0,
    limit: Math.min(q.limit ?? 1000, 10_000),
    userId: q.userId,
    messageId: q.messageId,
    nhsNumber: q.nhsNumber,
    from: q.from?.toISOString(),
    to: q.to?.toISOString(),
    clientId: q.clientId,
    orgCode: q.orgCode,
  }) as AuditRow[];
}

/** The throughput report for one UK calendar day (SMSP-PERF-002): widget and FHIR queries, no patient data; one client's at one organisation only when `scope` is given. */
export function throughputOn(db: Database.Database, date: string, scope?: ThroughputScope): Throughput {
  const hours = db
    .prepare(
      `SELECT substr(time, 1, 13) AS hour, count(*) AS n FROM audit_event
       WHERE time >= @start AND time < @end AND eventType IN ('widget-query', 'fhir-query', 'cds-query') ${scope ? 'AND clientId = @clientId AND orgCode = @orgCode' : ''}
       GROUP BY hour`,
    )
    .all({ ...ukDayBounds(date), clientId: scope?.clientId, orgCode: scope?.orgCode }) as { hour: string; n: number }[];
  return ukPeak(date, hours);
}

/**
 * A refusal of the record itself, not of the file: a constraint, a value too big or of the wrong
 * type, or one the chain could not hash. Busy, I/O and disk-full errors are the store's.
 */
export const refusedRecord = (e: Error & { code?: string }) =>
  /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH|RANGE)/.test(e.code ?? '') || e instanceof TypeError || e instanceof RangeError;

/** The synchronous writer the worker thread runs: schema, chain head, one transaction per batch. */
export interface AuditWriter {
  /** Appends `events` in one transaction (synchronous=FULL: returns once the WAL is on disk), or throws having written none. */
  commit(events: readonly AuditEvent[]): void;
  /** Clears the outcomes due on or before `today` (FGMISQR009) and appends the run's record, in one transaction; returns their seqs. */
  eraseOutcomes(today: string, plan: ErasurePlan): number[];
  close(): void;
}

/**
 * Appends events to the chain inside the caller's transaction (or its own), reading the head
 * there: IMMEDIATE transactions serialise it with every other writer of the file.
 */
export function chainAppender(db: Database.Database, hmacKey: Buffer) {
  const insert = db.prepare(
    `INSERT INTO audit_event (seq, ${STORED_COLUMNS.join(', ')}, prevHash, hash) VALUES (@seq, ${STORED_COLUMNS.map((c) => '@' + c).join(', ')}, @prevHash, @hash)`,
  );
  const newest = db.prepare('SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1');
  return db.transaction((events: readonly AuditEvent[]) => {
    const head = (newest.get() as { seq: number; hash: string } | undefined) ?? { seq: 0, hash: GENESIS };
    for (const row of chainRecords(hmacKey, head, events)) insert.run(row);
  });
}

/**
 * The one erasure (FGMISQR009): clears the outcome and salt of version 2 records due on or before
 * `today` — the only UPDATE the table's trigger lets through — and appends the run's
 * `outcome-erasure` record naming them, in one IMMEDIATE transaction: a failure between the two
 * rolls both back, so no outcome is ever cleared unrecorded. The caller then empties the
 * write-ahead log (truncateWal).
 */
export function eraseDue(db: Database.Database, hmacKey: Buffer, today: string, plan: ErasurePlan): number[] {
  // Freed cell space is zeroed, so the cleared outcome is not left readable in the file's pages.
  db.pragma('secure_delete = ON');
  const erase = db.prepare(
    `UPDATE audit_event SET ${ERASABLE_COLUMNS.map((c) => `${c} = NULL`).join(', ')} WHERE outcomeCode IS NOT NULL AND outcomeDigest IS NOT NULL AND outcomeEraseOn <= ? RETURNING seq`,
  );
  const append = chainAppender(db, hmacKey);
  return db
    .transaction(() => {
      const seqs = (erase.all(today) as { seq: number }[]).map((r) => r.seq).sort((a, b) => a - b);
      if (erasesAnything(plan, seqs)) append([erasureEvent(plan, today, seqs)]);
      return seqs;
    })
    .immediate();
}

/**
 * Copies the write-ahead log into the database and empties it, so the page images holding an
 * erased outcome leave the -wal file too. A reader still inside a transaction can keep the copy
 * from finishing: then this answers false and the writer tries again after each commit.
 */
export function truncateWal(db: Database.Database): boolean {
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
  return result?.busy === 0;
}

/** Opens (creating if needed) the audit database at `file` for appending, chained with `hmacKey`. */
export function openAuditWriter(file: string, hmacKey: Buffer): AuditWriter {
  // The trail holds NHS numbers: a new file is the gateway user's alone, whatever the umask, and
  // SQLite gives its -wal and -shm files the database file's mode.
  closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const columns = (db.prepare(`SELECT name FROM pragma_table_info('audit_event')`).all() as { name: string }[]).map(
    (c) => c.name,
  );
  if (columns.length && !columns.includes('hash')) {
    db.close();
    throw new Error(`${file} was written before the audit hash chain; move it aside to start a new trail`);
  }
  migrateSqlite(db);
  // The head is read inside each (IMMEDIATE, so serialised) transaction: the command line's
  // erasure record may be appended beside a running gateway without forking the chain.
  const append = chainAppender(db, hmacKey);
  // An erasure whose checkpoint a reader blocked: the erased outcome is still in the -wal file.
  let walHoldsErased = false;
  return {
    commit(events) {
      append.immediate(events);
      if (walHoldsErased) walHoldsErased = !truncateWal(db);
    },
    eraseOutcomes(today, plan) {
      const seqs = eraseDue(db, hmacKey, today, plan);
      if (seqs.length) walHoldsErased = !truncateWal(db);
      return seqs;
    },
    close: () => db.close(),
  };
}

// The built gateway runs the compiled writer; from source (tests, demo) the thread needs a shim
// that registers tsx first.
const WRITER_ENTRY = import.meta.url.endsWith('.ts') ? './sqlite-writer.worker.mjs' : './sqlite-writer.worker.js';

type Waiter = { event: AuditEvent; resolve: () => void; reject: (e: Error) => void };
type EraseWaiter = { today: string; plan: ErasurePlan; resolve: (seqs: number[]) => void; reject: (e: Error) => void };

/**
 * Opens the audit store: the SQLite writer runs in a worker thread, so disk syncs never block the
 * gateway's event loop, and records are group-committed — while one batch syncs, the next
 * collects every record that arrives meanwhile. `record()` resolves once its batch is on disk.
 * The hourly erasure (FGMISQR009) runs in the same thread, between batches: it never waits for
 * the writer's lock on the gateway's event loop.
 * @example const audit = await openSqliteAuditStore('.data/audit.sqlite', key); await audit.record(event); await audit.close();
 */
export async function openSqliteAuditStore(file: string, hmacKey: Buffer): Promise<SqliteAuditStore> {
  const worker = new Worker(new URL(WRITER_ENTRY, import.meta.url), {
    workerData: { file, hmacKey: new Uint8Array(hmacKey) },
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m: { ready?: true; error?: string }) => (m.ready ? resolve() : reject(new Error(m.error))));
    worker.once('error', reject);
  }).catch(async (e) => {
    await worker.terminate();
    throw e;
  });

  let waiting: Waiter[] = [];
  let inFlight: Waiter[] | undefined;
  let erasures: EraseWaiter[] = [];
  let erasing: EraseWaiter | undefined;
  let broken: Error | undefined;
  let drained: (() => void) | undefined;

  const send = () => {
    if (inFlight || erasing) return;
    if (erasures.length) {
      erasing = erasures.shift()!;
      return worker.postMessage({ erase: erasing.today, plan: erasing.plan });
    }
    if (waiting.length === 0) return drained?.();
    inFlight = waiting;
    waiting = [];
    worker.postMessage({ events: inFlight.map((w) => w.event) });
  };
  worker.on('message', (m: { ok: boolean; error?: string; erased?: number[]; failed?: (string | null)[] }) => {
    if (erasing) {
      const e = erasing;
      erasing = undefined;
      if (m.ok) e.resolve(m.erased!);
      else e.reject(new Error(`outcome erasure failed: ${m.error}`));
      return send();
    }
    const batch = inFlight ?? [];
    inFlight = undefined;
    batch.forEach((w, i) => {
      const error = m.ok ? m.failed?.[i] : m.error;
      if (error) w.reject(new Error(`audit write failed: ${error}`));
      else w.resolve();
    });
    send();
  });
  const fail = (e: Error) => {
    broken = e;
    for (const w of [...(inFlight ?? []), ...waiting, ...(erasing ? [erasing] : []), ...erasures]) w.reject(e);
    inFlight = undefined;
    waiting = [];
    erasing = undefined;
    erasures = [];
    drained?.();
  };
  worker.on('error', fail);
  worker.on('exit', () => fail(broken ?? new Error('the audit store is closed')));

  return {
    record(event) {
      if (broken) return Promise.reject(broken);
      return new Promise<void>((resolve, reject) => {
        waiting.push({ event, resolve, reject });
        send();
      });
    },
    eraseOutcomes(today, plan) {
      if (broken) return Promise.reject(broken);
      return new Promise<number[]>((resolve, reject) => {
        erasures.push({ today, plan, resolve, reject });
        send();
      });
    },
    async close() {
      if (inFlight || waiting.length || erasing || erasures.length) await new Promise<void>((r) => (drained = r));
      broken ??= new Error('the audit store is closed');
      await worker.terminate();
    },
  };
}
