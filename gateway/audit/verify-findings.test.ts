/**
 * @module gateway/audit/verify-findings.test
 * verify's answers that are not a broken link, unit by unit on hand-built rows, archives and
 * retention records (signed here with node:crypto over the payload written out by hand) and real
 * SQLite files: an interrupted retention (SMSP-AUDIT-009), an outcome kept past its date or in
 * an archive (FGMISQR009), a damaged database, a format 1 archive, an unreadable archive line,
 * anchors at and above the retention point. Expected answers are written out by hand.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { signAnchor } from './anchor.ts';
import type { AuditEvent } from './audit-event.ts';
import { chainRecord, STORED_COLUMNS, type AuditRow } from './chain.ts';
import type { RetentionRecord } from './chain-start.ts';
import { erasureCoverage } from './erasure-coverage.ts';
import { migrateSqlite } from './sqlite-store.ts';
import {
  archiveProblem,
  belowRetention,
  describeVerify,
  incompleteRetention,
  provenStart,
  verifyAuditChain,
  verifyAuditTail,
  withPending,
  type ChainStart,
} from './verify.ts';

const KEY = randomBytes(32);
const GENESIS = '0'.repeat(64);
const TODAY = '2026-07-01';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const PUB = publicKey.export({ type: 'spki', format: 'pem' }) as string;
const dir = mkdtempSync(join(tmpdir(), 'fgm-verify-findings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const event = (i: number, eraseOn = '2030-01-01'): AuditEvent => ({
  time: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000Z`,
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: 'epr',
  userId: i === 2 ? 'user1' : 'u',
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
  outcomeEraseOn: eraseOn,
});
/** Records 1…n chained from genesis, record i due on `eraseOn(i)`. */
function rows(n: number, eraseOn = (_i: number) => '2030-01-01'): AuditRow[] {
  const out: AuditRow[] = [];
  let head = { seq: 0, hash: GENESIS };
  for (let i = 1; i <= n; i++) out.push((head = chainRecord(KEY, head, event(i, eraseOn(i)))) as AuditRow);
  return out;
}
const chain = rows(10);
const clear = (r: AuditRow): AuditRow => ({ ...r, outcomeCode: null, httpStatus: null, outcomeSalt: null });
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
/** A signed retention record of `archived` (the records it names), its archive written as `text` (one JSON line each unless given). */
function retention(
  archived: readonly AuditRow[],
  name: string,
  o: { text?: string; format1?: boolean } = {},
): RetentionRecord {
  const text = o.text ?? archived.map((r) => `${JSON.stringify(r)}\n`).join('');
  writeFileSync(join(dir, name), text);
  const digest = o.format1 ? createHash('sha256').update(text).digest('hex') : contentSha(archived);
  const body = {
    firstSeq: archived[0]!.seq,
    throughSeq: archived.at(-1)!.seq,
    lastHash: archived.at(-1)!.hash,
    archive: name,
    archiveSha256: digest,
    time: '2026-06-01T00:00:00.000Z',
    ...(o.format1 ? {} : { format: 2 }),
  };
  return {
    ...body,
    signature: sign(null, Buffer.from(JSON.stringify(body)), privateKey).toString('base64'),
  } as RetentionRecord;
}
/** A fresh store file at the current schema holding exactly `stored`. */
function storeWith(stored: readonly AuditRow[]): Database.Database {
  const db = new Database(join(dir, `store-${randomBytes(4).toString('hex')}.sqlite`));
  migrateSqlite(db);
  const cols = ['seq', ...STORED_COLUMNS, 'prevHash', 'hash'];
  const insert = db.prepare(
    `INSERT INTO audit_event (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`,
  );
  for (const r of stored) insert.run(r);
  return db;
}
const INCOMPLETE = {
  ok: false,
  seq: 1,
  kind: 'retention-incomplete',
  reason: 'retention of records 1-6 incomplete: rows up to seq 6 still present — run retain again',
} as const;
const FORGED_1 = {
  ok: false,
  seq: 1,
  reason: 'it is at or below the retention point (records up to 6 were archived and removed): a record inserted there',
} as const;
const overdue = (date: string) =>
  `its outcome is still held although its erasure date ${date} has passed (FGMISQR009: the erasure has not run; run erase-outcomes)`;

describe('verify: a retention interrupted before its deletion (SMSP-AUDIT-009)', () => {
  const r = retention(chain.slice(0, 6), 'pending.jsonl');
  const start: ChainStart = { seq: 6, hash: chain[5]!.hash, archives: 0, last: r };
  it("SMSP-AUDIT-009 exactly the newest retention's records, each proving itself, is a pending deletion; anything else is not", () => {
    assert.deepEqual(incompleteRetention(start, KEY, TODAY, { rows: chain.slice(0, 6) }), INCOMPLETE);
    assert.equal(incompleteRetention(start, KEY, TODAY, { rows: chain.slice(1, 6) }), undefined, 'one missing');
    assert.equal(
      incompleteRetention(start, KEY, TODAY, { rows: chain.slice(1, 7) }),
      undefined,
      'another range of the same size',
    );
    assert.equal(
      incompleteRetention(start, KEY, TODAY, { rows: [chain[0]!, chain[2]!, chain[1]!, ...chain.slice(3, 6)] }),
      undefined,
      'out of order',
    );
    assert.equal(
      incompleteRetention(start, KEY, TODAY, {
        rows: [chain[0]!, { ...chain[1]!, userId: 'v' }, ...chain.slice(2, 6)],
      }),
      undefined,
      'one altered',
    );
    assert.equal(
      incompleteRetention({ ...start, last: { ...r, lastHash: 'e'.repeat(64) } }, KEY, TODAY, {
        rows: chain.slice(0, 6),
      }),
      undefined,
      'not ending at the signed hash',
    );
    assert.equal(
      incompleteRetention({ ...start, last: { ...r, archiveSha256: 'e'.repeat(64) } }, KEY, TODAY, {
        rows: chain.slice(0, 6),
      }),
      undefined,
      'not what the archive holds',
    );
    assert.equal(
      incompleteRetention({ ...start, last: { ...r, format: undefined } }, KEY, TODAY, { rows: chain.slice(0, 6) }),
      undefined,
      'format 1: retain deleted in the same transaction',
    );
    assert.equal(
      incompleteRetention({ seq: 0, hash: GENESIS, archives: 0 }, KEY, TODAY, { rows: chain.slice(0, 6) }),
      undefined,
      'no retention',
    );
  });
  it('SMSP-AUDIT-009 FGMISQR009 a pending record whose outcome was erased on its date still proves itself', () => {
    const erased = [...chain.slice(0, 5), clear(chain[5]!)];
    assert.deepEqual(incompleteRetention(start, KEY, '2030-01-01', { rows: erased }), INCOMPLETE);
    assert.equal(incompleteRetention(start, KEY, TODAY, { rows: erased }), undefined, 'erased before its date');
  });
  it('SMSP-AUDIT-009 the start-up form: lowest seq, count and the hash at the retention point must all match', () => {
    const ok = { lowest: 1, count: 6, hashAtPoint: chain[5]!.hash };
    assert.deepEqual(incompleteRetention(start, KEY, TODAY, ok), INCOMPLETE);
    assert.equal(incompleteRetention(start, KEY, TODAY, { ...ok, lowest: 2 }), undefined);
    assert.equal(incompleteRetention(start, KEY, TODAY, { ...ok, count: 5 }), undefined);
    assert.equal(incompleteRetention(start, KEY, TODAY, { ...ok, hashAtPoint: undefined }), undefined);
  });
  it('SMSP-AUDIT-009 no stored record at all below the point (a store that answers undefined, not null) is no forgery', () => {
    assert.equal(belowRetention(start, undefined), undefined);
  });
  it('SMSP-AUDIT-009 a pending deletion is reported only when the rest of the chain is intact', () => {
    const intact = { ok: true, records: 4, anchors: 0 } as const;
    const broken = { ok: false, seq: 8, reason: 'x' } as const;
    assert.deepEqual(withPending(intact, INCOMPLETE), INCOMPLETE);
    assert.deepEqual(withPending(intact, undefined), intact);
    assert.deepEqual(withPending(broken, INCOMPLETE), broken);
  });
  it('SMSP-AUDIT-009 on a real SQLite file: the full verify and the start-up check report it; a record altered among them is a forgery', () => {
    const o = { publicKey: PUB, retentions: [r], archiveDir: dir, today: TODAY };
    assert.deepEqual(verifyAuditChain(storeWith(chain), KEY, o), INCOMPLETE);
    assert.deepEqual(verifyAuditTail(storeWith(chain), KEY, o), INCOMPLETE);
    const altered = [...chain.slice(0, 5), { ...chain[5]!, hash: 'e'.repeat(64) }, ...chain.slice(6)];
    assert.deepEqual(verifyAuditChain(storeWith(altered), KEY, o), FORGED_1);
    assert.deepEqual(
      verifyAuditTail(storeWith(altered), KEY, o),
      FORGED_1,
      'the start-up check: the hash at the retention point',
    );
    assert.deepEqual(verifyAuditChain(storeWith([{ ...chain[0]!, userId: 'v' }, ...chain.slice(1)]), KEY, o), FORGED_1);
    assert.deepEqual(
      verifyAuditChain(storeWith([...chain.slice(0, 6), { ...chain[6]!, userId: 'v' }, ...chain.slice(7)]), KEY, o),
      { ok: false, seq: 7, reason: 'its content does not match its hash (record altered)' },
      'a break after it stays the break',
    );
  });
});

describe('verify: what an archive holds (SMSP-AUDIT-009, FGMISQR009)', () => {
  it('SMSP-AUDIT-009 a line that is not a record is named by its number; a blank line is an altered archive too', () => {
    const text = chain
      .slice(0, 3)
      .map((r) => JSON.stringify(r))
      .join('\n');
    const r = retention(chain.slice(0, 3), 'bad-line.jsonl', { text: text.replace(/\n[^\n]*\n/, '\n{"seq": 2\n') });
    assert.deepEqual(archiveProblem(join(dir, r.archive), r, KEY, GENESIS, TODAY), {
      seq: null,
      reason: 'its line 2 is not a readable record (archive altered)',
    });
    const blank = retention(chain.slice(0, 3), 'blank-line.jsonl', { text: `${text.replace('\n', '\n\n')}\n \n` });
    // Not the bytes retain writes (archive-bytes.test.ts has each alteration): named, though its records' digest matches.
    assert.deepEqual(archiveProblem(join(dir, blank.archive), blank, KEY, GENESIS, TODAY), {
      seq: null,
      reason: 'its line 2 is not written as retain writes it (archive altered)',
    });
  });
  it('SMSP-AUDIT-009 an archive must end exactly where its signed record says: at its seq, and at its hash', () => {
    const r = retention(chain.slice(0, 3), 'end.jsonl');
    assert.deepEqual(
      archiveProblem(join(dir, r.archive), { ...r, lastHash: 'e'.repeat(64) }, KEY, GENESIS, TODAY),
      { seq: 4, reason: 'it does not end at record 3 as its signed retention record says' },
      'every record there, another last hash',
    );
    assert.deepEqual(
      archiveProblem(join(dir, r.archive), { ...r, throughSeq: 4 }, KEY, GENESIS, TODAY),
      { seq: 4, reason: 'it does not end at record 4 as its signed retention record says' },
      'the last hash right, a record short',
    );
  });
  it('SMSP-AUDIT-009 a format 1 archive (before erasure) is proven by the SHA-256 of its bytes', () => {
    const r = retention(chain.slice(0, 3), 'format1.jsonl', { format1: true });
    assert.equal(archiveProblem(join(dir, r.archive), r, KEY, GENESIS, TODAY), undefined);
    assert.deepEqual(
      archiveProblem(join(dir, r.archive), { ...r, archiveSha256: contentSha(chain.slice(0, 3)) }, KEY, GENESIS, TODAY),
      { seq: null, reason: 'it does not match the SHA-256 its signed retention record names (archive altered)' },
    );
    const spaced = retention(chain.slice(0, 3), 'format1-spaced.jsonl', { format1: true });
    writeFileSync(
      join(dir, spaced.archive),
      `${chain
        .slice(0, 3)
        .map((x) => JSON.stringify(x))
        .join('\n')}\n\n`,
    );
    assert.equal(
      archiveProblem(join(dir, spaced.archive), spaced, KEY, GENESIS, TODAY)?.reason,
      'it does not match the SHA-256 its signed retention record names (archive altered)',
      'format 1: any change to the bytes',
    );
  });
  it('FGMISQR009 an outcome erased in an archive on its date verifies against the date verify is given', () => {
    const r = retention([...chain.slice(0, 2), clear(chain[2]!)], 'erased-on-date.jsonl');
    assert.deepEqual(provenStart(KEY, { publicKey: PUB, retentions: [r], archiveDir: dir, today: '2030-01-01' }), {
      seq: 3,
      hash: chain[2]!.hash,
      archives: 1,
      last: r,
    });
    assert.deepEqual(provenStart(KEY, { publicKey: PUB, retentions: [r], archiveDir: dir, today: TODAY }), {
      ok: false,
      seq: 3,
      archive: r.archive,
      reason: 'its outcome was removed before its erasure date 2030-01-01',
    });
  });
  it('FGMISQR009 an outcome held in an archive past its date is a finding naming the archive, after every check has passed', () => {
    const old = rows(8, (i) => (i === 2 ? '2026-05-01' : '2030-01-01'));
    const r = retention(old.slice(0, 3), 'kept.jsonl');
    const coverage = erasureCoverage(TODAY);
    assert.equal(archiveProblem(join(dir, r.archive), r, KEY, GENESIS, TODAY, coverage), undefined);
    assert.deepEqual(coverage.kept(), { seq: 2, reason: overdue('2026-05-01'), archive: 'kept.jsonl' });
    const o = { publicKey: PUB, retentions: [r], archiveDir: dir, today: TODAY };
    assert.deepEqual(verifyAuditChain(storeWith(old.slice(3)), KEY, o), {
      ok: false,
      seq: 2,
      reason: overdue('2026-05-01'),
      archive: 'kept.jsonl',
      kind: 'outcome-kept',
    });
    assert.deepEqual(
      verifyAuditChain(storeWith([...old.slice(3, 5), { ...old[5]!, userId: 'v' }, ...old.slice(6)]), KEY, o),
      { ok: false, seq: 6, reason: 'its content does not match its hash (record altered)' },
      'a break is named first',
    );
  });
});

describe('verify: the database, anchors and the date (SMSP-AUDIT-009)', () => {
  it('SMSP-AUDIT-009 an index edited apart from its table is a damaged database', () => {
    const db = storeWith(chain);
    const { sql } = db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'audit_event_user'`).get() as {
      sql: string;
    };
    db.exec(
      `DROP INDEX audit_event_user; CREATE INDEX audit_event_user ON audit_event (userId) WHERE userId <> 'user1';`,
    );
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    db.prepare(`UPDATE sqlite_master SET sql = ? WHERE name = 'audit_event_user'`).run(sql);
    const file = db.name;
    db.close();
    const check = new Database(file, { readonly: true });
    // SQLite's own words, each of its findings, follow the prefix; record 2 (user1's) is the one left out.
    const said = (check.pragma('integrity_check') as { integrity_check: string }[]).map((p) => p.integrity_check);
    assert.ok(said.includes('row 2 missing from index audit_event_user'), said.join(' | '));
    assert.deepEqual(verifyAuditChain(check, KEY, { today: TODAY }), {
      ok: false,
      seq: null,
      reason: `SQLite's integrity check failed (an index no longer matches the table, so searches can miss records): ${said.join('; ')}`,
    });
  });
  it('SMSP-AUDIT-009 a damaged database SQLite names in one line is named too', () => {
    const db = storeWith(chain);
    const { sql } = db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'audit_event'`).get() as { sql: string };
    // prevHash's NOT NULL dropped from the stored schema, a NULL written, the schema put back.
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    db.prepare(`UPDATE sqlite_master SET sql = ? WHERE name = 'audit_event'`).run(
      sql.replace('prevHash TEXT NOT NULL', 'prevHash TEXT'),
    );
    const file = db.name;
    db.close();
    const open = new Database(file);
    open
      .prepare(
        `INSERT INTO audit_event (seq, time, eventType, requestId, orgCode, answeredBySpine, prevHash, hash) VALUES (11, 't', 'widget-query', 'r', 'RX1', 0, NULL, 'h')`,
      )
      .run();
    open.unsafeMode(true);
    open.pragma('writable_schema = ON');
    open.prepare(`UPDATE sqlite_master SET sql = ? WHERE name = 'audit_event'`).run(sql);
    open.close();
    const check = new Database(file, { readonly: true });
    const said = (check.pragma('integrity_check') as { integrity_check: string }[]).map((p) => p.integrity_check);
    assert.equal(said.length, 1, said.join(' | '));
    assert.deepEqual(verifyAuditChain(check, KEY, { today: TODAY }), {
      ok: false,
      seq: null,
      reason: `SQLite's integrity check failed (an index no longer matches the table, so searches can miss records): ${said[0]}`,
    });
  });
  it('SMSP-AUDIT-009 the full verify checks every anchor above the retention point, none at or below it', () => {
    const r = retention(chain.slice(0, 6), 'anchors.jsonl');
    const t = new Date('2026-01-01T00:00:00Z');
    const o = { publicKey: PUB, retentions: [r], archiveDir: dir, today: TODAY };
    const stored = chain.slice(6);
    assert.deepEqual(
      verifyAuditChain(storeWith(stored), KEY, { ...o, anchors: [signAnchor(chain[7]!, privateKey, t)] }),
      { ok: true, records: 4, anchors: 1, archives: 1 },
    );
    assert.deepEqual(
      verifyAuditChain(storeWith(stored), KEY, {
        ...o,
        anchors: [signAnchor({ seq: 8, hash: 'e'.repeat(64) }, privateKey, t)],
      }),
      { ok: false, seq: 8, reason: 'record 8 does not match its anchor of 2026-01-01T00:00:00.000Z' },
    );
    assert.deepEqual(
      verifyAuditChain(storeWith(stored), KEY, { ...o, anchors: [signAnchor(chain[9]!, privateKey, t)] }),
      { ok: true, records: 4, anchors: 1, archives: 1 },
      'an anchor at the newest record',
    );
    const forged = { ...signAnchor(chain[7]!, privateKey, t), hash: chain[8]!.hash };
    assert.deepEqual(
      verifyAuditChain(storeWith(stored), KEY, { ...o, anchors: [forged] }),
      { ok: false, seq: 8, reason: 'the anchor for record 8 has no valid signature' },
      'with the key given, a signature over something else',
    );
    assert.deepEqual(
      verifyAuditChain(storeWith(stored), KEY, {
        ...o,
        anchors: [signAnchor(chain[5]!, privateKey, t), signAnchor(chain[2]!, privateKey, t)],
      }),
      { ok: true, records: 4, anchors: 0, archives: 1 },
      "at and below the retention point: the archive's to prove",
    );
  });
  it('FGMISQR009 the date verify is given decides whether a cleared outcome was removed early', () => {
    const due = rows(3, (i) => (i === 2 ? '2026-07-02' : '2030-01-01'));
    const stored = [due[0]!, clear(due[1]!), due[2]!];
    assert.deepEqual(verifyAuditChain(storeWith(stored), KEY, { today: '2026-07-01' }), {
      ok: false,
      seq: 2,
      reason: 'its outcome was removed before its erasure date 2026-07-02',
    });
    assert.deepEqual(verifyAuditChain(storeWith(stored), KEY, { today: '2026-07-02' }), {
      ok: false,
      seq: 2,
      reason:
        'its outcome was removed without an erasure record on or after its erasure date 2026-07-02 (erased early, or outside an erasure run)',
    });
  });
});

describe('verify: how each finding is worded (SMSP-AUDIT-009, FGMISQR009)', () => {
  it('FGMISQR009 describeVerify words a pending retention as itself and a kept outcome with its record and archive', () => {
    assert.equal(
      describeVerify(INCOMPLETE),
      'retention of records 1-6 incomplete: rows up to seq 6 still present — run retain again',
    );
    assert.equal(
      describeVerify({ ok: false, seq: 2, reason: 'x', kind: 'outcome-kept' }),
      'outcome kept at record 2: x',
    );
    assert.equal(
      describeVerify({ ok: false, seq: 2, reason: 'x', archive: 'a.jsonl', kind: 'outcome-kept' }),
      'outcome kept at record 2 in archive a.jsonl: x',
    );
    assert.equal(
      describeVerify({ ok: false, seq: null, reason: 'x', archive: 'a.jsonl', kind: 'retention-incomplete' }),
      'x',
    );
  });
});
