import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { rowFor } from '../smsp-error.ts';
import { loadVocabulary } from './vocabulary.ts';

// The spec's table writes two issue types that are not FHIR issue-type codes; we use the codes.
const ISSUE_TYPE_FIXES: Record<string, string> = { Information: 'informational', 'Internal server error': 'exception' };

function specRows() {
  const md = readFileSync(new URL('../../test/spec/fgm-query-v2.md', import.meta.url), 'utf8');
  return md
    .replace(/<!--[\s\S]*?-->/g, '') // the page keeps retired rows in comments
    .split('\n')
    .filter((l) => /^\|\s*\d{3}\s*\|/.test(l))
    .map((l) => {
      const [status, severity, issueType, code, display, smspCode] = l
        .split('|')
        .slice(1, 7)
        .map((c) => c.trim());
      return {
        httpStatus: Number(status),
        severity,
        issueType: ISSUE_TYPE_FIXES[issueType!] ?? issueType,
        code,
        display,
        smspCode,
      };
    });
}

test('SMSP-ERR-004 the vocabulary holds every row of the FGMQuery_2_0 error table', () => {
  const rows = specRows();
  assert.equal(rows.length, 13);
  const vocabulary = loadVocabulary();
  for (const row of rows) {
    const mine = vocabulary.get(row.code!);
    assert.deepEqual(
      { httpStatus: mine.httpStatus, severity: mine.severity, issueType: mine.issueType, smspCode: mine.smspCode },
      { httpStatus: row.httpStatus, severity: row.severity, issueType: row.issueType, smspCode: row.smspCode },
      row.code,
    );
    assert.equal(mine.display.toLowerCase(), row.display!.toLowerCase(), row.code);
  }
});

test('SMSP-ERR-004 success is SMSP-0000', () => {
  const row = loadVocabulary().get('SUCCESS');
  assert.equal(row.smspCode, 'SMSP-0000');
  assert.equal(row.httpStatus, 200);
});

const dir = mkdtempSync(join(tmpdir(), 'vocab-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('SMSP-CONF-001 an operator file overrides the vocabulary', () => {
  const file = join(dir, 'vocabulary.json');
  const base = JSON.parse(readFileSync(new URL('./vocabulary.json', import.meta.url), 'utf8'));
  base.rows.find((r: { code: string }) => r.code === 'NO_RECORD_FOUND').display = 'Nothing on Spine';
  writeFileSync(file, JSON.stringify(base));
  assert.equal(loadVocabulary(file).get('NO_RECORD_FOUND').display, 'Nothing on Spine');
});

test('SMSP-CONF-001 the local rows are data too: an operator can reword ACCESS_DENIED, and a file without it is refused', () => {
  const base = JSON.parse(readFileSync(new URL('./vocabulary.json', import.meta.url), 'utf8'));
  base.rows.find((r: { code: string }) => r.code === 'ACCESS_DENIED').display = 'Ask your smartcard sponsor for B0370';
  const file = join(dir, 'local-rows.json');
  writeFileSync(file, JSON.stringify(base));
  assert.equal(rowFor(loadVocabulary(file), 'ACCESS_DENIED').display, 'Ask your smartcard sponsor for B0370');
  for (const code of ['ACCESS_DENIED', 'REQUEST_TOO_LARGE', 'NOT_FOUND']) {
    writeFileSync(file, JSON.stringify({ rows: base.rows.filter((r: { code: string }) => r.code !== code) }));
    assert.throws(() => loadVocabulary(file), new RegExp(`missing rows for ${code}`));
  }
});

test('SMSP-CONF-001 a broken override names the problem', () => {
  const file = join(dir, 'broken.json');
  writeFileSync(file, JSON.stringify({ rows: [{ httpStatus: 'x' }] }));
  assert.throws(() => loadVocabulary(file), /rows\.0\.httpStatus/);
  writeFileSync(
    file,
    JSON.stringify({
      rows: [
        {
          httpStatus: 404,
          severity: 'error',
          issueType: 'not-found',
          code: 'NO_RECORD_FOUND',
          display: 'x',
          smspCode: 'FGM-0001',
        },
      ],
    }),
  );
  assert.throws(() => loadVocabulary(file), /missing rows for SUCCESS/);
  writeFileSync(file, '{');
  assert.throws(() => loadVocabulary(file), /vocabulary file/);
});

test('SMSP-CONF-001 an override cannot answer a failure with 2xx (a CDS client would read it as its cards), nor SUCCESS with anything but 200', () => {
  const base = JSON.parse(readFileSync(new URL('./vocabulary.json', import.meta.url), 'utf8'));
  const file = join(dir, 'two-hundred.json');
  const withStatus = (code: string, httpStatus: number) =>
    JSON.stringify({
      ...base,
      rows: base.rows.map((r: { code: string }) => (r.code === code ? { ...r, httpStatus } : r)),
    });
  writeFileSync(file, withStatus('SPINE_BUSY', 200));
  assert.throws(
    () => loadVocabulary(file),
    /SPINE_BUSY is HTTP 200: a code the gateway refuses or fails with needs a 4xx or 5xx status/,
  );
  writeFileSync(file, withStatus('CIS2_UNAVAILABLE', 302));
  assert.throws(() => loadVocabulary(file), /CIS2_UNAVAILABLE is HTTP 302/);
  writeFileSync(file, withStatus('SUCCESS', 204));
  assert.throws(() => loadVocabulary(file), /SUCCESS must be HTTP 200/);
  // Spine's own 203 row (data from a local store) is never sent by this gateway, so it may stay as the spec has it.
  writeFileSync(file, withStatus('NO_RECORD_FOUND', 404));
  assert.equal(loadVocabulary(file).get('DATA_RETURNED_FROM_LOCAL_STORE_SPINE_UNAVAILABLE').httpStatus, 203);
});

test("SMSP-CONF-001 an operator's smspCode must have the form the element accepts (review 18f F10): one it would refuse is refused at start, naming the row", () => {
  const base = JSON.parse(readFileSync(new URL('./vocabulary.json', import.meta.url), 'utf8'));
  const file = join(dir, 'smsp-code-form.json');
  for (const smspCode of ['smsp-0002', 'SMSP 0002', 'SMSP-', '<b>SMSP-0002</b>']) {
    const rows = structuredClone(base.rows);
    rows.find((r: { code: string }) => r.code === 'COULD_NOT_CONNECT_TO_SPINE').smspCode = smspCode;
    writeFileSync(file, JSON.stringify({ ...base, rows }));
    assert.throws(() => loadVocabulary(file), /rows\.\d+\.smspCode: upper-case letters and digits/, smspCode);
  }
  const rows = structuredClone(base.rows);
  rows.find((r: { code: string }) => r.code === 'COULD_NOT_CONNECT_TO_SPINE').smspCode = 'TRUST-SMSP-04';
  writeFileSync(file, JSON.stringify({ ...base, rows }));
  assert.equal(loadVocabulary(file).get('COULD_NOT_CONNECT_TO_SPINE').smspCode, 'TRUST-SMSP-04');
});
