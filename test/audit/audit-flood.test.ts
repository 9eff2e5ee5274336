/**
 * An unauthenticated flood cannot fill the disk, and is still on the record (SMSP-AUDIT-001/009):
 * per source address, the first 20 refused requests a minute get their own records (with the
 * address), the rest are counted in one summary record per address and event type when the minute
 * is over or the gateway stops. Real sockets from two loopback addresses, a real SQLite file; the
 * gateway's clock is a test clock so the minute can pass at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const BOUND = 20;
const dir = mkdtempSync(join(tmpdir(), 'fgm-flood-'));
const auditFile = join(dir, 'audit.sqlite');
let clock = Date.now();
let stack: TestStack;

before(async () => {
  stack = await startTestStack({
    configure: (raw) => (raw.audit.sqliteFile = auditFile),
    deps: { now: () => new Date(clock) },
  });
});
after(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A POST without credentials from `from` (a loopback address); resolves with the status. */
function unauthenticated(path: string, from: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, stack.gatewayUrl),
      { method: 'POST', localAddress: from, agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ nhsNumber: '9990000018' }));
  });
}

/** Sends `n` of them, 25 at a time; every one must be refused with 401. */
async function flood(path: string, from: string, n: number): Promise<void> {
  for (let sent = 0; sent < n; sent += 25) {
    const statuses = await Promise.all(
      Array.from({ length: Math.min(25, n - sent) }, () => unauthenticated(path, from)),
    );
    assert.ok(
      statuses.every((s) => s === 401),
      String(statuses),
    );
  }
}

type Row = {
  eventType: string;
  detail: string | null;
  httpStatus: number;
  clientId: string | null;
  outcomeCode: string;
};
function rows(): Row[] {
  const db = new Database(auditFile, { readonly: true });
  try {
    return db.prepare('SELECT * FROM audit_event ORDER BY seq').all() as Row[];
  } finally {
    db.close();
  }
}
const detail = (r: Row) => (r.detail ? JSON.parse(r.detail) : {});
const ownRecords = (from: string, eventType?: string) =>
  rows().filter((r) => detail(r).sourceAddress === from && (!eventType || r.eventType === eventType));
const summaries = (from: string) => rows().filter((r) => detail(r).unauthenticatedAttempts?.sourceAddress === from);

describe('SMSP-AUDIT-001 unauthenticated floods', () => {
  it('SMSP-AUDIT-001 a flood from one address writes at most the bound of records plus one summary per event type, whose counts match', async () => {
    const before = rows().length;
    await flood('/api/fgm-status', '127.0.0.1', 120);
    await flood('/fhir/fgm/query', '127.0.0.1', 30);
    // another address in the same minute keeps its own records
    await flood('/api/fgm-status', '127.0.0.2', 5);
    assert.equal(ownRecords('127.0.0.1').length, BOUND);
    assert.equal(ownRecords('127.0.0.2').length, 5);
    assert.equal(rows().length, before + BOUND + 5, 'nothing else was written for the flood yet');
    assert.ok(
      ownRecords('127.0.0.1').every(
        (r) => r.httpStatus === 401 && r.outcomeCode === 'AUTHOR_CREDENTIALS_ERROR' && r.clientId === null,
      ),
    );

    // The minute passes; the address's next attempt closes its window and writes the summaries.
    clock += 60_000;
    await flood('/api/fgm-status', '127.0.0.1', 1);
    const sums = summaries('127.0.0.1');
    assert.deepEqual(sums.map((r) => r.eventType).sort(), ['fhir-query', 'widget-query']);
    for (const [eventType, sent] of [
      ['widget-query', 120],
      ['fhir-query', 30],
    ] as const) {
      const own = ownRecords('127.0.0.1', eventType).length - (eventType === 'widget-query' ? 1 : 0); // less the next minute's one
      const counted = detail(sums.find((r) => r.eventType === eventType)!).unauthenticatedAttempts.count;
      assert.equal(own + counted, sent, `${eventType}: every attempt is on the record, as a row or in the count`);
    }
    assert.ok(sums.every((r) => r.httpStatus === 401 && r.outcomeCode === 'AUTHOR_CREDENTIALS_ERROR'));
    assert.deepEqual(summaries('127.0.0.2'), [], 'the other address never went over the bound');
    assert.equal(rows().length, before + BOUND + 5 + 2 + 1);
  });

  it('SMSP-AUDIT-001 a summary still pending when the gateway stops is written before the store closes', async () => {
    await flood('/api/fgm-status', '127.0.0.2', BOUND + 7);
    assert.deepEqual(summaries('127.0.0.2'), []);
    await stack.close();
    const [sum, ...more] = summaries('127.0.0.2');
    assert.equal(more.length, 0);
    assert.equal(detail(sum!).unauthenticatedAttempts.count, 7);
  });
});
