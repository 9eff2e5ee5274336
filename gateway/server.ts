/**
 * @module server
 * The only file that touches @hono/node-server and TLS: reads the key material, opens the audit
 * store, builds the app and listens — plain HTTP, or HTTPS (optionally asking for client
 * certificates for the SMSP FHIR interface) per `listen.tls`. `close()` is the graceful shutdown.
 */
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Context } from 'hono';
import { createApp } from './app.ts';
import type { AuditEvent, AuditSink } from './audit/audit-event.ts';
import { boundUnauthenticated } from './audit/unauthenticated-bound.ts';
import { openAuditTrail, type AuditTrail } from './audit/trail.ts';
import { describeVerify, type VerifyResult } from './audit/verify.ts';
import { createHash, randomUUID } from 'node:crypto';
import { createSessionVerifier } from './auth/verify-session-token.ts';
import { ConfigError, DEFAULT_WIDGET_FILE, type GatewayConfig } from './config.ts';
import { loadVocabulary, type Vocabulary } from './fhir/vocabulary.ts';
import { readKeyMaterial } from './key-material.ts';
import { jsonLineLogger, type Logger } from './logger.ts';
import type { PeerCertificate } from './middleware/client-auth.ts';
import { createHttpsSpineClient, type SpineClient } from './spine/client.ts';
import { createGatewayMetrics } from './observe/gateway-metrics.ts';
import { openAuditEngine, openSpineBudget, withoutPassword, type AuditEngine } from './engines.ts';
import { createMetricsServer } from './observe/metrics-server.ts';

// Node checks request and header timeouts only this often (30 s by default), so a slow-header
// client would otherwise hold a connection long past headersTimeout.
const SERVER_OPTIONS = { connectionsCheckingInterval: 1000 };

export interface GatewayDeps {
  /** Default: JSON lines on stdout. */
  log?: Logger;
  /** Default: the real HTTPS client for `spine.endpoint`. */
  spine?: SpineClient;
  /** Default: the store the config names (engines.ts): SQLite at `audit.sqliteFile`, or PostgreSQL. */
  audit?: AuditSink;
  now?: () => Date;
  /** For JWKS fetches; default global fetch. */
  fetch?: typeof fetch;
}

export interface RunningGateway {
  url: string;
  /** Where `GET /metrics` is served: the `metrics` listener, never the public one. */
  metricsUrl: string;
  /**
   * Applies a re-read config without a restart: clients' `enabled` flags take effect at once
   * (SMSP-SEC-001); a client missing from `next` is taken out of service. Other changes need a
   * restart. Returns the ids of clients whose service state changed.
   */
  reload(next: GatewayConfig): Promise<string[]>;
  /** Stops accepting connections, lets in-flight requests finish, then closes Spine connections and the audit store. */
  close(): Promise<void>;
}

function peerCertificate(c: Context): PeerCertificate | undefined {
  const socket = (c.env as HttpBindings | undefined)?.incoming?.socket;
  if (!(socket instanceof TLSSocket)) return undefined;
  const cert = socket.getPeerCertificate();
  return cert?.fingerprint256 ? { fingerprint256: cert.fingerprint256, authorized: socket.authorized } : undefined;
}

/** The start-up tail check; an unreadable anchor file counts as a broken chain, not a crash. */
async function checkAuditTail(trail: AuditTrail): Promise<VerifyResult> {
  try {
    return await trail.verifyTail();
  } catch (e) {
    return { ok: false, seq: null, reason: (e as Error).message.split('\n')[0]! };
  }
}

function vocabularyFor(config: GatewayConfig): Vocabulary {
  try {
    return config.vocabularyFile ? loadVocabulary(config.vocabularyFile) : loadVocabulary();
  } catch (e) {
    throw new ConfigError(`config: vocabularyFile: ${(e as Error).message}`);
  }
}

/**
 * Starts the gateway. Throws a ConfigError (one line naming the key and file) when a certificate,
 * key, vocabulary or audit file is unusable — before anything listens.
 * @example const gw = await startGateway(loadConfig()); console.log(gw.url); await gw.close();
 */
export async function startGateway(config: GatewayConfig, deps: GatewayDeps = {}): Promise<RunningGateway> {
  const material = readKeyMaterial(config);
  const vocabulary = vocabularyFor(config);
  const log = deps.log ?? jsonLineLogger();
  const verifySession = createSessionVerifier({ clients: config.clients, clientKeys: material.clientKeys, systemKeys: material.systemKeys, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  const metrics = createGatewayMetrics();
  let engine: AuditEngine | undefined;
  if (!deps.audit) {
    try {
      engine = await openAuditEngine(config, material.hmacKey, { log, registry: metrics.registry });
    } catch (e) {
      const [key, where] = config.audit.postgresUrl ? ['audit.postgresUrl', withoutPassword(config.audit.postgresUrl)] : ['audit.sqliteFile', config.audit.sqliteFile];
      throw new ConfigError(`config: ${key}: cannot open ${where}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const store = engine?.store;
  const realSpine = deps.spine
    ? undefined
    : createHttpsSpineClient({ endpoint: config.spine.endpoint, tls: material.spineTls, timeoutMs: config.spine.timeoutMs, maxResponseBytes: config.spine.maxResponseBytes });

  // Which clients are in service; a reload changes it, nothing else reads config.clients[].enabled.
  const inService = new Map(config.clients.map((c) => [c.id, c.enabled]));
  // Unauthenticated requests get their own records up to a bound per source address, then one summary per address.
  const sink = boundUnauthenticated(deps.audit ?? store!, { ...(deps.now ? { now: deps.now } : {}), onError: () => log({ level: 'error', msg: 'audit write failed', what: 'unauthenticated-attempts summary' }) });
  // Auditors read through their own read-only connection; only the real store has a trail to read.
  const auditTrail = store ? await openAuditTrail(config, material.hmacKey) : undefined;
  // A trail edited while the gateway was down is named at start: the newest records and anchor only, so start-up stays fast.
  const tail = auditTrail && (await checkAuditTail(auditTrail));
  if (tail && !tail.ok) {
    log({ level: 'error', msg: 'AUDIT TRAIL BROKEN: run npm run audit:verify', audit: describeVerify(tail), onBrokenChain: config.audit.onBrokenChain ?? 'warn' });
    if (config.audit.onBrokenChain === 'refuse') {
      await auditTrail.close();
      await store?.close();
      realSpine?.close();
      throw new ConfigError(`audit: ${engine!.where}: ${describeVerify(tail)}; not starting (audit.onBrokenChain is "refuse")`);
    }
  }
  const configHash = createHash('sha256').update(JSON.stringify(config)).digest('hex');
  const systemEvent = (eventType: 'gateway-start' | 'config-reload', detail: object): AuditEvent => ({
    time: (deps.now?.() ?? new Date()).toISOString(), eventType, requestId: randomUUID(), clientMessageId: null, clientId: null,
    userId: null, roleProfileId: null, localRoles: null, orgCode: config.smsp.odsCode, nhsNumber: null, spineMessageId: null,
    spineResponseId: null, outcomeCode: 'SUCCESS', httpStatus: 0, answeredBySpine: false, detail: JSON.stringify(detail),
  });
  const budget = await openSpineBudget(config, { log, registry: metrics.registry });
  // Loaded only when configured: without `cdsHooks` neither the routes nor their JWT checks exist.
  const cdsHooks = config.cdsHooks
    ? await (await import('./routes/cds-hooks.ts')).loadCdsHooks(config, deps.now ? { now: deps.now } : {}).catch(async (e: unknown) => {
        await auditTrail?.close();
        await store?.close();
        await budget.close();
        realSpine?.close();
        throw e;
      })
    : undefined;
  const scaledOut = Boolean(config.audit.postgresUrl || config.spine.rateLimit.redisUrl);
  const app = createApp({
    config,
    metrics,
    clientEnabled: (id) => inService.get(id) === true,
    vocabulary,
    spine: deps.spine ?? realSpine!,
    audit: sink,
    ...(auditTrail ? { auditTrail } : {}),
    limiter: budget.limiter,
    ...(scaledOut ? { engines: () => ({ audit: engine?.health() ?? { ok: true }, spineBudget: budget.health() }) } : {}),
    verifySession,
    ...(cdsHooks ? { cdsHooks } : {}),
    log,
    widgetFile: config.widgetFile ?? DEFAULT_WIDGET_FILE,
    peerCertificate,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const listener = getRequestListener(app.fetch, {
    // Reached only if the app itself cannot answer: no detail to the client or the log.
    errorHandler: () => new Response('Internal Server Error', { status: 500 }),
  });

  const tls = material.listenTls;
  const server: Server = tls
    ? createHttpsServer(
        {
          cert: tls.cert,
          key: tls.key,
          ca: tls.ca,
          minVersion: 'TLSv1.2',
          requestCert: config.listen.tls!.requestClientCert,
          // Browsers calling the widget API have no client certificate; the FHIR route checks
          // `authorized` and the fingerprint itself.
          rejectUnauthorized: false,
          ...SERVER_OPTIONS,
        },
        listener,
      )
    : createHttpServer(SERVER_OPTIONS, listener);
  server.requestTimeout = config.listen.requestTimeoutMs;
  server.headersTimeout = Math.min(config.listen.requestTimeoutMs, 10_000);
  server.keepAliveTimeout = 5000;

  server.listen(config.listen.port, config.listen.host);
  try {
    await once(server, 'listening');
  } catch (e) {
    await auditTrail?.close();
    await store?.close();
    await budget.close();
    await cdsHooks?.close();
    realSpine?.close();
    throw new ConfigError(`config: listen: cannot listen on ${config.listen.host}:${config.listen.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { port } = server.address() as AddressInfo;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  const metricsServer = createMetricsServer(metrics.registry);
  metricsServer.listen(config.metrics.port, config.metrics.host);
  try {
    await once(metricsServer, 'listening');
  } catch (e) {
    server.close();
    await auditTrail?.close();
    await store?.close();
    await budget.close();
    await cdsHooks?.close();
    realSpine?.close();
    throw new ConfigError(`config: metrics: cannot listen on ${config.metrics.host}:${config.metrics.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const metricsHost = config.metrics.host.includes(':') ? `[${config.metrics.host}]` : config.metrics.host;
  const metricsUrl = `http://${metricsHost}:${(metricsServer.address() as AddressInfo).port}/metrics`;
  // SMSP-AUDIT-008: the start-up, with a hash of the effective configuration, is on the record.
  await sink.record(systemEvent('gateway-start', { configSha256: configHash, ...(tail && !tail.ok ? { brokenChain: describeVerify(tail) } : {}) }));

  let closing: Promise<void> | undefined;
  return {
    url,
    metricsUrl,
    async reload(next) {
      const changed: string[] = [];
      for (const id of new Set([...inService.keys(), ...next.clients.map((c) => c.id)])) {
        const enabled = next.clients.find((c) => c.id === id)?.enabled ?? false;
        if ((inService.get(id) ?? false) !== enabled) changed.push(id);
        inService.set(id, enabled);
      }
      log({ level: 'info', msg: 'config reloaded', changedClients: changed.join(',') });
      await sink.record(systemEvent('config-reload', { configSha256: createHash('sha256').update(JSON.stringify(next)).digest('hex'), changedClients: changed }));
      return changed;
    },
    close() {
      closing ??= (async () => {
        const metricsClosed = once(metricsServer, 'close');
        metricsServer.close();
        metricsServer.closeAllConnections();
        const closed = once(server, 'close');
        server.close();
        server.closeIdleConnections();
        await closed;
        await metricsClosed;
        realSpine?.close();
        await budget.close();
        await cdsHooks?.close();
        await auditTrail?.close();
        await sink.flush().catch(() => log({ level: 'error', msg: 'audit write failed', what: 'unauthenticated-attempts summary' }));
        await store?.close();
      })();
      return closing;
    },
  };
}
