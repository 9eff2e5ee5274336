import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { auditDetail } from '../../test/helpers/sealed-detail.ts';
import type { AuditEvent } from './audit-event.ts';
import { chainRecord, recordProblem } from './chain.ts';
import { open, openDetail, seal } from './sealed-detail.ts';

const KEY = randomBytes(32);
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
  detail: '{"sourceAddress":"127.0.0.1"}',
  outcomeEraseOn: '2026-06-01',
};
const said = (n: number) =>
  JSON.stringify({ spineAnswerDeviations: Array.from({ length: n }, (_, i) => `Flag.period.start deviation ${i}`) });

describe("audit: what Spine's answer looked like is sealed with the outcome (FGMISQR009, SMSP-VAL-004)", () => {
  it('FGMISQR009 the record holds it sealed beside the rest of detail; the documented key opens it while the salt is held', () => {
    const row = chainRecord(KEY, { seq: 6, hash: GENESIS }, { ...event, spineDetail: said(2) });
    const detail = JSON.parse(String(row.detail)) as Record<string, unknown>;
    assert.equal(detail.sourceAddress, '127.0.0.1', 'the rest of detail is as written');
    assert.ok(!String(row.detail).includes('deviation'), 'nothing of it in clear');
    assert.deepEqual(auditDetail(KEY, row).spineAnswer, JSON.parse(said(2)));
    assert.deepEqual(
      JSON.parse(String(openDetail(KEY, row).detail)).spineAnswer,
      JSON.parse(said(2)),
      "the auditors' search reads it",
    );
    assert.equal(recordProblem(KEY, row, '2026-01-05'), undefined, 'the seal is chained like any detail');
  });

  it('FGMISQR009 once the outcome and salt are erased nobody can open it, the audit key included, and the record still verifies', () => {
    const row = chainRecord(KEY, { seq: 6, hash: GENESIS }, { ...event, spineDetail: said(1) });
    const erased = { ...row, outcomeCode: null, httpStatus: null, outcomeSalt: null };
    assert.equal(JSON.parse(String(openDetail(KEY, erased).detail)).spineAnswer, 'erased');
    assert.equal(recordProblem(KEY, erased, '2026-06-01'), undefined);
    // Nor with another record's salt, or this salt under another seq: the key and the associated data bind both.
    const other = chainRecord(KEY, { seq: 7, hash: GENESIS }, event);
    assert.equal(
      JSON.parse(String(openDetail(KEY, { ...erased, outcomeSalt: other.outcomeSalt }).detail)).spineAnswer,
      'erased',
    );
    assert.equal(JSON.parse(String(openDetail(KEY, { ...row, seq: row.seq + 1 }).detail)).spineAnswer, 'erased');
  });

  it('FGMISQR009 the seal has one length whatever it holds, so its size cannot tell one answer from another', () => {
    const lengths = [0, 1, 5, 20, 500].map(
      (n) =>
        (
          JSON.parse(
            String(
              chainRecord(
                KEY,
                { seq: 1, hash: GENESIS },
                { ...event, spineDetail: n ? said(n) : '{"spineAnswerNotUsed":"unsafe"}' },
              ).detail,
            ),
          ).spineAnswer as string
        ).length,
    );
    assert.equal(new Set(lengths).size, 1, String(lengths));
    // Too long to pad: cut and marked, still the one length, still readable.
    const long = chainRecord(KEY, { seq: 1, hash: GENESIS }, { ...event, spineDetail: said(500) });
    assert.equal((auditDetail(KEY, long).spineAnswer as { cut: boolean }).cut, true);
  });

  it('FGMISQR009 a seal opens to exactly what was sealed; one of exactly the padded length is sealed whole, one byte more is cut', () => {
    const salt = 'ab'.repeat(16);
    assert.equal(open(KEY, 3, salt, seal(KEY, 3, salt, '{"a":"x"}')), '{"a":"x"}');
    const exact = JSON.stringify({ a: 'x'.repeat(2048 - 8) });
    assert.equal(Buffer.byteLength(exact), 2048);
    assert.equal(open(KEY, 3, salt, seal(KEY, 3, salt, exact)), exact, 'the padded length itself fits');
    assert.equal(JSON.parse(open(KEY, 3, salt, seal(KEY, 3, salt, `${exact} `))!).cut, true);
  });

  it('a detail the search cannot read as a seal is returned as stored, never an error', () => {
    for (const detail of [null, '{"sourceAddress":"127.0.0.1"}', 'not json "spineAnswer"', '{"spineAnswer":5}']) {
      const row = { seq: 1, detail, outcomeSalt: 'ab'.repeat(16) };
      assert.equal(openDetail(KEY, row), row, String(detail));
    }
  });

  it("FGMISQR009 every record with an outcome to erase carries a seal of the one length, empty when Spine's answer had nothing to note: having one tells nothing", () => {
    const plain = chainRecord(KEY, { seq: 1, hash: GENESIS }, event);
    const deviated = chainRecord(KEY, { seq: 1, hash: GENESIS }, { ...event, spineDetail: said(1) });
    assert.deepEqual(auditDetail(KEY, plain).spineAnswer, {});
    assert.equal(String(plain.detail).length, String(deviated.detail).length);
    assert.deepEqual(Object.keys(JSON.parse(String(plain.detail))), Object.keys(JSON.parse(String(deviated.detail))));
  });

  it("a record with no outcome to erase (an auditor's query, a system event) keeps its detail exactly as written", () => {
    assert.equal(
      chainRecord(KEY, { seq: 1, hash: GENESIS }, { ...event, outcomeEraseOn: null }).detail,
      '{"sourceAddress":"127.0.0.1"}',
    );
  });
});
