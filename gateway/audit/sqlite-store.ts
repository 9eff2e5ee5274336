/**
 * @module audit/sqlite-store
 * A durable SQLite audit store (better-sqlite3): WAL journal, synchronous=FULL so a record is on
 * disk before the client gets its answer, and `seq` numbering every record (SMSP-AUDIT-009).
 * The schema lives here and only here; a later issue adds a hash chain and a query interface.
 */
import Database from 'better-sqlite3';
import type { AuditEvent, AuditSink } from './audit-event.ts';

/** Audit table columns, in AuditEvent order. */
export const AUDIT_COLUMNS = [
  'time', 'eventType', 'requestId', 'clientMessageId', 'clientId', 'userId', 'roleProfileId', 'localRoles',
  'orgCode', 'nhsNumber', 'spineMessageId', 'spineResponseId', 'outcomeCode', 'httpStatus', 'answeredBySpine',
] as const satisfies readonly (keyof AuditEvent)[];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_event (
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
  answeredBySpine INTEGER NOT NULL CHECK (answeredBySpine IN (0, 1))
);
CREATE INDEX IF NOT EXISTS audit_event_user ON audit_event (userId);
CREATE INDEX IF NOT EXISTS audit_event_patient ON audit_event (nhsNumber);
CREATE INDEX IF NOT EXISTS audit_event_client_message ON audit_event (clientMessageId);
CREATE INDEX IF NOT EXISTS audit_event_time ON audit_event (time);
`;

export interface SqliteAuditStore extends AuditSink {
  close(): void;
}

/**
 * Opens (creating if needed) the audit database at `file`.
 * @example const audit = openSqliteAuditStore('.data/audit.sqlite'); await audit.record(event); audit.close();
 */
export function openSqliteAuditStore(file: string): SqliteAuditStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);
  const insert = db.prepare(
    `INSERT INTO audit_event (${AUDIT_COLUMNS.join(', ')}) VALUES (${AUDIT_COLUMNS.map((c) => '@' + c).join(', ')})`,
  );
  return {
    async record(event) {
      // better-sqlite3 is synchronous: when run() returns, the row is committed and fsynced.
      insert.run({ ...event, answeredBySpine: event.answeredBySpine ? 1 : 0 });
    },
    close() {
      db.close();
    },
  };
}
