/**
 * FGMISQR009 audit retention on real SQLite files: records past the retention period are archived
 * (signed, verifiable) and removed, and what remains still verifies; removing records any other way,
 * or forging the retention record, is still named by verify.
 */
import assert from 'node:assert/strict';
import { randomBytes, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateAnchorKeys } from './anchor.ts';
import type { AuditEvent } from './audit-event.ts';
import type { GatewayConfig } from '../config/config.ts';
import { readRetention, readRetentions, retentionPayload, type RetentionEntry } from './chain-start.ts';
import { eraseOutcomesInArchives } from './erasure.ts';
import { retainSqlite } from './retention.ts';
import { openAuditTrail } from './trail.ts';
import { openAuditReader, openSqliteAuditStore } from './sqlite-store.ts';
import { archiveProblem, verifyAuditChain } from './verify.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-retention-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const KEY = randomBytes(32);
const keys = generateAnchorKeys(join(dir, 'keys'));
const privateKey = readFileSync(keys.privateKeyFile, 'utf8');
const publicKey = readFileSync(keys.publicKeyFile, 'utf8');
const fail = (archive: string, e: Error) => assert.fail(`archive ${archive}: ${e.message}`);

const event = (i: number, time: string): AuditEvent => ({
  time,
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: 'epr',
  userId: 'ajones',
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: `m${i}`,
  spineResponseId: null,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  detail: JSON.stringify({ marker: `record-${i}-of-the-trail` }),
});

/** Five records from 2019, five from 2026. */
async function trail(name: string): Promise<string> {
  const file = join(dir, `${name}.sqlite`);
  const store = await openSqliteAuditStore(file, KEY);
  for (let i = 1; i <= 10; i++)
    await store.record(event(i, i <= 5 ? `2019-0${i}-01T10:00:00.000Z` : `2026-0${i - 5}-01T10:00:00.000Z`));
  await store.close();
  return file;
}
const verifyFile = (file: string, retentions: readonly RetentionEntry[], archiveDir?: string) => {
  const db = openAuditReader(file);
  try {
    return verifyAuditChain(db, KEY, { publicKey, retentions, archiveDir });
  } finally {
    db.close();
  }
};

describe('audit retention (FGMISQR009)', () => {
  it('FGMISQR009 records past the retention period are archived, signed, and removed; what remains still verifies and grows', async () => {
    const file = await trail('kept');
    const archiveDir = join(dir, 'archive');
    const { removed, retention } = retainSqlite(file, KEY, {
      before: new Date('2025-01-01T00:00:00Z'),
      privateKey,
      publicKey,
      dir: archiveDir,
    });
    assert.equal(removed, 5);
    const db = openAuditReader(file);
    assert.deepEqual(
      (db.prepare('SELECT seq FROM audit_event ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq),
      [6, 7, 8, 9, 10],
    );
    db.close();
    assert.deepEqual(verifyFile(file, readRetentions(archiveDir)), { ok: true, records: 5, anchors: 0 });
    // With the archives: the archive verifies against its signed retention record.
    assert.deepEqual(verifyFile(file, readRetentions(archiveDir), archiveDir), {
      ok: true,
      records: 5,
      anchors: 0,
      archives: 1,
    });
    assert.equal(
      archiveProblem(join(archiveDir, retention!.archive), retention!, KEY, '0'.repeat(64), '2026-01-01'),
      undefined,
    );
    // secure_delete: the removed records' content is gone from the file, not only unlinked.
    assert.ok(!readFileSync(file).includes('record-3-of-the-trail'));
    // The writer chains on from the kept records.
    const store = await openSqliteAuditStore(file, KEY);
    await store.record(event(11, '2026-06-01T10:00:00.000Z'));
    await store.close();
    assert.deepEqual(verifyFile(file, readRetentions(archiveDir)), { ok: true, records: 6, anchors: 0 });
  });

  it('FGMISQR009 without its signed retention record, or with a forged one, the removal is named by verify', async () => {
    const file = join(dir, 'kept.sqlite');
    assert.equal(verifyFile(file, []).ok, false);
    const real = readRetention(join(dir, 'archive'))!;
    const forged = { ...real, throughSeq: 6 };
    assert.match(JSON.stringify(verifyFile(file, [forged])), /no valid signature/);
    // A changed archive no longer matches its record, and verify names it.
    const archive = join(dir, 'archive', real.archive);
    writeFileSync(archive, readFileSync(archive, 'utf8').replace('9990000018', '9990000026'));
    assert.deepEqual(verifyFile(file, [real], join(dir, 'archive')), {
      ok: false,
      seq: null,
      archive: real.archive,
      reason: 'it does not match the SHA-256 its signed retention record names (archive altered)',
    });
  });
});

describe('FGMISQR009 erasure inside archives', () => {
  it('FGMISQR009 an archived outcome is cleared on its date, not before, and the archive still verifies', async () => {
    const file = join(dir, 'erasable.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    for (let i = 1; i <= 4; i++)
      await store.record({
        ...event(i, `2019-0${i}-01T10:00:00.000Z`),
        outcomeEraseOn: i % 2 ? '2026-06-01' : '2030-01-01',
      });
    await store.close();
    const archiveDir = join(dir, 'erasable-archive');
    const { retention } = retainSqlite(file, KEY, {
      before: new Date('2025-01-01T00:00:00Z'),
      privateKey,
      publicKey,
      dir: archiveDir,
    });
    assert.equal(retention!.throughSeq, 3);
    const lines = () =>
      readFileSync(join(archiveDir, retention!.archive), 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(eraseOutcomesInArchives(archiveDir, '2026-05-31', publicKey, fail), [], 'the day before: nothing');
    // Another run's temp file (here one that cannot be written over) does not stop this one.
    mkdirSync(join(archiveDir, `${retention!.archive}.tmp`));
    assert.deepEqual(eraseOutcomesInArchives(archiveDir, '2026-06-01', publicKey, fail), [
      { archive: retention!.archive, seqs: [1, 3] },
    ]);
    assert.deepEqual(
      lines().map((r) => [r.seq, r.outcomeCode, r.httpStatus, r.outcomeSalt === null]),
      [
        [1, null, null, true],
        [2, 'SUCCESS', 200, false],
        [3, null, null, true],
      ],
    );
    assert.equal(lines()[0]!.userId, 'ajones', 'who asked stays');
    assert.deepEqual(
      eraseOutcomesInArchives(archiveDir, '2026-06-01', publicKey, fail),
      [],
      'already erased: the archive is not rewritten',
    );
    // Cleared with no run's record naming them: verify names the first (erasure-coverage.ts).
    assert.deepEqual(verifyFile(file, readRetentions(archiveDir), archiveDir), {
      ok: false,
      seq: 1,
      reason:
        'its outcome was removed without an erasure record on or after its erasure date 2026-06-01 (erased early, or outside an erasure run)',
    });
    const recorder = await openSqliteAuditStore(file, KEY);
    await recorder.eraseOutcomes('2026-06-01', {
      time: '2026-06-01T02:00:00.000Z',
      orgCode: 'RX1',
      requestId: 'erase',
      archives: [{ archive: retention!.archive, seqs: [1, 3] }],
    });
    await recorder.close();
    assert.deepEqual(
      verifyFile(file, readRetentions(archiveDir), archiveDir),
      { ok: true, records: 2, anchors: 0, archives: 1 },
      "the run's record covers them",
    );
    // The archive's early-erasure check uses verify's own date.
    const db = openAuditReader(file);
    try {
      assert.match(
        JSON.stringify(
          verifyAuditChain(db, KEY, {
            publicKey,
            retentions: readRetentions(archiveDir),
            archiveDir,
            today: '2026-05-31',
          }),
        ),
        /removed before its erasure date 2026-06-01/,
      );
    } finally {
      db.close();
    }
  });
});

describe('SMSP-AUDIT-009 only a signed retention record is trusted, and a bad file is a named break', () => {
  /** A trail whose records 1-5 are archived by a real, signed retention record. */
  async function retained(name: string) {
    const file = await trail(name);
    const archiveDir = join(dir, `${name}-archive`);
    const { retention } = retainSqlite(file, KEY, {
      before: new Date('2025-01-01T00:00:00Z'),
      privateKey,
      publicKey,
      dir: archiveDir,
    });
    writeFileSync(join(dir, `${name}.pub`), publicKey);
    const config = {
      audit: {
        sqliteFile: file,
        anchorDir: archiveDir,
        anchorPublicKeyFile: join(dir, `${name}.pub`),
        hmacKeyFile: 'unused',
      },
    } as unknown as GatewayConfig;
    const searched = async () => {
      const t = await openAuditTrail(config, KEY);
      try {
        return { seqs: (await t.search({})).map((r) => r.seq), verify: await t.verify() };
      } finally {
        await t.close();
      }
    };
    return { file, archiveDir, retention: retention!, searched };
  }

  it('SMSP-AUDIT-009 an unsigned retention file naming a huge throughSeq hides nothing from search and is named by verify', async () => {
    const t = await retained('forged-point');
    writeFileSync(
      join(t.archiveDir, 'retention-999999999999.json'),
      JSON.stringify({ ...t.retention, firstSeq: 6, throughSeq: 999_999_999_999, signature: 'AAAA' }),
    );
    const { seqs, verify } = await t.searched();
    assert.deepEqual(seqs, [6, 7, 8, 9, 10]);
    assert.deepEqual(verify, {
      ok: false,
      seq: 999_999_999_999,
      reason: 'the retention record for records up to 999999999999 has no valid signature',
    });
  });

  it('SMSP-AUDIT-009 a retention file that is not JSON is a break naming the file, and search still answers', async () => {
    const t = await retained('malformed-point');
    writeFileSync(join(t.archiveDir, 'retention-999999999999.json'), '{"firstSeq": 6,');
    const { seqs, verify } = await t.searched();
    assert.deepEqual(seqs, [6, 7, 8, 9, 10]);
    assert.deepEqual(verify, {
      ok: false,
      seq: null,
      reason: 'the retention file retention-999999999999.json is not a readable retention record',
    });
  });

  it('SMSP-AUDIT-009 an archive line that is not JSON is named, not thrown', async () => {
    const t = await retained('malformed-archive');
    const archive = join(t.archiveDir, t.retention.archive);
    writeFileSync(archive, readFileSync(archive, 'utf8').replace(/^\{/, '{{'));
    assert.deepEqual((await t.searched()).verify, {
      ok: false,
      seq: null,
      archive: t.retention.archive,
      reason: 'its line 1 is not a readable record (archive altered)',
    });
  });

  it('FGMISQR009 a signed retention record naming an archive outside the folder (../) is named by verify and never rewritten by erasure', async () => {
    const t = await retained('escape');
    const outside = join(dir, 'escape-outside.jsonl');
    const due = readFileSync(join(t.archiveDir, t.retention.archive), 'utf8')
      .split('\n')[0]!
      .replace(/"outcomeEraseOn":null/, '"outcomeEraseOn":"2000-01-01"');
    writeFileSync(outside, `${due}\n`);
    const body = {
      firstSeq: 6,
      throughSeq: 7,
      lastHash: 'x'.repeat(64),
      archive: '../escape-outside.jsonl',
      archiveSha256: 'y'.repeat(64),
      format: 2 as const,
      time: '2026-01-01T00:00:00.000Z',
    };
    writeFileSync(
      join(t.archiveDir, 'retention-000000000007.json'),
      JSON.stringify({ ...body, signature: sign(null, retentionPayload(body), privateKey).toString('base64') }),
    );
    assert.deepEqual((await t.searched()).verify, {
      ok: false,
      seq: 6,
      reason: 'the retention record for records 6-7 names an archive outside the anchor folder',
    });
    eraseOutcomesInArchives(t.archiveDir, '2999-01-01', publicKey, fail);
    assert.equal(readFileSync(outside, 'utf8'), `${due}\n`, 'the file outside the folder is untouched');
  });
});

describe('FGMISQR009 one bad archive does not stop the others', () => {
  it('FGMISQR009 an archive that cannot be read is reported, and the next archive is still erased', async () => {
    const file = join(dir, 'two-archives.sqlite');
    const store = await openSqliteAuditStore(file, KEY);
    for (let i = 1; i <= 5; i++)
      await store.record({ ...event(i, `2019-0${i}-01T10:00:00.000Z`), outcomeEraseOn: '2026-06-01' });
    await store.close();
    const archiveDir = join(dir, 'two-archives-archive');
    const first = retainSqlite(file, KEY, {
      before: new Date('2019-02-15T00:00:00Z'),
      privateKey,
      publicKey,
      dir: archiveDir,
    }).retention!;
    const second = retainSqlite(file, KEY, {
      before: new Date('2019-04-15T00:00:00Z'),
      privateKey,
      publicKey,
      dir: archiveDir,
    }).retention!;
    assert.deepEqual([first.firstSeq, first.throughSeq, second.firstSeq, second.throughSeq], [1, 2, 3, 4]);
    // The first archive becomes unreadable (a folder where the file was).
    rmSync(join(archiveDir, first.archive));
    mkdirSync(join(archiveDir, first.archive));
    const failures: string[] = [];
    const changed = eraseOutcomesInArchives(archiveDir, '2026-06-01', publicKey, (archive, e) =>
      failures.push(`${archive}: ${(e as NodeJS.ErrnoException).code}`),
    );
    assert.deepEqual(failures, [`${first.archive}: EISDIR`]);
    assert.deepEqual(changed, [{ archive: second.archive, seqs: [3, 4] }]);
  });
});
