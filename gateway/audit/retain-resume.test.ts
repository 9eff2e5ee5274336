/**
 * FGMISQR009 SMSP-AUDIT-009 retain is crash-safe, on real SQLite files and real PostgreSQL: each
 * state between its steps (archive written; signed retention record written; rows deleted) is
 * recognised by verify and resumed by the next retain. The failure is injected for real: a
 * second writer holds the lock when retain deletes. Expected answers are written out by hand.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { GatewayConfig } from '../config/config.ts';
import { testDatabase } from '../../test/helpers/services.ts';
import { generateAnchorKeys } from './anchor.ts';
import type { AuditEvent } from './audit-event.ts';
import { readRetentions } from './chain-start.ts';
import { migratePostgres, openPostgresAuditStore, postgresPool } from './postgres-store.ts';
import { retainPostgres, retainSqlite } from './retention.ts';
import { openAuditReader, openSqliteAuditStore } from './sqlite-store.ts';
import { openAuditTrail } from './trail.ts';
import { describeVerify, verifyAuditChain, verifyAuditTail } from './verify.ts';

const KEY = randomBytes(32);
const dir = mkdtempSync(join(tmpdir(), 'fgm-retain-resume-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = generateAnchorKeys(join(dir, 'keys'));
const privateKey = readFileSync(keys.privateKeyFile, 'utf8');
const publicKey = readFileSync(keys.publicKeyFile, 'utf8');
const BEFORE = new Date('2025-01-01T00:00:00Z');
const ARCHIVE = 'audit-archive-000000000001-000000000003.jsonl';
const INCOMPLETE = 'retention of records 1-3 incomplete: rows up to seq 3 still present — run retain again';

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
/** Three records from 2019 (past retention), two from 2026. */
const EVENTS = [1, 2, 3]
  .map((i) => event(i, `2019-0${i}-01T10:00:00.000Z`))
  .concat([4, 5].map((i) => event(i, `2026-0${i}-01T10:00:00.000Z`)));

async function sqliteTrail(name: string): Promise<{ file: string; anchors: string }> {
  const file = join(dir, `${name}.sqlite`);
  const store = await openSqliteAuditStore(file, KEY);
  for (const e of EVENTS) await store.record(e);
  await store.close();
  return { file, anchors: join(dir, `${name}-anchors`) };
}
const opts = (anchors: string) => ({ before: BEFORE, privateKey, publicKey, dir: anchors });
const check = (file: string, anchors: string, how: typeof verifyAuditChain = verifyAuditChain) => {
  const db = openAuditReader(file);
  try {
    return how(db, KEY, { publicKey, retentions: readRetentions(anchors), archiveDir: anchors });
  } finally {
    db.close();
  }
};
const seqs = (file: string) => {
  const db = openAuditReader(file);
  try {
    return (db.prepare('SELECT seq FROM audit_event ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);
  } finally {
    db.close();
  }
};

describe('retain is crash-safe (SQLite)', () => {
  it('FGMISQR009 SMSP-AUDIT-009 a deletion refused by a held lock, after the signed record: verify says incomplete (not broken), the next retain completes it', async () => {
    const { file, anchors } = await sqliteTrail('locked');
    const locker = new Database(file);
    locker.exec('BEGIN IMMEDIATE'); // the gateway's writer (or the erasure) mid-transaction
    assert.throws(() => retainSqlite(file, KEY, opts(anchors)), /database is locked/);
    locker.exec('ROLLBACK');
    locker.close();
    assert.deepEqual(readdirSync(anchors).sort(), [ARCHIVE, 'retention-000000000003.json']);
    assert.deepEqual(seqs(file), [1, 2, 3, 4, 5], 'nothing deleted');
    const r = check(file, anchors);
    assert.deepEqual(r, { ok: false, seq: 1, kind: 'retention-incomplete', reason: INCOMPLETE });
    assert.equal(describeVerify(r), INCOMPLETE);
    assert.deepEqual(
      check(file, anchors, verifyAuditTail),
      { ok: false, seq: 1, kind: 'retention-incomplete', reason: INCOMPLETE },
      'the start-up check too',
    );
    const again = retainSqlite(file, KEY, opts(anchors));
    assert.deepEqual([again.removed, again.completed, again.retention?.archive], [3, true, ARCHIVE]);
    assert.deepEqual(seqs(file), [4, 5]);
    assert.deepEqual(check(file, anchors), { ok: true, records: 2, anchors: 0, archives: 1 });
  });

  it('SMSP-AUDIT-009 rows still present below the retention point that differ from the archive are still a forgery', async () => {
    const { file, anchors } = await sqliteTrail('locked-edited');
    const locker = new Database(file);
    locker.exec('BEGIN IMMEDIATE');
    assert.throws(() => retainSqlite(file, KEY, opts(anchors)), /database is locked/);
    locker.exec('ROLLBACK');
    locker.exec('DROP TRIGGER audit_event_no_update');
    locker.exec(`UPDATE audit_event SET userId = 'innocent' WHERE seq = 2`);
    locker.close();
    assert.deepEqual(check(file, anchors), {
      ok: false,
      seq: 1,
      reason:
        'it is at or below the retention point (records up to 3 were archived and removed): a record inserted there',
    });
    assert.throws(() => retainSqlite(file, KEY, opts(anchors)), /does not verify/);
  });

  it('FGMISQR009 an archive left without its retention record is reused when it is exactly what retain writes', async () => {
    const { file, anchors } = await sqliteTrail('orphan');
    // What the interrupted retain had written: records 1-3 as stored, one JSON line each (written here by hand).
    const db = openAuditReader(file);
    const rows = db.prepare('SELECT * FROM audit_event WHERE seq <= 3 ORDER BY seq').all();
    db.close();
    mkdirSync(anchors);
    const text = rows.map((r) => `${JSON.stringify(r)}\n`).join('');
    writeFileSync(join(anchors, ARCHIVE), text);
    const r = retainSqlite(file, KEY, opts(anchors));
    assert.deepEqual([r.removed, r.retention?.archive], [3, ARCHIVE]);
    assert.equal(readFileSync(join(anchors, ARCHIVE), 'utf8'), text);
    assert.deepEqual(check(file, anchors), { ok: true, records: 2, anchors: 0, archives: 1 });
  });

  it('FGMISQR009 an archive left without its retention record that is not what retain writes is named, nothing removed', async () => {
    const { file, anchors } = await sqliteTrail('orphan-altered');
    mkdirSync(anchors);
    writeFileSync(join(anchors, ARCHIVE), '{"seq":1}\n');
    assert.throws(() => retainSqlite(file, KEY, opts(anchors)), {
      message: `the archive ${ARCHIVE} has no retention record and is not what retain would write (records 1-3 as stored): check it and move it aside, nothing removed`,
    });
    assert.deepEqual(seqs(file), [1, 2, 3, 4, 5]);
    assert.deepEqual(readdirSync(anchors), [ARCHIVE], 'no retention record');
    writeFileSync(join(anchors, 'audit-archive-000000000002-000000000003.jsonl'), '');
    rmSync(join(anchors, ARCHIVE));
    assert.throws(
      () => retainSqlite(file, KEY, opts(anchors)),
      /audit-archive-000000000002-000000000003\.jsonl has no retention record and does not start where retention continues \(record 1\)/,
    );
  });
});

describe('retain is crash-safe (PostgreSQL)', () => {
  it('FGMISQR009 SMSP-AUDIT-009 audit_retain refused by a held lock: verify and the start-up check say incomplete, the next retain completes it', async () => {
    const t = await testDatabase();
    try {
      const owner = postgresPool(t.ownerUrl, 1);
      await migratePostgres(owner, t.gatewayRole);
      const store = await openPostgresAuditStore(t.gatewayUrl, KEY);
      for (const e of EVENTS) await store.record(e);
      await store.close();
      const anchors = join(dir, 'pg-anchors');
      const config = {
        audit: {
          postgresUrl: t.gatewayUrl,
          hmacKeyFile: 'unused',
          anchorDir: anchors,
          anchorPublicKeyFile: keys.publicKeyFile,
        },
      } as unknown as GatewayConfig;
      const trail = await openAuditTrail(config, KEY);
      // Another session holds the table; this owner gives up at once rather than wait (the injected failure).
      const holder = new pg.Client({ connectionString: t.ownerUrl });
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE audit_event IN SHARE MODE');
      const impatient = postgresPool(
        `${t.ownerUrl}${t.ownerUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent('-c lock_timeout=1')}`,
        1,
      );
      await assert.rejects(
        retainPostgres(impatient, () => trail.verify(), opts(anchors)),
        /lock timeout/,
      );
      await impatient.end();
      await holder.query('ROLLBACK');
      await holder.end();
      assert.deepEqual(readdirSync(anchors).sort(), [ARCHIVE, 'retention-000000000003.json']);
      assert.deepEqual(await trail.verify(), { ok: false, seq: 1, kind: 'retention-incomplete', reason: INCOMPLETE });
      assert.deepEqual(await trail.verifyTail(), {
        ok: false,
        seq: 1,
        kind: 'retention-incomplete',
        reason: INCOMPLETE,
      });
      const again = await retainPostgres(owner, () => trail.verify(), opts(anchors));
      assert.deepEqual([Number(again.removed), again.completed], [3, true]);
      assert.deepEqual(await trail.verify(), { ok: true, records: 2, anchors: 0, archives: 1 });
      await trail.close();
      await owner.end();
    } finally {
      await t.drop();
    }
  });
});
