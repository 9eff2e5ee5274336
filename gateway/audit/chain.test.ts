/**
 * The chain's record formula, the canonical form and the erasure dates, unit by unit: every
 * expected value here is written out by hand (or computed with node:crypto directly), never with
 * the module under test, so a changed formula, boundary or reason fails a test.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AuditEvent } from './audit-event.ts';
import { canonicalText, canonicalValue } from './canonical.ts';
import {
  CHAINED_COLUMNS,
  chainHash,
  chainRecord,
  chainRecords,
  recordProblem,
  STORED_COLUMNS,
  type AuditRow,
} from './chain.ts';
import { eighteenthBirthday, eraseAfterDays } from './erasure-date.ts';
import { erasureEvent } from './erasure.ts';

const KEY = randomBytes(32);
const hmac = (parts: unknown[]) => createHmac('sha256', KEY).update(JSON.stringify(parts)).digest('hex');
const GENESIS = '0'.repeat(64);
const event: AuditEvent = {
  time: '2026-01-05T10:00:00.000Z',
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
  spineResponseId: 's1',
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  detail: null,
  outcomeEraseOn: '2026-06-01',
};

describe('audit canonical form (SMSP-AUDIT-009)', () => {
  it('SMSP-AUDIT-009 replaces exactly the lone surrogates and NUL with U+FFFD, keeping pairs, controls and non-BMP characters', () => {
    assert.equal(canonicalText('a\ud800b'), 'a\ufffdb');
    assert.equal(canonicalText('\udc00'), '\ufffd');
    assert.equal(
      canonicalText('\ud800\ud800\udc00'),
      '\ufffd\ud800\udc00',
      'the second high surrogate pairs with the low one',
    );
    assert.equal(canonicalText('\ud83d\ude00 \u0001\u001f\u007f\u2028'), '\ud83d\ude00 \u0001\u001f\u007f\u2028');
    assert.equal(canonicalText('x\u0000y'), 'x\ufffdy');
    assert.equal(canonicalText('\udbff'), '\ufffd', 'a high surrogate at the end');
    assert.equal(canonicalValue(200), 200);
    assert.equal(canonicalValue(null), null);
  });
});

describe('audit chain record formula (SMSP-AUDIT-009, FGMISQR009)', () => {
  it('SMSP-AUDIT-009 a new record chains the hand-written version 2 formula: tag, seq, chained columns, prevHash; the outcome only by its salted digest', () => {
    const row = chainRecord(KEY, { seq: 41, hash: 'f'.repeat(64) }, { ...event, userId: 'a\ud800' });
    assert.equal(row.seq, 42);
    assert.equal(row.prevHash, 'f'.repeat(64));
    assert.equal(row.userId, 'a\ufffd', 'stored in canonical form');
    assert.equal(row.answeredBySpine, 1);
    assert.match(String(row.outcomeSalt), /^[0-9a-f]{32}$/);
    assert.equal(row.outcomeDigest, hmac(['fgm-audit/outcome', 42, row.outcomeSalt, 'SUCCESS', 200]));
    assert.deepEqual(CHAINED_COLUMNS, [
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
    ]);
    // detail: the seal of what Spine's answer looked like (sealed-detail.test.ts opens it), chained like any detail.
    assert.deepEqual(Object.keys(JSON.parse(String(row.detail))), ['spineAnswer']);
    const chained = [
      '2026-01-05T10:00:00.000Z',
      'widget-query',
      'r1',
      'r1',
      'epr',
      'a\ufffd',
      null,
      'midwife',
      'RX1',
      '9990000018',
      'm1',
      's1',
      1,
      row.detail,
      row.outcomeDigest,
      '2026-06-01',
    ];
    assert.equal(row.hash, hmac(['fgm-audit/2', 42, ...chained, 'f'.repeat(64)]));
    assert.equal(recordProblem(KEY, row, '2026-01-05'), undefined);
    assert.equal(
      chainRecord(KEY, { seq: 0, hash: GENESIS }, event).outcomeSalt ===
        chainRecord(KEY, { seq: 0, hash: GENESIS }, event).outcomeSalt,
      false,
      'a fresh salt each record',
    );
  });

  it('SMSP-AUDIT-009 a batch the stores append: seqs after the head, each linked to the one before, each hashed by the hand-written formula', () => {
    const [a, b] = chainRecords(KEY, { seq: 41, hash: 'f'.repeat(64) }, [event, { ...event, requestId: 'r2' }]);
    const chained = (row: AuditRow, requestId: string) => [
      '2026-01-05T10:00:00.000Z',
      'widget-query',
      requestId,
      'r1',
      'epr',
      'ajones',
      null,
      'midwife',
      'RX1',
      '9990000018',
      'm1',
      's1',
      1,
      row.detail,
      row.outcomeDigest,
      '2026-06-01',
    ];
    assert.deepEqual([a!.seq, a!.prevHash, b!.seq, b!.prevHash], [42, 'f'.repeat(64), 43, a!.hash]);
    assert.equal(a!.hash, hmac(['fgm-audit/2', 42, ...chained(a!, 'r1'), 'f'.repeat(64)]));
    assert.equal(b!.hash, hmac(['fgm-audit/2', 43, ...chained(b!, 'r2'), a!.hash]));
    assert.deepEqual(chainRecords(KEY, { seq: 41, hash: 'f'.repeat(64) }, []), []);
  });

  it('SMSP-AUDIT-009 a record written before version 2 (no digest) verifies by the original formula', () => {
    const values = [
      '2025-01-01T00:00:00.000Z',
      'widget-query',
      'r0',
      'r0',
      'epr',
      'u',
      null,
      null,
      'RX1',
      '9990000018',
      null,
      null,
      'SUCCESS',
      200,
      1,
      null,
    ];
    const hash = hmac([1, ...values, GENESIS]);
    assert.equal(chainHash(KEY, 1, values, GENESIS), hash);
    const row = {
      seq: 1,
      ...Object.fromEntries(STORED_COLUMNS.map((c, i) => [c, i < values.length ? values[i] : null])),
      prevHash: GENESIS,
      hash,
    } as AuditRow;
    assert.equal(recordProblem(KEY, row, '2026-01-01'), undefined);
    assert.equal(
      recordProblem(KEY, { ...row, outcomeCode: 'NO_RECORD_FOUND' }, '2026-01-01'),
      'its content does not match its hash (record altered)',
    );
  });

  it('SMSP-AUDIT-009 FGMISQR009 names each way a record can be wrong: content, outcome, partial or early erasure', () => {
    const row = chainRecord(KEY, { seq: 0, hash: GENESIS }, event);
    const erased = { ...row, outcomeCode: null, httpStatus: null, outcomeSalt: null };
    assert.equal(
      recordProblem(KEY, { ...row, nhsNumber: '9990000026' }, '2026-06-01'),
      'its content does not match its hash (record altered)',
    );
    assert.equal(
      recordProblem(KEY, { ...row, outcomeEraseOn: '2026-05-31' }, '2026-06-01'),
      'its content does not match its hash (record altered)',
    );
    assert.equal(
      recordProblem(KEY, { ...row, outcomeCode: 'NO_RECORD_FOUND' }, '2026-01-05'),
      'its outcome does not match its digest (outcome altered)',
    );
    assert.equal(
      recordProblem(KEY, { ...row, httpStatus: 404 }, '2026-01-05'),
      'its outcome does not match its digest (outcome altered)',
    );
    assert.equal(
      recordProblem(KEY, { ...row, outcomeSalt: '0'.repeat(32) }, '2026-01-05'),
      'its outcome does not match its digest (outcome altered)',
    );
    assert.equal(
      recordProblem(KEY, { ...row, outcomeCode: null }, '2026-06-01'),
      'its outcome was partly removed (outcome altered)',
    );
    assert.equal(
      recordProblem(KEY, { ...row, outcomeCode: null, httpStatus: null }, '2026-06-01'),
      'its outcome was partly removed (outcome altered)',
    );
    // The boundary: erased on its date is due; the day before is early.
    assert.equal(recordProblem(KEY, erased, '2026-06-01'), undefined);
    assert.equal(
      recordProblem(KEY, erased, '2026-05-31'),
      'its outcome was removed before its erasure date 2026-06-01',
    );
    const never = chainRecord(KEY, { seq: 0, hash: GENESIS }, { ...event, outcomeEraseOn: null });
    assert.equal(
      recordProblem(KEY, { ...never, outcomeCode: null, httpStatus: null, outcomeSalt: null }, '2099-01-01'),
      'its outcome was removed before its erasure date (none: never erasable)',
    );
    assert.notEqual(recordProblem(randomBytes(32), row, '2026-01-05'), undefined, 'another key');
  });
});

describe('FGMISQR009 erasure dates', () => {
  it('FGMISQR009 the 18th birthday is the day the under-18 rule ends, 29 February becoming 1 March', () => {
    assert.equal(eighteenthBirthday('2008-06-01'), '2026-06-01');
    assert.equal(eighteenthBirthday('2008-02-29'), '2026-03-01');
    assert.equal(eighteenthBirthday('2012-02-29'), '2030-03-01');
    assert.equal(eighteenthBirthday('2010-12-31'), '2028-12-31');
  });
  it('FGMISQR009 without a birth date the outcome goes the configured number of UK days after the query', () => {
    assert.equal(eraseAfterDays(new Date('2026-01-05T10:00:00Z'), 30), '2026-02-04');
    assert.equal(
      eraseAfterDays(new Date('2026-06-30T23:30:00Z'), 1),
      '2026-07-02',
      '23:30 UTC is already 1 July in BST',
    );
    assert.equal(eraseAfterDays(new Date('2026-12-31T12:00:00Z'), 1), '2027-01-01');
  });
  it('FGMISQR009 the days are UK calendar days across the clock changes (last Sundays of March and October 2026)', () => {
    // 23:30 GMT on Saturday 28 March; 24 hours later it is 00:30 BST on Monday 30 March, but one UK day later is the 29th.
    assert.equal(eraseAfterDays(new Date('2026-03-28T23:30:00Z'), 1), '2026-03-29');
    assert.equal(
      eraseAfterDays(new Date('2026-03-29T00:30:00Z'), 30),
      '2026-04-28',
      '00:30 GMT on the 29th, before the change',
    );
    // 00:30 BST on Sunday 25 October (23:30 UTC on the 24th); 24 hours later it is still the 25th (23:30 GMT), one UK day later is the 26th.
    assert.equal(eraseAfterDays(new Date('2026-10-24T23:30:00Z'), 1), '2026-10-26');
    assert.equal(eraseAfterDays(new Date('2026-10-25T23:30:00Z'), 1), '2026-10-26', '23:30 GMT on the 25th');
    assert.equal(
      eraseAfterDays(new Date('2026-10-24T22:59:00Z'), 366),
      '2027-10-25',
      '23:59 BST on the 24th, a year on',
    );
  });
  it('FGMISQR009 the erasure record says how many and through when, never whose', () => {
    const e = erasureEvent(
      {
        time: '2026-06-01T02:00:00.000Z',
        orgCode: 'RX1',
        requestId: 'req',
        archives: [{ archive: 'a.jsonl', seqs: [2] }],
      },
      '2026-06-01',
      [7, 5, 4],
    );
    assert.equal(e.eventType, 'outcome-erasure');
    assert.equal(e.nhsNumber, null);
    assert.equal(e.time, '2026-06-01T02:00:00.000Z');
    assert.deepEqual(
      JSON.parse(e.detail!),
      {
        erasedOutcomes: {
          through: '2026-06-01',
          records: 3,
          archives: [{ archive: 'a.jsonl', records: 1 }],
          seqs: [
            [2, 2],
            [4, 5],
            [7, 7],
          ],
        },
      },
      'the seqs it cleared, as ranges',
    );
  });
});
