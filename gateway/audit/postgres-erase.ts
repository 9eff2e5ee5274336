/**
 * @module audit/postgres-erase
 * FGMISQR009 on PostgreSQL: clearing outcomes and recording it are one act of the database.
 * The gateway's role reaches the owner's rights only through `audit_erase_outcomes(erasure)`
 * (SECURITY DEFINER), and that function takes the run's `outcome-erasure` record itself: it
 * appends it at the chain's head and clears exactly the due records it names, or refuses. So no
 * caller holding the gateway's role can clear an outcome without leaving a record in the chain;
 * the database cannot check the record's HMAC, but a record made without the audit key is named
 * by verify as altered, and one made with it is the gateway's own (schema version 4; up to
 * version 3 the function cleared and the caller wrote the record, so the role could skip it).
 *
 * A run clears at most ERASE_BATCH records per transaction, each with its own record: a backlog
 * (the first run after an upgrade, a gateway down for weeks) never meets the gateway pool's 5 s
 * query deadline half-way, and a failure leaves every committed batch whole and the rest untouched.
 */
import type pg from 'pg';
import { ukToday } from '@fgm-status/element/rules/age';
import { chainRecord, ERASABLE_COLUMNS } from './chain.ts';
import { GENESIS } from './chain-start.ts';
import { erasesAnything, erasureEvent, type ErasurePlan } from './erasure-record.ts';

/** The chain's advisory lock key (the writer's, retention's and the erasure's). */
export const CHAIN_LOCK = 0x46474d01;
/** Records cleared per transaction (each batch one short UPDATE and one record). */
export const ERASE_BATCH = 1000;

const q = (c: string) => `"${c}"`;
const UK_TODAY = `pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'Europe/London', 'YYYY-MM-DD')`;

/**
 * Schema version 4 in schema `s` (already an escaped identifier): the erasure function that
 * brings its own record, the grants of the version 3 function carried over to it, and that
 * function dropped (CREATE OR REPLACE cannot change the arguments; left, it would still clear
 * without a record).
 */
export const eraseFunctionMigration = (s: string) => `
CREATE FUNCTION ${s}.audit_erase_outcomes(erasure JSONB) RETURNS SETOF BIGINT LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${s}, pg_temp AS $$
DECLARE
  r ${s}.audit_event := pg_catalog.jsonb_populate_record(NULL::${s}.audit_event, erasure);
  run JSONB;
  upto TEXT;
  next_seq BIGINT;
  head_hash TEXT;
  cleared BIGINT[];
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock(${CHAIN_LOCK});
  BEGIN
    run := r."detail"::JSONB -> 'erasedOutcomes';
  EXCEPTION WHEN others THEN run := NULL;
  END;
  IF r."eventType" IS DISTINCT FROM 'outcome-erasure' OR r."outcomeEraseOn" IS NOT NULL OR pg_catalog.jsonb_typeof(run -> 'seqs') IS DISTINCT FROM 'array'
     OR pg_catalog.jsonb_typeof(run -> 'records') IS DISTINCT FROM 'number' OR pg_catalog.jsonb_typeof(run -> 'through') IS DISTINCT FROM 'string' THEN
    RAISE EXCEPTION 'an erasure must bring its outcome-erasure record naming what it clears';
  END IF;
  SELECT e.seq + 1, e.hash INTO next_seq, head_hash FROM ${s}.audit_event AS e ORDER BY e.seq DESC LIMIT 1;
  IF r.seq IS DISTINCT FROM next_seq OR r."prevHash" IS DISTINCT FROM head_hash THEN
    RAISE EXCEPTION 'the erasure record must be chained to the newest record';
  END IF;
  -- Due by the run's date, the record's own UK day (verify's test) and the database's clock.
  upto := LEAST(run ->> 'through', pg_catalog.to_char(r."time"::TIMESTAMPTZ AT TIME ZONE 'Europe/London', 'YYYY-MM-DD'), ${UK_TODAY});
  INSERT INTO ${s}.audit_event VALUES (r.*);
  PERFORM pg_catalog.set_config('fgm_audit.erasing', 'on', true);
  WITH named AS (SELECT (x ->> 0)::BIGINT AS lo, (x ->> 1)::BIGINT AS hi FROM pg_catalog.jsonb_array_elements(run -> 'seqs') AS x),
  erased AS (
    UPDATE ${s}.audit_event AS e SET ${ERASABLE_COLUMNS.map((c) => `${q(c)} = NULL`).join(', ')} FROM named
    WHERE e.seq BETWEEN named.lo AND named.hi AND e."outcomeCode" IS NOT NULL AND e."outcomeDigest" IS NOT NULL AND e."outcomeEraseOn" <= upto
    RETURNING e.seq)
  SELECT pg_catalog.array_agg(DISTINCT erased.seq) INTO cleared FROM erased;
  PERFORM pg_catalog.set_config('fgm_audit.erasing', 'off', true);
  -- The record must say exactly what happened: its count, and no record named that still holds its outcome.
  IF coalesce(pg_catalog.cardinality(cleared), 0) <> (run ->> 'records')::BIGINT THEN
    RAISE EXCEPTION 'the erasure record counts % records but % it names are due', run ->> 'records', coalesce(pg_catalog.cardinality(cleared), 0);
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(run -> 'seqs') AS x JOIN ${s}.audit_event AS e ON e.seq BETWEEN (x ->> 0)::BIGINT AND (x ->> 1)::BIGINT
             WHERE e."outcomeCode" IS NOT NULL AND e."outcomeDigest" IS NOT NULL) THEN
    RAISE EXCEPTION 'the erasure record names a record whose outcome is not due';
  END IF;
  RETURN QUERY SELECT pg_catalog.unnest(coalesce(cleared, '{}')) ORDER BY 1;
END $$;
REVOKE ALL ON FUNCTION ${s}.audit_erase_outcomes(JSONB) FROM PUBLIC;
DO $$
DECLARE grantee TEXT;
BEGIN
  FOR grantee IN SELECT a.grantee::regrole::text FROM pg_catalog.pg_proc AS p, pg_catalog.aclexplode(p.proacl) AS a
                 WHERE p.oid = '${s}.audit_erase_outcomes(text)'::regprocedure AND a.privilege_type = 'EXECUTE' AND a.grantee NOT IN (0, p.proowner) LOOP
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION ${s}.audit_erase_outcomes(JSONB) TO %s', grantee);
  END LOOP;
END $$;
DROP FUNCTION ${s}.audit_erase_outcomes(TEXT);
`;

/** Up to `batch` records due through `today`, by the run's own day and the database's clock (the function's test). */
const DUE = `SELECT seq FROM audit_event WHERE "outcomeCode" IS NOT NULL AND "outcomeDigest" IS NOT NULL
  AND "outcomeEraseOn" <= LEAST($1::text, $2::text, ${UK_TODAY}) ORDER BY "outcomeEraseOn" LIMIT $3`;

const guarded = new WeakSet<pg.PoolClient>();

/** One transaction on the chain's lock: up to `batch` due records cleared with their record; the plan's archives are named only by the last batch. */
async function eraseBatch(
  pool: pg.Pool,
  hmacKey: Buffer,
  today: string,
  plan: ErasurePlan,
  batch: number,
): Promise<{ seqs: number[]; last: boolean }> {
  const client = await pool.connect();
  // A connection lost while checked out must fail its query, never crash the gateway.
  if (!guarded.has(client)) client.on('error', () => {});
  guarded.add(client);
  let healthy = true;
  try {
    await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`);
    const due = (await client.query<{ seq: number }>(DUE, [today, ukToday(new Date(plan.time)), batch])).rows
      .map((r) => r.seq)
      .sort((a, b) => a - b);
    const last = due.length < batch;
    // The archives are cleared only after the whole run commits, so only its last record may name them.
    const batchPlan = last ? plan : { ...plan, archives: [] };
    let seqs: number[] = [];
    if (erasesAnything(batchPlan, due)) {
      const head = (
        await client.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1')
      ).rows[0] ?? { seq: 0, hash: GENESIS };
      const record = chainRecord(hmacKey, head, erasureEvent(batchPlan, today, due));
      // The function refuses unless it clears exactly the records the record counts and names.
      seqs = (
        await client.query<{ seq: number }>('SELECT s AS seq FROM audit_erase_outcomes($1::jsonb) AS s', [
          JSON.stringify(record),
        ])
      ).rows.map((r) => r.seq);
    }
    await client.query('COMMIT');
    return { seqs, last };
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
 * Clears the outcome of every record whose erasure date is on or before `today` (UK date), in
 * batches, each appended with its `outcome-erasure` record by the granted function; the plan's
 * archived records are named by the last. A failure keeps the batches already committed (each
 * whole) and throws, so the archives are left for the next run. Returns the store seqs cleared.
 */
export async function eraseOutcomesPostgres(
  pool: pg.Pool,
  hmacKey: Buffer,
  today: string,
  plan: ErasurePlan,
  batch = ERASE_BATCH,
): Promise<number[]> {
  const erased: number[] = [];
  for (;;) {
    const { seqs, last } = await eraseBatch(pool, hmacKey, today, plan, batch);
    erased.push(...seqs);
    if (last) return erased.sort((a, b) => a - b);
  }
}
