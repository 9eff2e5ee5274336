/**
 * verify's every failure reason and boundary, unit by unit on hand-built rows, archives and
 * retention records (signed here with node:crypto over the payload written out by hand): the
 * retention point, the record after it, each archive, the walk and the start-up tail check.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { signAnchor } from './anchor.ts';
import type { AuditEvent } from './audit-event.ts';
import { chainRecord, STORED_COLUMNS, type AuditRow } from './chain.ts';
import { migrateSqlite } from './sqlite-store.ts';
import type { RetentionRecord } from './chain-start.ts';
import {
  archiveProblem,
  belowRetention,
  chainWalk,
  describeVerify,
  provenStart,
  verifyAuditChain,
  verifyAuditTail,
  verifyTailRows,
} from './verify.ts';

const KEY = randomBytes(32);
const GENESIS = '0'.repeat(64);
const TODAY = '2026-07-01';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const PUB = publicKey.export({ type: 'spki', format: 'pem' }) as string;
const dir = mkdtempSync(join(tmpdir(), 'fgm-verify-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const event = (i: number): AuditEvent => ({
  time: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000Z`,
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: 'epr',
  userId: 'u',
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
  outcomeEraseOn: '2030-01-01',
});
/** Records 1…n, chained. */
function rows(n: number): AuditRow[] {
  const out: AuditRow[] = [];
  let head = { seq: 0, hash: GENESIS };
  for (let i = 1; i <= n; i++) out.push((head = chainRecord(KEY, head, event(i))) as AuditRow);
  return out;
}
const chain = rows(10);
/** The digest format 2 signs, written out: each record without outcomeCode, httpStatus, outcomeSalt, one JSON line each. */
const contentSha = (rs: readonly AuditRow[]) =>
  createHash('sha256')
    .update(
      rs
        .map(
          (r) =>
            `${JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !['outcomeCode', 'httpStatus', 'outcomeSalt'].includes(k))))}\n`,
        )
        .join(''),
    )
    .digest('hex');
function retention(
  first: number,
  through: number,
  name = `a-${first}-${through}.jsonl`,
  archived = chain.slice(first - 1, through),
): RetentionRecord {
  writeFileSync(join(dir, name), archived.map((r) => `${JSON.stringify(r)}\n`).join(''));
  const body = {
    firstSeq: first,
    throughSeq: through,
    lastHash: chain[through - 1]!.hash,
    archive: name,
    archiveSha256: contentSha(chain.slice(first - 1, through)),
    time: '2026-06-01T00:00:00.000Z',
    format: 2,
  };
  return {
    ...body,
    format: 2,
    signature: sign(null, Buffer.from(JSON.stringify(body)), privateKey).toString('base64'),
  };
}

describe('verify: retention records and archives (SMSP-AUDIT-009, FGMISQR009)', () => {
  it('SMSP-AUDIT-009 signed, contiguous retention records and intact archives move the start to the newest retention point', () => {
    const rs = [retention(1, 3), retention(4, 6)];
    assert.deepEqual(provenStart(KEY, { publicKey: PUB, retentions: rs, archiveDir: dir, today: TODAY }), {
      seq: 6,
      hash: chain[5]!.hash,
      archives: 2,
      last: rs[1],
    });
    assert.deepEqual(
      provenStart(KEY, { publicKey: PUB, retentions: rs, today: TODAY }),
      { seq: 6, hash: chain[5]!.hash, archives: 0, last: rs[1] },
      'without archiveDir the archives are not read',
    );
    assert.deepEqual(provenStart(KEY, {}), { seq: 0, hash: GENESIS, archives: 0 });
  });
  it('SMSP-AUDIT-009 an unsigned, forged or out-of-order retention record is named', () => {
    const r = retention(1, 3);
    assert.deepEqual(provenStart(KEY, { retentions: [r] }), {
      ok: false,
      seq: 3,
      reason: 'the retention record for records up to 3 has no valid signature',
    });
    assert.deepEqual(provenStart(KEY, { publicKey: PUB, retentions: [{ ...r, throughSeq: 4 }] }), {
      ok: false,
      seq: 4,
      reason: 'the retention record for records up to 4 has no valid signature',
    });
    assert.deepEqual(provenStart(KEY, { publicKey: PUB, retentions: [retention(2, 3)] }), {
      ok: false,
      seq: 2,
      reason: 'the retention record for records 2-3 does not follow the one before it (records up to 0)',
    });
    assert.deepEqual(provenStart(KEY, { publicKey: PUB, retentions: [r, retention(5, 6)] }), {
      ok: false,
      seq: 5,
      reason: 'the retention record for records 5-6 does not follow the one before it (records up to 3)',
    });
  });
  it('FGMISQR009 a missing, altered, reordered or short archive is named, with the archive', () => {
    const r = retention(1, 3, 'missing.jsonl');
    unlinkSync(join(dir, 'missing.jsonl'));
    assert.deepEqual(provenStart(KEY, { publicKey: PUB, retentions: [r], archiveDir: dir, today: TODAY }), {
      ok: false,
      seq: null,
      archive: 'missing.jsonl',
      reason: 'the archive of records 1-3 is missing',
    });
    const altered = retention(1, 3, 'altered.jsonl', [chain[0]!, { ...chain[1]!, nhsNumber: '9990000026' }, chain[2]!]);
    assert.equal(
      archiveProblem(join(dir, 'altered.jsonl'), altered, KEY, GENESIS, TODAY)?.reason,
      'it does not match the SHA-256 its signed retention record names (archive altered)',
    );
    const reordered = retention(1, 3, 'reordered.jsonl', [chain[1]!, chain[0]!, chain[2]!]);
    assert.equal(
      archiveProblem(join(dir, 'reordered.jsonl'), reordered, KEY, GENESIS, TODAY)?.reason,
      'it does not match the SHA-256 its signed retention record names (archive altered)',
    );
    // Past the digest (a digest over what is there): the walk still names the record.
    const swapped = {
      ...retention(1, 3, 'swapped.jsonl', [chain[1]!, chain[0]!, chain[2]!]),
      archiveSha256: contentSha([chain[1]!, chain[0]!, chain[2]!]),
    };
    assert.deepEqual(archiveProblem(join(dir, 'swapped.jsonl'), swapped, KEY, GENESIS, TODAY), {
      seq: 1,
      reason: 'record 1 is missing or out of order (the next archived record is 2)',
    });
    const short = {
      ...retention(1, 3, 'short.jsonl', chain.slice(0, 2)),
      archiveSha256: contentSha(chain.slice(0, 2)),
    };
    assert.deepEqual(archiveProblem(join(dir, 'short.jsonl'), short, KEY, GENESIS, TODAY), {
      seq: 3,
      reason: 'it does not end at record 3 as its signed retention record says',
    });
    const wrongStart = retention(1, 3);
    assert.deepEqual(archiveProblem(join(dir, wrongStart.archive), wrongStart, KEY, 'e'.repeat(64), TODAY), {
      seq: 1,
      reason: 'its link to the previous record is broken (records removed or reordered)',
    });
    const edited = {
      ...retention(1, 3, 'edited.jsonl', [chain[0]!, { ...chain[1]!, outcomeCode: 'NO_RECORD_FOUND' }, chain[2]!]),
    };
    assert.deepEqual(archiveProblem(join(dir, 'edited.jsonl'), edited, KEY, GENESIS, TODAY), {
      seq: 2,
      reason: 'its outcome does not match its digest (outcome altered)',
    });
    const erasedEarly = retention(1, 3, 'early.jsonl', [
      chain[0]!,
      { ...chain[1]!, outcomeCode: null, httpStatus: null, outcomeSalt: null },
      chain[2]!,
    ]);
    assert.deepEqual(archiveProblem(join(dir, 'early.jsonl'), erasedEarly, KEY, GENESIS, TODAY), {
      seq: 2,
      reason: 'its outcome was removed before its erasure date 2030-01-01',
    });
    assert.equal(
      archiveProblem(join(dir, 'early.jsonl'), erasedEarly, KEY, GENESIS, '2030-01-01'),
      undefined,
      'erased on its date: the archive still verifies',
    );
    assert.equal(
      describeVerify({ ok: false, seq: null, archive: 'x.jsonl', reason: 'gone' }),
      'broken archive x.jsonl: gone',
    );
  });
  it('SMSP-AUDIT-009 a record at or below the retention point is a forgery; the first one above is not', () => {
    const start = { seq: 6, hash: 'h', archives: 0 };
    assert.deepEqual(belowRetention(start, 6), {
      ok: false,
      seq: 6,
      reason:
        'it is at or below the retention point (records up to 6 were archived and removed): a record inserted there',
    });
    assert.equal(belowRetention(start, 1)?.ok, false);
    assert.equal(belowRetention(start, 7), undefined);
    assert.equal(belowRetention(start, null), undefined);
    assert.equal(
      belowRetention({ seq: 0, hash: GENESIS, archives: 0 }, 0),
      undefined,
      'no retention: nothing is below it',
    );
  });
});

describe('verify: the walk and the tail (SMSP-AUDIT-009)', () => {
  const walkAll = (
    rs: readonly AuditRow[],
    start = { seq: 0, hash: GENESIS, archives: 0 },
    anchors: Parameters<ReturnType<typeof chainWalk>['finish']>[0] = [],
    pub?: string,
  ) => {
    const w = chainWalk(KEY, anchors.length > 0, start, TODAY);
    for (const r of rs) {
      const b = w.step(r);
      if (b) return b;
    }
    return w.finish(anchors, pub);
  };
  it('SMSP-AUDIT-009 names a gap, a broken link and an edit, and counts an intact walk', () => {
    assert.deepEqual(walkAll(chain), { ok: true, records: 10, anchors: 0 });
    assert.deepEqual(walkAll([chain[0]!, chain[2]!]), {
      ok: false,
      seq: 2,
      reason: 'record 2 is missing (the next stored record is 3)',
    });
    assert.deepEqual(walkAll([chain[0]!, { ...chain[1]!, prevHash: 'x' }]), {
      ok: false,
      seq: 2,
      reason: 'its link to the previous record is broken (records removed or reordered)',
    });
    assert.deepEqual(walkAll([{ ...chain[0]!, userId: 'v' }]), {
      ok: false,
      seq: 1,
      reason: 'its content does not match its hash (record altered)',
    });
  });
  it('SMSP-AUDIT-009 after a retention point the record after it must exist (truncation after retention)', () => {
    const start = { seq: 6, hash: chain[5]!.hash, archives: 2 };
    assert.deepEqual(walkAll(chain.slice(6), start), { ok: true, records: 4, anchors: 0, archives: 2 });
    assert.deepEqual(walkAll([], start), {
      ok: false,
      seq: 7,
      reason: 'record 7 is missing: the trail was truncated after the retention point (records up to 6 archived)',
    });
    assert.deepEqual(walkAll(chain.slice(7), start), {
      ok: false,
      seq: 7,
      reason: 'record 7 is missing (the next stored record is 8)',
    });
    assert.deepEqual(
      walkAll([], { seq: 0, hash: GENESIS, archives: 0 }),
      { ok: true, records: 0, anchors: 0 },
      'an empty trail without retention is intact',
    );
  });
  it('SMSP-AUDIT-009 anchors: unsigned, beyond the end, or not matching are named', () => {
    const a = signAnchor(chain[4]!, privateKey, new Date('2026-01-01T00:00:00Z'));
    assert.deepEqual(walkAll(chain, undefined, [a], PUB), { ok: true, records: 10, anchors: 1 });
    assert.deepEqual(walkAll(chain, undefined, [a]), {
      ok: false,
      seq: 5,
      reason: 'the anchor for record 5 has no valid signature',
    });
    assert.deepEqual(walkAll(chain.slice(0, 4), undefined, [a], PUB), {
      ok: false,
      seq: 5,
      reason:
        'record 5 is missing: the trail was truncated after record 4 (anchored up to 5 at 2026-01-01T00:00:00.000Z)',
    });
    const other = signAnchor({ seq: 5, hash: 'e'.repeat(64) }, privateKey, new Date('2026-01-01T00:00:00Z'));
    assert.deepEqual(walkAll(chain, undefined, [other], PUB), {
      ok: false,
      seq: 5,
      reason: 'record 5 does not match its anchor of 2026-01-01T00:00:00.000Z',
    });
  });
  it('SMSP-AUDIT-001 the start-up tail check: links to the retention point, truncation after it, edits', () => {
    const start = { seq: 6, hash: chain[5]!.hash, archives: 0 };
    assert.deepEqual(verifyTailRows(chain.slice(6), KEY, start, undefined, undefined, undefined, TODAY), {
      ok: true,
      records: 4,
      anchors: 0,
    });
    assert.deepEqual(
      verifyTailRows([{ ...chain[6]!, prevHash: GENESIS }], KEY, start, undefined, undefined, undefined, TODAY),
      { ok: false, seq: 7, reason: 'its link to the previous record is broken (records removed or reordered)' },
    );
    assert.deepEqual(verifyTailRows([], KEY, start, undefined, undefined, undefined, TODAY), {
      ok: false,
      seq: 7,
      reason: 'record 7 is missing: the trail was truncated after the retention point (records up to 6 archived)',
    });
    assert.deepEqual(
      verifyTailRows(chain.slice(7), KEY, start, undefined, undefined, undefined, TODAY).ok,
      true,
      'a tail window need not reach back to the retention point',
    );
    assert.deepEqual(verifyTailRows([chain[6]!, chain[8]!], KEY, start, undefined, undefined, undefined, TODAY), {
      ok: false,
      seq: 8,
      reason: 'record 8 is missing (the next stored record is 9)',
    });
    assert.deepEqual(
      verifyTailRows(
        [{ ...chain[0]!, prevHash: 'x' }],
        KEY,
        { seq: 0, hash: GENESIS, archives: 0 },
        undefined,
        undefined,
        undefined,
        TODAY,
      ).ok,
      false,
      'record 1 must link to genesis',
    );
    assert.deepEqual(
      verifyTailRows([{ ...chain[6]!, detail: 'x' }], KEY, start, undefined, undefined, undefined, TODAY),
      { ok: false, seq: 7, reason: 'its content does not match its hash (record altered)' },
    );
  });
});

describe('verify: the start-up tail check on a real SQLite file (SMSP-AUDIT-001, SMSP-AUDIT-009)', () => {
  /** A fresh store file at the current schema, holding exactly `stored` (inserted as the writer would, bypassing nothing the triggers guard). */
  function storeWith(stored: readonly AuditRow[]): Database.Database {
    const db = new Database(join(dir, `tail-${randomBytes(4).toString('hex')}.sqlite`));
    migrateSqlite(db);
    const cols = ['seq', ...STORED_COLUMNS, 'prevHash', 'hash'];
    const insert = db.prepare(
      `INSERT INTO audit_event (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`,
    );
    for (const r of stored) insert.run(r);
    return db;
  }
  const at = (d: Date) => signAnchor(chain[4]!, privateKey, d);
  const anchorTime = new Date('2026-01-01T00:00:00Z');

  it('SMSP-AUDIT-009 an empty store without retention is intact with no records', () => {
    assert.deepEqual(verifyAuditTail(storeWith([]), KEY, { today: TODAY }), { ok: true, records: 0, anchors: 0 });
  });
  it('SMSP-AUDIT-009 an absent audit table is named as a damaged database, not thrown', () => {
    const db = new Database(join(dir, 'no-table.sqlite'));
    assert.deepEqual(verifyAuditTail(db, KEY, { today: TODAY }), {
      ok: false,
      seq: null,
      reason: 'the audit table audit_event is missing (the trail was deleted)',
    });
    assert.deepEqual(verifyAuditChain(db, KEY, { today: TODAY }), {
      ok: false,
      seq: null,
      reason: 'the audit table audit_event is missing (the trail was deleted)',
    });
  });
  it('SMSP-AUDIT-009 an intact store: every record in the window counted, the window limited to `tail`', () => {
    const db = storeWith(chain);
    assert.deepEqual(verifyAuditTail(db, KEY, { today: TODAY }), { ok: true, records: 10, anchors: 0 });
    assert.deepEqual(verifyAuditTail(db, KEY, { today: TODAY }, 3), { ok: true, records: 3, anchors: 0 });
  });
  it('SMSP-AUDIT-009 a gap in seq is named at the first missing record', () => {
    assert.deepEqual(verifyAuditTail(storeWith([...chain.slice(0, 5), ...chain.slice(6)]), KEY, { today: TODAY }), {
      ok: false,
      seq: 6,
      reason: 'record 6 is missing (the next stored record is 7)',
    });
  });
  it("SMSP-AUDIT-009 a record altered in the tail is named; one older than the window is the full verify's to find", () => {
    const db = storeWith([chain[0]!, { ...chain[1]!, userId: 'someone-else' }, ...chain.slice(2)]);
    assert.deepEqual(verifyAuditTail(db, KEY, { today: TODAY }), {
      ok: false,
      seq: 2,
      reason: 'its content does not match its hash (record altered)',
    });
    assert.deepEqual(verifyAuditTail(db, KEY, { today: TODAY }, 8), { ok: true, records: 8, anchors: 0 });
    assert.deepEqual(verifyAuditTail(db, KEY, { today: TODAY }, 9).ok, false);
  });
  it('SMSP-AUDIT-009 record 1 not linked to genesis is a broken link', () => {
    const other = chainRecord(KEY, { seq: 0, hash: 'f'.repeat(64) }, event(1));
    assert.deepEqual(verifyAuditTail(storeWith([other, ...chain.slice(1)]), KEY, { today: TODAY }), {
      ok: false,
      seq: 1,
      reason: 'its link to the previous record is broken (records removed or reordered)',
    });
  });
  it('SMSP-AUDIT-009 after retention: a broken link at the retention point, truncation after it, a forgery below it', () => {
    const r = retention(1, 6, 'tail-archive.jsonl');
    const o = { publicKey: PUB, retentions: [r], today: TODAY };
    assert.deepEqual(verifyAuditTail(storeWith(chain.slice(6)), KEY, o), { ok: true, records: 4, anchors: 0 });
    unlinkSync(join(dir, 'tail-archive.jsonl'));
    assert.deepEqual(
      verifyAuditTail(storeWith(chain.slice(6)), KEY, o),
      { ok: true, records: 4, anchors: 0 },
      'the start-up check does not read archives',
    );
    const relinked = chainRecord(KEY, { seq: 6, hash: 'e'.repeat(64) }, event(7));
    assert.deepEqual(verifyAuditTail(storeWith([relinked, ...chain.slice(7)]), KEY, o), {
      ok: false,
      seq: 7,
      reason: 'its link to the previous record is broken (records removed or reordered)',
    });
    assert.deepEqual(verifyAuditTail(storeWith([]), KEY, o), {
      ok: false,
      seq: 7,
      reason: 'record 7 is missing: the trail was truncated after the retention point (records up to 6 archived)',
    });
    assert.deepEqual(verifyAuditTail(storeWith([chain[2]!, ...chain.slice(6)]), KEY, o), {
      ok: false,
      seq: 3,
      reason:
        'it is at or below the retention point (records up to 6 were archived and removed): a record inserted there',
    });
    assert.deepEqual(verifyAuditTail(storeWith(chain.slice(6)), KEY, { ...o, publicKey: undefined }), {
      ok: false,
      seq: 6,
      reason: 'the retention record for records up to 6 has no valid signature',
    });
  });
  it('SMSP-AUDIT-009 anchors: the newest is checked, and a tail that does not match it, ends before it or lacks its signature is named', () => {
    const matching = at(anchorTime);
    const o = { publicKey: PUB, today: TODAY };
    assert.deepEqual(verifyAuditTail(storeWith(chain), KEY, { ...o, anchors: [matching] }), {
      ok: true,
      records: 10,
      anchors: 1,
    });
    const wrong = signAnchor({ seq: 8, hash: 'e'.repeat(64) }, privateKey, anchorTime);
    assert.deepEqual(verifyAuditTail(storeWith(chain), KEY, { ...o, anchors: [matching, wrong] }), {
      ok: false,
      seq: 8,
      reason: 'record 8 does not match its anchor of 2026-01-01T00:00:00.000Z',
    });
    assert.deepEqual(
      verifyAuditTail(storeWith(chain), KEY, { ...o, anchors: [wrong, matching] }).ok,
      false,
      'the newest by seq, whatever the order',
    );
    const older = signAnchor({ seq: 2, hash: 'e'.repeat(64) }, privateKey, anchorTime);
    assert.deepEqual(
      verifyAuditTail(storeWith(chain), KEY, { ...o, anchors: [older, matching] }),
      { ok: true, records: 10, anchors: 1 },
      'only the newest anchor is checked at start-up',
    );
    // A tail window that does not reach the anchored record: its stored hash is read apart.
    assert.deepEqual(verifyAuditTail(storeWith(chain), KEY, { ...o, anchors: [matching] }, 2), {
      ok: true,
      records: 2,
      anchors: 1,
    });
    assert.deepEqual(verifyAuditTail(storeWith(chain.slice(0, 4)), KEY, { ...o, anchors: [matching] }), {
      ok: false,
      seq: 5,
      reason:
        'record 5 is missing: the trail was truncated after record 4 (anchored up to 5 at 2026-01-01T00:00:00.000Z)',
    });
    assert.deepEqual(verifyAuditTail(storeWith(chain), KEY, { today: TODAY, anchors: [matching] }), {
      ok: false,
      seq: 5,
      reason: 'the anchor for record 5 has no valid signature',
    });
    const forged = { ...matching, hash: 'e'.repeat(64) };
    assert.deepEqual(verifyAuditTail(storeWith(chain), KEY, { ...o, anchors: [forged] }), {
      ok: false,
      seq: 5,
      reason: 'the anchor for record 5 has no valid signature',
    });
    // An anchor at or below the retention point is the archive's to prove, not the tail's.
    const r = retention(1, 6, 'tail-anchor.jsonl');
    assert.deepEqual(verifyAuditTail(storeWith(chain.slice(6)), KEY, { ...o, retentions: [r], anchors: [matching] }), {
      ok: true,
      records: 4,
      anchors: 0,
    });
  });
  it('SMSP-AUDIT-009 boundaries of the tail check: a spliced valid record, a record at the retention point, anchors at the last record and at the retention point', () => {
    const start = { seq: 6, hash: chain[5]!.hash, archives: 0 };
    // A record with a valid hash but chained to another record 7: only the link between the two names it.
    const spliced = chainRecord(KEY, { seq: 7, hash: 'e'.repeat(64) }, event(8));
    assert.deepEqual(verifyTailRows([chain[6]!, spliced], KEY, start, undefined, undefined, undefined, TODAY), {
      ok: false,
      seq: 8,
      reason: 'its link to the previous record is broken (records removed or reordered)',
    });
    assert.deepEqual(
      verifyTailRows([chain[5]!], KEY, start, undefined, undefined, undefined, TODAY),
      {
        ok: false,
        seq: 7,
        reason: 'record 7 is missing: the trail was truncated after the retention point (records up to 6 archived)',
      },
      'ending at the retention point is truncation',
    );
    const atLast = signAnchor(chain[9]!, privateKey, anchorTime);
    assert.deepEqual(
      verifyAuditTail(storeWith(chain), KEY, { publicKey: PUB, today: TODAY, anchors: [atLast] }),
      { ok: true, records: 10, anchors: 1 },
      'an anchor at the newest record',
    );
    const atPoint = signAnchor(chain[5]!, privateKey, anchorTime);
    const r = retention(1, 6, 'tail-point.jsonl');
    assert.deepEqual(
      verifyAuditTail(storeWith(chain.slice(6)), KEY, {
        publicKey: PUB,
        today: TODAY,
        retentions: [r],
        anchors: [atPoint],
      }),
      { ok: true, records: 4, anchors: 0 },
      "an anchor at the retention point is the archive's",
    );
  });
  it('SMSP-AUDIT-009 FGMISQR009 an outcome removed early in the tail is named; on its date it is not', () => {
    const erased = { ...chain[9]!, outcomeCode: null, httpStatus: null, outcomeSalt: null };
    assert.deepEqual(verifyAuditTail(storeWith([...chain.slice(0, 9), erased]), KEY, { today: TODAY }), {
      ok: false,
      seq: 10,
      reason: 'its outcome was removed before its erasure date 2030-01-01',
    });
    assert.deepEqual(verifyAuditTail(storeWith([...chain.slice(0, 9), erased]), KEY, { today: '2030-01-01' }).ok, true);
  });
  it('SMSP-AUDIT-009 describeVerify words each kind of answer', () => {
    assert.equal(describeVerify({ ok: true, records: 3, anchors: 1 }), 'intact, 3 records (1 anchors checked)');
    assert.equal(
      describeVerify({ ok: true, records: 3, anchors: 0, archives: 2 }),
      'intact, 3 records (0 anchors, 2 archives checked)',
    );
    assert.equal(describeVerify({ ok: false, seq: 4, reason: 'x' }), 'broken at record 4: x');
    assert.equal(describeVerify({ ok: false, seq: null, reason: 'x' }), 'damaged database: x');
  });
});

describe('verify: every cleared outcome is covered by an erasure record on or after its date (FGMISQR009)', () => {
  const query = (i: number, eraseOn = '2026-06-01'): AuditEvent => ({ ...event(i), outcomeEraseOn: eraseOn });
  /** The run's record as erasure-record.ts writes it, at `time`, naming `seqs` (ranges written out by hand). */
  const erasureAt = (time: string, seqs: unknown, requestId = 'erase'): AuditEvent => ({
    ...event(0),
    time,
    eventType: 'outcome-erasure',
    requestId,
    clientMessageId: null,
    clientId: null,
    userId: null,
    nhsNumber: null,
    httpStatus: 0,
    answeredBySpine: false,
    outcomeEraseOn: null,
    detail: JSON.stringify({ erasedOutcomes: { through: time.slice(0, 10), records: 1, archives: [], seqs } }),
  });
  /** Chains `events` from genesis, then clears the outcome of the records numbered in `cleared` (as the erasure's UPDATE does). */
  function trail(events: readonly AuditEvent[], cleared: readonly number[]): AuditRow[] {
    let head = { seq: 0, hash: GENESIS };
    return events
      .map((e) => (head = chainRecord(KEY, head, e)) as AuditRow)
      .map((r) => (cleared.includes(r.seq) ? { ...r, outcomeCode: null, httpStatus: null, outcomeSalt: null } : r));
  }
  /** The day after the runs: the outcomes still held (due 1 June) are not yet overdue (erasure-coverage.ts overdueFrom). */
  const DAY_AFTER = '2026-06-02';
  const walk = (rs: readonly AuditRow[]) => {
    const w = chainWalk(KEY, false, { seq: 0, hash: GENESIS, archives: 0 }, DAY_AFTER);
    for (const r of rs) {
      const b = w.step(r);
      if (b) return b;
    }
    return w.finish([]);
  };
  const early = (seq: number, date = '2026-06-01') => ({
    ok: false,
    seq,
    reason: `its outcome was removed without an erasure record on or after its erasure date ${date} (erased early, or outside an erasure run)`,
  });

  it('FGMISQR009 a cleared outcome named by a run on its erasure date verifies', () => {
    assert.deepEqual(
      walk(trail([query(1), query(2), query(3), erasureAt('2026-06-01T02:00:00.000Z', [[2, 2]])], [2])),
      { ok: true, records: 4, anchors: 0 },
    );
    assert.deepEqual(
      walk(trail([query(1), query(2), query(3), erasureAt('2026-06-01T02:00:00.000Z', [[1, 3]])], [1, 2, 3])),
      { ok: true, records: 4, anchors: 0 },
      'a range covers each record in it',
    );
  });
  it('FGMISQR009 an outcome cleared early is named after its date has passed: no run, a run dated before it, or a run not naming it', () => {
    assert.deepEqual(walk(trail([query(1), query(2), query(3)], [2])), early(2), 'cleared by hand, no run at all');
    // 22:59 UTC on 31 May is 23:59 BST: still 31 May in the UK, one day early.
    assert.deepEqual(walk(trail([query(1), query(2), erasureAt('2026-05-31T22:59:00.000Z', [[2, 2]])], [2])), early(2));
    assert.deepEqual(
      walk(trail([query(1), query(2), erasureAt('2026-05-31T23:00:00.000Z', [[2, 2]])], [2])),
      { ok: true, records: 3, anchors: 0 },
      '23:00 UTC on 31 May is UK midnight of 1 June (BST)',
    );
    assert.deepEqual(
      walk(
        trail(
          [
            query(1),
            query(2),
            query(3),
            erasureAt('2026-06-01T02:00:00.000Z', [
              [1, 1],
              [3, 3],
            ]),
          ],
          [2],
        ),
      ),
      early(2),
      'the run named others',
    );
    assert.deepEqual(
      walk(trail([query(1), query(2), query(3), erasureAt('2026-06-01T02:00:00.000Z', [[3, 4]])], [2])),
      early(2),
      'just below a range',
    );
    assert.deepEqual(
      walk(trail([query(1), query(2), query(3), erasureAt('2026-06-01T02:00:00.000Z', [[1, 1]])], [2])),
      early(2),
      'just above a range',
    );
    assert.deepEqual(
      walk(trail([query(1), erasureAt('2026-06-01T02:00:00.000Z', [[3, 3]]), query(3)], [3])),
      early(3),
      'a run recorded before the record cannot have cleared it',
    );
    assert.deepEqual(
      walk(trail([query(1), query(2, '2026-06-02'), erasureAt('2026-06-01T02:00:00.000Z', [[1, 2]])], [1, 2])),
      early(2, '2026-06-02'),
      'each record against its own date',
    );
    assert.deepEqual(
      walk(trail([query(1), query(2), query(3), query(4)], [4, 2])),
      early(2),
      'the lowest uncovered record is named',
    );
  });
  it('FGMISQR009 only an outcome-erasure record covers, and only with the seqs it names', () => {
    const asQuery = { ...erasureAt('2026-06-01T02:00:00.000Z', [[1, 1]]), eventType: 'widget-query' as const };
    assert.deepEqual(walk(trail([query(1), asQuery], [1])), early(1), 'another event type naming seqs');
    assert.deepEqual(
      walk(trail([query(1), { ...erasureAt('2026-06-01T02:00:00.000Z', []), detail: 'not json' }], [1])),
      early(1),
    );
    assert.deepEqual(
      walk(
        trail(
          [
            query(1),
            {
              ...erasureAt('2026-06-01T02:00:00.000Z', []),
              detail: JSON.stringify({ erasedOutcomes: { records: 1 } }),
            },
          ],
          [1],
        ),
      ),
      early(1),
      'a run record without seqs names none',
    );
    assert.deepEqual(
      walk(trail([query(1), erasureAt('2026-06-01T02:00:00.000Z', [[1, 1, 1], ['1', '1'], 1])], [1])),
      early(1),
      'malformed ranges name nothing',
    );
    assert.deepEqual(
      walk(
        trail(
          [
            query(1),
            erasureAt('2026-06-01T02:00:00.000Z', [
              [1.5, 1.5],
              [0, 0.5],
            ]),
          ],
          [1],
        ),
      ),
      early(1),
      'non-integer ranges name nothing',
    );
    assert.deepEqual(
      walk(
        trail(
          [
            query(1),
            erasureAt('2026-06-01T02:00:00.000Z', [
              [0, 0],
              [1, 1],
            ]),
          ],
          [1],
        ),
      ),
      { ok: true, records: 2, anchors: 0 },
      'a good range beside a useless one',
    );
    assert.deepEqual(
      walk(
        trail(
          [
            query(1),
            query(2),
            erasureAt('2026-06-01T02:00:00.000Z', [[2, 2]]),
            erasureAt('2026-06-01T03:00:00.000Z', [[1, 1]]),
          ],
          [1, 2],
        ),
      ),
      { ok: true, records: 4, anchors: 0 },
      'covered by different runs',
    );
    assert.deepEqual(
      walk(trail([query(1), query(2)], [])),
      { ok: true, records: 2, anchors: 0 },
      'nothing cleared, nothing to cover',
    );
  });
  it('FGMISQR009 an archived cleared outcome is covered by a run recorded in the store, and named without one', () => {
    const rs = trail([query(1), query(2), query(3), erasureAt('2026-06-01T02:00:00.000Z', [[2, 2]])], [2]);
    const name = 'coverage.jsonl';
    writeFileSync(
      join(dir, name),
      rs
        .slice(0, 3)
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(''),
    );
    const body = {
      firstSeq: 1,
      throughSeq: 3,
      lastHash: rs[2]!.hash,
      archive: name,
      archiveSha256: contentSha(rs.slice(0, 3)),
      time: '2026-06-01T00:00:00.000Z',
      format: 2,
    };
    const r = {
      ...body,
      format: 2 as const,
      signature: sign(null, Buffer.from(JSON.stringify(body)), privateKey).toString('base64'),
    };
    const db = new Database(join(dir, 'coverage.sqlite'));
    migrateSqlite(db);
    const cols = ['seq', ...STORED_COLUMNS, 'prevHash', 'hash'];
    const insert = db.prepare(
      `INSERT INTO audit_event (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`,
    );
    insert.run(rs[3]);
    const o = { publicKey: PUB, retentions: [r], archiveDir: dir, today: DAY_AFTER };
    assert.deepEqual(verifyAuditChain(db, KEY, o), { ok: true, records: 1, anchors: 0, archives: 1 });
    // The same archive, but the stored run names another record.
    const db2 = new Database(join(dir, 'coverage-2.sqlite'));
    migrateSqlite(db2);
    db2
      .prepare(insert.source)
      .run(chainRecord(KEY, { seq: 3, hash: rs[2]!.hash }, erasureAt('2026-06-01T02:00:00.000Z', [[3, 3]])));
    assert.deepEqual(verifyAuditChain(db2, KEY, o), early(2));
  });
});
