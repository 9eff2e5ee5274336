import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig } from '../config/config.ts';
import { sqlAs, testDatabase, type TestDatabase } from '../../test/helpers/services.ts';
import type { AuditEvent } from './audit-event.ts';
import { migratePostgres, openPostgresAuditStore, postgresPool } from './postgres-store.ts';
import { openAuditTrail } from './trail.ts';

const KEY = randomBytes(32);
const event = (requestId: string, over: Partial<AuditEvent> = {}): AuditEvent => ({
  time: new Date().toISOString(),
  eventType: 'widget-query',
  requestId,
  clientMessageId: requestId,
  clientId: 'epr',
  userId: 'ajones',
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: null,
  spineResponseId: null,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  detail: null,
  outcomeEraseOn: '2032-01-15',
  ...over,
});
const configFor = (url: string) => ({ audit: { postgresUrl: url, hmacKeyFile: 'unused' } }) as unknown as GatewayConfig;
// Base64 of random bytes: PostgreSQL cannot compress it below its B-tree limit (2704 bytes an index entry).
const huge = () => randomBytes(6000).toString('base64');

describe('PostgreSQL group commit: no record fails another', () => {
  let db: TestDatabase;
  before(async () => {
    db = await testDatabase();
    const owner = postgresPool(db.ownerUrl, 1);
    await migratePostgres(owner, db.gatewayRole);
    await owner.end();
  });
  after(() => db?.drop());

  it('SMSP-AUDIT-004 an 8 KB uncompressible value in each indexed field is stored beside an innocent record of the same commit, found by search, and verifies', async () => {
    const store = await openPostgresAuditStore(db.gatewayUrl, KEY);
    const values = {
      userId: huge(),
      nhsNumber: huge(),
      requestId: huge(),
      clientMessageId: huge(),
      spineMessageId: huge(),
    };
    try {
      await store.record(event('first'));
      // Issued together while the first commits: one group commit holds them all.
      await Promise.all([
        ...Object.entries(values).map(([field, v]) =>
          store.record(event(field === 'requestId' ? v : `long-${field}`, { [field]: v })),
        ),
        store.record(event('innocent')),
      ]);
      assert.deepEqual(store.health(), { ok: true });
    } finally {
      await store.close();
    }
    const trail = await openAuditTrail(configFor(db.gatewayUrl), KEY);
    try {
      assert.equal((await trail.search({ userId: values.userId })).length, 1);
      assert.equal((await trail.search({ nhsNumber: values.nhsNumber })).length, 1);
      for (const m of [values.requestId, values.clientMessageId, values.spineMessageId])
        assert.equal((await trail.search({ messageId: m })).length, 1);
      assert.deepEqual(await trail.verify(), { ok: true, records: 7, anchors: 0 });
    } finally {
      await trail.close();
    }
  });

  it('SMSP-AUDIT-005 a record PostgreSQL refuses fails alone: the others of its group commit are stored, chained in order, and the store stays healthy', async () => {
    const store = await openPostgresAuditStore(db.gatewayUrl, KEY);
    try {
      await store.record(event('before'));
      const first = store.record(event('head-of-batch'));
      // A record the table's NOT NULL refuses (SQLSTATE 23502), between two innocent ones of the same commit.
      const [a, bad, b] = await Promise.allSettled([
        store.record(event('innocent-a')),
        store.record(event(null as unknown as string)),
        store.record(event('innocent-b')),
      ]);
      await first;
      assert.equal(a.status, 'fulfilled');
      assert.equal(b.status, 'fulfilled');
      assert.equal(bad.status, 'rejected');
      assert.match(
        ((bad as PromiseRejectedResult).reason as Error).message,
        /^audit write failed: null value in column "requestId"/,
      );
      assert.deepEqual(store.health(), { ok: true }, '/healthz stays up: the store works, one record did not');
    } finally {
      await store.close();
    }
    const rows = await sqlAs<{ requestId: string }>(
      db.gatewayUrl,
      'SELECT "requestId" FROM audit_event WHERE seq > 7 ORDER BY seq',
    );
    assert.deepEqual(
      rows.map((r) => r.requestId),
      ['before', 'head-of-batch', 'innocent-a', 'innocent-b'],
    );
    const trail = await openAuditTrail(configFor(db.gatewayUrl), KEY);
    try {
      assert.deepEqual(await trail.verify(), { ok: true, records: 11, anchors: 0 });
    } finally {
      await trail.close();
    }
  });
});
