import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AuditEvent } from './audit-event.ts';
import { chainRecord, type AuditRow } from './chain.ts';
import type { RetentionRecord } from './chain-start.ts';
import { archiveProblem } from './verify.ts';

const KEY = randomBytes(32);
const GENESIS = '0'.repeat(64);
const { privateKey } = generateKeyPairSync('ed25519');
const dir = mkdtempSync(join(tmpdir(), 'fgm-archive-bytes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const event = (i: number, nhsNumber: string): AuditEvent => ({
  time: `2026-01-01T00:00:0${i}.000Z`,
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: 'epr',
  userId: 'ajones',
  roleProfileId: null,
  localRoles: null,
  orgCode: 'RX1',
  nhsNumber,
  spineMessageId: null,
  spineResponseId: null,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  detail: null,
  outcomeEraseOn: '2030-01-01',
});
const a = chainRecord(KEY, { seq: 0, hash: GENESIS }, event(1, '9990000018'));
const b = chainRecord(KEY, a, event(2, '9990000026'));
/** The archive as retain writes it: one JSON.stringify line per record. */
const written = [a, b].map((r) => `${JSON.stringify(r)}\n`).join('');
// Format 2's digest, written out from docs/audit.md ("Retention"): each record without its erasable outcome, one JSON line each.
const digest = createHash('sha256')
  .update(
    [a, b]
      .map(
        (r) =>
          `${JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !['outcomeCode', 'httpStatus', 'outcomeSalt'].includes(k))))}\n`,
      )
      .join(''),
  )
  .digest('hex');
const body = {
  firstSeq: 1,
  throughSeq: 2,
  lastHash: b.hash,
  archive: 'a.jsonl',
  archiveSha256: digest,
  time: '2026-06-01T00:00:00.000Z',
  format: 2 as const,
};
const record: RetentionRecord = {
  ...body,
  signature: sign(null, Buffer.from(JSON.stringify(body)), privateKey).toString('base64'),
};
const check = (text: string) => {
  writeFileSync(join(dir, 'a.jsonl'), text);
  return archiveProblem(join(dir, 'a.jsonl'), record, KEY, GENESIS, '2026-07-01');
};
const line1 = JSON.stringify(a as AuditRow);

describe('verify: an archive is held to the bytes retain writes (SMSP-AUDIT-009)', () => {
  it('SMSP-AUDIT-009 the archive as written verifies', () => {
    assert.equal(check(written), undefined);
  });

  const altered: [string, string, number][] = [
    // Another child's number read first by anyone looking at the file; JSON.parse keeps the last key.
    [
      'a duplicated key ahead of the real one',
      written.replace('"nhsNumber":"9990000018"', '"nhsNumber":"9990000026","nhsNumber":"9990000018"'),
      1,
    ],
    // A grep for the user misses her records.
    ['an escaped character', written.replace('"userId":"ajones"', '"userId":"\\u0061jones"'), 1],
    ['a blank line', `${line1}\n\n${written.slice(line1.length + 1)}`, 2],
    ['CRLF line ends', written.replace(/\n/g, '\r\n'), 1],
    ['trailing whitespace', written.replace(`${line1}\n`, `${line1} \n`), 1],
    ['no newline at the end', written.trimEnd(), 2],
  ];
  for (const [what, text, line] of altered) {
    it(`SMSP-AUDIT-009 ${what} is named as an altered archive, though its records' digest still matches`, () => {
      assert.deepEqual(check(text), {
        seq: null,
        reason: `its line ${line} is not written as retain writes it (archive altered)`,
      });
    });
  }
});
