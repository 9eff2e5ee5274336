/**
 * @module test/audit/audit-cli-config
 * The audit CLI finds the gateway's config exactly as `npm run gateway` does (FGM_GATEWAY_CONFIG,
 * else ./fgm-gateway.config.json), or takes `--config FILE`; when it finds none it says how it looked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateAnchorKeys } from '../../gateway/audit/anchor.ts';
import { openSqliteAuditStore } from '../../gateway/audit/sqlite-store.ts';
import { builtGateway } from '../helpers/built-gateway.ts';
import { testPki } from '../helpers/pki.ts';
import { sqlAs, testDatabase } from '../helpers/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-cli-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const { FGM_GATEWAY_CONFIG: _, ...env } = process.env;
const cli = (args: string[], extra: Record<string, string> = {}) =>
  spawnSync(process.execPath, [resolve(builtGateway('audit/cli.js')[0]!), ...args], {
    cwd: dir,
    env: { ...env, ...extra },
    encoding: 'utf8',
  });

async function writeConfig(): Promise<string> {
  const pki = await testPki();
  const keys = generateAnchorKeys(join(dir, 'keys'));
  writeFileSync(join(dir, 'hmac.key'), randomBytes(32).toString('hex'));
  // An empty trail, as a gateway that has started once leaves it.
  await (
    await openSqliteAuditStore(
      join(dir, 'audit.sqlite'),
      Buffer.from(readFileSync(join(dir, 'hmac.key'), 'utf8').trim()),
    )
  ).close();
  const file = join(dir, 'gateway.json');
  writeFileSync(
    file,
    JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      smsp: { asid: '200000000111', odsCode: 'RX1' },
      spine: {
        endpoint: 'https://127.0.0.1:9/fhir/fgm/query',
        asid: '990101234567',
        timeoutMs: 1000,
        rateLimit: { perSecond: 1, burst: 1 },
        tls: { certFile: pki.leaf['gateway-client'].cert, keyFile: pki.leaf['gateway-client'].key, caFile: pki.caCert },
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
      audit: { sqliteFile: join(dir, 'audit.sqlite'), hmacKeyFile: join(dir, 'hmac.key') },
    }),
  );
  return file;
}

describe('the audit CLI reads the config the way the gateway does', () => {
  it('with no FGM_GATEWAY_CONFIG and no ./fgm-gateway.config.json: exit 2, one line saying how it looked and both ways to point at the file', () => {
    // migrate-to-postgres exactly as the README shows it, from a directory without the config.
    for (const args of [
      ['verify'],
      ['migrate-to-postgres', '--owner-url', 'postgres://fgm_owner@db-host/fgm', '--grant', 'fgm_gateway'],
    ]) {
      const r = cli(args);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(
        r.stderr.trim(),
        /^audit: config: cannot read .*fgm-gateway\.config\.json: ENOENT \(FGM_GATEWAY_CONFIG is not set, so \.\/fgm-gateway\.config\.json was tried: set it to the gateway's config file, or give --config FILE\)$/,
      );
    }
  });
  it('--config naming a file that is not there says --config named it', () => {
    const r = cli(['verify', '--config', 'nowhere.json']);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr.trim(), /^audit: config: cannot read .*nowhere\.json: ENOENT \(named by --config\)$/);
  });
  it('--config FILE, FGM_GATEWAY_CONFIG and ./fgm-gateway.config.json each find the same trail', async () => {
    const file = await writeConfig();
    for (const [args, extra] of [
      [['verify', '--config', file], {}],
      [['verify'], { FGM_GATEWAY_CONFIG: file }],
    ] as const) {
      const r = cli([...args], extra);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^intact, 0 records/);
    }
    writeFileSync(join(dir, 'fgm-gateway.config.json'), readFileSync(file, 'utf8'));
    const r = cli(['verify']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
  it('migrate-postgres --owner-url on the database host needs no gateway config at all', async () => {
    const db = await testDatabase();
    try {
      const r = cli(['migrate-postgres', '--owner-url', db.ownerUrl, '--grant', db.gatewayRole]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`^audit schema migrated: versions [\\d, ]+ applied; ${db.gatewayRole} may INSERT and SELECT\n$`),
      );
      assert.deepEqual(await sqlAs(db.gatewayUrl, 'SELECT count(*)::int AS n FROM audit_event'), [{ n: 0 }]);
    } finally {
      await db.drop();
    }
  });
});
