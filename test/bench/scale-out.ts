/**
 * @module test/bench/scale-out
 * The scale-out rows of `npm run bench`: throughput and p99 with 1, 2 and 3 built gateways on the
 * PostgreSQL audit store and the Redis Spine budget (the machine's real servers, a database and
 * key prefix of their own, removed afterwards), and the ceiling a plain proxy sets: nginx
 * terminating the client's HTTP and calling the same simulator over TLS mutual authentication,
 * when `nginx` is on the PATH (Debian: nginx-light). Either part is skipped with a note, not a
 * failure, when its server is missing: the benchmark still runs on a bare machine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { migratePostgres, postgresPool } from '../../gateway/audit/postgres-store.ts';
import { testDatabase, testRedis } from '../helpers/services.ts';
import { closedLoop, type LoadResult } from './load.ts';

export interface ScaleOutResult {
  gateways: { count: number; result: LoadResult }[];
  skipped?: string;
}

interface Running {
  proc: ChildProcess;
  url: string;
}

/** Spreads `send` over several gateways, one after another. */
const roundRobin = (sends: (() => Promise<boolean>)[]) => {
  let i = 0;
  return () => sends[i++ % sends.length]!();
};

export async function scaleOutRuns(o: {
  seconds: number;
  /** Writes a gateway config with these audit and rate-limit settings; returns its file. */
  writeConfig: (name: string, audit: object, rateLimit: object) => string;
  startGateway: (configFile: string) => Promise<Running>;
  send: (gatewayUrl: string) => () => Promise<boolean>;
}): Promise<ScaleOutResult> {
  let db: Awaited<ReturnType<typeof testDatabase>>;
  let redis: Awaited<ReturnType<typeof testRedis>>;
  try {
    [db, redis] = [await testDatabase(), await testRedis()];
  } catch (e) {
    return { gateways: [], skipped: (e as Error).message };
  }
  const running: Running[] = [];
  try {
    const owner = postgresPool(db.ownerUrl, 1);
    await migratePostgres(owner, db.gatewayRole).finally(() => owner.end());
    // High enough that the benchmark measures the gateways, yet every request still takes its token in Redis.
    const file = o.writeConfig(
      'scale-out',
      { postgresUrl: db.gatewayUrl },
      {
        perSecond: 100_000,
        burst: 100_000,
        redisUrl: redis.url,
        redisKeyPrefix: redis.prefix,
        localFallbackShare: 0.34,
      },
    );
    const gateways: ScaleOutResult['gateways'] = [];
    for (const count of [1, 2, 3]) {
      while (running.length < count) running.push(await o.startGateway(file));
      const send = roundRobin(running.map((g) => o.send(g.url)));
      await closedLoop({ connections: 32, seconds: 1, send });
      gateways.push({ count, result: await closedLoop({ connections: 32, seconds: o.seconds, send }) });
    }
    return { gateways };
  } finally {
    for (const g of running) {
      g.proc.kill('SIGTERM');
      await once(g.proc, 'exit');
    }
    await db.drop();
    await redis.drop();
  }
}

/**
 * nginx as a plain TLS-MA proxy in front of the simulator (HTTP in, TLS with the gateway's client
 * certificate out, keep-alive both ways): the most a proxy that does no SMSP work can pass. It
 * stays up until `close()`, so its rounds can be interleaved with the gateway's.
 */
export async function startNginx(o: {
  dir: string;
  port: number;
  spineUrl: URL;
  tls: { certFile: string; keyFile: string; caFile: string };
  send: (proxyUrl: URL, body: string) => () => Promise<boolean>;
  body: string;
}): Promise<{ send?: () => Promise<boolean>; close: () => Promise<void>; pids?: number[]; skipped?: string }> {
  if (spawnSync('nginx', ['-v']).error)
    return { skipped: 'nginx is not on the PATH (Debian: apt-get install nginx-light)', close: async () => {} };
  const prefix = join(o.dir, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `
daemon off;
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'logs', 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  upstream spine { server ${o.spineUrl.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${o.port};
    location / {
      proxy_pass https://spine;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_certificate ${o.tls.certFile};
      proxy_ssl_certificate_key ${o.tls.keyFile};
      proxy_ssl_trusted_certificate ${o.tls.caFile};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_session_reuse on;
    }
  }
}
`,
  );
  const nginx = spawn('nginx', ['-p', prefix, '-c', conf], { stdio: 'ignore' });
  const close = async () => {
    if (nginx.exitCode !== null) return;
    nginx.kill('SIGTERM');
    await once(nginx, 'exit');
  };
  const url = new URL(o.spineUrl.pathname, `http://127.0.0.1:${o.port}`);
  const send = o.send(url, o.body);
  // Ready once it answers (bounded: 50 tries).
  let ready = false;
  for (let i = 0; i < 50 && !(ready = await send().catch(() => false)); i++)
    await new Promise((r) => setTimeout(r, 100));
  if (!ready) {
    await close();
    return { skipped: 'nginx did not answer within 5 s', close: async () => {} };
  }
  await closedLoop({ connections: 32, seconds: 1, send });
  // The master and its one worker: the proxy's CPU is theirs together.
  const children = readFileSync(`/proc/${nginx.pid}/task/${nginx.pid}/children`, 'utf8').trim().split(/\s+/);
  return { send, close, pids: [nginx.pid!, ...children.filter(Boolean).map(Number)] };
}
