/**
 * @module test/audit/audit-postgres-owner-warning
 * The trail is append-only because the gateway's role may only INSERT and SELECT. A gateway
 * configured with the schema owner's (or a superuser's) credentials still works, but its role
 * could disable the triggers and rewrite history: IT is told at start and on /healthz.
 * Real PostgreSQL on 127.0.0.1:5432.
 */
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { migratePostgres, postgresPool } from '../../gateway/audit/postgres-store.ts';
import { openAuditEngine, type AuditEngine } from '../../gateway/server/engines.ts';
import type { GatewayConfig } from '../../gateway/config/config.ts';
import { healthz } from '../../gateway/routes/healthz.ts';
import { POSTGRES_URL, sqlAs, testDatabase, type TestDatabase } from '../helpers/services.ts';

const hmacKey = Buffer.alloc(32, 7);

async function openAs(url: string): Promise<{ engine: AuditEngine; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const config = { audit: { postgresUrl: url } } as unknown as GatewayConfig;
  const engine = await openAuditEngine(config, hmacKey, {
    log: (l) => lines.push(l as Record<string, unknown>),
    registry: new Registry(),
  });
  return { engine, lines };
}

async function healthBody(engine: AuditEngine): Promise<Record<string, unknown>> {
  const app = new Hono();
  app.get(
    '/healthz',
    healthz({
      breakerState: () => 'closed',
      engines: () => ({ audit: engine.health(), spineBudget: { mode: 'in-process' } }),
    }) as never,
  );
  return (await app.request('/healthz')).json() as Promise<Record<string, unknown>>;
}

describe('a gateway connected to PostgreSQL with more power than the gateway role is reported to IT', () => {
  let db: TestDatabase;
  before(async () => {
    db = await testDatabase();
    const owner = postgresPool(db.ownerUrl, 1);
    await migratePostgres(owner, db.gatewayRole).finally(() => owner.end());
  });
  after(() => db?.drop());

  it("SMSP-AUDIT-009 as the schema's owner: a warning in the log at start and in /healthz, and it still serves", async () => {
    const { engine, lines } = await openAs(db.ownerUrl);
    try {
      assert.ok(
        lines.some((l) => l.level === 'warn' && /schema's owner/.test(String(l.reason))),
        JSON.stringify(lines),
      );
      const body = await healthBody(engine);
      assert.equal(body.status, 'ok');
      assert.match(String(body.auditWarning), /schema's owner, who can disable the append-only triggers/);
    } finally {
      await engine.store.close();
    }
  });
  it('as a superuser: the same warning, naming the superuser', async () => {
    const u = new URL(db.ownerUrl);
    u.username = new URL(POSTGRES_URL).username || 'postgres';
    const { engine, lines } = await openAs(u.toString());
    try {
      assert.ok(lines.some((l) => l.level === 'warn' && /superuser/.test(String(l.reason))));
      assert.match(String((await healthBody(engine)).auditWarning), /superuser/);
    } finally {
      await engine.store.close();
    }
  });
  it("SMSP-AUDIT-009 as a role with CREATEROLE before PostgreSQL 16 (it can grant itself the owner's role): a warning at start and in /healthz", async (t) => {
    const v = (await sqlAs<{ v: number }>(POSTGRES_URL, "SELECT current_setting('server_version_num')::int AS v"))[0]!
      .v;
    if (v >= 160_000) return t.skip(`PostgreSQL ${v} limits CREATEROLE to roles it administers`);
    const owner = new URL(db.ownerUrl).username;
    await sqlAs(POSTGRES_URL, `ALTER ROLE ${db.gatewayRole} CREATEROLE`);
    try {
      // The power is real: the role makes itself a member of the owner's role, who may disable the triggers.
      await sqlAs(db.gatewayUrl, `GRANT ${owner} TO ${db.gatewayRole}`);
      await sqlAs(db.gatewayUrl, `REVOKE ${owner} FROM ${db.gatewayRole}`);
      const { engine, lines } = await openAs(db.gatewayUrl);
      try {
        assert.ok(
          lines.some(
            (l) =>
              l.level === 'warn' &&
              /CREATEROLE, which before PostgreSQL 16 can make itself the audit schema's owner/.test(String(l.reason)),
          ),
          JSON.stringify(lines),
        );
        assert.match(String((await healthBody(engine)).auditWarning), /CREATEROLE/);
      } finally {
        await engine.store.close();
      }
    } finally {
      await sqlAs(POSTGRES_URL, `ALTER ROLE ${db.gatewayRole} NOCREATEROLE`);
    }
  });
  it('as the gateway role: no warning anywhere', async () => {
    const { engine, lines } = await openAs(db.gatewayUrl);
    try {
      assert.ok(!lines.some((l) => l.level === 'warn'), JSON.stringify(lines));
      assert.equal((await healthBody(engine)).auditWarning, undefined);
    } finally {
      await engine.store.close();
    }
  });
});
