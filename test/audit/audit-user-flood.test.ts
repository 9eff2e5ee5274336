/**
 * One authenticated user's busy-tone flood cannot fill the disk, and is still on the record
 * (SMSP-AUDIT-001/008/009): per user, the first 20 refusals a minute that never reached Spine get
 * their own records, the rest are counted in one summary record per user and outcome when the
 * minute is over or the gateway stops; whatever reached Spine is recorded on its own. Real
 * sockets, a real SQLite file, a Spine budget of one request; the gateway's clock is a test clock
 * so a minute can pass at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { verifyAuditChain } from '../../gateway/audit/verify.ts';
import { LOCAL_MIDWIFE, startTestStack, type TestStack } from '../helpers/stack.ts';

const BOUND = 20;
const dir = mkdtempSync(join(tmpdir(), 'fgm-user-flood-'));
const auditFile = join(dir, 'audit.sqlite');
let clock = Date.now();
let stack: TestStack;

before(async () => {
  stack = await startTestStack({
    configure: (raw) => {
      raw.audit.sqliteFile = auditFile;
      // One request to Spine, then the busy tone for the rest of the test.
      raw.spine.rateLimit = { perSecond: 0.001, burst: 1 };
    },
    deps: { now: () => new Date(clock) },
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

type Row = {
  userId: string | null;
  clientId: string | null;
  orgCode: string | null;
  outcomeCode: string;
  httpStatus: number;
  spineMessageId: string | null;
  detail: string | null;
};
function rows(): Row[] {
  const db = new Database(auditFile, { readonly: true });
  try {
    return db.prepare('SELECT * FROM audit_event ORDER BY seq').all() as Row[];
  } finally {
    db.close();
  }
}
const refusedAttempts = (r: Row) =>
  (r.detail ? JSON.parse(r.detail) : {}).refusedAttempts as { userId: string; count: number } | undefined;

/** `n` widget queries by `sub`, 25 at a time; answers how many heard the busy tone and how many did not. */
async function flood(sub: string, n: number): Promise<{ busy: number; other: number }> {
  const token = stack.signToken({ ...LOCAL_MIDWIFE, sub });
  const counts = { busy: 0, other: 0 };
  for (let sent = 0; sent < n; sent += 25) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(25, n - sent) }, () =>
        stack.request('/api/fgm-status', { token, json: { nhsNumber: '9990000018', birthDate: '2014-03-02' } }),
      ),
    );
    for (const a of answers) counts[a.status === 429 ? 'busy' : 'other']++;
  }
  return counts;
}

describe('SMSP-AUDIT-001 one user’s refusals before Spine', () => {
  it('SMSP-AUDIT-001 a flood of 2000 busy tones from one user writes at most the bound plus one summary per minute, whose counts match; another user’s requests are each audited; the trust’s IG officer finds the summary; verify passes', async () => {
    const hmacKey = Buffer.from(readFileSync(stack.config.audit.hmacKeyFile, 'utf8').trim());
    const first = await flood('flooder', 1000);
    await flood('bystander', 5);
    clock += 60_000;
    const second = await flood('flooder', 1000);
    const busy = first.busy + second.busy;
    assert.ok(busy >= 1990, `the Spine budget refused nearly all (${busy})`);
    // SMSP-AUDIT-007: the first minute's summary is in the trust's IG officer's search for the user.
    const ig = stack.signToken({ sub: 'igofficer', roles: ['auditor'], org: 'RX1' });
    const found = await stack.request('/admin/audit?userId=flooder&limit=1000', { token: ig });
    assert.equal(found.status, 200, found.body);
    const searched = (JSON.parse(found.body) as { records: Row[] }).records.filter(refusedAttempts);
    assert.deepEqual(
      searched.map((r) => refusedAttempts(r)!.count),
      [first.busy - BOUND],
    );
    await stack.close(); // writes the second minute's summary

    const mine = rows().filter((r) => r.userId === 'flooder');
    const own = mine.filter((r) => !refusedAttempts(r));
    const sums = mine.filter(refusedAttempts);
    assert.equal(own.filter((r) => r.outcomeCode === 'SPINE_BUSY').length, 2 * BOUND, 'the bound, each minute');
    assert.equal(own.length - 2 * BOUND, first.other + second.other, 'whatever was not busy-toned has its own record');
    assert.equal(sums.length, 2, 'one summary per minute');
    assert.ok(
      sums.every(
        (r) =>
          r.outcomeCode === 'SPINE_BUSY' &&
          r.httpStatus === 429 &&
          r.clientId === 'test-epr' &&
          r.orgCode === 'RX1' &&
          refusedAttempts(r)!.userId === 'flooder',
      ),
      JSON.stringify(sums),
    );
    assert.equal(
      sums.reduce((n, r) => n + refusedAttempts(r)!.count, 0),
      busy - 2 * BOUND,
      'every busy tone is on the record, as a row or in a count',
    );
    assert.equal(rows().filter((r) => r.userId === 'bystander').length, 5, 'another user keeps her own records');
    const db = new Database(auditFile, { readonly: true });
    try {
      const v = verifyAuditChain(db, hmacKey);
      assert.ok(v.ok, JSON.stringify(v));
    } finally {
      db.close();
    }
  });
});
