/**
 * Tampering with the audit trail is detected (SMSP-AUDIT-009): a second connection drops the
 * append-only triggers and edits, deletes, swaps or truncates records; `npm run audit:verify`
 * (the CLI, reading the gateway's config) names the first broken record each time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { generateAnchorKeys } from '../../gateway/audit/anchor.ts';
import type { AuditEvent } from '../../gateway/audit/audit-event.ts';
import { openSqliteAuditStore } from '../../gateway/audit/sqlite-store.ts';
import { builtGateway } from '../helpers/built-gateway.ts';
import { testPki } from '../helpers/pki.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-tamper-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const intact = join(dir, 'intact.sqlite');
let keys: { privateKeyFile: string; publicKeyFile: string };

const event = (i: number): AuditEvent => ({
  time: `2026-05-01T10:00:${String(i).padStart(2, '0')}.000Z`,
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: 'epr',
  userId: `user${i % 3}`,
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: `m${i}`,
  spineResponseId: `s${i}`,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
});

/** A gateway config pointing at `db` (the CLI reads FGM_GATEWAY_CONFIG like the gateway). */
async function configFor(db: string, anchorDir?: string): Promise<string> {
  const pki = await testPki();
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  const tls = {
    certFile: pki.leaf['gateway-client'].cert,
    keyFile: pki.leaf['gateway-client'].key,
    caFile: pki.caCert,
  };
  writeFileSync(
    file,
    JSON.stringify({
      metrics: { host: '127.0.0.1', port: 0 }, // not the default 9464: gateways run side by side
      listen: { host: '127.0.0.1', port: 0 },
      smsp: { asid: '200000000111', odsCode: 'RX1' },
      spine: {
        endpoint: 'https://127.0.0.1:9/fhir/fgm/query',
        asid: '990101234567',
        tls,
        timeoutMs: 1000,
        rateLimit: { perSecond: 1, burst: 1 },
      },
      clients: [
        {
          id: 'epr',
          name: 'EPR',
          odsCode: 'RX1',
          origins: [],
          claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
          roleActivities: {},
          auditorRoles: [],
          priority: 'interactive',
          token: {
            issuer: 'https://epr.test',
            audience: 'gw',
            publicKeyFile: keys.publicKeyFile,
            algorithms: ['EdDSA'],
            maxLifetimeSeconds: 300,
          },
        },
      ],
      audit: {
        sqliteFile: db,
        hmacKeyFile: join(dir, 'hmac.key'),
        anchorPublicKeyFile: keys.publicKeyFile,
        ...(anchorDir && { anchorDir }),
      },
    }),
  );
  return file;
}

function cli(config: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [...builtGateway('audit/cli.js'), ...args], {
    env: { ...process.env, FGM_GATEWAY_CONFIG: config },
    encoding: 'utf8',
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

/** A copy of the intact store, changed through a connection that first drops the triggers. */
function tampered(name: string, sql: string[]): string {
  const file = join(dir, `${name}.sqlite`);
  copyFileSync(intact, file);
  const db = new Database(file);
  db.exec('DROP TRIGGER audit_event_no_update; DROP TRIGGER audit_event_no_delete;');
  for (const s of sql) db.exec(s);
  db.close();
  return file;
}

before(async () => {
  writeFileSync(join(dir, 'hmac.key'), randomBytes(32).toString('hex'));
  keys = generateAnchorKeys(join(dir, 'anchor-keys'));
  // The gateway keys the chain with the key file's text, as key-material.ts reads it.
  const store = await openSqliteAuditStore(intact, Buffer.from(readFileSync(join(dir, 'hmac.key'), 'utf8').trim()));
  for (let i = 1; i <= 10; i++) await store.record(event(i));
  await store.close();
  // collapse the WAL into the main file so copies are complete
  const db = new Database(intact);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
});

describe('audit:verify', () => {
  it('an intact store verifies: "intact, 10 records" and exit 0', async () => {
    const r = cli(await configFor(intact), 'verify');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^intact, 10 records/);
  });

  it('an edited record is named', async () => {
    const r = cli(
      await configFor(tampered('edit', [`UPDATE audit_event SET userId = 'someone-else' WHERE seq = 4`])),
      'verify',
    );
    assert.equal(r.status, 1);
    assert.match(r.out, /broken at record 4: its content does not match its hash/);
  });

  it('a deleted record is named', async () => {
    const r = cli(await configFor(tampered('delete', ['DELETE FROM audit_event WHERE seq = 6'])), 'verify');
    assert.equal(r.status, 1);
    assert.match(r.out, /broken at record 6: record 6 is missing/);
  });

  it('two swapped records are named', async () => {
    const cols = 'time, eventType, requestId, clientMessageId, userId, spineMessageId, spineResponseId, prevHash, hash';
    const file = tampered('swap', [
      `CREATE TEMP TABLE t AS SELECT seq, ${cols} FROM audit_event WHERE seq IN (7, 8)`,
      ...[
        'time',
        'eventType',
        'requestId',
        'clientMessageId',
        'userId',
        'spineMessageId',
        'spineResponseId',
        'prevHash',
        'hash',
      ].map(
        (c) =>
          `UPDATE audit_event SET ${c} = (SELECT ${c} FROM t WHERE t.seq = 15 - audit_event.seq) WHERE seq IN (7, 8)`,
      ),
    ]);
    const r = cli(await configFor(file), 'verify');
    assert.equal(r.status, 1);
    assert.match(r.out, /broken at record 7: its link to the previous record is broken/);
  });

  it('FGMISQR009 retain archives and removes the records older than audit.retentionDays, and verify still says intact', async () => {
    const file = join(dir, 'retain.sqlite');
    copyFileSync(intact, file);
    const config = await configFor(file, join(dir, 'retain-anchors'));
    const raw = JSON.parse(readFileSync(config, 'utf8'));
    raw.audit.retentionDays = 1;
    writeFileSync(config, JSON.stringify(raw));
    const r = cli(config, 'retain', '--key', keys.privateKeyFile);
    assert.equal(r.status, 0, r.out);
    // The newest record stays: the writer chains the next one to it.
    assert.match(r.out, /archived and removed records 1-9 /);
    assert.match(cli(config, 'verify').out, /^intact, 1 records/);
  });

  it('a truncated tail is named once the head was anchored, and the anchor command signs the head', async () => {
    const anchors = join(dir, 'anchors');
    const anchored = await configFor(intact, anchors);
    const signed = cli(anchored, 'anchor', '--key', keys.privateKeyFile);
    assert.equal(signed.status, 0, signed.out);
    assert.match(signed.out, /anchored record 10/);
    assert.match(cli(anchored, 'verify').out, /^intact, 10 records \(1 anchors checked\)/);
    const r = cli(await configFor(tampered('truncate', ['DELETE FROM audit_event WHERE seq > 8']), anchors), 'verify');
    assert.equal(r.status, 1);
    assert.match(r.out, /broken at record 9: record 9 is missing: the trail was truncated after record 8/);
  });

  it('the anchor key may come on standard input (--key -), as a cron job run as the gateway user is given it', async () => {
    const anchored = await configFor(intact, join(dir, 'stdin-anchors'));
    const r = spawnSync(process.execPath, [...builtGateway('audit/cli.js'), 'anchor', '--key', '-'], {
      env: { ...process.env, FGM_GATEWAY_CONFIG: anchored },
      input: readFileSync(keys.privateKeyFile, 'utf8'),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /anchored record 10/);
  });

  it('an anchor signed with another key is refused', async () => {
    const anchors = join(dir, 'forged-anchors');
    const other = generateAnchorKeys(join(dir, 'other-keys'));
    const config = await configFor(intact, anchors);
    assert.equal(cli(config, 'anchor', '--key', other.privateKeyFile).status, 0);
    const r = cli(config, 'verify');
    assert.equal(r.status, 1);
    assert.match(r.out, /the anchor for record 10 has no valid signature/);
  });

  it('SMSP-AUDIT-009 an index edited apart from its table is named, though every record still chains', async () => {
    const file = join(dir, 'index-edit.sqlite');
    copyFileSync(intact, file);
    // The user index rebuilt without user1's entries, its definition then put back: searches by
    // that user find nothing, while every record and hash is as written.
    const db = new Database(file);
    const { sql } = db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'audit_event_user'`).get() as {
      sql: string;
    };
    db.exec(
      `DROP INDEX audit_event_user; CREATE INDEX audit_event_user ON audit_event (userId) WHERE userId <> 'user1';`,
    );
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    db.prepare(`UPDATE sqlite_master SET sql = ? WHERE name = 'audit_event_user'`).run(sql);
    db.close();
    const check = new Database(file, { readonly: true });
    assert.equal(
      (check.prepare(`SELECT count(*) AS n FROM audit_event WHERE userId = 'user1'`).get() as { n: number }).n,
      0,
      'hidden from an indexed search',
    );
    assert.equal(
      (check.prepare(`SELECT count(*) AS n FROM audit_event NOT INDEXED WHERE userId = 'user1'`).get() as { n: number })
        .n,
      4,
    );
    check.close();
    const r = cli(await configFor(file), 'verify');
    assert.equal(r.status, 1, r.out);
    assert.match(
      r.out,
      /^damaged database: SQLite's integrity check failed .*row 1 missing from index audit_event_user/,
    );
  });

  it('bad usage is one line and exit 2', async () => {
    const r = cli(await configFor(intact), 'explode');
    assert.equal(r.status, 2);
    assert.match(r.out, /^audit: usage:/);
    assert.equal(r.out.split('\n').length, 1);
  });
});
