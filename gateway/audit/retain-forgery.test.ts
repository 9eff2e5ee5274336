/**
 * Issue 20's hostile review, on real PostgreSQL: while a `retain` is interrupted (its signed
 * retention record written, the rows not yet deleted), the gateway's role inserts a forged record
 * below the previous retention point. verify must name it in the words SQLite uses (written out
 * here by hand), and retain must refuse to delete it unseen — also when it appears after verify ran.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import type { GatewayConfig } from '../config/config.ts';
import { sqlAs, testDatabase } from '../../test/helpers/services.ts';
import { generateAnchorKeys } from './anchor.ts';
import type { AuditEvent } from './audit-event.ts';
import { migratePostgres, openPostgresAuditStore, ownerPostgresPool, postgresPool } from './postgres-store.ts';
import { retainPostgres } from './retention.ts';
import { openAuditTrail } from './trail.ts';

const KEY = randomBytes(32);
const dir = mkdtempSync(join(tmpdir(), 'fgm-retain-forgery-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = generateAnchorKeys(join(dir, 'keys'));
const keyPair = {
  privateKey: readFileSync(keys.privateKeyFile, 'utf8'),
  publicKey: readFileSync(keys.publicKeyFile, 'utf8'),
};
const event = (i: number, time: string): AuditEvent => ({
  time,
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: 'epr',
  userId: `u${i}`,
  roleProfileId: null,
  localRoles: null,
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: null,
  spineResponseId: null,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  detail: null,
  outcomeEraseOn: '2099-01-01',
});
const FORGED =
  'it is at or below the retention point (records up to 7 were archived and removed): a record inserted there';
const INCOMPLETE = 'retention of records 4-7 incomplete: rows up to seq 7 still present — run retain again';

describe('PostgreSQL: a forgery below the retention point is named while a retain is pending', () => {
  it('SMSP-AUDIT-001 SMSP-AUDIT-009 a record forged at seq 2 during an interrupted retain of 4-7 is named by verify (as on SQLite), and retain deletes nothing, even when the forgery comes after verify', async () => {
    const t = await testDatabase();
    const owner = ownerPostgresPool(t.ownerUrl);
    try {
      await migratePostgres(owner, t.gatewayRole);
      const store = await openPostgresAuditStore(t.gatewayUrl, KEY);
      for (const i of [1, 2, 3]) await store.record(event(i, `2019-0${i}-01T10:00:00.000Z`));
      for (const i of [4, 5, 6, 7, 8]) await store.record(event(i, `2026-0${i}-01T10:00:00.000Z`));
      await store.close();
      const anchors = join(dir, 'anchors');
      const config = {
        audit: {
          postgresUrl: t.gatewayUrl,
          hmacKeyFile: 'unused',
          anchorDir: anchors,
          anchorPublicKeyFile: keys.publicKeyFile,
        },
      } as unknown as GatewayConfig;
      const trail = await openAuditTrail(config, KEY);
      try {
        await retainPostgres(owner, () => trail.verify(), {
          before: new Date('2025-01-01T00:00:00Z'),
          dir: anchors,
          ...keyPair,
        });
        // The second retain (4-7) signs its record, then cannot delete: another session holds the table.
        const holder = new pg.Client({ connectionString: t.ownerUrl });
        await holder.connect();
        await holder.query('BEGIN; LOCK TABLE audit_event IN SHARE MODE');
        const impatient = postgresPool(`${t.ownerUrl}?options=${encodeURIComponent('-c lock_timeout=1')}`, 1);
        const later = { before: new Date('2100-01-01T00:00:00Z'), dir: anchors, ...keyPair };
        await assert.rejects(
          retainPostgres(impatient, () => trail.verify(), later),
          /lock timeout/,
        );
        await impatient.end();
        await holder.query('ROLLBACK');
        await holder.end();
        const pending = await trail.verify();
        assert.deepEqual(pending, { ok: false, seq: 4, kind: 'retention-incomplete', reason: INCOMPLETE });

        // The gateway's role (INSERT only) forges seq 2: the newest record's chain fields, another user and patient.
        const forge = `INSERT INTO audit_event SELECT 2, "time", "eventType", "requestId", "clientMessageId", "clientId", 'innocent', "roleProfileId", "localRoles", "orgCode", '9990000026', "spineMessageId", "spineResponseId", "outcomeCode", "httpStatus", "answeredBySpine", "detail", "prevHash", "hash", "outcomeSalt", "outcomeDigest", "outcomeEraseOn" FROM audit_event WHERE seq = 8`;
        await sqlAs(t.gatewayUrl, forge);
        assert.deepEqual(await trail.verify(), { ok: false, seq: 2, reason: FORGED });
        assert.deepEqual(await trail.verifyTail(), { ok: false, seq: 2, reason: FORGED });
        await assert.rejects(
          retainPostgres(owner, () => trail.verify(), later),
          { message: `the trail does not verify (broken at record 2: ${FORGED}): nothing removed` },
        );
        // A verify that ran before the forgery landed: the deleting transaction itself still refuses.
        await assert.rejects(
          retainPostgres(owner, async () => pending, later),
          {
            message:
              'a record was stored at or below 7 after verify ran (the lowest stored is 2, with 5 records at or below 7): run verify, nothing removed',
          },
        );
        const stored = await sqlAs<{ seq: number }>(t.ownerUrl, 'SELECT seq::int AS seq FROM audit_event ORDER BY seq');
        assert.deepEqual(
          stored.map((r) => r.seq),
          [2, 4, 5, 6, 7, 8],
          'nothing removed: the forgery is still there to be seen',
        );
      } finally {
        await trail.close();
      }
    } finally {
      await owner.end();
      await t.drop();
    }
  });
});
