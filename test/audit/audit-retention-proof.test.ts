/**
 * SMSP-AUDIT-009, FGMISQR009: after `retain` the built CLI's `verify` proves the whole trail on
 * both stores — the records kept, the signed retention point and the archive it names. Each
 * attack the hostile review found is named (exit 1, the record or archive named): a record forged
 * below the retention point (naming an innocent user, and hidden from /admin/audit search too),
 * an archive altered, reordered or deleted, and every record after the retention point deleted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { generateAnchorKeys } from '../../gateway/audit/anchor.ts';
import type { AuditEvent, AuditSink } from '../../gateway/audit/audit-event.ts';
import { migratePostgres, openPostgresAuditStore, postgresPool } from '../../gateway/audit/postgres-store.ts';
import { openSqliteAuditStore } from '../../gateway/audit/sqlite-store.ts';
import { openAuditTrail } from '../../gateway/audit/trail.ts';
import { loadConfig } from '../../gateway/config/config.ts';
import { builtGateway } from '../helpers/built-gateway.ts';
import { testPki } from '../helpers/pki.ts';
import { sqlAs, testDatabase } from '../helpers/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-retention-proof-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = generateAnchorKeys(join(dir, 'anchor-keys'));
writeFileSync(join(dir, 'hmac.key'), randomBytes(32).toString('hex'));
const HMAC = Buffer.from(readFileSync(join(dir, 'hmac.key'), 'utf8').trim());

/** Five records from 2015 (past the default 8-year retention), five from this year. */
const event = (i: number): AuditEvent => ({
  time: i <= 5 ? `2015-0${i}-01T10:00:00.000Z` : `2026-0${i - 5}-01T10:00:00.000Z`,
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
  outcomeEraseOn: '2030-01-01',
});

async function configFile(name: string, audit: object): Promise<string> {
  const pki = await testPki();
  const file = join(dir, `${name}.config.json`);
  const tls = {
    certFile: pki.leaf['gateway-client'].cert,
    keyFile: pki.leaf['gateway-client'].key,
    caFile: pki.caCert,
  };
  writeFileSync(
    file,
    JSON.stringify({
      metrics: { host: '127.0.0.1', port: 0 },
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
        hmacKeyFile: join(dir, 'hmac.key'),
        anchorPublicKeyFile: keys.publicKeyFile,
        anchorDir: join(dir, `${name}-anchors`),
        ...audit,
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

async function fill(store: AuditSink & { close(): Promise<void> }) {
  for (let i = 1; i <= 10; i++) await store.record(event(i));
  await store.close();
}

/** The store-specific ways an attacker with database access writes: insert, and delete bypassing the triggers. */
interface Attacker {
  insert(row: Record<string, unknown>): Promise<void>;
  deleteWhere(where: string): Promise<void>;
  rows(): Promise<Record<string, unknown>[]>;
}

async function attacks(config: string, attacker: Attacker, retainArgs: string[] = []) {
  const retained = cli(config, 'retain', '--key', keys.privateKeyFile, ...retainArgs);
  assert.equal(retained.status, 0, retained.out);
  assert.match(retained.out, /archived and removed records 1-5 /);
  assert.match(cli(config, 'verify').out, /^intact, 5 records \(0 anchors, 1 archives checked\)$/);
  const anchorDir = loadConfig(config).audit.anchorDir!;
  const archive = readdirSync(anchorDir).find((f) => f.startsWith('audit-archive-'))!;
  const archiveFile = join(anchorDir, archive);
  const original = readFileSync(archiveFile, 'utf8');

  // 1. A record forged inside the archived range, naming an innocent user and patient.
  const kept = (await attacker.rows())[0]!;
  await attacker.insert({ ...kept, seq: 3, userId: 'innocent', nhsNumber: '9990000026', requestId: 'forged' });
  let r = cli(config, 'verify');
  assert.equal(r.status, 1, r.out);
  assert.equal(
    r.out,
    'broken at record 3: it is at or below the retention point (records up to 5 were archived and removed): a record inserted there',
  );
  const trail = await openAuditTrail(loadConfig(config), HMAC);
  try {
    assert.deepEqual(
      await trail.search({ userId: 'innocent' }),
      [],
      'search never returns a record at or below the retention point',
    );
    assert.deepEqual(await trail.search({ nhsNumber: '9990000026', afterSeq: 0 }), []);
    assert.equal((await trail.search({ nhsNumber: '9990000018' })).length, 5, 'the kept records are still found');
  } finally {
    await trail.close();
  }
  await attacker.deleteWhere('seq = 3');
  assert.equal(cli(config, 'verify').status, 0);

  // 2. The archive altered: a patient's NHS number replaced.
  writeFileSync(archiveFile, original.replace('"nhsNumber":"9990000018"', '"nhsNumber":"9990000026"'));
  r = cli(config, 'verify');
  assert.equal(r.status, 1, r.out);
  assert.equal(
    r.out,
    `broken archive ${archive}: it does not match the SHA-256 its signed retention record names (archive altered)`,
  );

  // 3. The archive reordered.
  const lines = original.trimEnd().split('\n');
  writeFileSync(archiveFile, `${[lines[1], lines[0], ...lines.slice(2)].join('\n')}\n`);
  r = cli(config, 'verify');
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, new RegExp(`^broken archive ${archive}: `));

  // 4. The archive deleted.
  renameSync(archiveFile, `${archiveFile}.gone`);
  r = cli(config, 'verify');
  assert.equal(r.status, 1, r.out);
  assert.equal(r.out, `broken archive ${archive}: the archive of records 1-5 is missing`);
  renameSync(`${archiveFile}.gone`, archiveFile);
  writeFileSync(archiveFile, original);
  assert.equal(cli(config, 'verify').status, 0);

  // 5. Every record after the retention point deleted.
  await attacker.deleteWhere('seq > 5');
  r = cli(config, 'verify');
  assert.equal(r.status, 1, r.out);
  assert.equal(
    r.out,
    'broken at record 6: record 6 is missing: the trail was truncated after the retention point (records up to 5 archived)',
  );
}

describe('SMSP-AUDIT-009 FGMISQR009 verify proves the whole trail after retention, archives included', () => {
  it('SMSP-AUDIT-009 FGMISQR009 SQLite: a forgery below the retention point, an altered, reordered or deleted archive and truncation after retention are each named by the CLI', async () => {
    const file = join(dir, 'trail.sqlite');
    await fill(await openSqliteAuditStore(file, HMAC));
    const config = await configFile('sqlite', { sqliteFile: file });
    const db = () => new Database(file);
    await attacks(config, {
      async insert(row) {
        const d = db();
        d.prepare(
          `INSERT INTO audit_event (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row)
            .map((k) => `@${k}`)
            .join(', ')})`,
        ).run(row);
        d.close();
      },
      async deleteWhere(where) {
        const d = db();
        d.exec(
          `DROP TRIGGER audit_event_no_delete; DELETE FROM audit_event WHERE ${where}; CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;`,
        );
        d.close();
      },
      async rows() {
        const d = db();
        const rows = d.prepare('SELECT * FROM audit_event ORDER BY seq').all() as Record<string, unknown>[];
        d.close();
        return rows;
      },
    });
  });

  it('SMSP-AUDIT-009 FGMISQR009 PostgreSQL: retention as the schema owner; the same forgery (the gateway role may INSERT), archive attacks and truncation are each named by the CLI', async () => {
    const pg = await testDatabase();
    try {
      const owner = postgresPool(pg.ownerUrl, 1);
      await migratePostgres(owner, pg.gatewayRole).finally(() => owner.end());
      await fill(await openPostgresAuditStore(pg.gatewayUrl, HMAC));
      const config = await configFile('postgres', { postgresUrl: pg.gatewayUrl });
      // The gateway's role cannot run retention: audit_retain is the owner's alone.
      await assert.rejects(sqlAs(pg.gatewayUrl, 'SELECT audit_retain(5)'), /permission denied/);
      await attacks(
        config,
        {
          async insert(row) {
            const cols = Object.keys(row);
            await sqlAs(
              pg.gatewayUrl,
              `INSERT INTO audit_event (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
              Object.values(row),
            );
          },
          async deleteWhere(where) {
            await sqlAs(
              pg.ownerUrl,
              `ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete; DELETE FROM audit_event WHERE ${where}; ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete`,
            );
          },
          rows: () => sqlAs(pg.gatewayUrl, 'SELECT * FROM audit_event ORDER BY seq'),
        },
        ['--owner-url', pg.ownerUrl],
      );
    } finally {
      await pg.drop();
    }
  });
});
