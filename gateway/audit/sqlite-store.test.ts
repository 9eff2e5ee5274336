import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditEvent } from './audit-event.ts';
import {
  chainAppender,
  migrateSqlite,
  openAuditReader,
  openSqliteAuditStore,
  searchAudit,
  throughputOn,
} from './sqlite-store.ts';
import { verifyAuditChain } from './verify.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const KEY = randomBytes(32);

const event = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  time: '2026-01-02T03:04:05.678Z',
  eventType: 'widget-query',
  requestId: 'r1',
  clientMessageId: 'r1',
  clientId: 'epr',
  userId: 'ajones',
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: 'm1',
  spineResponseId: 'm2',
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  ...over,
});

describe('SQLite audit store (SMSP-AUDIT-001/009)', () => {
  it('stores every field durably with gap-free sequence numbers and a chain that verifies, across reopening', async () => {
    const file = join(dir, 'a.sqlite');
    let store = await openSqliteAuditStore(file, KEY);
    await store.record(event());
    await store.record(
      event({
        requestId: 'r2',
        outcomeCode: 'AUTHOR_CREDENTIALS_ERROR',
        httpStatus: 401,
        answeredBySpine: false,
        nhsNumber: null,
      }),
    );
    await store.close();
    store = await openSqliteAuditStore(file, KEY);
    await store.record(event({ requestId: 'r3' }));
    await store.close();
    const db = openAuditReader(file);
    const rows = db.prepare('SELECT * FROM audit_event ORDER BY seq').all() as Record<string, unknown>[];
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.deepEqual(
      rows.map((r) => r.seq),
      [1, 2, 3],
    );
    assert.equal(rows[0]!.nhsNumber, '9990000018');
    assert.equal(rows[0]!.answeredBySpine, 1);
    assert.equal(rows[1]!.outcomeCode, 'AUTHOR_CREDENTIALS_ERROR');
    assert.equal(rows[2]!.prevHash, rows[1]!.hash);
    assert.deepEqual(verifyAuditChain(db, KEY), { ok: true, records: 3, anchors: 0 });
    assert.equal(verifyAuditChain(db, randomBytes(32)).ok, false, 'another key cannot produce the same chain');
    db.close();
  });

  it('SMSP-AUDIT-009 the appender chains each batch from the stored head: record 1 from genesis, later batches from the newest record', () => {
    const db = new Database(join(dir, 'append.sqlite'));
    migrateSqlite(db);
    const append = chainAppender(db, KEY);
    append([event(), event({ requestId: 'r2' })]);
    append([event({ requestId: 'r3' })]);
    const rows = db.prepare('SELECT * FROM audit_event ORDER BY seq').all() as Record<string, string | number | null>[];
    // The version 2 formula written out (chain.test.ts): tag, seq, the chained columns, prevHash.
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
    ];
    const hash = (r: Record<string, string | number | null>) =>
      createHmac('sha256', KEY)
        .update(JSON.stringify(['fgm-audit/2', r.seq, ...chained.map((c) => r[c]), r.prevHash]))
        .digest('hex');
    assert.deepEqual(
      rows.map((r) => [r.seq, r.requestId, r.prevHash]),
      [
        [1, 'r1', '0'.repeat(64)],
        [2, 'r2', rows[0]!.hash],
        [3, 'r3', rows[1]!.hash],
      ],
    );
    assert.deepEqual(
      rows.map((r) => r.hash),
      rows.map(hash),
    );
    db.close();
  });
  it('SMSP-IG-001 a new audit database and its WAL are readable by the gateway user only, whatever the umask', async () => {
    const file = join(dir, 'private.sqlite');
    const umask = process.umask(0o022);
    try {
      const store = await openSqliteAuditStore(file, KEY);
      await store.record(event());
      for (const f of [file, `${file}-wal`])
        assert.equal(statSync(f).mode & 0o077, 0, `${f} is open to group or others`);
      await store.close();
    } finally {
      process.umask(umask);
    }
  });
  it('SMSP-AUDIT-009 refuses UPDATE and DELETE in the schema itself', async () => {
    const file = join(dir, 'b.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    await store.record(event());
    await store.close();
    const db = new Database(file);
    assert.throws(() => db.prepare(`UPDATE audit_event SET outcomeCode = 'X'`).run(), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM audit_event').run(), /append-only/);
    db.close();
  });

  it('commits a burst of concurrent records together, each promise resolving once its row is stored', async () => {
    const file = join(dir, 'c.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    await Promise.all(Array.from({ length: 300 }, (_, i) => store.record(event({ requestId: `r${i}` }))));
    const db = openAuditReader(file);
    assert.equal((db.prepare('SELECT count(*) AS n FROM audit_event').get() as { n: number }).n, 300);
    assert.deepEqual(verifyAuditChain(db, KEY), { ok: true, records: 300, anchors: 0 });
    db.close();
    await store.close();
  });

  it('SMSP-AUDIT-001 a write that cannot be stored rejects (the caller must not answer with Spine data)', async () => {
    const store = await openSqliteAuditStore(join(dir, 'd.sqlite'), KEY);
    await store.close();
    await assert.rejects(store.record(event()));
  });

  it('SMSP-AUDIT-007 search matches each parameter exactly', async () => {
    const file = join(dir, 'e.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    const events = [
      event({
        requestId: 'a',
        userId: 'u1',
        nhsNumber: '9990000018',
        clientMessageId: 'cm-a',
        spineMessageId: 's-a',
        time: '2026-03-01T10:00:00.000Z',
      }),
      event({
        requestId: 'b',
        userId: 'u2',
        nhsNumber: '9990000026',
        clientMessageId: 'cm-b',
        spineMessageId: 's-b',
        time: '2026-03-01T11:00:00.000Z',
      }),
      event({
        requestId: 'c',
        userId: 'u1',
        nhsNumber: '9990000026',
        clientMessageId: 'cm-c',
        spineMessageId: null,
        time: '2026-03-02T09:00:00.000Z',
      }),
    ];
    for (const e of events) await store.record(e);
    await store.close();
    const db = openAuditReader(file);
    const ids = (q: Parameters<typeof searchAudit>[1]) => searchAudit(db, q).map((r) => r.requestId);
    assert.deepEqual(ids({ userId: 'u1' }), ['a', 'c']);
    assert.deepEqual(ids({ nhsNumber: '9990000026' }), ['b', 'c']);
    assert.deepEqual(ids({ messageId: 'cm-b' }), ['b']);
    assert.deepEqual(ids({ messageId: 's-a' }), ['a']);
    assert.deepEqual(ids({ from: new Date('2026-03-01T10:30:00Z'), to: new Date('2026-03-02T00:00:00Z') }), ['b']);
    // bounds are instants: an offset or a shorter form means the same moment as the stored UTC text
    assert.deepEqual(ids({ from: new Date('2026-03-01T11:00:00+01:00'), to: new Date('2026-03-01T12:30:00+01:00') }), [
      'a',
      'b',
    ]);
    assert.deepEqual(ids({ userId: 'u1', nhsNumber: '9990000026' }), ['c']);
    assert.deepEqual(ids({ userId: 'nobody' }), []);
    assert.deepEqual(ids({ limit: 2 }), ['a', 'b']);
    assert.deepEqual(ids({ afterSeq: 2 }), ['c']);
    db.close();
  });

  it('SMSP-PERF-002 the throughput report for a day of synthetic traffic', async () => {
    const file = join(dir, 'f.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    // 2026-04-01 (UTC times; the UK is on BST, UTC+1): hour 09 × 3, hour 14 × 5 (one of them FHIR), hour 23 × 1 (00:xx on
    // the 2nd in the UK); 23:59:59.999 on the 31st is 00:59 on the 1st in the UK; plus non-query events and the next day
    const at = (h: string, n: number, type: AuditEvent['eventType'] = 'widget-query') =>
      Array.from({ length: n }, (_, i) =>
        event({ eventType: type, time: `2026-04-01T${h}:${String(i).padStart(2, '0')}:00.000Z` }),
      );
    const all = [
      ...at('09', 3),
      ...at('14', 4),
      ...at('14', 1, 'fhir-query'),
      ...at('23', 1),
      ...at('14', 7, 'audit-query'),
      event({ time: '2026-03-31T23:59:59.999Z' }),
      event({ time: '2026-04-02T00:00:00.000Z' }),
    ];
    for (const e of all) await store.record(e);
    await store.close();
    const db = openAuditReader(file);
    assert.deepEqual(throughputOn(db, '2026-04-01'), {
      date: '2026-04-01',
      total: 9,
      peakHour: '15',
      peakHourCount: 5,
    });
    assert.deepEqual(throughputOn(db, '2026-04-02'), {
      date: '2026-04-02',
      total: 2,
      peakHour: '00',
      peakHourCount: 1,
    });
    assert.deepEqual(throughputOn(db, '2026-04-03'), {
      date: '2026-04-03',
      total: 0,
      peakHour: null,
      peakHourCount: 0,
    });
    db.close();
  });
});

describe('FGMISQR009 an erased outcome leaves the SQLite files', () => {
  it('FGMISQR009 a reader blocking the checkpoint keeps the erased salt in the -wal file only until the next commit', async () => {
    const file = join(dir, 'wal.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    await store.record(event({ outcomeEraseOn: '2026-01-01' }));
    const reader = openAuditReader(file);
    const { outcomeSalt } = reader.prepare('SELECT outcomeSalt FROM audit_event').get() as { outcomeSalt: string };
    // The reader sits inside a read transaction (a statement stepped once), as an auditor's export may.
    const pending = reader.prepare('SELECT seq FROM audit_event').iterate();
    pending.next();
    assert.deepEqual(
      await store.eraseOutcomes('2026-01-01', {
        time: '2026-01-01T03:00:00.000Z',
        orgCode: 'RX1',
        requestId: 'erase',
        archives: [],
      }),
      [1],
    );
    const inWal = () => readFileSync(`${file}-wal`).includes(Buffer.from(outcomeSalt));
    assert.ok(inWal(), 'while the reader holds it, the old page image is still in the -wal file');
    pending.return?.();
    reader.close();
    await store.record(event({ requestId: 'r2' }));
    assert.equal(inWal(), false, 'the next commit emptied the -wal file');
    assert.equal(readFileSync(file).includes(Buffer.from(outcomeSalt)), false, 'nor is it in the database file');
    await store.close();
  });
});
