/**
 * @module test/audit/audit-postgres-definer
 * SMSP-AUDIT-009 over a real PostgreSQL: the gateway's role reaches the schema owner's rights
 * only through the SECURITY DEFINER erasure function, so that function must never resolve a
 * name the caller can shadow. The attack: a TEMP table called audit_event (pg_temp is searched
 * first for tables unless named last) with a trigger that, running as the owner, grants the
 * caller UPDATE and DELETE. After the fix the function touches only the schema's own table, and
 * the grant step leaves the gateway's role without TEMP at all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { POSTGRES_URL, sqlAs, testDatabase, type TestDatabase } from '../helpers/services.ts';
import { migratePostgres, postgresPool } from '../../gateway/audit/postgres-store.ts';

/** A record the function accepts (chained to record 1, naming it, counting none: record 1 has no digest), so the attack runs to the end and commits. */
const erasure = {
  seq: 2,
  time: new Date().toISOString(),
  eventType: 'outcome-erasure',
  requestId: 'attack',
  outcomeCode: 'SUCCESS',
  httpStatus: 0,
  answeredBySpine: 0,
  detail: JSON.stringify({ erasedOutcomes: { through: '2999-12-31', records: 0, archives: [], seqs: [[1, 1]] } }),
  prevHash: 'h',
  hash: 'forged',
};

/** Runs as the caller; its trigger runs as whoever executes the UPDATE on the temp table. */
const attack = (role: string) => `
CREATE TEMP TABLE audit_event (seq BIGINT, "outcomeCode" TEXT, "httpStatus" INTEGER, "outcomeSalt" TEXT, "outcomeDigest" TEXT, "outcomeEraseOn" TEXT);
CREATE FUNCTION pg_temp.escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'GRANT UPDATE, DELETE, TRUNCATE ON public.audit_event TO ${role}';
  EXECUTE 'ALTER TABLE public.audit_event DISABLE TRIGGER USER';
  RETURN NEW;
END $$;
CREATE TRIGGER escalate BEFORE UPDATE ON pg_temp.audit_event FOR EACH ROW EXECUTE FUNCTION pg_temp.escalate();
GRANT ALL ON pg_temp.audit_event TO PUBLIC; -- so the function, running as the owner, may update it
INSERT INTO audit_event VALUES (1, 'SUCCESS', 200, 'salt', 'digest', '2000-01-01');
SELECT * FROM audit_erase_outcomes('${JSON.stringify(erasure)}');`;

describe('SMSP-AUDIT-009 the erasure function cannot be turned against the trail', () => {
  let db: TestDatabase;
  before(async () => {
    db = await testDatabase();
    const owner = postgresPool(db.ownerUrl, 1);
    await migratePostgres(owner, db.gatewayRole).finally(() => owner.end());
    await sqlAs(
      db.ownerUrl,
      `INSERT INTO audit_event (seq, "time", "eventType", "requestId", "outcomeCode", "httpStatus", "answeredBySpine", "prevHash", "hash") VALUES (1, '2026-01-01T00:00:00.000Z', 'widget-query', 'r1', 'SUCCESS', 200, 1, 'p', 'h')`,
    );
  });
  after(() => db?.drop());

  it('SMSP-AUDIT-009 the grant step leaves the gateway role no TEMP tables to shadow a table with', async () => {
    await assert.rejects(
      sqlAs(db.gatewayUrl, 'CREATE TEMP TABLE audit_event (seq BIGINT)'),
      /permission denied to create temporary tables/,
    );
  });

  it('SMSP-AUDIT-009 a TEMP audit_event with a trigger, as the gateway role, gains nothing: still no UPDATE, DELETE or TRUNCATE, triggers on', async () => {
    // As if TEMP could not be revoked (a database the schema owner does not own): the function alone must hold.
    const dbName = new URL(db.gatewayUrl).pathname.slice(1);
    await sqlAs(POSTGRES_URL, `GRANT TEMPORARY ON DATABASE ${dbName} TO ${db.gatewayRole}`);
    try {
      await sqlAs(db.gatewayUrl, attack(db.gatewayRole)).catch(() => {});
    } finally {
      await sqlAs(POSTGRES_URL, `REVOKE TEMPORARY ON DATABASE ${dbName} FROM ${db.gatewayRole}`);
    }
    const privileges = await sqlAs<{ u: boolean; d: boolean; t: boolean }>(
      db.ownerUrl,
      `SELECT has_table_privilege($1, 'public.audit_event', 'UPDATE') AS u, has_table_privilege($1, 'public.audit_event', 'DELETE') AS d, has_table_privilege($1, 'public.audit_event', 'TRUNCATE') AS t`,
      [db.gatewayRole],
    );
    assert.deepEqual(privileges, [{ u: false, d: false, t: false }]);
    const disabled = await sqlAs(
      db.ownerUrl,
      `SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.audit_event'::regclass AND NOT tgisinternal AND tgenabled = 'D'`,
    );
    assert.deepEqual(disabled, [], 'the append-only triggers are still enabled');
    for (const sql of ['UPDATE audit_event SET "userId" = \'x\'', 'DELETE FROM audit_event', 'TRUNCATE audit_event']) {
      await assert.rejects(sqlAs(db.gatewayUrl, sql), /permission denied/, sql);
    }
    assert.deepEqual(await sqlAs(db.gatewayUrl, 'SELECT "outcomeCode" FROM audit_event WHERE seq = 1'), [
      { outcomeCode: 'SUCCESS' },
    ]);
    assert.deepEqual(
      await sqlAs(db.gatewayUrl, 'SELECT "eventType" FROM audit_event WHERE seq = 2'),
      [{ eventType: 'outcome-erasure' }],
      'the attack ran through the function to its end',
    );
  });
});
