import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditEvent } from './audit-event.ts';
import { openSqliteAuditStore } from './sqlite-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const event = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  time: '2026-01-02T03:04:05.678Z', eventType: 'widget-query', requestId: 'r1', clientMessageId: 'r1', clientId: 'epr',
  userId: 'ajones', roleProfileId: null, localRoles: 'midwife', orgCode: 'RX1', nhsNumber: '9990000018',
  spineMessageId: 'm1', spineResponseId: 'm2', outcomeCode: 'SUCCESS', httpStatus: 200, answeredBySpine: true, ...over,
});

describe('SQLite audit store (SMSP-AUDIT-001/009)', () => {
  it('stores every field durably with increasing sequence numbers, readable after reopening', async () => {
    const file = join(dir, 'a.sqlite');
    const store = openSqliteAuditStore(file);
    await store.record(event());
    await store.record(event({ requestId: 'r2', outcomeCode: 'AUTHOR_CREDENTIALS_ERROR', httpStatus: 401, answeredBySpine: false, nhsNumber: null }));
    store.close();
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT * FROM audit_event ORDER BY seq').all() as Record<string, unknown>[];
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    assert.deepEqual(rows.map((r) => r.seq), [1, 2]);
    assert.equal(rows[0]!.nhsNumber, '9990000018');
    assert.equal(rows[0]!.answeredBySpine, 1);
    assert.equal(rows[1]!.outcomeCode, 'AUTHOR_CREDENTIALS_ERROR');
    assert.equal(rows[1]!.answeredBySpine, 0);
  });
  it('a write that cannot be stored rejects (the caller must not answer with Spine data)', async () => {
    const store = openSqliteAuditStore(join(dir, 'b.sqlite'));
    store.close();
    await assert.rejects(store.record(event()));
  });
});
