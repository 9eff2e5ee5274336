/**
 * @module test/audit/audit-postgres-erase-record
 * FGMISQR009 and SMSP-AUDIT-009 over a real PostgreSQL (127.0.0.1:5432), connected as the
 * gateway's role exactly as someone holding its credentials with psql would be: the erasure
 * function is the role's only way to change a record, and it clears nothing without appending the
 * run's own record, so every cleared outcome is accounted for in the chain. The oracle is verify
 * (and the rows as the database holds them), never the store's own return values.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../gateway/audit/audit-event.ts';
import {
  eraseOutcomesPostgres,
  migratePostgres,
  MIGRATIONS,
  openPostgresAuditStore,
  postgresPool,
} from '../../gateway/audit/postgres-store.ts';
import { openAuditTrail } from '../../gateway/audit/trail.ts';
import type { GatewayConfig } from '../../gateway/config/config.ts';
import { callEraseFunction } from '../helpers/erase-call.ts';
import { sqlAs, testDatabase, type TestDatabase } from '../helpers/services.ts';

const KEY = randomBytes(32);
const query = (i: number, outcomeEraseOn: string): AuditEvent => ({
  time: '2026-01-05T10:00:00.000Z',
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: 'epr',
  userId: 'ajones',
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: `m${i}`,
  spineResponseId: null,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  detail: null,
  outcomeEraseOn,
});

async function verifyAt(url: string, now: string) {
  const trail = await openAuditTrail(
    { audit: { postgresUrl: url } } as unknown as GatewayConfig,
    KEY,
    () => new Date(now),
  );
  try {
    return await trail.verify();
  } finally {
    await trail.close();
  }
}

/** A fresh schema, migrated and granted, holding `events`. */
async function trailWith(events: AuditEvent[]): Promise<TestDatabase> {
  const db = await testDatabase();
  const owner = postgresPool(db.ownerUrl, 1);
  await migratePostgres(owner, db.gatewayRole).finally(() => owner.end());
  const store = await openPostgresAuditStore(db.gatewayUrl, KEY);
  await Promise.all(events.map((e) => store.record(e)));
  await store.close();
  return db;
}

const held = async (url: string) =>
  (
    await sqlAs<{ n: number }>(
      url,
      `SELECT count(*)::int AS n FROM audit_event WHERE "outcomeCode" IS NOT NULL AND "eventType" = 'widget-query'`,
    )
  )[0]!.n;

describe('FGMISQR009 SMSP-AUDIT-009 PostgreSQL: the gateway role cannot erase an outcome without its record', () => {
  let db: TestDatabase;
  // Record 1 is due (June 2026, before the database's real clock), record 2 not until 2999.
  before(async () => (db = await trailWith([query(1, '2026-06-01'), query(2, '2999-01-01')])));
  after(() => db?.drop());

  it('FGMISQR009 SMSP-AUDIT-009 a direct call without a true record is refused and clears nothing; UPDATE, DELETE and TRUNCATE stay refused', async () => {
    const time = '2026-06-01T02:00:00.000Z';
    const refused: [string, () => Promise<unknown>, RegExp][] = [
      [
        'the version 3 call, a date and no record',
        () => sqlAs(db.gatewayUrl, `SELECT * FROM audit_erase_outcomes('2999-12-31'::text)`),
        /function audit_erase_outcomes\(text\) does not exist/,
      ],
      [
        'no record at all',
        () => sqlAs(db.gatewayUrl, `SELECT * FROM audit_erase_outcomes('{}'::jsonb)`),
        /must bring its outcome-erasure record/,
      ],
      [
        "a record off the chain's head",
        () => callEraseFunction(db.gatewayUrl, { time, through: '2026-06-01', seqs: [1], seqOffset: 5 }),
        /chained to the newest record/,
      ],
      [
        'a record that counts none of what it clears',
        () => callEraseFunction(db.gatewayUrl, { time, through: '2026-06-01', seqs: [1], records: 0 }),
        /counts 0 records but 1/,
      ],
      [
        'a record naming one not yet due',
        () => callEraseFunction(db.gatewayUrl, { time, through: '2999-12-31', seqs: [2], records: 0 }),
        /names a record whose outcome is not due/,
      ],
      [
        "a record dated before the outcome's date",
        () => callEraseFunction(db.gatewayUrl, { time: '2026-05-31T12:00:00.000Z', through: '2026-06-01', seqs: [1] }),
        /counts 1 records but 0/,
      ],
    ];
    // One at a time: each is refused on its own, against the same untouched trail.
    for (const [what, call, error] of refused) await assert.rejects(call(), error, what);
    for (const sql of [
      'UPDATE audit_event SET "outcomeCode" = NULL',
      'DELETE FROM audit_event',
      'TRUNCATE audit_event',
    ]) {
      await assert.rejects(sqlAs(db.gatewayUrl, sql), /permission denied/, sql);
    }
    assert.deepEqual(
      await sqlAs(db.gatewayUrl, 'SELECT seq::int AS seq, "outcomeCode" FROM audit_event ORDER BY seq'),
      [
        { seq: 1, outcomeCode: 'SUCCESS' },
        { seq: 2, outcomeCode: 'SUCCESS' },
      ],
    );
    assert.deepEqual(await verifyAt(db.gatewayUrl, '2026-06-01T12:00:00Z'), { ok: true, records: 2, anchors: 0 });
  });

  it('FGMISQR009 SMSP-AUDIT-009 a direct call with a record made without the audit key clears only with that record in the chain, and verify names it', async () => {
    const fresh = await trailWith([query(1, '2026-06-01')]);
    try {
      assert.deepEqual(
        await callEraseFunction(fresh.gatewayUrl, {
          time: '2026-06-01T02:00:00.000Z',
          through: '2026-06-01',
          seqs: [1],
        }),
        [1],
      );
      assert.deepEqual(
        await sqlAs(
          fresh.gatewayUrl,
          'SELECT seq::int AS seq, "eventType", "outcomeCode" FROM audit_event ORDER BY seq',
        ),
        [
          { seq: 1, eventType: 'widget-query', outcomeCode: null },
          { seq: 2, eventType: 'outcome-erasure', outcomeCode: 'SUCCESS' },
        ],
      );
      const verified = await verifyAt(fresh.gatewayUrl, '2026-06-01T12:00:00Z');
      assert.deepEqual({ ok: verified.ok, seq: (verified as { seq?: number }).seq }, { ok: false, seq: 2 });
      assert.match(JSON.stringify(verified), /does not match its hash \(record altered\)/);
    } finally {
      await fresh.drop();
    }
  });

  it('FGMISQR009 a direct call as the gateway role with the record made with the audit key leaves a record verify accepts', async () => {
    assert.deepEqual(
      await callEraseFunction(db.gatewayUrl, {
        time: '2026-06-01T02:00:00.000Z',
        through: '2026-06-01',
        seqs: [1],
        key: KEY,
      }),
      [1],
    );
    assert.deepEqual(
      await sqlAs(db.gatewayUrl, 'SELECT seq::int AS seq, "eventType", "outcomeCode" FROM audit_event ORDER BY seq'),
      [
        { seq: 1, eventType: 'widget-query', outcomeCode: null },
        { seq: 2, eventType: 'widget-query', outcomeCode: 'SUCCESS' },
        { seq: 3, eventType: 'outcome-erasure', outcomeCode: 'SUCCESS' },
      ],
    );
    assert.deepEqual(await verifyAt(db.gatewayUrl, '2026-06-01T12:00:00Z'), { ok: true, records: 3, anchors: 0 });
  });

  it('FGMISQR009 an outcome cleared on its date with no erasure record (the owner, triggers off) is named by verify', async () => {
    const fresh = await trailWith([query(1, '2026-06-01'), query(2, '2026-06-01')]);
    try {
      await sqlAs(
        fresh.ownerUrl,
        `ALTER TABLE audit_event DISABLE TRIGGER USER; UPDATE audit_event SET "outcomeCode" = NULL, "httpStatus" = NULL, "outcomeSalt" = NULL WHERE seq = 2; ALTER TABLE audit_event ENABLE TRIGGER USER`,
      );
      assert.deepEqual(await verifyAt(fresh.gatewayUrl, '2026-06-01T12:00:00Z'), {
        ok: false,
        seq: 2,
        reason:
          'its outcome was removed without an erasure record on or after its erasure date 2026-06-01 (erased early, or outside an erasure run)',
      });
    } finally {
      await fresh.drop();
    }
  });
});

describe('FGMISQR009 PostgreSQL: a large erasure goes in whole batches', () => {
  it('FGMISQR009 2500 due outcomes clear in batches, each with its record; a failure in the second keeps the first whole and the rest untouched; the next run finishes; verify intact throughout', async () => {
    const events = Array.from({ length: 2500 }, (_, i) => query(i + 1, '2026-06-01'));
    const db = await trailWith([...events, query(2501, '2999-01-01')]);
    const gateway = postgresPool(db.gatewayUrl, 1);
    const plan = (time: string) => ({ time, orgCode: 'RX1', requestId: `erase-${time}`, archives: [] });
    const erasures = () =>
      sqlAs<{ seq: number; detail: string }>(
        db.gatewayUrl,
        `SELECT seq::int AS seq, detail FROM audit_event WHERE "eventType" = 'outcome-erasure' ORDER BY seq`,
      );
    try {
      // The second batch's record is refused (injected as the owner): the first batch stays committed, whole.
      await sqlAs(
        db.ownerUrl,
        `CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT 1 FROM audit_event WHERE "eventType" = 'outcome-erasure') THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER inject_failure BEFORE INSERT ON audit_event FOR EACH ROW WHEN (NEW."eventType" = 'outcome-erasure') EXECUTE FUNCTION inject_failure()`,
      );
      await assert.rejects(
        eraseOutcomesPostgres(gateway, KEY, '2026-06-01', plan('2026-06-01T02:00:00.000Z'), 1000),
        /injected failure/,
      );
      assert.equal(await held(db.gatewayUrl), 1501, '1000 cleared, 1500 due and the one not due still held');
      const first = await erasures();
      assert.equal(first.length, 1);
      assert.equal(JSON.parse(first[0]!.detail).erasedOutcomes.records, 1000);
      assert.deepEqual(await verifyAt(db.gatewayUrl, '2026-06-01T12:00:00Z'), { ok: true, records: 2502, anchors: 0 });

      await sqlAs(db.ownerUrl, 'DROP TRIGGER inject_failure ON audit_event');
      assert.equal(
        (await eraseOutcomesPostgres(gateway, KEY, '2026-06-01', plan('2026-06-01T03:00:00.000Z'), 1000)).length,
        1500,
      );
      assert.equal(await held(db.gatewayUrl), 1, 'only the record not yet due holds its outcome');
      assert.deepEqual(
        (await erasures()).map((r) => JSON.parse(r.detail).erasedOutcomes.records),
        [1000, 1000, 500],
      );
      assert.deepEqual(await verifyAt(db.gatewayUrl, '2026-06-01T12:00:00Z'), { ok: true, records: 2504, anchors: 0 });
    } finally {
      await gateway.end();
      await db.drop();
    }
  });
});

describe('FGMISQR009 PostgreSQL: schema version 3 upgrades to the self-recording erasure', () => {
  it('FGMISQR009 SMSP-AUDIT-009 migrate-postgres (no --grant) replaces the version 3 function and carries its grant over: the gateway role still erases, only with a record', async () => {
    const db = await testDatabase();
    try {
      // The schema as version 3 left it, the gateway role granted what version 3 granted.
      const v3 = MIGRATIONS.filter((m) => m.version <= 3)
        .map((m) => (typeof m.sql === 'string' ? m.sql : m.sql('"public"')))
        .join('\n');
      await sqlAs(
        db.ownerUrl,
        `CREATE TABLE audit_schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now()); ${v3} INSERT INTO audit_schema_version (version) VALUES (1), (2), (3);
        GRANT SELECT, INSERT ON audit_event TO ${db.gatewayRole}; GRANT SELECT ON audit_schema_version TO ${db.gatewayRole}; GRANT EXECUTE ON FUNCTION audit_erase_outcomes(TEXT) TO ${db.gatewayRole}`,
      );
      const owner = postgresPool(db.ownerUrl, 1);
      assert.deepEqual(await migratePostgres(owner).finally(() => owner.end()), [4, 5]);
      const rights = await sqlAs(
        db.ownerUrl,
        `SELECT to_regprocedure('audit_erase_outcomes(text)') IS NULL AS gone, has_function_privilege($1, 'audit_erase_outcomes(jsonb)', 'EXECUTE') AS granted, has_function_privilege('public', 'audit_erase_outcomes(jsonb)', 'EXECUTE') AS public`,
        [db.gatewayRole],
      );
      assert.deepEqual(rights, [{ gone: true, granted: true, public: false }]);
      const store = await openPostgresAuditStore(db.gatewayUrl, KEY);
      await store.record(query(1, '2026-06-01'));
      assert.deepEqual(
        await store.eraseOutcomes('2026-06-01', {
          time: '2026-06-01T02:00:00.000Z',
          orgCode: 'RX1',
          requestId: 'erase',
          archives: [],
        }),
        [1],
      );
      await store.close();
      assert.deepEqual(await verifyAt(db.gatewayUrl, '2026-06-01T12:00:00Z'), { ok: true, records: 2, anchors: 0 });
    } finally {
      await db.drop();
    }
  });
});
