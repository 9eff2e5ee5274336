/**
 * chain-start.ts on what an attacker (or a careless operator) can put in the anchor folder: a
 * retention file that is not a record, or one that pretends to be the "unreadable" marker, a
 * backup copy beside the real file, a record without or with a wrong signature, an archive name
 * that leaves the folder. Records are signed here with node:crypto over the payload written out
 * by hand (not retentionPayload), real files in a temporary folder.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  readRetention,
  readRetentions,
  retentionProblem,
  retentionSignatureValid,
  safeArchiveName,
  signedRetentions,
  type RetentionRecord,
} from './chain-start.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const PUB = publicKey.export({ type: 'spki', format: 'pem' }) as string;
const OTHER_PUB = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
const root = mkdtempSync(join(tmpdir(), 'fgm-chain-start-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A signed format 2 record; the payload is the documented field order, written out. */
function signed(
  firstSeq: number,
  throughSeq: number,
  archive = `audit-archive-${firstSeq}-${throughSeq}.jsonl`,
): RetentionRecord {
  const body = {
    firstSeq,
    throughSeq,
    lastHash: 'a'.repeat(64),
    archive,
    archiveSha256: 'b'.repeat(64),
    time: '2026-06-01T00:00:00.000Z',
    format: 2 as const,
  };
  return { ...body, signature: sign(null, Buffer.from(JSON.stringify(body)), privateKey).toString('base64') };
}

let folders = 0;
/** A fresh anchor folder holding exactly these files (name → text). */
function folder(files: Record<string, string>): string {
  const d = join(root, `anchors-${++folders}`);
  mkdirSync(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}
const ONE = 'retention-000000000005.json';
/** readRetentions of a folder holding one retention file with this text. */
const readOne = (text: string) => readRetentions(folder({ [ONE]: text }));

describe('chain-start: reading retention files (SMSP-AUDIT-009, FGMISQR009)', () => {
  it('SMSP-AUDIT-009 no folder, or a folder not there, has no retention records', () => {
    assert.deepEqual(readRetentions(undefined), []);
    assert.deepEqual(readRetentions(join(root, 'never-made')), []);
    assert.equal(readRetention(undefined), undefined);
  });

  it('SMSP-AUDIT-009 a retention file that parses to an array, null, a number, a string or a boolean is named as unreadable', () => {
    // An array of records is not a record: read as one it would carry none of the fields verify checks.
    assert.deepEqual(readOne(JSON.stringify([signed(1, 5)])), [{ unreadable: ONE }]);
    assert.deepEqual(readOne('[]'), [{ unreadable: ONE }]);
    assert.deepEqual(readOne('null'), [{ unreadable: ONE }]);
    assert.deepEqual(readOne('5'), [{ unreadable: ONE }]);
    assert.deepEqual(readOne('0'), [{ unreadable: ONE }]);
    assert.deepEqual(readOne('"retention"'), [{ unreadable: ONE }]);
    assert.deepEqual(readOne('true'), [{ unreadable: ONE }]);
    assert.deepEqual(readOne('{"firstSeq": 1,'), [{ unreadable: ONE }]);
  });

  it('SMSP-AUDIT-009 a folder named like a retention file is named as unreadable, not thrown', () => {
    const d = folder({});
    mkdirSync(join(d, ONE));
    assert.deepEqual(readRetentions(d), [{ unreadable: ONE }]);
  });

  it('SMSP-AUDIT-009 a file holding its own `unreadable` field is named by its real file name, not the one it claims', () => {
    // Otherwise it would pass for the marker and make verify name another file as the break.
    assert.deepEqual(readOne(JSON.stringify({ unreadable: 'retention-000000000001.json' })), [{ unreadable: ONE }]);
    assert.deepEqual(readOne(JSON.stringify({ ...signed(1, 5), unreadable: 'x' })), [{ unreadable: ONE }]);
  });

  it("SMSP-AUDIT-009 a signed record, and an unsigned object, are read as they are (the signature is retentionProblem's to judge)", () => {
    const r = signed(1, 5);
    assert.deepEqual(readOne(JSON.stringify(r)), [r]);
    assert.deepEqual(readOne('{}'), [{}]);
  });

  it('SMSP-AUDIT-009 only retention-<digits>.json files count, oldest first; a backup copy or another file beside them is not read', () => {
    const first = signed(1, 5);
    const second = signed(6, 9);
    const d = folder({
      'retention-000000000009.json': JSON.stringify(second),
      'retention-000000000005.json': JSON.stringify(first),
      'retention-000000000012.json.bak': JSON.stringify(signed(10, 12)),
      'old-retention-000000000013.json': JSON.stringify(signed(10, 13)),
      'retention-latest.json': JSON.stringify(signed(10, 14)),
      'anchor-000000000009.json': '{}',
    });
    assert.deepEqual(readRetentions(d), [first, second]);
    assert.deepEqual(readRetention(d), second);
  });

  it('SMSP-AUDIT-009 readRetention continues from the newest readable record, past an unreadable newer file', () => {
    const first = signed(1, 5);
    const d = folder({ 'retention-000000000005.json': JSON.stringify(first), 'retention-000000000009.json': '[]' });
    assert.deepEqual(readRetentions(d), [first, { unreadable: 'retention-000000000009.json' }]);
    assert.deepEqual(readRetention(d), first);
  });
});

describe('chain-start: the retention signature (SMSP-AUDIT-009)', () => {
  it('SMSP-AUDIT-009 a record signed with the anchor key is valid; with format absent (format 1) the payload has no format', () => {
    assert.equal(retentionSignatureValid(signed(1, 5), PUB), true);
    const body = {
      firstSeq: 1,
      throughSeq: 5,
      lastHash: 'a'.repeat(64),
      archive: 'x.jsonl',
      archiveSha256: 'b'.repeat(64),
      time: '2026-06-01T00:00:00.000Z',
    };
    assert.equal(
      retentionSignatureValid(
        { ...body, signature: sign(null, Buffer.from(JSON.stringify(body)), privateKey).toString('base64') },
        PUB,
      ),
      true,
    );
  });

  it('SMSP-AUDIT-009 an altered field, another key, no signature, a signature that is not text, or a public key that is not a key: not valid, never thrown', () => {
    assert.equal(retentionSignatureValid({ ...signed(1, 5), throughSeq: 9 }, PUB), false);
    assert.equal(retentionSignatureValid({ ...signed(1, 5), archive: '../x.jsonl' }, PUB), false);
    assert.equal(retentionSignatureValid(signed(1, 5), OTHER_PUB), false);
    const { signature: _, ...unsigned } = signed(1, 5);
    assert.equal(retentionSignatureValid(unsigned as RetentionRecord, PUB), false);
    assert.equal(retentionSignatureValid({ ...signed(1, 5), signature: 5 } as unknown as RetentionRecord, PUB), false);
    assert.equal(retentionSignatureValid(signed(1, 5), 'not a key'), false);
  });
});

describe('chain-start: archive names (SMSP-AUDIT-009)', () => {
  it('SMSP-AUDIT-009 an archive name is a file name inside the anchor folder', () => {
    assert.equal(safeArchiveName('audit-archive-000000000001-000000000005.jsonl'), true);
    assert.equal(safeArchiveName('a.b.jsonl'), true);
  });

  it('SMSP-AUDIT-009 empty, a path (/ or \\), .. anywhere, the folder itself (.), a NUL byte, or not text: refused', () => {
    for (const name of [
      '',
      '/',
      '/etc/passwd',
      'sub/a.jsonl',
      '\\',
      'sub\\a.jsonl',
      '..',
      '../a.jsonl',
      'a/../b',
      '..\\a',
      '.',
      'a\0.jsonl',
      '\0',
    ]) {
      assert.equal(safeArchiveName(name), false, JSON.stringify(name));
    }
    for (const name of [undefined, null, 5, ['a.jsonl'], { toString: () => 'a.jsonl' }])
      assert.equal(safeArchiveName(name), false, String(name));
  });
});

describe('chain-start: which retention records may stand (SMSP-AUDIT-009)', () => {
  it('SMSP-AUDIT-009 an unreadable file is named by file, with no record number', () => {
    assert.deepEqual(retentionProblem({ unreadable: ONE }, 0, PUB), {
      seq: null,
      reason: `the retention file ${ONE} is not a readable retention record`,
    });
  });

  it('SMSP-AUDIT-009 an unsigned record, or any record without the public key, has no valid signature; its seq only when it is a number', () => {
    assert.deepEqual(retentionProblem({} as RetentionRecord, 0, PUB), {
      seq: null,
      reason: 'the retention record for records up to undefined has no valid signature',
    });
    assert.deepEqual(retentionProblem({ ...signed(1, 5), throughSeq: '5' } as unknown as RetentionRecord, 0, PUB), {
      seq: null,
      reason: 'the retention record for records up to 5 has no valid signature',
    });
    assert.deepEqual(retentionProblem(signed(1, 5), 0, undefined), {
      seq: 5,
      reason: 'the retention record for records up to 5 has no valid signature',
    });
  });

  it('SMSP-AUDIT-009 a signed record must follow the one before it and cover at least one record; one record is enough', () => {
    assert.equal(retentionProblem(signed(1, 1), 0, PUB), undefined);
    assert.equal(retentionProblem(signed(6, 9), 5, PUB), undefined);
    assert.deepEqual(retentionProblem(signed(3, 2), 2, PUB), {
      seq: 3,
      reason: 'the retention record for records 3-2 does not follow the one before it (records up to 2)',
    });
    assert.deepEqual(retentionProblem(signed(7, 9), 5, PUB), {
      seq: 7,
      reason: 'the retention record for records 7-9 does not follow the one before it (records up to 5)',
    });
    assert.deepEqual(retentionProblem(signed(5, 9), 5, PUB), {
      seq: 5,
      reason: 'the retention record for records 5-9 does not follow the one before it (records up to 5)',
    });
  });

  it('SMSP-AUDIT-009 a signed record naming an archive outside the folder is refused', () => {
    assert.deepEqual(retentionProblem(signed(1, 5, '../../etc/passwd'), 0, PUB), {
      seq: 1,
      reason: 'the retention record for records 1-5 names an archive outside the anchor folder',
    });
    assert.deepEqual(retentionProblem(signed(1, 5, 'a\0.jsonl'), 0, PUB), {
      seq: 1,
      reason: 'the retention record for records 1-5 names an archive outside the anchor folder',
    });
  });

  it('SMSP-AUDIT-009 signedRetentions stops at the first record that cannot stand: an unsigned one must not move the retention point', () => {
    const first = signed(1, 5);
    const later = signed(6, 9);
    assert.deepEqual(signedRetentions([first, later], PUB), [first, later]);
    assert.deepEqual(signedRetentions([first, { ...signed(6, 9), signature: '' }, later], PUB), [first]);
    assert.deepEqual(signedRetentions([first, { unreadable: ONE }, later], PUB), [first]);
    assert.deepEqual(signedRetentions([first, later], undefined), []);
  });
});
