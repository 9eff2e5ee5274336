/**
 * @module test/audit/audit-postgres-erase-cli
 * FGMISQR009 from the command line on a real PostgreSQL: `cli.js erase-outcomes` (the built CLI,
 * the gateway's own config, its role) erases a backlog of a few thousand outcomes to the end and
 * verify says intact. It runs on the command line's pool, which has no client query deadline
 * (the gateway pool's 5 s would cut a long run): seen here as its session (application_name)
 * waiting on the chain's lock, which the test holds, then finishing once the lock is released.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { generateAnchorKeys } from '../../gateway/audit/anchor.ts';
import type { AuditEvent } from '../../gateway/audit/audit-event.ts';
import { CHAIN_LOCK } from '../../gateway/audit/postgres-erase.ts';
import { migratePostgres, openPostgresAuditStore, postgresPool } from '../../gateway/audit/postgres-store.ts';
import { builtGateway } from '../helpers/built-gateway.ts';
import { testPki } from '../helpers/pki.ts';
import { POSTGRES_URL, sqlAs, testDatabase } from '../helpers/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-pg-erase-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const event = (i: number, outcomeEraseOn: string): AuditEvent => ({
  time: '2026-01-05T10:00:00.000Z',
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: 'epr',
  userId: 'ajones',
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: null,
  spineResponseId: null,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  outcomeEraseOn,
});

describe('FGMISQR009 erase-outcomes from the command line on PostgreSQL', () => {
  it("FGMISQR009 erase-outcomes erases a backlog of 2500 outcomes to the end on the command line's pool (no query deadline), in recorded batches, and verify stays intact", async () => {
    const db = await testDatabase();
    const locker = new pg.Client({ connectionString: db.ownerUrl });
    try {
      const owner = postgresPool(db.ownerUrl, 1);
      await migratePostgres(owner, db.gatewayRole).finally(() => owner.end());
      const key = randomBytes(32).toString('hex');
      writeFileSync(join(dir, 'hmac.key'), key);
      const store = await openPostgresAuditStore(db.gatewayUrl, Buffer.from(key));
      await Promise.all(Array.from({ length: 2500 }, (_, i) => store.record(event(i + 1, '2026-06-01'))));
      await store.close();
      const pki = await testPki();
      const keys = generateAnchorKeys(join(dir, 'keys'));
      const tls = {
        certFile: pki.leaf['gateway-client'].cert,
        keyFile: pki.leaf['gateway-client'].key,
        caFile: pki.caCert,
      };
      const config = join(dir, 'config.json');
      writeFileSync(
        config,
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
          audit: { postgresUrl: db.gatewayUrl, hmacKeyFile: join(dir, 'hmac.key') },
        }),
      );
      const env = { ...process.env, FGM_GATEWAY_CONFIG: config };

      // The test holds the chain's lock, so the erasure must wait for it on its own session.
      await locker.connect();
      await locker.query('SELECT pg_advisory_lock($1)', [CHAIN_LOCK]);
      const child = spawn(process.execPath, [...builtGateway('audit/cli.js'), 'erase-outcomes'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      // Until the erasure's session waits on the lock (or the CLI gave up): an observed state, not a delay.
      let waiting: { application_name: string }[] = [];
      while (waiting.length === 0 && child.exitCode === null) {
        // As the superuser: pg_stat_activity hides another role's wait from the owner.
        waiting = await sqlAs(
          POSTGRES_URL,
          `SELECT application_name FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
          [new URL(db.ownerUrl).pathname.slice(1)],
        );
      }
      assert.deepEqual(
        waiting,
        [{ application_name: 'fgm-status-audit-cli' }],
        `the erasure waits on the command line's pool: ${stderr}`,
      );
      await locker.query('SELECT pg_advisory_unlock($1)', [CHAIN_LOCK]);
      assert.equal(await exited, 0, stderr);
      assert.match(
        stdout,
        /^erased the outcome of 2500 records, and of 0 archived records, due on or before \d{4}-\d{2}-\d{2}\n$/,
      );

      const runs = await sqlAs<{ detail: string }>(
        db.gatewayUrl,
        `SELECT detail FROM audit_event WHERE "eventType" = 'outcome-erasure' ORDER BY seq`,
      );
      assert.deepEqual(
        runs.map((r) => JSON.parse(r.detail).erasedOutcomes.records),
        [1000, 1000, 500],
      );
      assert.deepEqual(
        await sqlAs(
          db.gatewayUrl,
          `SELECT count(*)::int AS n FROM audit_event WHERE "outcomeCode" IS NOT NULL AND "eventType" = 'widget-query'`,
        ),
        [{ n: 0 }],
      );
      const verified = spawnSync(process.execPath, [...builtGateway('audit/cli.js'), 'verify'], {
        env,
        encoding: 'utf8',
      });
      assert.equal(verified.status, 0, verified.stdout + verified.stderr);
      assert.match(verified.stdout, /^intact, 2503 records/);
    } finally {
      await locker.end().catch(() => {});
      await db.drop();
    }
  });
});
