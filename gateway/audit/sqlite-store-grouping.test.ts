/**
 * @module gateway/audit/sqlite-store-grouping.test
 * Group commit without a timer (issue 22): a lone record is sent to the writer thread at once and
 * is durable when record() resolves, with the main thread's timers frozen; records that arrive
 * while a commit is in flight share the next one. Counted by the messages the store posts to its
 * writer thread (a spy on Worker#postMessage), and read back from the file over another connection.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { AuditEvent } from './audit-event.ts';
import { openAuditReader, openSqliteAuditStore } from './sqlite-store.ts';
import { verifyAuditChain } from './verify.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-audit-group-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const KEY = randomBytes(32);
const event = (requestId: string): AuditEvent => ({
  time: '2026-01-02T03:04:05.678Z',
  eventType: 'widget-query',
  requestId,
  clientMessageId: requestId,
  clientId: 'epr',
  userId: 'ajones',
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: null,
  spineMessageId: null,
  spineResponseId: null,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
});
const stored = (file: string) => {
  const db = openAuditReader(file);
  try {
    return (db.prepare('SELECT requestId FROM audit_event ORDER BY seq').all() as { requestId: string }[]).map(
      (r) => r.requestId,
    );
  } finally {
    db.close();
  }
};

describe('SQLite audit store: group commit (SMSP-AUDIT-001, issue 22)', () => {
  it(
    'SMSP-AUDIT-001 a lone record is committed at once, waiting for no timer, and is on disk when record() resolves',
    { timeout: 20_000 },
    async (t) => {
      const file = join(dir, 'lone.sqlite');
      const store = await openSqliteAuditStore(file, KEY);
      const posted = t.mock.method(Worker.prototype, 'postMessage');
      // Frozen timers: a store that waited for a timer to gather a batch would never resolve here.
      t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'setImmediate'] });
      try {
        await store.record(event('alone'));
        assert.equal(posted.mock.callCount(), 1, 'one commit for one record');
        assert.deepEqual(stored(file), ['alone'], 'durable before the answer may be sent');
      } finally {
        t.mock.timers.reset();
        await store.close();
      }
    },
  );

  it('SMSP-AUDIT-001 records arriving while a commit is in flight share the next commit, and each resolves only once stored', async (t) => {
    const file = join(dir, 'group.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    const posted = t.mock.method(Worker.prototype, 'postMessage');
    try {
      const ids = Array.from({ length: 50 }, (_, i) => `r${i}`);
      const seenAtResolve: number[] = [];
      await Promise.all(ids.map((id) => store.record(event(id)).then(() => seenAtResolve.push(stored(file).length))));
      assert.equal(posted.mock.callCount(), 2, 'the first record alone, the other 49 in one commit');
      assert.deepEqual(
        posted.mock.calls.map((c) => (c.arguments[0] as { events: AuditEvent[] }).events.length),
        [1, 49],
      );
      assert.deepEqual(stored(file), ids, 'in arrival order');
      assert.ok(
        seenAtResolve[0]! >= 1 && seenAtResolve.slice(1).every((n) => n === 50),
        'each record was on disk when it resolved',
      );
    } finally {
      await store.close();
    }
  });
  it('SMSP-AUDIT-005 a record SQLite refuses fails alone: the others of its commit are stored in order and the chain verifies', async (t) => {
    const file = join(dir, 'poison.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    const posted = t.mock.method(Worker.prototype, 'postMessage');
    try {
      const first = store.record(event('head-of-batch'));
      // A record the table's NOT NULL refuses, between two innocent ones of the same commit.
      const [a, bad, b] = await Promise.allSettled([
        store.record(event('innocent-a')),
        store.record(event(null as unknown as string)),
        store.record(event('innocent-b')),
      ]);
      await first;
      assert.deepEqual(
        posted.mock.calls.map((c) => (c.arguments[0] as { events: AuditEvent[] }).events.length),
        [1, 3],
        'the three shared one commit',
      );
      assert.deepEqual([a.status, bad.status, b.status], ['fulfilled', 'rejected', 'fulfilled']);
      assert.match(
        ((bad as PromiseRejectedResult).reason as Error).message,
        /^audit write failed: NOT NULL constraint failed: audit_event\.requestId/,
      );
      assert.deepEqual(stored(file), ['head-of-batch', 'innocent-a', 'innocent-b']);
      await store.record(event('after'));
    } finally {
      await store.close();
    }
    const db = openAuditReader(file);
    try {
      assert.deepEqual(verifyAuditChain(db, KEY), { ok: true, records: 4, anchors: 0 });
    } finally {
      db.close();
    }
  });
});
