/**
 * @module test/helpers/services
 * The real PostgreSQL and Redis the scale-out tests need (`.ci/run` starts them when they are not
 * running). Addresses: FGM_TEST_POSTGRES_URL (a superuser or a role that may create databases and
 * roles; default postgres://postgres@127.0.0.1:5432/postgres) and FGM_TEST_REDIS_URL (default
 * redis://127.0.0.1:6379). A service that is not there fails the test that needs it with one line
 * naming it — never a skip. Each test gets its own database and roles, or its own key prefix, and
 * removes them afterwards. Also a TCP proxy the test controls, to cut a service without stopping
 * the machine's real server.
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';

export const POSTGRES_URL = process.env.FGM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.FGM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const oneLine = (e: unknown) => ((e as { code?: string }).code ?? (e as Error).message).split('\n')[0];

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (e) {
    throw new Error(
      `PostgreSQL is needed and not reachable at ${new URL(POSTGRES_URL).host} (${oneLine(e)}): start it (.ci/run does) or set FGM_TEST_POSTGRES_URL`,
      { cause: e },
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  /** The schema owner's URL (creates the schema, may edit as owner). */
  ownerUrl: string;
  /** The gateway role's URL: INSERT and SELECT on the audit table only. */
  gatewayUrl: string;
  gatewayRole: string;
  host: string;
  port: number;
  drop(): Promise<void>;
}

/** A fresh database owned by a fresh role, and a gateway role that may log in to it (no grants yet). */
export async function testDatabase(): Promise<TestDatabase> {
  const id = randomBytes(5).toString('hex');
  const [db, owner, gateway] = [`fgm_t_${id}`, `fgm_owner_${id}`, `fgm_gw_${id}`];
  await admin(async (c) => {
    await c.query(`CREATE ROLE ${owner} LOGIN`);
    await c.query(`CREATE ROLE ${gateway} LOGIN`);
    await c.query(`CREATE DATABASE ${db} OWNER ${owner}`);
  });
  const base = new URL(POSTGRES_URL);
  const url = (user: string) => {
    const u = new URL(base);
    u.username = user;
    u.password = '';
    u.pathname = `/${db}`;
    return u.toString();
  };
  return {
    ownerUrl: url(owner),
    gatewayUrl: url(gateway),
    gatewayRole: gateway,
    host: base.hostname,
    port: Number(base.port || 5432),
    drop: () =>
      admin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${gateway}`);
        await c.query(`DROP ROLE IF EXISTS ${owner}`);
      }),
  };
}

/** Runs `sql` as the user of `url` (a fresh connection each time). */
export async function sqlAs<T extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

export interface TestRedis {
  url: string;
  host: string;
  port: number;
  prefix: string;
  /** Removes every key under the prefix. */
  drop(): Promise<void>;
}

/** A key prefix of its own on the real Redis. */
export async function testRedis(): Promise<TestRedis> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    throw new Error(
      `Redis is needed and not reachable at ${new URL(REDIS_URL).host} (${oneLine(e)}): start it (.ci/run does) or set FGM_TEST_REDIS_URL`,
      { cause: e },
    );
  }
  const prefix = `fgm-test-${randomBytes(5).toString('hex')}:`;
  const u = new URL(REDIS_URL);
  return {
    url: REDIS_URL,
    host: u.hostname,
    port: Number(u.port || 6379),
    prefix,
    async drop() {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    },
  };
}

export interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones, as a dead server or a cut network would. */
  cut(): void;
  /**
   * Keeps every connection open but passes nothing on (a server hung, or a network black hole):
   * what clients send meanwhile is held, counted in `stalled`, and passed on at `restore()`.
   */
  stall(): void;
  /** What clients sent while stalled, as text. */
  readonly stalled: string;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 in front of `host:port`. */
export async function tcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let down = false;
  let stalled = false;
  let held = '';
  const release: (() => void)[] = [];
  const server = createServer((client) => {
    if (down) return void client.destroy();
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    // Each way, chunk by chunk, held while stalled.
    const forward = (from: Socket, to: Socket, count: boolean) =>
      from.on('data', (chunk: Buffer) => {
        if (!stalled) return void to.write(chunk);
        if (count) held += chunk.toString('latin1');
        release.push(() => to.write(chunk));
      });
    forward(client, upstream, true);
    forward(upstream, client, false);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    stall() {
      stalled = true;
    },
    get stalled() {
      return held;
    },
    restore() {
      down = false;
      stalled = false;
      for (const send of release.splice(0)) send();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
