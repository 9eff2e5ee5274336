/**
 * FGMISQR009 verify names an outcome kept that should be gone, on real SQLite files and real
 * PostgreSQL: one held past its erasure date (beyond the day of slack: erasure-coverage.ts
 * overdueFrom), in the store or in an archive, and one held although a signed (chained)
 * outcome-erasure record says it cleared it (restored from a copy). Verify's "today" is injected.
 * Expected reasons are written out by hand.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { GatewayConfig } from '../config/config.ts';
import { sqlAs, testDatabase } from '../../test/helpers/services.ts';
import { generateAnchorKeys } from './anchor.ts';
import type { AuditEvent } from './audit-event.ts';
import { readRetentions } from './chain-start.ts';
import { eraseDueOutcomes } from './erasure.ts';
import { migratePostgres, openPostgresAuditStore, postgresPool } from './postgres-store.ts';
import { retainSqlite } from './retention.ts';
import { openAuditReader, openSqliteAuditStore } from './sqlite-store.ts';
import { openAuditTrail } from './trail.ts';
import { describeVerify, verifyAuditChain } from './verify.ts';

const KEY = randomBytes(32);
const dir = mkdtempSync(join(tmpdir(), 'fgm-outcome-kept-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = generateAnchorKeys(join(dir, 'keys'));
const privateKey = readFileSync(keys.privateKeyFile, 'utf8');
const publicKey = readFileSync(keys.publicKeyFile, 'utf8');

const query = (i: number, time: string, eraseOn: string): AuditEvent => ({
  time,
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
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
  outcomeEraseOn: eraseOn,
});
const overdue = (eraseOn: string) =>
  `its outcome is still held although its erasure date ${eraseOn} has passed (FGMISQR009: the erasure has not run; run erase-outcomes)`;
const restored = (erasureSeq: number) =>
  `its outcome is held although the erasure record ${erasureSeq} says it cleared it (restored from a copy, or an archive rewrite failed; run erase-outcomes)`;

async function sqliteTrail(name: string, events: readonly AuditEvent[]): Promise<string> {
  const file = join(dir, `${name}.sqlite`);
  const store = await openSqliteAuditStore(file, KEY);
  for (const e of events) await store.record(e);
  await store.close();
  return file;
}
const verifyOn = (file: string, today: string, archiveDir?: string) => {
  const db = openAuditReader(file);
  try {
    return verifyAuditChain(db, KEY, { publicKey, retentions: readRetentions(archiveDir), archiveDir, today });
  } finally {
    db.close();
  }
};
/** What an attacker with the file (or a restore of an old backup's rows) does: puts record `seq`'s outcome back from `backup`. */
function restoreOutcome(file: string, backup: string, seq: number) {
  const old = new Database(backup, { readonly: true });
  const row = old
    .prepare('SELECT outcomeCode, httpStatus, outcomeSalt FROM audit_event WHERE seq = ?')
    .get(seq) as Record<string, unknown>;
  old.close();
  const db = new Database(file);
  db.exec('DROP TRIGGER audit_event_no_update');
  db.prepare(
    'UPDATE audit_event SET outcomeCode = @outcomeCode, httpStatus = @httpStatus, outcomeSalt = @outcomeSalt WHERE seq = ' +
      seq,
  ).run(row);
  db.close();
}

describe('FGMISQR009 verify names an outcome kept that should be gone (SQLite)', () => {
  it('FGMISQR009 an outcome held past its erasure date is named from the day after next, not on its date or the day after', async () => {
    const file = await sqliteTrail('overdue', [
      query(1, '2026-05-01T10:00:00.000Z', '2026-06-03'),
      query(2, '2026-05-01T10:00:01.000Z', '2026-06-01'),
      query(3, '2026-05-01T10:00:02.000Z', '2030-01-01'),
    ]);
    assert.deepEqual(
      verifyOn(file, '2026-06-01'),
      { ok: true, records: 3, anchors: 0 },
      'its date: the run may not have come yet',
    );
    assert.deepEqual(verifyOn(file, '2026-06-02'), { ok: true, records: 3, anchors: 0 }, 'the day after: the slack');
    const r = verifyOn(file, '2026-06-03');
    assert.deepEqual(r, { ok: false, seq: 2, reason: overdue('2026-06-01'), kind: 'outcome-kept' });
    assert.equal(describeVerify(r), `outcome kept at record 2: ${overdue('2026-06-01')}`);
    assert.deepEqual(
      verifyOn(file, '2026-06-05'),
      { ok: false, seq: 1, reason: overdue('2026-06-03'), kind: 'outcome-kept' },
      'two overdue: the lowest first',
    );
  });

  it('FGMISQR009 an outcome held in an archive past its erasure date is named with the archive', async () => {
    const file = await sqliteTrail('overdue-archived', [
      query(1, '2019-01-01T10:00:00.000Z', '2020-01-01'),
      query(2, '2019-01-02T10:00:00.000Z', '2030-01-01'),
      query(3, '2026-01-01T10:00:00.000Z', '2030-01-01'),
    ]);
    const archiveDir = join(dir, 'overdue-archived');
    const { retention } = retainSqlite(file, KEY, {
      before: new Date('2025-01-01T00:00:00Z'),
      privateKey,
      publicKey,
      dir: archiveDir,
    });
    assert.equal(retention!.archive, 'audit-archive-000000000001-000000000002.jsonl');
    assert.deepEqual(verifyOn(file, '2026-06-01', archiveDir), {
      ok: false,
      seq: 1,
      reason: overdue('2020-01-01'),
      archive: 'audit-archive-000000000001-000000000002.jsonl',
      kind: 'outcome-kept',
    });
    // The erasure clears it: intact.
    const store = await openSqliteAuditStore(file, KEY);
    await eraseDueOutcomes({
      eraseStore: (t, p) => store.eraseOutcomes(t, p),
      archiveDir,
      publicKey,
      onArchiveFailure: (a, e) => assert.fail(`${a}: ${e.message}`),
      now: new Date('2026-06-01T09:00:00Z'),
      orgCode: 'RX1',
      requestId: 'e1',
    });
    await store.close();
    assert.deepEqual(verifyOn(file, '2026-06-01', archiveDir), { ok: true, records: 2, anchors: 0, archives: 1 });
  });

  it('FGMISQR009 an outcome restored after the erasure record named it cleared is named, in the store and in an archive', async () => {
    const file = await sqliteTrail('restored', [
      query(1, '2019-01-01T10:00:00.000Z', '2020-01-01'),
      query(2, '2019-01-02T10:00:00.000Z', '2030-01-01'),
      query(3, '2026-05-01T10:00:00.000Z', '2026-05-31'),
      query(4, '2026-05-01T10:00:01.000Z', '2030-01-01'),
    ]);
    const archiveDir = join(dir, 'restored');
    retainSqlite(file, KEY, { before: new Date('2025-01-01T00:00:00Z'), privateKey, publicKey, dir: archiveDir });
    const archive = join(archiveDir, 'audit-archive-000000000001-000000000002.jsonl');
    const archivedBefore = readFileSync(archive, 'utf8');
    copyFileSync(file, `${file}.bak`);
    const store = await openSqliteAuditStore(file, KEY);
    const run = await eraseDueOutcomes({
      eraseStore: (t, p) => store.eraseOutcomes(t, p),
      archiveDir,
      publicKey,
      onArchiveFailure: (a, e) => assert.fail(`${a}: ${e.message}`),
      now: new Date('2026-06-01T09:00:00Z'),
      orgCode: 'RX1',
      requestId: 'e1',
    });
    await store.close();
    assert.deepEqual(run, {
      through: '2026-06-01',
      records: 1,
      archives: [{ archive: 'audit-archive-000000000001-000000000002.jsonl', records: 1 }],
    });
    // The run's record is seq 5; today (1 June) nothing is overdue yet, so only the restoration can be named.
    assert.deepEqual(verifyOn(file, '2026-06-01', archiveDir), { ok: true, records: 3, anchors: 0, archives: 1 });
    restoreOutcome(file, `${file}.bak`, 3);
    assert.deepEqual(
      verifyOn(file, '2026-06-01', archiveDir),
      { ok: false, seq: 3, reason: restored(5), kind: 'outcome-kept' },
      'the store',
    );
    // The archive put back as it was before the run (record 1's outcome held again): named with the archive, the lowest seq first.
    writeFileSync(archive, archivedBefore);
    assert.deepEqual(
      verifyOn(file, '2026-06-01', archiveDir),
      {
        ok: false,
        seq: 1,
        reason: restored(5),
        archive: 'audit-archive-000000000001-000000000002.jsonl',
        kind: 'outcome-kept',
      },
      'the archive first (lowest seq)',
    );
  });
});

describe('FGMISQR009 verify names an outcome kept that should be gone (PostgreSQL)', () => {
  it("FGMISQR009 overdue, then erased, then restored by the owner: each named, with verify's injected day", async () => {
    const t = await testDatabase();
    try {
      const owner = postgresPool(t.ownerUrl, 1);
      await migratePostgres(owner, t.gatewayRole);
      await owner.end();
      const store = await openPostgresAuditStore(t.gatewayUrl, KEY);
      await store.record(query(1, '2026-05-01T10:00:00.000Z', '2026-06-01'));
      await store.record(query(2, '2026-05-01T10:00:01.000Z', '2030-01-01'));
      const config = { audit: { postgresUrl: t.gatewayUrl, hmacKeyFile: 'unused' } } as unknown as GatewayConfig;
      const verifyAt = async (now: string) => {
        const trail = await openAuditTrail(config, KEY, () => new Date(now));
        return trail.verify().finally(() => trail.close());
      };
      assert.deepEqual(await verifyAt('2026-06-02T12:00:00Z'), { ok: true, records: 2, anchors: 0 });
      assert.deepEqual(await verifyAt('2026-06-03T12:00:00Z'), {
        ok: false,
        seq: 1,
        reason: overdue('2026-06-01'),
        kind: 'outcome-kept',
      });
      const before = (
        await sqlAs<Record<string, unknown>>(
          t.ownerUrl,
          'SELECT "outcomeCode", "httpStatus", "outcomeSalt" FROM audit_event WHERE seq = 1',
        )
      )[0]!;
      await eraseDueOutcomes({
        eraseStore: (d, p) => store.eraseOutcomes(d, p),
        archiveDir: undefined,
        publicKey: undefined,
        onArchiveFailure: () => assert.fail(),
        now: new Date('2026-06-03T12:00:00Z'),
        orgCode: 'RX1',
        requestId: 'e1',
      });
      assert.deepEqual(await verifyAt('2026-06-03T12:00:00Z'), { ok: true, records: 3, anchors: 0 });
      // Restored by the table's owner (or from a dump): the erasure record 3 names seq 1.
      await sqlAs(t.ownerUrl, 'ALTER TABLE audit_event DISABLE TRIGGER USER');
      await sqlAs(
        t.ownerUrl,
        'UPDATE audit_event SET "outcomeCode" = $1, "httpStatus" = $2, "outcomeSalt" = $3 WHERE seq = 1',
        [before.outcomeCode, before.httpStatus, before.outcomeSalt],
      );
      assert.deepEqual(await verifyAt('2026-06-03T12:00:00Z'), {
        ok: false,
        seq: 1,
        reason: restored(3),
        kind: 'outcome-kept',
      });
      await store.close();
    } finally {
      await t.drop();
    }
  });
});
