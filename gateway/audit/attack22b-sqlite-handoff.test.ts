/**
 * @module gateway/audit/attack22b-sqlite-handoff.test
 * Hostile review 22b of the audit hand-off as one JSON string (95d4394). Fails on main at 761c75e.
 *
 * A1: `send()` sets `inFlight` before JSON.stringify, and nothing catches what stringify throws.
 * A record JSON cannot carry (a BigInt where a number belongs: AuditEvent's types forbid it, so
 * only a producer's bug makes one) then fails, but not alone: sent on its own, it leaves
 * `inFlight` set, and every later record waits for ever; queued behind another, the throw leaves
 * the worker's message listener and ends the process. Under the structured clone it crossed to
 * the writer, the chain's hash (JSON) refused it with a TypeError, and group-commit.ts failed it
 * alone (refusedRecord).
 *
 * Each case runs in a child process (this file, ATK22B_CHILD set): a wedged store or a crash
 * would take the test runner with it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditEvent } from './audit-event.ts';
import { openSqliteAuditStore } from './sqlite-store.ts';

const THIS_FILE = fileURLToPath(import.meta.url);

const event = (requestId: string, over: Partial<AuditEvent> = {}): AuditEvent => ({
  time: '2026-01-02T03:04:05.678Z',
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
  ...over,
});
/** What JSON.stringify refuses and the structured clone carried. */
const unserialisable = (requestId: string) => event(requestId, { httpStatus: 200n as unknown as number });

/** Records in `mode`'s order; prints each record's outcome, then the rows on disk. */
async function handoffChild(mode: string, file: string): Promise<void> {
  const store = await openSqliteAuditStore(file, Buffer.alloc(32, 7));
  const outcome = (p: Promise<void>, id: string) =>
    p.then(
      () => console.log(`${id} written`),
      () => console.log(`${id} refused`),
    );
  if (mode === 'alone') {
    await outcome(store.record(unserialisable('bad')), 'bad');
    await outcome(store.record(event('next')), 'next');
  } else {
    // `first` goes at once; `bad` and `good` wait for it and go together when its answer comes.
    await Promise.all([
      outcome(store.record(event('first')), 'first'),
      outcome(store.record(unserialisable('bad')), 'bad'),
      outcome(store.record(event('good')), 'good'),
    ]);
  }
  await store.close();
  const db = new Database(file, { readonly: true });
  const rows = db.prepare('SELECT requestId FROM audit_event ORDER BY seq').all() as { requestId: string }[];
  db.close();
  console.log(`rows ${rows.map((r) => r.requestId).join(',')}`);
}

function runChild(mode: string) {
  const dir = mkdtempSync(join(tmpdir(), 'fgm-atk22b-audit-'));
  try {
    return spawnSync(process.execPath, ['--import', 'tsx', THIS_FILE], {
      env: { ...process.env, ATK22B_CHILD: mode, ATK22B_FILE: join(dir, 'audit.sqlite') },
      encoding: 'utf8',
      // A failure detector, not a synchronisation: the child does a few milliseconds of work.
      timeout: 30_000,
      killSignal: 'SIGKILL',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const mode = process.env.ATK22B_CHILD;
if (mode) {
  await handoffChild(mode, process.env.ATK22B_FILE!);
  process.exit(0);
}

describe('audit hand-off as one JSON string, hostile review 22b', () => {
  it('SMSP-AUDIT-004 A1 a record JSON cannot carry fails alone: the next record is written', () => {
    const r = runChild('alone');
    assert.equal(r.signal, null, `the store never answered again:\n${r.stdout}`);
    assert.equal(r.status, 0, r.stderr.slice(-1500));
    assert.match(r.stdout, /^bad refused$/m);
    assert.match(r.stdout, /^next written$/m);
    assert.match(r.stdout, /^rows next$/m);
  });

  it('SMSP-AUDIT-004 A1 one such record queued behind another fails alone: the process lives and the others are written', () => {
    const r = runChild('queued');
    assert.equal(r.signal, null, `the store never answered again:\n${r.stdout}`);
    assert.equal(r.status, 0, `the gateway process ended:\n${r.stderr.slice(-1500)}`);
    assert.match(r.stdout, /^bad refused$/m);
    assert.match(r.stdout, /^good written$/m);
    assert.match(r.stdout, /^rows first,good$/m);
  });
});
