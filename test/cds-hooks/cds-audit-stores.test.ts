/**
 * Both audit engines take the CDS Hooks interface's `cds-query` records: stored in the chain,
 * found by NHS number and counted in the throughput report like the other interfaces' queries.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../../gateway/audit/audit-event.ts';
import { migratePostgres, openPostgresAuditStore, postgresPool } from '../../gateway/audit/postgres-store.ts';
import { openSqliteAuditStore } from '../../gateway/audit/sqlite-store.ts';
import { openAuditTrail } from '../../gateway/audit/trail.ts';
import type { GatewayConfig } from '../../gateway/config/config.ts';
import { testDatabase } from '../helpers/services.ts';

const KEY = randomBytes(32);
const cdsEvent: AuditEvent = {
  time: '2026-04-01T14:00:00.000Z',
  eventType: 'cds-query',
  requestId: 'req-cds',
  clientMessageId: 'hook-1',
  clientId: 'epr-trust',
  userId: 'Practitioner/abc',
  roleProfileId: null,
  localRoles: null,
  orgCode: 'RYJ',
  nhsNumber: '9990000018',
  spineMessageId: 'spine-1',
  spineResponseId: 'resp-1',
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  detail: null,
};

async function check(config: GatewayConfig, store: { record(e: AuditEvent): Promise<void>; close(): Promise<void> }) {
  await store.record(cdsEvent);
  await store.close();
  const trail = await openAuditTrail(config, KEY);
  try {
    const rows = await trail.search({ nhsNumber: '9990000018' });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.eventType, 'cds-query');
    assert.equal(rows[0]!.clientMessageId, 'hook-1');
    assert.equal((await trail.throughput('2026-04-01')).total, 1, "counted like the other interfaces' queries");
    assert.equal((await trail.throughput('2026-04-01', { clientId: 'epr-trust', orgCode: 'RYJ' })).total, 1);
  } finally {
    await trail.close();
  }
}

describe('SMSP-AUDIT-004 cds-query records in both audit stores', () => {
  it('SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fgm-cds-audit-'));
    try {
      const file = join(dir, 'audit.sqlite');
      await check(
        { audit: { sqliteFile: file, hmacKeyFile: 'unused' } } as unknown as GatewayConfig,
        await openSqliteAuditStore(file, KEY),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('PostgreSQL', async () => {
    const db = await testDatabase();
    try {
      const owner = postgresPool(db.ownerUrl, 1);
      await migratePostgres(owner, db.gatewayRole);
      await owner.end();
      await check(
        { audit: { postgresUrl: db.gatewayUrl, hmacKeyFile: 'unused' } } as unknown as GatewayConfig,
        await openPostgresAuditStore(db.gatewayUrl, KEY),
      );
    } finally {
      await db.drop();
    }
  });
});
