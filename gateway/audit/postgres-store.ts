/**
 * @module audit/postgres-store
 * The audit store for several gateways (`audit.postgresUrl`): the same records, fields and HMAC
 * chain as the SQLite store, in one PostgreSQL table that every gateway appends to. Loaded only
 * when configured (server.ts imports it dynamically), so the embedded default never loads `pg`.
 *
 * - One chain, gap-free: each transaction takes a transaction-scoped advisory lock, reads the
 *   chain's head and appends after it, so two gateways can never fork the chain or skip a number.
 *   The lock is released with the commit, after the rows are visible to the next holder.
 * - Group commit: while one transaction is in flight, every record arriving meanwhile waits and
 *   goes into the next one, so a burst costs one commit (and one WAL flush) per gateway. A record
 *   PostgreSQL refuses fails alone: its group is then written record by record (group-commit.ts).
 * - `record()` resolves only after COMMIT (synchronous_commit as the server sets it; leave it on).
 * - Append-only in the database: triggers refuse UPDATE, DELETE and TRUNCATE for every role, and
 *   the gateway's role is granted INSERT and SELECT only, plus EXECUTE on `audit_erase_outcomes`,
 *   which clears only outcomes whose erasure date has come and only with the run's own record
 *   (FGMISQR009, postgres-erase.ts), and loses TEMP (a temp
 *   table could shadow a name in a function running as the owner); retention's
 *   `audit_retain` is the owner's alone (docs/operating.md, "Running it highly available").
 * - Schema by versioned migrations (`audit_schema_version`), applied by the owner (`node dist/gateway/audit/cli.js
 *   migrate-postgres`) or by the gateway itself when its role owns the schema.
 */
import pg from 'pg';
import type { AuditEvent, AuditSink, OutcomeEraser } from './audit-event.ts';
import { CHAINED_COLUMNS, chainRecords, ERASABLE_COLUMNS, STORED_COLUMNS, type AuditRow } from './chain.ts';
import { GENESIS } from './chain-start.ts';
import { commitGroup } from './group-commit.ts';
import { CHAIN_LOCK, eraseFunctionMigration, eraseOutcomesPostgres } from './postgres-erase.ts';
import type { AuditSearch, Throughput, ThroughputScope } from './sqlite-store.ts';
import { ukDayBounds, ukPeak } from './uk-day.ts';

/** Every column of the table, in order (the SQLite store's, the CSV export's). */
const COLUMNS = ['seq', ...STORED_COLUMNS, 'prevHash', 'hash'] as const;
const q = (c: string) => `"${c}"`;

/** The columns search finds records by, with their indexes' names; each is indexed by its first INDEXED_PREFIX characters (migration 5). */
const SEARCHED = [
  ['audit_event_user', 'userId'],
  ['audit_event_patient', 'nhsNumber'],
  ['audit_event_client_message', 'clientMessageId'],
  ['audit_event_spine_message', 'spineMessageId'],
  ['audit_event_request', 'requestId'],
] as const;
const INDEXED_PREFIX = 200;
/** `column = value` through its prefix index: the index finds the prefix, the comparison the whole value. */
const matches = (column: (typeof SEARCHED)[number][1], param: string) =>
  `(left(${q(column)}, ${INDEXED_PREFIX}) = left(${param}, ${INDEXED_PREFIX}) AND ${q(column)} = ${param})`;

/** Schema versions, oldest first; a deployed migration is never edited, only followed by a new one. */
export const MIGRATIONS: readonly { version: number; sql: string | ((schema: string) => string) }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE audit_event (
  seq BIGINT PRIMARY KEY CHECK (seq > 0),
  -- COLLATE "C": the ISO times must sort as text the way they sort in time (a locale collation may not).
  "time" TEXT COLLATE "C" NOT NULL,
  "eventType" TEXT NOT NULL,
  "requestId" TEXT NOT NULL,
  "clientMessageId" TEXT,
  "clientId" TEXT,
  "userId" TEXT,
  "roleProfileId" TEXT,
  "localRoles" TEXT,
  "orgCode" TEXT,
  "nhsNumber" TEXT,
  "spineMessageId" TEXT,
  "spineResponseId" TEXT,
  "outcomeCode" TEXT NOT NULL,
  "httpStatus" INTEGER NOT NULL,
  "answeredBySpine" SMALLINT NOT NULL CHECK ("answeredBySpine" IN (0, 1)),
  "detail" TEXT,
  "prevHash" TEXT NOT NULL,
  "hash" TEXT NOT NULL
);
CREATE INDEX audit_event_user ON audit_event ("userId");
CREATE INDEX audit_event_patient ON audit_event ("nhsNumber");
CREATE INDEX audit_event_client_message ON audit_event ("clientMessageId");
CREATE INDEX audit_event_spine_message ON audit_event ("spineMessageId");
CREATE INDEX audit_event_request ON audit_event ("requestId");
CREATE INDEX audit_event_time ON audit_event ("time");
CREATE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$;
CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
REVOKE ALL ON audit_event FROM PUBLIC;
`,
  },
  {
    // FGMISQR009: the outcome becomes erasable (nullable, beside its salt, digest and erasure
    // date), and the append-only trigger lets through exactly two changes, each made only by a
    // SECURITY DEFINER function: audit_erase_outcomes (granted to the gateway's role) clears the
    // outcome and salt of records whose erasure date has come by the database's own clock, every
    // other column unchanged; audit_retain (the owner's alone) deletes records up to a retention
    // point the owner's signed retention record already names (retention.ts).
    version: 2,
    sql: `
ALTER TABLE audit_event ALTER COLUMN "outcomeCode" DROP NOT NULL, ALTER COLUMN "httpStatus" DROP NOT NULL,
  ADD COLUMN "outcomeSalt" TEXT, ADD COLUMN "outcomeDigest" TEXT, ADD COLUMN "outcomeEraseOn" TEXT COLLATE "C";
CREATE INDEX audit_event_erase ON audit_event ("outcomeEraseOn") WHERE "outcomeCode" IS NOT NULL;
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND current_setting('fgm_audit.erasing', true) = 'on'
     AND (${['seq', ...CHAINED_COLUMNS, 'prevHash', 'hash'].map((c) => `NEW.${q(c)}`).join(', ')}) IS NOT DISTINCT FROM (${['seq', ...CHAINED_COLUMNS, 'prevHash', 'hash'].map((c) => `OLD.${q(c)}`).join(', ')})
     AND ${ERASABLE_COLUMNS.map((c) => `NEW.${q(c)} IS NULL`).join(' AND ')} AND OLD."outcomeDigest" IS NOT NULL
     AND OLD."outcomeEraseOn" <= to_char(now() AT TIME ZONE 'Europe/London', 'YYYY-MM-DD') THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'DELETE' AND OLD.seq <= coalesce(nullif(current_setting('fgm_audit.retain_through', true), '')::bigint, 0) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit records are append-only';
END $$;
CREATE FUNCTION audit_erase_outcomes(through TEXT) RETURNS SETOF BIGINT LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  PERFORM set_config('fgm_audit.erasing', 'on', true);
  RETURN QUERY WITH erased AS (
    UPDATE audit_event SET ${ERASABLE_COLUMNS.map((c) => `${q(c)} = NULL`).join(', ')}
    WHERE "outcomeCode" IS NOT NULL AND "outcomeDigest" IS NOT NULL AND "outcomeEraseOn" <= through
      AND "outcomeEraseOn" <= to_char(now() AT TIME ZONE 'Europe/London', 'YYYY-MM-DD')
    RETURNING audit_event.seq)
  SELECT erased.seq FROM erased ORDER BY 1;
  PERFORM set_config('fgm_audit.erasing', 'off', true);
END $$;
REVOKE ALL ON FUNCTION audit_erase_outcomes(TEXT) FROM PUBLIC;
CREATE FUNCTION audit_retain(through BIGINT) RETURNS BIGINT LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE removed BIGINT;
BEGIN
  PERFORM set_config('fgm_audit.retain_through', through::text, true);
  -- Retention always keeps the newest record: the writer chains the next one to it.
  IF through >= (SELECT max(seq) FROM audit_event) THEN RAISE EXCEPTION 'retention must keep the newest record'; END IF;
  DELETE FROM audit_event WHERE seq <= through;
  GET DIAGNOSTICS removed = ROW_COUNT;
  PERFORM set_config('fgm_audit.retain_through', '', true);
  RETURN removed;
END $$;
REVOKE ALL ON FUNCTION audit_retain(BIGINT) FROM PUBLIC;
`,
  },
  {
    // The SECURITY DEFINER functions run as the schema's owner, so they must resolve no name the
    // caller can shadow: version 2's `search_path FROM CURRENT` searched pg_temp first for tables,
    // and a TEMP table named audit_event with a trigger ran the caller's code as the owner. Now
    // pg_temp is named last and every object is schema-qualified (the trigger function too).
    version: 3,
    sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql SET search_path = ${s}, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND pg_catalog.current_setting('fgm_audit.erasing', true) = 'on'
     AND (${['seq', ...CHAINED_COLUMNS, 'prevHash', 'hash'].map((c) => `NEW.${q(c)}`).join(', ')}) IS NOT DISTINCT FROM (${['seq', ...CHAINED_COLUMNS, 'prevHash', 'hash'].map((c) => `OLD.${q(c)}`).join(', ')})
     AND ${ERASABLE_COLUMNS.map((c) => `NEW.${q(c)} IS NULL`).join(' AND ')} AND OLD."outcomeDigest" IS NOT NULL
     AND OLD."outcomeEraseOn" <= pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'Europe/London', 'YYYY-MM-DD') THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'DELETE' AND OLD.seq <= coalesce(nullif(pg_catalog.current_setting('fgm_audit.retain_through', true), '')::bigint, 0) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit records are append-only';
END $$;
CREATE OR REPLACE FUNCTION ${s}.audit_erase_outcomes(through TEXT) RETURNS SETOF BIGINT LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${s}, pg_temp AS $$
BEGIN
  PERFORM pg_catalog.set_config('fgm_audit.erasing', 'on', true);
  RETURN QUERY WITH erased AS (
    UPDATE ${s}.audit_event AS e SET ${ERASABLE_COLUMNS.map((c) => `${q(c)} = NULL`).join(', ')}
    WHERE e."outcomeCode" IS NOT NULL AND e."outcomeDigest" IS NOT NULL AND e."outcomeEraseOn" <= through
      AND e."outcomeEraseOn" <= pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'Europe/London', 'YYYY-MM-DD')
    RETURNING e.seq)
  SELECT erased.seq FROM erased ORDER BY 1;
  PERFORM pg_catalog.set_config('fgm_audit.erasing', 'off', true);
END $$;
REVOKE ALL ON FUNCTION ${s}.audit_erase_outcomes(TEXT) FROM PUBLIC;
CREATE OR REPLACE FUNCTION ${s}.audit_retain(through BIGINT) RETURNS BIGINT LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${s}, pg_temp AS $$
DECLARE removed BIGINT;
BEGIN
  PERFORM pg_catalog.set_config('fgm_audit.retain_through', through::text, true);
  -- Retention always keeps the newest record: the writer chains the next one to it.
  IF through >= (SELECT pg_catalog.max(e.seq) FROM ${s}.audit_event AS e) THEN RAISE EXCEPTION 'retention must keep the newest record'; END IF;
  DELETE FROM ${s}.audit_event AS e WHERE e.seq <= through;
  GET DIAGNOSTICS removed = ROW_COUNT;
  PERFORM pg_catalog.set_config('fgm_audit.retain_through', '', true);
  RETURN removed;
END $$;
REVOKE ALL ON FUNCTION ${s}.audit_retain(BIGINT) FROM PUBLIC;
`,
  },
  // The erasure function takes the run's record and appends it itself (postgres-erase.ts).
  { version: 4, sql: eraseFunctionMigration },
  {
    // A B-tree index entry holds the value itself, and PostgreSQL refuses one over about 2.7 KB
    // (54000): one long, uncompressible identifier failed its INSERT. The searched columns are
    // indexed by their first INDEXED_PREFIX characters (at most 800 bytes), so no value the store
    // accepts can fail an index; search compares the prefix (the index) and then the whole value.
    // Still B-trees, so amcheck's bt_index_check covers them (docs/operating.md, "Running it highly available").
    version: 5,
    sql: `
DROP INDEX audit_event_user, audit_event_patient, audit_event_client_message, audit_event_spine_message, audit_event_request;
${SEARCHED.map(([name, column]) => `CREATE INDEX ${name} ON audit_event (left(${q(column)}, ${INDEXED_PREFIX}));`).join('\n')}
`,
  },
];
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;
export { eraseOutcomesPostgres } from './postgres-erase.ts';

// Advisory lock keys (any two constants this database uses for nothing else; CHAIN_LOCK is postgres-erase.ts's).
const MIGRATION_LOCK = 0x46474d02;
/** At most this many records per transaction (PostgreSQL allows 65 535 parameters per statement). */
const MAX_BATCH = 1000;
/** How long a record may wait for PostgreSQL before its request fails closed. */
export const AUDIT_DEADLINE_MS = 5000;

/** BIGINT seq as a JS number (the trail stays far below 2^53), as the SQLite store returns it. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20
      ? Number
      : (pg.types.getTypeParser(oid, format as 'text') as (value: string) => unknown)) as typeof pg.types.getTypeParser,
};

/** A pool on `url` that never throws from an idle connection's error (PostgreSQL restarting must not crash the gateway). */
export function postgresPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types,
    connectionTimeoutMillis: AUDIT_DEADLINE_MS,
    query_timeout: AUDIT_DEADLINE_MS,
    application_name: 'fgm-status-gateway',
  });
  pool.on('error', () => {}); // the next query reports it; an idle client's error has no request to fail
  return pool;
}

/**
 * The pool for what is run by hand from the command line — as the schema's owner retain, VACUUM,
 * migrations, the copy from SQLite; as the gateway's role erase-outcomes: no client query
 * timeout, since deleting, erasing or vacuuming a year of records may take longer than a
 * request's deadline and the operator is watching (a timeout would leave the operator not knowing
 * whether it finished). Connecting still has a deadline.
 */
export function ownerPostgresPool(url: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    types,
    connectionTimeoutMillis: AUDIT_DEADLINE_MS,
    application_name: 'fgm-status-audit-cli',
  });
  pool.on('error', () => {});
  return pool;
}

/** The schema version in the database (0: none yet). */
async function schemaVersion(db: pg.Pool | pg.PoolClient): Promise<number> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('audit_schema_version')::text AS t`);
  if (!exists.rows[0]?.t) return 0;
  return (await db.query<{ v: number | null }>('SELECT max(version) AS v FROM audit_schema_version')).rows[0]?.v ?? 0;
}

/**
 * Brings the schema to SCHEMA_VERSION in one transaction (several gateways starting at once
 * serialise on a lock), and grants `grantTo` — the gateway's role — INSERT and SELECT only.
 * Returns the versions applied.
 */
export async function migratePostgres(pool: pg.Pool, grantTo?: string): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS audit_schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
    );
    const current = await schemaVersion(client);
    const applied: number[] = [];
    const schema = pg.escapeIdentifier((await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s);
    for (const m of MIGRATIONS.filter((m) => m.version > current)) {
      await client.query(typeof m.sql === 'string' ? m.sql : m.sql(schema));
      await client.query('INSERT INTO audit_schema_version (version) VALUES ($1)', [m.version]);
      applied.push(m.version);
    }
    if (grantTo) {
      const role = pg.escapeIdentifier(grantTo);
      await client.query(`GRANT SELECT, INSERT ON audit_event TO ${role}`);
      await client.query(`GRANT SELECT ON audit_schema_version TO ${role}`);
      // The hourly erasure (FGMISQR009) runs in the gateway; it is the role's only way to change a record, and it records itself.
      await client.query(`GRANT EXECUTE ON FUNCTION audit_erase_outcomes(JSONB) TO ${role}`);
      // No TEMP tables, which could shadow a table name in a function running as the owner. TEMP is
      // PUBLIC's by default, so it goes from PUBLIC too (the audit database is the trail's alone); only
      // the database's owner may revoke it — otherwise PostgreSQL warns and the functions' own
      // search_path (pg_temp last, every name qualified) is the defence. docs/operating.md, "Running it highly available".
      const database = pg.escapeIdentifier(
        (await client.query<{ d: string }>('SELECT current_database() AS d')).rows[0]!.d,
      );
      await client.query(`REVOKE TEMPORARY ON DATABASE ${database} FROM PUBLIC, ${role}`);
    }
    await client.query('COMMIT');
    return applied;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/** Checks the schema at start: upgrades it when this role may, else says who must. */
async function ensureSchema(pool: pg.Pool): Promise<void> {
  const version = await schemaVersion(pool);
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION)
    throw new Error(
      `the audit schema is at version ${version}, newer than this gateway's ${SCHEMA_VERSION}: upgrade the gateway`,
    );
  try {
    await migratePostgres(pool);
  } catch (e) {
    throw new Error(
      `the audit schema is at version ${version} of ${SCHEMA_VERSION} and this role cannot upgrade it (${(e as Error).message}): run node dist/gateway/audit/cli.js migrate-postgres as the schema's owner`,
      { cause: e },
    );
  }
}

/** Inserts stored rows (already chained) with one statement. */
async function insertRows(client: pg.PoolClient, rows: readonly AuditRow[]): Promise<void> {
  const values: (string | number | null)[] = [];
  const tuples = rows.map((r) => `(${COLUMNS.map((c) => `$${values.push(r[c])}`).join(', ')})`);
  await client.query(`INSERT INTO audit_event (${COLUMNS.map(q).join(', ')}) VALUES ${tuples.join(', ')}`, values);
}

/** Appends in one transaction, serialised with every other gateway on the chain's lock. */
const guarded = new WeakSet<pg.PoolClient>();

async function appendChained(pool: pg.Pool, hmacKey: Buffer, events: readonly AuditEvent[]): Promise<void> {
  const client = await pool.connect();
  // A connection lost while checked out must fail its query, never crash the gateway.
  if (!guarded.has(client)) client.on('error', () => {});
  guarded.add(client);
  let healthy = true;
  try {
    // One round trip opens the transaction, waits for the chain and reads its head.
    const results = (await client.query(
      `BEGIN; SELECT pg_advisory_xact_lock(${CHAIN_LOCK}); SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1`,
    )) as unknown as pg.QueryResult[];
    const head = (results[2]!.rows[0] as { seq: number; hash: string } | undefined) ?? { seq: 0, hash: GENESIS };
    await insertRows(client, chainRecords(hmacKey, head, events));
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => (healthy = false));
    healthy = false;
    throw e;
  } finally {
    // A connection that failed mid-transaction is not reused.
    client.release(!healthy);
  }
}

/**
 * The trail is append-only because the gateway role may only INSERT and SELECT; the schema's owner
 * (or a superuser) can disable the triggers and rewrite history, and before PostgreSQL 16 a role
 * with CREATEROLE can grant itself the owner's role. Connecting as any of them still works, so it
 * is a warning for IT, not a refusal.
 */
async function ownerWarning(pool: pg.Pool): Promise<string | undefined> {
  const { rows } = await pool.query<{ superuser: boolean; owner: boolean; createrole: boolean }>(
    `SELECT r.rolsuper AS superuser, pg_has_role(current_user, c.relowner, 'MEMBER') AS owner,
            r.rolcreaterole AND current_setting('server_version_num')::int < 160000 AS createrole
       FROM pg_roles r, pg_class c WHERE r.rolname = current_user AND c.oid = 'audit_event'::regclass`,
  );
  const row = rows[0];
  const fix = 'connect as the gateway role (migrate-postgres --grant <role> gives it its rights)';
  if (row?.superuser) return `connected as a PostgreSQL superuser, who can disable the append-only triggers: ${fix}`;
  if (row?.owner) return `connected as the audit schema's owner, who can disable the append-only triggers: ${fix}`;
  if (row?.createrole)
    return `connected as a role with CREATEROLE, which before PostgreSQL 16 can make itself the audit schema's owner and disable the append-only triggers: ALTER ROLE … NOCREATEROLE, or ${fix}`;
  return undefined;
}

export interface AuditStoreHealth {
  ok: boolean;
  /** Why not, in one line without record content (for /healthz and the log). */
  reason?: string;
}

export interface PostgresAuditStore extends AuditSink, OutcomeEraser {
  health(): AuditStoreHealth;
  /** Set when the gateway connected as a role that could switch off the append-only triggers (for the log and /healthz). */
  privilegeWarning?: string;
  close(): Promise<void>;
}

type Waiter = { event: AuditEvent; resolve: () => void; reject: (e: Error) => void };

/**
 * A refusal of the record itself, not of the store: SQLSTATE class 22 (data exception), 23
 * (integrity constraint) or 54 (a program limit, such as an index row too big), or a value the
 * chain could not hash. Any other error (connection, timeout, permissions) is the store's.
 */
const refusedRecord = (e: Error & { code?: string }) =>
  /^(22|23|54)/.test(e.code ?? '') || e instanceof TypeError || e instanceof RangeError;

/**
 * Opens the shared store: checks (or upgrades) the schema, then appends with group commit. While
 * PostgreSQL is unreachable every record fails within AUDIT_DEADLINE_MS (its request fails closed)
 * and a probe once a second notices when it is back.
 * @example const audit = await openPostgresAuditStore('postgres://fgm_gateway@db/fgm', key, { onHealth: (h) => log(h) });
 */
export async function openPostgresAuditStore(
  url: string,
  hmacKey: Buffer,
  opts: { onHealth?: (h: AuditStoreHealth) => void } = {},
): Promise<PostgresAuditStore> {
  const pool = postgresPool(url, 2);
  try {
    await ensureSchema(pool);
  } catch (e) {
    await pool.end();
    throw e;
  }
  let privilegeWarning: string | undefined;
  try {
    privilegeWarning = await ownerWarning(pool);
  } catch (e) {
    await pool.end();
    throw e;
  }
  let health: AuditStoreHealth = { ok: true };
  let probe: NodeJS.Timeout | undefined;
  const setHealth = (next: AuditStoreHealth) => {
    if (next.ok === health.ok) return;
    health = next;
    opts.onHealth?.(health);
    if (!health.ok) {
      probe ??= setInterval(() => {
        pool.query('SELECT 1').then(
          () => setHealth({ ok: true }),
          () => {},
        );
      }, 1000);
      probe.unref();
    } else if (probe) {
      clearInterval(probe);
      probe = undefined;
    }
  };

  const waiting: Waiter[] = [];
  let inFlight: Promise<void> | undefined;
  let closed = false;
  const flush = () => {
    if (inFlight || waiting.length === 0) return;
    const batch = waiting.splice(0, MAX_BATCH);
    inFlight = commitGroup(
      batch.map((w) => w.event),
      (events) => appendChained(pool, hmacKey, events),
      refusedRecord,
    )
      .then(({ failures, storeError }) => {
        // One record PostgreSQL refuses is that record's failure; the store is still healthy.
        const e = storeError as (Error & { code?: string }) | undefined;
        setHealth(
          e
            ? {
                ok: false,
                reason: `PostgreSQL audit store unreachable or refusing writes: ${e.code ?? e.message.split('\n')[0]}`,
              }
            : { ok: true },
        );
        batch.forEach((w, i) => {
          const failed = failures[i];
          if (failed) w.reject(new Error(`audit write failed: ${failed.message.split('\n')[0]}`));
          else w.resolve();
        });
        // Whatever went wrong after the commit, no record's request is left waiting and no rejection
        // goes unhandled (which would end the process).
      })
      .catch((e: Error) =>
        batch.forEach((w) => w.reject(new Error(`audit write failed: ${e.message.split('\n')[0]}`))),
      );
    void inFlight.finally(() => {
      inFlight = undefined;
      flush();
    });
  };

  return {
    record(event) {
      if (closed) return Promise.reject(new Error('the audit store is closed'));
      return new Promise<void>((resolve, reject) => {
        // Fail closed by the deadline even if a commit hangs; a late commit then only adds a record.
        const timer = setTimeout(
          () => reject(new Error('audit write failed: PostgreSQL did not commit in time')),
          AUDIT_DEADLINE_MS,
        );
        waiting.push({
          event,
          resolve: () => (clearTimeout(timer), resolve()),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        flush();
      });
    },
    health: () => health,
    ...(privilegeWarning ? { privilegeWarning } : {}),
    eraseOutcomes: (today, plan) => eraseOutcomesPostgres(pool, hmacKey, today, plan),
    async close() {
      closed = true;
      while (inFlight) await inFlight.catch(() => {});
      if (probe) clearInterval(probe);
      await pool.end();
    },
  };
}

/** Read-side queries for the trail (search, throughput, verify pages, head). */
export function postgresReader(pool: pg.Pool) {
  return {
    async search(s: AuditSearch): Promise<AuditRow[]> {
      const values: unknown[] = [s.afterSeq ?? 0];
      const where = ['seq > $1'];
      const p = (v: unknown) => `$${values.push(v)}`;
      if (s.userId) where.push(matches('userId', p(s.userId)));
      if (s.messageId) {
        const m = p(s.messageId);
        where.push(
          `(${matches('clientMessageId', m)} OR ${matches('spineMessageId', m)} OR ${matches('requestId', m)})`,
        );
      }
      if (s.nhsNumber) where.push(matches('nhsNumber', p(s.nhsNumber)));
      if (s.from) where.push(`"time" >= ${p(s.from.toISOString())}`);
      if (s.to) where.push(`"time" < ${p(s.to.toISOString())}`);
      if (s.clientId) where.push(`"clientId" = ${p(s.clientId)}`);
      if (s.orgCode) where.push(`"orgCode" = ${p(s.orgCode)}`);
      const limit = p(Math.min(s.limit ?? 1000, 10_000));
      return (
        await pool.query<AuditRow>(
          `SELECT * FROM audit_event WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${limit}`,
          values,
        )
      ).rows;
    },
    async throughput(date: string, scope?: ThroughputScope): Promise<Throughput> {
      const { start, end } = ukDayBounds(date);
      const values: unknown[] = [start, end];
      const hours = (
        await pool.query<{ hour: string; n: number }>(
          `SELECT substr("time", 1, 13) AS hour, count(*)::int AS n FROM audit_event
           WHERE "time" >= $1 AND "time" < $2 AND "eventType" IN ('widget-query', 'fhir-query', 'cds-query') ${scope ? `AND "clientId" = $${values.push(scope.clientId)} AND "orgCode" = $${values.push(scope.orgCode)}` : ''}
           GROUP BY hour`,
          values,
        )
      ).rows;
      return ukPeak(date, hours);
    },
    /** Records after `afterSeq`, oldest first, a page at a time (verify streams the chain with these). */
    async page(afterSeq: number, size: number): Promise<AuditRow[]> {
      return (
        await pool.query<AuditRow>('SELECT * FROM audit_event WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, size])
      ).rows;
    },
    async newest(n: number): Promise<AuditRow[]> {
      return (await pool.query<AuditRow>('SELECT * FROM audit_event ORDER BY seq DESC LIMIT $1', [n])).rows.reverse();
    },
    /** The lowest stored seq at or below `seq` (a record there is below the retention point). */
    async lowestAtOrBelow(seq: number): Promise<number | null> {
      return (
        await pool.query<{ seq: number | null }>('SELECT MIN(seq) AS seq FROM audit_event WHERE seq <= $1', [seq])
      ).rows[0]!.seq;
    },
    async hashAt(seq: number): Promise<string | undefined> {
      return (await pool.query<{ hash: string }>('SELECT hash FROM audit_event WHERE seq = $1', [seq])).rows[0]?.hash;
    },
  };
}

/**
 * Copies a SQLite trail into an empty PostgreSQL table unchanged — the same seq, prevHash and
 * hash — so the chain (and every anchor) still verifies with the same HMAC key. `rows` must be in
 * sequence order from record 1. Returns how many records were copied.
 */
export async function copyTrailToPostgres(pool: pg.Pool, rows: Iterable<AuditRow>): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
    const existing = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event')).rows[0]!.n;
    if (existing > 0)
      throw new Error(`the PostgreSQL trail already holds ${existing} records: copy only into an empty one`);
    let batch: AuditRow[] = [];
    let copied = 0;
    for (const row of rows) {
      batch.push(row);
      if (batch.length === MAX_BATCH) {
        await insertRows(client, batch);
        copied += batch.length;
        batch = [];
      }
    }
    if (batch.length) await insertRows(client, batch);
    copied += batch.length;
    await client.query('COMMIT');
    return copied;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/**
 * As the table's owner (the gateway's role cannot): VACUUM, so the row versions an erasure or
 * retention left behind — still holding the cleared outcome and salt — are removed from the pages.
 */
export async function vacuumAuditTable(ownerPool: pg.Pool): Promise<void> {
  await ownerPool.query('VACUUM audit_event');
}
