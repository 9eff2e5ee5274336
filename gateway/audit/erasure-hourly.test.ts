/**
 * FGMISQR009 the erasure is not missed, on a real SQLite file: a query whose outcome is due on 1
 * June, written just after the run at UK midnight (a request crossing midnight), is erased by the
 * next hour's run, not a day later. The clock and timer are injected (uk-day.ts atEveryUkHour).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AuditEvent } from './audit-event.ts';
import { eraseDueOutcomes, type ErasureRun } from './erasure.ts';
import { openAuditReader, openSqliteAuditStore } from './sqlite-store.ts';
import { atEveryUkHour } from './uk-day.ts';

const KEY = randomBytes(32);
const dir = mkdtempSync(join(tmpdir(), 'fgm-erasure-hourly-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const query = (time: string): AuditEvent => ({
  time,
  eventType: 'widget-query',
  requestId: 'r1',
  clientMessageId: 'r1',
  clientId: 'epr',
  userId: 'ajones',
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
  outcomeEraseOn: '2026-06-01',
});

describe('FGMISQR009 the erasure runs hourly (SQLite)', () => {
  it('FGMISQR009 a record written just after the UK-midnight run is erased at the next hour', async () => {
    const file = join(dir, 'crossing.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    let clock = new Date('2026-05-31T22:30:00Z'); // 23:30 BST on 31 May
    let next: { f: () => void; ms: number } | undefined;
    const runs: Promise<ErasureRun>[] = [];
    const task = atEveryUkHour(
      () => clock,
      () =>
        runs.push(
          eraseDueOutcomes({
            eraseStore: (d, p) => store.eraseOutcomes(d, p),
            archiveDir: undefined,
            publicKey: undefined,
            onArchiveFailure: () => assert.fail(),
            now: clock,
            orgCode: 'RX1',
            requestId: `run-${runs.length}`,
          }),
        ),
      {
        set: (f: () => void, ms: number) => (next = { f, ms }),
        clear: () => (next = undefined),
      },
    );
    const fire = () => {
      clock = new Date(clock.getTime() + next!.ms);
      next!.f();
      return runs.at(-1)!;
    };
    // UK midnight of 1 June (23:00 UTC): the run finds nothing due yet.
    assert.deepEqual(await fire(), { through: '2026-06-01', records: 0, archives: [] });
    assert.equal(clock.toISOString(), '2026-05-31T23:00:00.000Z');
    // The request that crossed midnight is written after that run, due today.
    await store.record(query('2026-05-31T23:00:00.500Z'));
    const outcome = () => {
      const db = openAuditReader(file);
      try {
        return db.prepare('SELECT outcomeCode FROM audit_event WHERE seq = 1').get();
      } finally {
        db.close();
      }
    };
    assert.deepEqual(outcome(), { outcomeCode: 'SUCCESS' });
    // 01:00 BST: the next run erases it.
    assert.deepEqual(await fire(), { through: '2026-06-01', records: 1, archives: [] });
    assert.equal(clock.toISOString(), '2026-06-01T00:00:00.000Z');
    assert.deepEqual(outcome(), { outcomeCode: null });
    task.stop();
    await store.close();
  });
});
