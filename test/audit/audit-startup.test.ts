/**
 * The gateway on a trail someone changed while it was down (SMSP-AUDIT-001/009): real SQLite files
 * written by the audit store, then edited through a second connection. Start-up checks the
 * chain's tail and says so loudly (or refuses, by `audit.onBrokenChain`); `/admin/audit/verify`
 * also runs SQLite's own integrity check, so an index edited apart from its table is named.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { generateAnchorKeys, signAnchor, writeAnchor } from '../../gateway/audit/anchor.ts';
import type { AuditEvent } from '../../gateway/audit/audit-event.ts';
import { openSqliteAuditStore } from '../../gateway/audit/sqlite-store.ts';
import { startTestStack } from '../helpers/stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-audit-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = join(dir, 'hmac.key');
const SMSP_AUDITOR = { sub: 'igofficer', name: 'Ira Gov', roles: ['smsp-auditor'], org: 'RX1' };

const event = (i: number): AuditEvent => ({
  time: `2026-05-01T10:00:${String(i).padStart(2, '0')}.000Z`,
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: 'test-epr',
  userId: 'ajones',
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: i % 2 ? '9990000018' : '9990000026',
  spineMessageId: `m${i}`,
  spineResponseId: `s${i}`,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
});

/** A trail of `n` records written by the real store, keyed as the gateway reads `keyFile`. */
async function trail(name: string, n = 10): Promise<string> {
  const file = join(dir, `${name}.sqlite`);
  const store = await openSqliteAuditStore(file, Buffer.from(readFileSync(keyFile, 'utf8').trim()));
  for (let i = 1; i <= n; i++) await store.record(event(i));
  await store.close();
  return file;
}

/** Edits `file` through another connection, as someone with the file would. */
function edit(file: string, how: (db: Database.Database) => void): void {
  const db = new Database(file);
  how(db);
  db.close();
}
const dropTriggers = (db: Database.Database) =>
  db.exec('DROP TRIGGER audit_event_no_update; DROP TRIGGER audit_event_no_delete;');

/** A gateway (with simulator) on `file`; `audit` adds audit config keys. */
const gatewayOn = (file: string, audit: Record<string, unknown> = {}) =>
  startTestStack({
    configure: (raw) => {
      raw.audit = { sqliteFile: file, hmacKeyFile: keyFile, ...audit };
      raw.clients[0].smspAuditorRoles = ['smsp-auditor'];
    },
  });
const brokenLines = (logs: string[]) =>
  logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'AUDIT TRAIL BROKEN: run npm run audit:verify');

before(() => writeFileSync(keyFile, randomBytes(32).toString('hex')));

describe('audit integrity at start-up and in verify', () => {
  it('SMSP-AUDIT-009 verify names an index edited apart from its table, which had hidden a patient from search', async () => {
    const file = await trail('index-edit');
    // Rebuild the patient index without one patient's entries, then restore its definition:
    // every record and hash is untouched, so the chain alone still verifies.
    edit(file, (db) => {
      const { sql } = db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'audit_event_patient'`).get() as {
        sql: string;
      };
      db.exec(
        `DROP INDEX audit_event_patient; CREATE INDEX audit_event_patient ON audit_event (nhsNumber) WHERE nhsNumber <> '9990000018';`,
      );
      db.unsafeMode(true);
      db.pragma('writable_schema = ON');
      db.prepare(`UPDATE sqlite_master SET sql = ? WHERE name = 'audit_event_patient'`).run(sql);
    });
    const stack = await gatewayOn(file);
    try {
      const token = stack.signToken(SMSP_AUDITOR);
      const db = new Database(file, { readonly: true });
      const stored = db
        .prepare(`SELECT count(*) AS n FROM audit_event NOT INDEXED WHERE nhsNumber = '9990000018'`)
        .get() as { n: number };
      db.close();
      assert.equal(stored.n, 5);
      const found = JSON.parse((await stack.request('/admin/audit?nhsNumber=9990000018', { token })).body).records;
      assert.equal(found.length, 0, 'the edited index hides the patient from search');
      const v = JSON.parse((await stack.request('/admin/audit/verify', { token })).body);
      assert.equal(v.ok, false);
      assert.match(
        v.summary,
        /^damaged database: SQLite's integrity check failed .*row 1 missing from index audit_event_patient/,
      );
      assert.doesNotMatch(v.summary, /9990000018/);
      assert.equal(JSON.parse(stack.auditRows().at(-1)!.detail as string).verify, 'damaged database');
    } finally {
      await stack.close();
    }
  });

  it('SMSP-AUDIT-001 a gateway starting on a trail whose tail was edited logs it loudly and puts it on the record', async () => {
    const file = await trail('tail-edit');
    edit(file, (db) => {
      dropTriggers(db);
      db.exec(`UPDATE audit_event SET userId = 'someone-else' WHERE seq = 9`);
    });
    const stack = await gatewayOn(file);
    try {
      const [line] = brokenLines(stack.logs);
      assert.equal(line?.level, 'error');
      assert.equal(line?.audit, 'broken at record 9: its content does not match its hash (record altered)');
      const start = stack.auditRows().at(-1)!;
      assert.equal(start.eventType, 'gateway-start');
      assert.match(JSON.parse(start.detail as string).brokenChain, /^broken at record 9/);
      assert.equal((await stack.request('/healthz')).status, 200, 'by default it warns and serves');
    } finally {
      await stack.close();
    }
  });

  it('SMSP-AUDIT-001 with audit.onBrokenChain "refuse" the gateway does not start on a broken tail', async () => {
    const file = await trail('tail-delete');
    edit(file, (db) => {
      dropTriggers(db);
      db.exec('DELETE FROM audit_event WHERE seq = 7');
    });
    const started = await gatewayOn(file, { onBrokenChain: 'refuse' }).then(
      async (stack) => (await stack.close(), 'started'),
      (e: Error) => e,
    );
    assert.ok(started instanceof Error, 'it must not start');
    assert.equal(started.name, 'ConfigError');
    assert.match(started.message, /broken at record 7: record 7 is missing.*audit\.onBrokenChain is "refuse"/);
    const db = new Database(file, { readonly: true });
    assert.equal(
      (db.prepare('SELECT max(seq) AS n FROM audit_event').get() as { n: number }).n,
      10,
      'nothing was appended',
    );
    db.close();
  });

  it('SMSP-AUDIT-001 a tail truncated after the newest signed anchor is named at start', async () => {
    const file = await trail('truncated');
    const keys = generateAnchorKeys(join(dir, 'anchor-keys'));
    const anchors = join(dir, 'anchors');
    edit(file, (db) => {
      const head = db.prepare('SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1').get() as {
        seq: number;
        hash: string;
      };
      writeAnchor(anchors, signAnchor(head, readFileSync(keys.privateKeyFile, 'utf8')));
      dropTriggers(db);
      db.exec('DELETE FROM audit_event WHERE seq > 8');
    });
    const stack = await gatewayOn(file, { anchorDir: anchors, anchorPublicKeyFile: keys.publicKeyFile });
    try {
      assert.match(
        brokenLines(stack.logs)[0]?.audit ?? '',
        /^broken at record 9: record 9 is missing: the trail was truncated after record 8/,
      );
    } finally {
      await stack.close();
    }
  });

  it('an intact trail starts without a warning and carries its chain on', async () => {
    const file = await trail('intact');
    const stack = await gatewayOn(file);
    try {
      assert.deepEqual(brokenLines(stack.logs), []);
      assert.equal(
        JSON.parse(
          (await stack.request('/admin/audit/verify', { token: stack.signToken(SMSP_AUDITOR) })).body,
        ).summary.startsWith('intact, 11 records'),
        true,
      );
    } finally {
      await stack.close();
    }
  });
});
