/**
 * @module test/audit/audit-erasure-record
 * FGMISQR009 on real SQLite files and a real PostgreSQL (127.0.0.1:5432): every cleared outcome
 * must be named by an erasure run's record dated on or after its erasure date, so an outcome
 * cleared early (by hand) is still named by verify after that date has passed; and the run's
 * record is written in the transaction that clears, so a failure between the two (injected here
 * as a trigger refusing the record's INSERT) leaves neither.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditEvent } from '../../gateway/audit/audit-event.ts';
import type { ErasurePlan } from '../../gateway/audit/erasure-record.ts';
import { migratePostgres, openPostgresAuditStore, postgresPool } from '../../gateway/audit/postgres-store.ts';
import { openSqliteAuditStore } from '../../gateway/audit/sqlite-store.ts';
import { openAuditTrail } from '../../gateway/audit/trail.ts';
import type { GatewayConfig } from '../../gateway/config/config.ts';
import { sqlAs, testDatabase } from '../helpers/services.ts';

const KEY = randomBytes(32);
const dir = mkdtempSync(join(tmpdir(), 'fgm-erasure-record-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const query = (i: number, outcomeEraseOn: string): AuditEvent => ({
  time: `2026-01-0${i}T10:00:00.000Z`,
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
const run = (time: string): ErasurePlan => ({ time, orgCode: 'RX1', requestId: `erase-${time}`, archives: [] });
const early = (seq: number, date: string) => ({
  ok: false,
  seq,
  reason: `its outcome was removed without an erasure record on or after its erasure date ${date} (erased early, or outside an erasure run)`,
});
const sqliteTrail = (file: string, now: string) =>
  openAuditTrail({ audit: { sqliteFile: file } } as unknown as GatewayConfig, KEY, () => new Date(now));
const pgTrail = (url: string, now: string) =>
  openAuditTrail({ audit: { postgresUrl: url } } as unknown as GatewayConfig, KEY, () => new Date(now));

async function verifyAt(open: () => ReturnType<typeof sqliteTrail>) {
  const trail = await open();
  try {
    return await trail.verify();
  } finally {
    await trail.close();
  }
}

describe('FGMISQR009 SQLite: the erasure run is recorded with what it cleared, atomically', () => {
  it('FGMISQR009 an outcome cleared early by hand is named by verify after its erasure date has passed', async () => {
    const file = join(dir, 'early.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    await store.record(query(1, '2026-06-01'));
    await store.record(query(2, '2030-01-01'));
    await store.close();
    // The trigger lets the erasable columns be cleared (it cannot know today's date): here a hand edit, on 1 June 2026, of a record due in 2030.
    const db = new Database(file);
    db.prepare('UPDATE audit_event SET outcomeCode = NULL, httpStatus = NULL, outcomeSalt = NULL WHERE seq = 2').run();
    db.close();
    const later = await openSqliteAuditStore(file, KEY);
    assert.deepEqual(await later.eraseOutcomes('2026-06-01', run('2026-06-01T02:00:00.000Z')), [1]);
    await later.close();
    assert.match(
      JSON.stringify(await verifyAt(() => sqliteTrail(file, '2026-06-02T12:00:00Z'))),
      /removed before its erasure date 2030-01-01/,
      'before its date: named as today',
    );
    assert.deepEqual(
      await verifyAt(() => sqliteTrail(file, '2030-02-01T12:00:00Z')),
      early(2, '2030-01-01'),
      'after its date: still named',
    );
  });

  it('FGMISQR009 outcomes cleared by runs on their dates verify after those dates', async () => {
    const file = join(dir, 'on-time.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    await store.record(query(1, '2026-06-01'));
    await store.record(query(2, '2030-01-01'));
    assert.deepEqual(await store.eraseOutcomes('2026-06-01', run('2026-06-01T02:00:00.000Z')), [1]);
    assert.deepEqual(await store.eraseOutcomes('2030-01-01', run('2030-01-01T02:00:00.000Z')), [2]);
    assert.deepEqual(
      await store.eraseOutcomes('2030-01-02', run('2030-01-02T02:00:00.000Z')),
      [],
      'nothing due: no record',
    );
    await store.close();
    assert.deepEqual(await verifyAt(() => sqliteTrail(file, '2030-02-01T12:00:00Z')), {
      ok: true,
      records: 4,
      anchors: 0,
    });
  });

  it("FGMISQR009 a failure writing the run's record rolls back the clearing: neither happened", async () => {
    const file = join(dir, 'atomic.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    await store.record(query(1, '2026-06-01'));
    const db = new Database(file);
    db.exec(
      `CREATE TRIGGER inject_failure BEFORE INSERT ON audit_event WHEN NEW.eventType = 'outcome-erasure' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;`,
    );
    await assert.rejects(store.eraseOutcomes('2026-06-01', run('2026-06-01T02:00:00.000Z')), /injected failure/);
    assert.deepEqual(
      db.prepare('SELECT seq, eventType, outcomeCode FROM audit_event').all(),
      [{ seq: 1, eventType: 'widget-query', outcomeCode: 'SUCCESS' }],
      'the outcome is still there, and no record',
    );
    db.exec('DROP TRIGGER inject_failure');
    db.close();
    assert.deepEqual(
      await store.eraseOutcomes('2026-06-01', run('2026-06-01T03:00:00.000Z')),
      [1],
      'the next run clears and records it',
    );
    await store.close();
    assert.deepEqual(await verifyAt(() => sqliteTrail(file, '2026-06-02T12:00:00Z')), {
      ok: true,
      records: 2,
      anchors: 0,
    });
  });
});

describe('FGMISQR009 PostgreSQL: the erasure run is recorded with what it cleared, atomically', () => {
  it("FGMISQR009 an outcome cleared early by the owner is named after its date; a failure writing the run's record rolls back the clearing", async () => {
    const db = await testDatabase();
    try {
      const owner = postgresPool(db.ownerUrl, 1);
      await migratePostgres(owner, db.gatewayRole).finally(() => owner.end());
      const store = await openPostgresAuditStore(db.gatewayUrl, KEY);
      // Dates before the real clock's today: the erasure function refuses anything later.
      await store.record(query(1, '2026-06-01'));
      await store.record(query(2, '2026-11-01'));
      // The owner clears record 2 by hand (triggers off), as if a month early; the run of 1 October names record 1 only.
      await sqlAs(
        db.ownerUrl,
        `ALTER TABLE audit_event DISABLE TRIGGER USER; UPDATE audit_event SET "outcomeCode" = NULL, "httpStatus" = NULL, "outcomeSalt" = NULL WHERE seq = 2; ALTER TABLE audit_event ENABLE TRIGGER USER`,
      );
      assert.deepEqual(await store.eraseOutcomes('2026-10-01', run('2026-10-01T02:00:00.000Z')), [1]);
      assert.deepEqual(await verifyAt(() => pgTrail(db.gatewayUrl, '2026-11-20T12:00:00Z')), early(2, '2026-11-01'));

      await store.record(query(3, '2026-06-01'));
      await sqlAs(
        db.ownerUrl,
        `CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
        CREATE TRIGGER inject_failure BEFORE INSERT ON audit_event FOR EACH ROW WHEN (NEW."eventType" = 'outcome-erasure') EXECUTE FUNCTION inject_failure()`,
      );
      await assert.rejects(store.eraseOutcomes('2026-10-02', run('2026-10-02T02:00:00.000Z')), /injected failure/);
      const after = await sqlAs(
        db.ownerUrl,
        'SELECT seq::int AS seq, "eventType", "outcomeCode" FROM audit_event WHERE seq >= 3 ORDER BY seq',
      );
      assert.deepEqual(
        after,
        [
          { seq: 3, eventType: 'outcome-erasure', outcomeCode: 'SUCCESS' },
          { seq: 4, eventType: 'widget-query', outcomeCode: 'SUCCESS' },
        ],
        "record 4's outcome is still there, and no second run record",
      );
      await sqlAs(db.ownerUrl, 'DROP TRIGGER inject_failure ON audit_event');
      assert.deepEqual(
        await store.eraseOutcomes('2026-10-02', run('2026-10-02T03:00:00.000Z')),
        [4],
        'the next run clears and records it',
      );
      await store.close();
      assert.deepEqual(
        await verifyAt(() => pgTrail(db.gatewayUrl, '2026-11-20T12:00:00Z')),
        early(2, '2026-11-01'),
        'record 2 stays named',
      );
    } finally {
      await db.drop();
    }
  });
});
