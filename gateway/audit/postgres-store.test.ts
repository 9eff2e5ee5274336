import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import type { GatewayConfig } from '../config/config.ts';
import { sqlAs, testDatabase, type TestDatabase } from '../../test/helpers/services.ts';
import type { AuditEvent } from './audit-event.ts';
import { createHmac } from 'node:crypto';
import type { AuditRow } from './chain.ts';
import { migratePostgres, openPostgresAuditStore, postgresPool, SCHEMA_VERSION } from './postgres-store.ts';
import { openAuditTrail } from './trail.ts';

const KEY = randomBytes(32);
const event = (i: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  time: new Date(Date.UTC(2026, 3, 1, 14, 0, i)).toISOString(),
  eventType: 'widget-query',
  requestId: `req-${i}`,
  clientMessageId: `msg-${i}`,
  clientId: i % 2 ? 'epr' : 'chs',
  userId: `user-${i % 3}`,
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: `spine-${i}`,
  spineResponseId: null,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  detail: null,
  ...over,
});
const configFor = (url: string) => ({ audit: { postgresUrl: url, hmacKeyFile: 'unused' } }) as unknown as GatewayConfig;

describe('PostgreSQL audit store', () => {
  let db: TestDatabase;
  before(async () => {
    db = await testDatabase();
    const owner = postgresPool(db.ownerUrl, 1);
    await migratePostgres(owner, db.gatewayRole);
    await owner.end();
  });
  after(() => db?.drop());

  it('SMSP-AUDIT-009 two gateways appending at once keep one gap-free chain that verifies (no fork)', async () => {
    const [a, b] = await Promise.all([
      openPostgresAuditStore(db.gatewayUrl, KEY),
      openPostgresAuditStore(db.gatewayUrl, KEY),
    ]);
    await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).record(event(i))));
    await Promise.all([a.close(), b.close()]);
    // Independent oracle: recompute every link from the stored rows with the key, not through the store.
    const rows = await sqlAs<AuditRow>(db.gatewayUrl, 'SELECT * FROM audit_event ORDER BY seq');
    assert.equal(rows.length, 200);
    // The version 2 formula written out by hand: the chained columns in table order, the outcome only through its salted digest.
    const chained = [
      'time',
      'eventType',
      'requestId',
      'clientMessageId',
      'clientId',
      'userId',
      'roleProfileId',
      'localRoles',
      'orgCode',
      'nhsNumber',
      'spineMessageId',
      'spineResponseId',
      'answeredBySpine',
      'detail',
      'outcomeDigest',
      'outcomeEraseOn',
    ] as const;
    const hmac = (parts: unknown[]) => createHmac('sha256', KEY).update(JSON.stringify(parts)).digest('hex');
    let prev = '0'.repeat(64);
    rows.forEach((r, i) => {
      assert.equal(Number(r.seq), i + 1, 'gap-free');
      assert.equal(r.prevHash, prev, `record ${i + 1} links to the one before`);
      assert.equal(hmac(['fgm-audit/2', i + 1, ...chained.map((c) => r[c]), r.prevHash]), r.hash);
      assert.equal(hmac(['fgm-audit/outcome', i + 1, r.outcomeSalt, 'SUCCESS', 200]), r.outcomeDigest);
      prev = r.hash;
    });
    assert.deepEqual(new Set(rows.map((r) => r.requestId)).size, 200);
    const trail = await openAuditTrail(configFor(db.gatewayUrl), KEY);
    assert.deepEqual(await trail.verify(), { ok: true, records: 200, anchors: 0 });
    await trail.close();
  });

  it('SMSP-AUDIT-007 search, throughput and head work as on SQLite', async () => {
    const trail = await openAuditTrail(configFor(db.gatewayUrl), KEY);
    try {
      const ids = async (q: Parameters<typeof trail.search>[0]) =>
        (await trail.search(q)).map((r) => r.requestId).sort();
      assert.deepEqual(await ids({ messageId: 'spine-7' }), ['req-7']);
      assert.deepEqual(await ids({ messageId: 'msg-8' }), ['req-8']);
      assert.equal((await trail.search({ userId: 'user-1' })).length, 67);
      assert.equal(
        (
          await trail.search({
            clientId: 'epr',
            from: new Date('2026-04-01T14:00:10Z'),
            to: new Date('2026-04-01T16:00:12+02:00'),
          })
        ).length,
        1,
      );
      assert.equal((await trail.search({ limit: 5, afterSeq: 10 }))[0]!.seq, 11);
      // 200 events one second apart from 14:00:00 UTC: all in hour 15 UK time (BST).
      assert.deepEqual(await trail.throughput('2026-04-01'), {
        date: '2026-04-01',
        total: 200,
        peakHour: '15',
        peakHourCount: 200,
      });
      assert.deepEqual(await trail.throughput('2026-04-01', { clientId: 'chs', orgCode: 'RX1' }), {
        date: '2026-04-01',
        total: 100,
        peakHour: '15',
        peakHourCount: 100,
      });
      assert.equal(
        (await trail.throughput('2026-04-01', { clientId: 'chs', orgCode: 'RYJ' })).total,
        0,
        "SMSP-IG-001 another organisation's auditor counts none",
      );
      assert.equal((await trail.search({ clientId: 'chs', orgCode: 'RYJ' })).length, 0);
      assert.equal((await trail.head())?.seq, 200);
    } finally {
      await trail.close();
    }
  });

  it('SMSP-AUDIT-009 UPDATE, DELETE and TRUNCATE as the gateway role are refused by PostgreSQL', async () => {
    for (const sql of [
      'UPDATE audit_event SET "userId" = \'x\' WHERE seq = 1',
      'DELETE FROM audit_event WHERE seq = 1',
      'TRUNCATE audit_event',
    ]) {
      await assert.rejects(sqlAs(db.gatewayUrl, sql), /permission denied/, sql);
    }
    // The owner is refused too, by the triggers.
    for (const sql of [
      'UPDATE audit_event SET "userId" = \'x\' WHERE seq = 1',
      'DELETE FROM audit_event WHERE seq = 1',
      'TRUNCATE audit_event',
    ]) {
      await assert.rejects(
        sqlAs(db.ownerUrl, sql),
        /append-only/,
        `${sql} as the owner (rows exist: the first test wrote 200)`,
      );
    }
    assert.equal((await sqlAs<{ n: number }>(db.gatewayUrl, 'SELECT count(*)::int AS n FROM audit_event'))[0]!.n, 200);
  });

  it('SMSP-AUDIT-009 an edit made by the owner (triggers disabled) is named by verify', async () => {
    await sqlAs(
      db.ownerUrl,
      `ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete; UPDATE audit_event SET "nhsNumber" = '9990000026' WHERE seq = 57; ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete`,
    );
    const trail = await openAuditTrail(configFor(db.gatewayUrl), KEY);
    assert.deepEqual(await trail.verify(), {
      ok: false,
      seq: 57,
      reason: 'its content does not match its hash (record altered)',
    });
    await trail.close();
  });

  it('SMSP-AUDIT-007 a search value holding NUL or a lone surrogate finds the record stored for it, never a PostgreSQL error', async () => {
    const store = await openPostgresAuditStore(db.gatewayUrl, KEY);
    await store.record(event(900, { userId: 'nul\u0000user', clientMessageId: 'lone\ud800id' }));
    await store.close();
    const trail = await openAuditTrail(configFor(db.gatewayUrl), KEY);
    try {
      assert.deepEqual(
        (await trail.search({ userId: 'nul\u0000user' })).map((r) => r.userId),
        ['nul\ufffduser'],
      );
      assert.deepEqual(
        (await trail.search({ messageId: 'lone\ud800id' })).map((r) => r.clientMessageId),
        ['lone\ufffdid'],
      );
      assert.deepEqual(
        await trail.search({ orgCode: 'R\u0000X1' }),
        [],
        'an organisation code with NUL finds nothing (it was a PostgreSQL encoding error)',
      );
    } finally {
      await trail.close();
    }
  });

  it(`the schema is versioned: a current schema is left alone (version ${SCHEMA_VERSION}), and a gateway role cannot create one`, async () => {
    const owner = postgresPool(db.ownerUrl, 1);
    assert.deepEqual(await migratePostgres(owner), []);
    await owner.end();
    const fresh = await testDatabase();
    try {
      await assert.rejects(
        openPostgresAuditStore(fresh.gatewayUrl, KEY),
        /version 0 of 5 and this role cannot upgrade it.*cli\.js migrate-postgres/,
      );
    } finally {
      await fresh.drop();
    }
  });
});

describe('PostgreSQL owner pool for the command line (retain, VACUUM, migrations)', () => {
  it('SMSP-AUDIT-001 the owner pool has no client query timeout; the gateway pool keeps its 5 s deadline', async () => {
    const { ownerPostgresPool } = await import('./postgres-store.ts');
    const db = await testDatabase();
    const owner = ownerPostgresPool(db.ownerUrl);
    const gateway = postgresPool(db.gatewayUrl, 1);
    try {
      const opts = (p: pg.Pool) => (p as unknown as { options: Record<string, unknown> }).options;
      assert.equal('query_timeout' in opts(owner), false);
      assert.equal(opts(gateway).query_timeout, 5000);
      // A real connection: each pool reaches the server, and the owner's session carries no statement timeout of its own either.
      assert.deepEqual((await owner.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows, [
        { statement_timeout: '0' },
      ]);
      assert.equal((await gateway.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n, 1);
    } finally {
      await owner.end();
      await gateway.end();
      await db.drop();
    }
  });
});
