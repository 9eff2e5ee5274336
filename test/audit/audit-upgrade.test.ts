/**
 * Existing trails upgrade (FGMISQR009's schema version 2): a SQLite file and a PostgreSQL trail
 * written by the gateway before the outcome digest — test/fixtures/, made by main's own
 * sqlite-store.ts and postgres-store.ts at commit 30f9a8d — migrate in place, keep verifying
 * record for record, and chain on with version 2 records whose outcomes the erasure may clear.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditEvent } from '../../gateway/audit/audit-event.ts';
import { eraseOutcomesSqlite } from '../../gateway/audit/erasure.ts';
import {
  migratePostgres,
  MIGRATIONS,
  openPostgresAuditStore,
  postgresPool,
} from '../../gateway/audit/postgres-store.ts';
import { openSqliteAuditStore } from '../../gateway/audit/sqlite-store.ts';
import { openAuditTrail } from '../../gateway/audit/trail.ts';
import type { GatewayConfig } from '../../gateway/config/config.ts';
import { sqlAs, testDatabase } from '../helpers/services.ts';

const fixture = (f: string) => new URL(`../fixtures/${f}`, import.meta.url);
const PG_FIXTURE = JSON.parse(readFileSync(fixture('audit-trail-main-v1.postgres.json'), 'utf8')) as {
  hmacKey: string;
  rows: Record<string, unknown>[];
};
/** The key main's code chained the fixtures with. */
const KEY = Buffer.from('fixture-hmac-key-written-by-main-0123456789');
/** The erasure run's record, appended with the clearing (erasure-record.ts). */
const ERASURE = { time: '2026-06-01T12:00:00.000Z', orgCode: 'RX1', requestId: 'erase-1', archives: [] };
const later = (i: number): AuditEvent => ({
  time: `2026-04-0${i}T09:00:00.000Z`,
  eventType: 'widget-query',
  requestId: `new-${i}`,
  clientMessageId: `new-${i}`,
  clientId: 'epr',
  userId: 'bsmith',
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: null,
  spineResponseId: null,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  outcomeEraseOn: '2026-06-01',
});

describe('the audit trail upgrades to schema version 2 and still verifies (FGMISQR009)', () => {
  it('FGMISQR009 SQLite: a trail written by the previous gateway migrates, verifies, chains on, and only new records are erasable', async () => {
    assert.equal(PG_FIXTURE.hmacKey, KEY.toString());
    const dir = mkdtempSync(join(tmpdir(), 'fgm-upgrade-'));
    try {
      const file = join(dir, 'audit.sqlite');
      copyFileSync(fixture('audit-trail-main-v1.sqlite'), file);
      const config = { audit: { sqliteFile: file, hmacKeyFile: 'unused' } } as unknown as GatewayConfig;
      const store = await openSqliteAuditStore(file, KEY);
      await store.record(later(1));
      await store.record(later(2));
      await store.close();
      const db = new Database(file, { readonly: true });
      assert.equal(db.pragma('user_version', { simple: true }), 2);
      assert.deepEqual(
        (
          db.prepare('SELECT seq, outcomeDigest IS NOT NULL AS v2 FROM audit_event ORDER BY seq').all() as {
            seq: number;
            v2: number;
          }[]
        ).map((r) => r.v2),
        [0, 0, 0, 1, 1],
      );
      db.close();
      const trail = await openAuditTrail(config, KEY, () => new Date('2026-06-01T12:00:00Z'));
      try {
        assert.deepEqual(await trail.verify(), { ok: true, records: 5, anchors: 0 });
        assert.deepEqual(
          eraseOutcomesSqlite(file, KEY, '2026-06-01', ERASURE),
          [4, 5],
          'the records written before the upgrade carry no erasure date',
        );
        assert.deepEqual(await trail.verify(), { ok: true, records: 6, anchors: 0 }, 'the erasure record is the sixth');
        assert.equal(
          (await trail.search({ userId: 'caf\u00e9 \ud83d\ude00' })).length,
          1,
          'the old records are still found',
        );
      } finally {
        await trail.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('FGMISQR009 PostgreSQL: a version 1 trail written by the previous gateway migrates as its owner, verifies, and chains on', async () => {
    const db = await testDatabase();
    try {
      // The schema as the previous gateway left it: version 1 applied, its rows.
      await sqlAs(
        db.ownerUrl,
        `CREATE TABLE audit_schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now()); ${MIGRATIONS[0]!.sql} INSERT INTO audit_schema_version (version) VALUES (1)`,
      );
      await sqlAs(
        db.ownerUrl,
        `GRANT SELECT, INSERT ON audit_event TO ${db.gatewayRole}; GRANT SELECT ON audit_schema_version TO ${db.gatewayRole}`,
      );
      for (const row of PG_FIXTURE.rows) {
        const cols = Object.keys(row);
        await sqlAs(
          db.ownerUrl,
          `INSERT INTO audit_event (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
          Object.values(row),
        );
      }
      // The gateway's role cannot upgrade it; the owner can.
      await assert.rejects(openPostgresAuditStore(db.gatewayUrl, KEY), /version 1 of 5/);
      const owner = postgresPool(db.ownerUrl, 1);
      assert.deepEqual(await migratePostgres(owner, db.gatewayRole).finally(() => owner.end()), [2, 3, 4, 5]);
      const store = await openPostgresAuditStore(db.gatewayUrl, KEY);
      await store.record(later(1));
      await store.close();
      const trail = await openAuditTrail(
        { audit: { postgresUrl: db.gatewayUrl, hmacKeyFile: 'unused' } } as unknown as GatewayConfig,
        KEY,
        () => new Date('2026-06-01T12:00:00Z'),
      );
      try {
        assert.deepEqual(await trail.verify(), { ok: true, records: 4, anchors: 0 });
        assert.deepEqual(await trail.eraseOutcomes('2026-06-01', ERASURE), [4]);
        assert.deepEqual(await trail.verify(), { ok: true, records: 5, anchors: 0 }, 'the erasure record is the fifth');
      } finally {
        await trail.close();
      }
    } finally {
      await db.drop();
    }
  });
});
