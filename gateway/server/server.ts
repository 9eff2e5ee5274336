/**
 * @module server/server
 * The only file that touches @hono/node-server and TLS: reads the key material, opens the audit
 * store, builds the app and listens — plain HTTP, or HTTPS (optionally asking for client
 * certificates for the SMSP FHIR interface) per `listen.tls`. `close()` is the graceful shutdown.
 */
import { getRequestListener, RequestError, type HttpBindings } from '@hono/node-server';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { Hono, type Context } from 'hono';
import { apiSecureHeaders, createApp } from '../app.ts';
import type { AuditEvent, AuditSink } from '../audit/audit-event.ts';
import { boundRefusedUsers } from '../audit/refused-user-bound.ts';
import { boundUnauthenticated } from '../audit/unauthenticated-bound.ts';
import { openAuditTrail, type AuditTrail } from '../audit/trail.ts';
import { describeVerify, type VerifyResult } from '../audit/verify.ts';
import { anchorPublicKey, eraseDueOutcomes, type ErasureRun } from '../audit/erasure.ts';
import { atEveryUkHour } from '../audit/uk-day.ts';
import { createHash, randomUUID } from 'node:crypto';
import { createSessionVerifier } from '../auth/verify-session-token.ts';
import { compileProfiles } from '../fhir/profile-validator.ts';
import { ConfigError, DEFAULT_WIDGET_FILE, spineClients, type GatewayConfig } from '../config/config.ts';
import { loadVocabulary, type Vocabulary } from '../fhir/vocabulary.ts';
import { referenceData } from '../audit/reference-data.ts';
import { readKeyMaterial } from './key-material.ts';
import { logUserKeySecret } from '../middleware/access-log.ts';
import { jsonLineLogger, type Logger } from '../observe/logger.ts';
import type { PeerCertificate } from '../middleware/client-auth.ts';
import { createHttpsSpineClient, type SpineClient } from '../spine/client.ts';
import { createGatewayMetrics } from '../observe/gateway-metrics.ts';
import { openAuditEngine, openSpineBudget, withoutPassword, type AuditEngine } from './engines.ts';
import { createMetricsServer } from '../observe/metrics-server.ts';
import { restartNeeded } from './config-reload.ts';
import { createTeardown, startOrClose, type Teardown } from './teardown.ts';
import { boundConnections } from './connection-bound.ts';
import { inFlightCounts } from '../middleware/caller-bound.ts';
import type { StatusBody } from '@fgm-status/element/rules/status-body';
import { clientShares } from '../spine/client-shares.ts';
import { createRateLimiter, type LocalRateLimiter, type RateLimiter } from '../spine/rate-limiter.ts';

// Node checks request and header timeouts only this often (30 s by default), so a slow-header
// client would otherwise hold a connection long past headersTimeout. A request without a Host
// header reaches the listener, so it is answered in the vocabulary's shape and logged rather than
// with Node's bare 400.
const SERVER_OPTIONS = { connectionsCheckingInterval: 1000, requireHostHeader: false };

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
   * Applies a re-read config without a restart, from the next request on: clients (added, removed,
   * `enabled` — SMSP-SEC-001 — origins, token keys and rules, roles, shares), the in-process Spine
   * budget, the circuit breaker's settings, body limit, the listener's per-caller bounds, body
   * deadline, connection bound and keep-alive timeout, vocabulary and widget file. What only a
   * restart can change (config-reload.ts) is named in `needsRestart` and keeps its running value. A
   * config whose files cannot be read is refused whole: the previous one stays in force.
   */
  reload(next: GatewayConfig): Promise<ReloadResult>;
  /**
   * FGMISQR009: erases now the outcomes whose date has come (the erasure task runs this at start
   * and then at the top of every UK hour), in the store and in the archives, and records the erasure.
   */
  eraseOutcomes(): Promise<ErasureRun | undefined>;
  /** Stops accepting connections, lets in-flight requests finish, then closes Spine connections and the audit store. */
  close(): Promise<void>;
}

export interface ReloadResult {
  /** Clients whose service state (in service or not) changed. */
  changedClients: string[];
  /** Changed keys that keep their running value until a restart, e.g. `listen.port`. */
  needsRestart: string[];
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

// The API's security headers on the answers below, by the same middleware the app runs.
const withApiHeaders = new Hono<{ Bindings: { res: Response } }>().use(apiSecureHeaders()).all('*', (c) => c.env.res);

/**
 * The answer when no request could be built from the request line and headers (missing,
 * repeated or invalid Host, unusable target): 400 INPUT_MESSAGE_VALIDATION_ERROR (SMSP-ERR-006) in the widget API's JSON shape, logged
 * like any request — with a fixed phrase, never the client's text.
 */
function badRequestLine(vocabulary: Vocabulary, log: Logger, reason: string): Response | Promise<Response> {
  const row = vocabulary.get(vocabulary.codeFor('request-line-invalid'));
  const requestId = randomUUID();
  log({
    level: 'info',
    msg: 'request',
    requestId,
    path: 'other',
    status: row.httpStatus,
    code: row.code,
    reason,
    clientId: null,
    durationMs: 0,
  });
  const body: StatusBody = {
    status: 'error',
    nhsNumber: null,
    assessmentDate: null,
    checkedAt: null,
    messageId: null,
    code: row.code,
    smspCode: row.smspCode,
    display: row.display,
  };
  const res = Response.json(body, {
    status: row.httpStatus,
    headers: { 'Cache-Control': 'no-store', 'X-Request-Id': requestId },
  });
  return withApiHeaders.fetch(new Request('http://gateway/'), { res });
}

function vocabularyFor(config: GatewayConfig): Vocabulary {
  try {
    return config.vocabularyFile ? loadVocabulary(config.vocabularyFile) : loadVocabulary();
  } catch (e) {
    throw new ConfigError(`config: vocabularyFile: ${(e as Error).message}`);
  }
}

type KeyMaterial = ReturnType<typeof readKeyMaterial>;
type Metrics = ReturnType<typeof createGatewayMetrics>;
type AuditStore = AuditEngine['store'];
type CdsHooks = Awaited<ReturnType<typeof import('../routes/cds-hooks.ts').loadCdsHooks>>;

interface OpenedAudit {
  /** The real store; absent when the caller passed its own sink (`deps.audit`). */
  store: AuditStore | undefined;
  engine: AuditEngine | undefined;
  sink: AuditSink & { flush(): Promise<void> };
  auditTrail: AuditTrail | undefined;
  tail: VerifyResult | undefined;
}

/** Step: the audit store, the bounds on refused requests' records in front of it, the auditors' reader, and the start-up tail check. */
async function openAudit(
  config: GatewayConfig,
  material: KeyMaterial,
  deps: GatewayDeps,
  log: Logger,
  metrics: Metrics,
  teardown: Teardown,
): Promise<OpenedAudit> {
  let engine: AuditEngine | undefined;
  if (!deps.audit) {
    try {
      engine = await openAuditEngine(config, material.hmacKey, { log, registry: metrics.registry });
    } catch (e) {
      const [key, where] = config.audit.postgresUrl
        ? ['audit.postgresUrl', withoutPassword(config.audit.postgresUrl)]
        : ['audit.sqliteFile', config.audit.sqliteFile];
      throw new ConfigError(`config: ${key}: cannot open ${where}: ${(e as Error).message.split('\n')[0]}`);
    }
    teardown.add('audit store', () => engine!.store.close());
  }
  const store = engine?.store;
  // Refusals that reached no Spine get their own records up to a bound per source address (unauthenticated) or per
  // user (authenticated), then one summary each: one caller's flood cannot fill the disk.
  const clock = deps.now ? { now: deps.now } : {};
  const onUserError = () => log({ level: 'error', msg: 'audit write failed', what: 'refused-attempts summary' });
  const users = boundRefusedUsers(deps.audit ?? store!, { ...clock, onError: onUserError });
  const onError = () => log({ level: 'error', msg: 'audit write failed', what: 'unauthenticated-attempts summary' });
  const addresses = boundUnauthenticated(users, { ...clock, onError });
  // The address bound's summaries pass through the user bound, so it is flushed first.
  const sink = {
    record: addresses.record,
    flush: async () => {
      await addresses.flush().catch(onError);
      await users.flush().catch(onUserError);
    },
  };
  teardown.add('refused-attempts summaries', () => sink.flush());
  // Auditors read through their own read-only connection; only the real store has a trail to read.
  const auditTrail = store ? await openAuditTrail(config, material.hmacKey, deps.now) : undefined;
  if (auditTrail) teardown.add('audit trail reader', () => auditTrail.close());
  // A trail edited while the gateway was down is named at start: the newest records and anchor only, so start-up stays fast.
  const tail = auditTrail && (await checkAuditTail(auditTrail));
  // An interrupted retention (its rows still stored, exactly as its signed archive holds them) is not a break: start, and say so.
  if (tail && !tail.ok && tail.kind === 'retention-incomplete')
    log({ level: 'warn', msg: 'AUDIT RETENTION INCOMPLETE: run retain again', audit: describeVerify(tail) });
  else if (tail && !tail.ok) {
    log({
      level: 'error',
      msg: 'AUDIT TRAIL BROKEN: run npm run audit:verify',
      audit: describeVerify(tail),
      onBrokenChain: config.audit.onBrokenChain ?? 'warn',
    });
    if (config.audit.onBrokenChain === 'refuse')
      throw new ConfigError(
        `audit: ${engine!.where}: ${describeVerify(tail)}; not starting (audit.onBrokenChain is "refuse")`,
      );
  }
  return { store, engine, sink, auditTrail, tail };
}

/** Step: the Spine side — the real HTTPS client (unless the caller passed one) and the Spine budget. */
async function openSpine(
  config: GatewayConfig,
  material: KeyMaterial,
  deps: GatewayDeps,
  log: Logger,
  metrics: Metrics,
  teardown: Teardown,
) {
  let spine = deps.spine;
  if (!spine) {
    const real = createHttpsSpineClient({
      endpoint: config.spine.endpoint,
      tls: material.spineTls,
      timeoutMs: config.spine.timeoutMs,
      maxResponseBytes: config.spine.maxResponseBytes,
    });
    teardown.add('spine client', () => real.close());
    spine = real;
  }
  const budget = await openSpineBudget(config, material.hmacKey, { log, registry: metrics.registry });
  teardown.add('spine budget', () => budget.close());
  return { spine, budget };
}

/** Step: the CDS Hooks routes, loaded only when configured: without `cdsHooks` neither the routes nor their JWT checks exist. */
async function openCdsHooks(
  config: GatewayConfig,
  deps: GatewayDeps,
  log: Logger,
  teardown: Teardown,
): Promise<CdsHooks | undefined> {
  if (!config.cdsHooks) return undefined;
  const cdsHooks = await (
    await import('../routes/cds-hooks.ts')
  ).loadCdsHooks(config, { log, ...(deps.now ? { now: deps.now } : {}) });
  teardown.add('cds hooks', () => cdsHooks.close());
  return cdsHooks;
}

/** Closes a listener: no new connections, idle ones closed (or all, with `all`), resolved once every connection has gone. */
async function closeServer(server: Server, all = false): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  if (all) server.closeAllConnections();
  else server.closeIdleConnections();
  await closed;
}

/** Listens, turning a refused port into one line naming the key. */
async function listenOn(server: Server, key: string, where: { host: string; port: number }): Promise<void> {
  server.listen(where.port, where.host);
  try {
    await once(server, 'listening');
  } catch (e) {
    throw new ConfigError(
      `config: ${key}: cannot listen on ${where.host}:${where.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

/**
 * Step: the public listener — HTTP or HTTPS per `listen.tls` — serving whichever app `currentApp`
 * returns, with its connection bound. `setListen` applies a reload's listen keys.
 */
async function listenPublic(
  config: GatewayConfig,
  material: KeyMaterial,
  currentApp: () => ReturnType<typeof createApp>,
  o: { vocabulary: Vocabulary; log: Logger; metrics: Metrics; teardown: Teardown },
) {
  const { vocabulary, log, metrics } = o;
  const listener = getRequestListener(
    (req, env) => {
      // RFC 9112 §3.2: a request with more than one Host field is a bad request (Node keeps the first silently).
      if (env.incoming.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'host').length > 1)
        return badRequestLine(vocabulary, log, 'more than one Host header');
      return currentApp().fetch(req, env);
    },
    {
      errorHandler: (e) => {
        // Reached only if the app itself cannot answer: no detail to the client or the log.
        if (!(e instanceof RequestError)) return new Response('Internal Server Error', { status: 500 });
        // No request could be built: a missing or invalid Host header, or an unusable target.
        return badRequestLine(vocabulary, log, 'no usable Host header or request target');
      },
    },
  );
  // Hono's listener answers every error itself; its promise is nobody's to await.
  const onRequest = (req: IncomingMessage, res: ServerResponse) => void listener(req, res);

  const tls = material.listenTls;
  const headersTimeout = Math.min(config.listen.requestTimeoutMs, config.listen.headersTimeoutMs);
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
          // A client that never finishes its TLS handshake is held no longer than a slow-header one.
          handshakeTimeout: headersTimeout,
          ...SERVER_OPTIONS,
        },
        onRequest,
      )
    : createHttpServer(SERVER_OPTIONS, onRequest);
  server.requestTimeout = config.listen.requestTimeoutMs;
  server.headersTimeout = headersTimeout;
  server.keepAliveTimeout = config.listen.keepAliveTimeoutMs;
  // The listen keys a reload may change (config-reload.ts), read by the bound on each event.
  let listen = config.listen;
  // Each close or refusal is counted; logged at most once per holder per 10 s with how many since
  // (connection-bound.ts), so a churn flood shows in the logs by source prefix without flooding them.
  const bound = boundConnections(
    server,
    () => listen,
    (shed) => {
      metrics.connectionsShed.inc({ action: shed.action, reason: shed.reason });
      if (shed.log)
        log({
          level: 'warn',
          msg: 'connection shed',
          action: shed.action,
          reason: shed.reason,
          source: shed.source,
          count: shed.log.count,
        });
    },
  );

  await listenOn(server, 'listen', config.listen);
  o.teardown.add('listener', () => closeServer(server));
  // After listening, an 'error' (e.g. accept failing with EMFILE) must not end the process.
  server.on('error', (e: NodeJS.ErrnoException) =>
    log({ level: 'error', msg: 'listener error', error: e.code ?? e.name }),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://${urlHost(config.listen.host)}:${port}`,
    claim: bound.claim,
    setListen(next: GatewayConfig['listen']) {
      listen = {
        ...listen,
        maxConnections: next.maxConnections,
        bodyTimeoutMs: next.bodyTimeoutMs,
        writeTimeoutMs: next.writeTimeoutMs,
        maxUnauthenticatedPerAddress: next.maxUnauthenticatedPerAddress,
        maxPipelinedPerConnection: next.maxPipelinedPerConnection,
      };
      server.keepAliveTimeout = next.keepAliveTimeoutMs;
    },
  };
}

/** Step: `GET /metrics` on its own listener, never the public one. */
async function listenMetrics(config: GatewayConfig, metrics: Metrics, teardown: Teardown): Promise<string> {
  const metricsServer = createMetricsServer(metrics.registry);
  await listenOn(metricsServer, 'metrics', config.metrics);
  teardown.add('metrics listener', () => closeServer(metricsServer, true));
  return `http://${urlHost(config.metrics.host)}:${(metricsServer.address() as AddressInfo).port}/metrics`;
}

/** Step: FGMISQR009's erasure, one run at a time, at start and at the top of every UK hour; a failure is logged (no record content) and retried the next hour. */
function startErasure(
  config: GatewayConfig,
  store: AuditStore | undefined,
  deps: GatewayDeps,
  log: Logger,
  teardown: Teardown,
) {
  let erasing: Promise<ErasureRun | undefined> = Promise.resolve(undefined);
  const eraseOutcomes = () => {
    erasing = erasing
      .catch(() => undefined)
      .then(() =>
        store
          ? eraseDueOutcomes({
              eraseStore: (today, plan) => store.eraseOutcomes(today, plan),
              archiveDir: config.audit.anchorDir,
              publicKey: anchorPublicKey(config),
              onArchiveFailure: (archive, e) =>
                log({
                  level: 'error',
                  msg: 'ARCHIVE ERASURE FAILED (FGMISQR009): retried at the next run',
                  archive,
                  error: (e as NodeJS.ErrnoException).code ?? e.name,
                }),
              now: deps.now?.() ?? new Date(),
              orgCode: config.smsp.odsCode,
              requestId: randomUUID(),
            })
          : undefined,
      )
      .then((run) => {
        if (run && (run.records || run.archives.length))
          log({
            level: 'info',
            msg: 'outcomes erased (FGMISQR009)',
            records: run.records,
            archivedRecords: run.archives.reduce((n, a) => n + a.records, 0),
            through: run.through,
          });
        return run;
      });
    return erasing;
  };
  const logErasureFailure = (e: Error) =>
    log({
      level: 'error',
      msg: 'OUTCOME ERASURE FAILED (FGMISQR009): run node dist/gateway/audit/cli.js erase-outcomes',
      error: e.name,
    });
  eraseOutcomes().catch(logErasureFailure);
  // At the top of every UK hour (so at UK midnight too, not every N hours from start-up): an outcome due on a UK date goes as
  // that date begins, and one the midnight run missed (written just after it, or a database clock behind) an hour later.
  const erasureTimer = atEveryUkHour(
    deps.now ?? (() => new Date()),
    () => void eraseOutcomes().catch(logErasureFailure),
  );
  teardown.add('outcome erasure', async () => {
    erasureTimer.stop();
    await erasing.catch(() => {});
  });
  return eraseOutcomes;
}

/** A system record (SMSP-AUDIT-008): the start-up or a reload, with what the detail says. */
function systemEvent(
  config: GatewayConfig,
  deps: GatewayDeps,
  eventType: 'gateway-start' | 'config-reload',
  detail: object,
): AuditEvent {
  return {
    time: (deps.now?.() ?? new Date()).toISOString(),
    eventType,
    requestId: randomUUID(),
    clientMessageId: null,
    clientId: null,
    userId: null,
    roleProfileId: null,
    localRoles: null,
    orgCode: config.smsp.odsCode,
    nhsNumber: null,
    spineMessageId: null,
    spineResponseId: null,
    outcomeCode: 'SUCCESS',
    httpStatus: 0,
    answeredBySpine: false,
    detail: JSON.stringify(detail),
  };
}

/** Sets each client's service state from `next`; returns the clients whose state changed. */
function applyServiceStates(inService: Map<string, boolean>, next: GatewayConfig): string[] {
  const changed: string[] = [];
  for (const id of new Set([...inService.keys(), ...next.clients.map((c) => c.id)])) {
    const enabled = next.clients.find((c) => c.id === id)?.enabled ?? false;
    if ((inService.get(id) ?? false) !== enabled) changed.push(id);
    inService.set(id, enabled);
  }
  return changed;
}

const configSha256 = (config: GatewayConfig) => createHash('sha256').update(JSON.stringify(config)).digest('hex');

/**
 * Starts the gateway. Throws a ConfigError (one line naming the key and file) when a certificate,
 * key, vocabulary or audit file is unusable — before anything listens. Each step registers what it
 * opens on one teardown list: a failed start closes what the earlier steps opened, and `close()`
 * closes everything, last opened first.
 * @example const gw = await startGateway(loadConfig()); console.log(gw.url); await gw.close();
 */
export async function startGateway(config: GatewayConfig, deps: GatewayDeps = {}): Promise<RunningGateway> {
  const material = readKeyMaterial(config);
  const vocabulary = vocabularyFor(config);
  // The profile rules are compiled here, before anything listens, so that no request pays for it.
  compileProfiles();
  const log = deps.log ?? jsonLineLogger();
  const metrics = createGatewayMetrics();
  const teardown = createTeardown();
  return startOrClose(teardown, async () => {
    const audit = await openAudit(config, material, deps, log, metrics, teardown);
    const { spine, budget } = await openSpine(config, material, deps, log, metrics, teardown);
    const cdsHooks = await openCdsHooks(config, deps, log, teardown);
    // Which clients are in service; a reload changes it, nothing else reads config.clients[].enabled.
    const inService = new Map(config.clients.map((c) => [c.id, c.enabled]));
    let claimConnection: ((req: IncomingMessage, caller: string) => void) | undefined;
    const appFor = appBuilder(config, deps, {
      metrics,
      log,
      spine,
      audit,
      budget,
      inService,
      ...(cdsHooks ? { cdsHooks } : {}),
      userKeySecret: logUserKeySecret(material.hmacKey),
      claimConnection: (req, caller) => claimConnection?.(req, caller),
    });
    let app = appFor(config, material, vocabulary, budget.limiter);
    const front = await listenPublic(config, material, () => app, { vocabulary, log, metrics, teardown });
    claimConnection = front.claim;
    const metricsUrl = await listenMetrics(config, metrics, teardown);
    // SMSP-AUDIT-008: the start-up, with a hash of the effective configuration, is on the record.
    const brokenChain = audit.tail && !audit.tail.ok ? { brokenChain: describeVerify(audit.tail) } : {};
    await audit.sink.record(
      systemEvent(config, deps, 'gateway-start', {
        configSha256: configSha256(config),
        ...referenceData(config, material),
        ...brokenChain,
      }),
    );
    const eraseOutcomes = startErasure(config, audit.store, deps, log, teardown);
    const reload = reloader(config, deps, {
      audit,
      budget,
      inService,
      front,
      log,
      appFor,
      swap: (next) => (app = next),
    });
    return { url: front.url, metricsUrl, eraseOutcomes, reload, close: () => teardown.close() };
  });
}

type Audit = Awaited<ReturnType<typeof openAudit>>;
type Budget = Awaited<ReturnType<typeof openSpine>>['budget'];
type AppFor = (c: GatewayConfig, m: KeyMaterial, v: Vocabulary, limiter: RateLimiter) => ReturnType<typeof createApp>;

/**
 * Everything a reload may change lives in the app; a reload builds a new one and swaps it in, so a
 * request is served wholly by the old config or wholly by the new. What outlives an app (requests
 * in flight per caller, the Spine client, the audit sink) is made once and shared.
 */
function appBuilder(
  config: GatewayConfig,
  deps: GatewayDeps,
  o: {
    metrics: Metrics;
    log: Logger;
    spine: SpineClient;
    audit: Audit;
    budget: Budget;
    inService: Map<string, boolean>;
    cdsHooks?: CdsHooks;
    userKeySecret: ReturnType<typeof logUserKeySecret>;
    claimConnection: (req: IncomingMessage, caller: string) => void;
  },
): AppFor {
  const scaledOut = Boolean(config.audit.postgresUrl || config.spine.rateLimit.redisUrl);
  // Requests in flight per caller: counted across reloads, as the requests outlive the app that took them.
  const inFlight = inFlightCounts();
  const { audit, budget } = o;
  return (c, m, v, limiter) =>
    createApp({
      config: c,
      metrics: o.metrics,
      clientEnabled: (id) => o.inService.get(id) === true,
      vocabulary: v,
      spine: o.spine,
      audit: audit.sink,
      ...(audit.auditTrail ? { auditTrail: audit.auditTrail } : {}),
      limiter,
      ...(scaledOut
        ? {
            engines: () => {
              const cdsReplayCheck = o.cdsHooks?.replayCheck();
              return {
                audit: audit.engine?.health() ?? { ok: true },
                spineBudget: budget.health(),
                ...(cdsReplayCheck ? { cdsReplayCheck } : {}),
              };
            },
          }
        : {}),
      verifySession: createSessionVerifier({
        clients: c.clients,
        clientKeys: m.clientKeys,
        systemKeys: m.systemKeys,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      }),
      ...(o.cdsHooks ? { cdsHooks: o.cdsHooks } : {}),
      inFlight,
      claimConnection: o.claimConnection,
      logUserKeySecret: o.userKeySecret,
      log: o.log,
      widgetFile: c.widgetFile ?? DEFAULT_WIDGET_FILE,
      peerCertificate,
      ...(deps.now ? { now: deps.now } : {}),
    });
}

/** SIGHUP: everything that can fail is read before anything is swapped, so a bad file refuses the whole reload. */
function reloader(
  config: GatewayConfig,
  deps: GatewayDeps,
  o: {
    audit: Audit;
    budget: Budget;
    inService: Map<string, boolean>;
    front: { setListen(next: GatewayConfig['listen']): void };
    log: Logger;
    appFor: AppFor;
    swap: (app: ReturnType<typeof createApp>) => void;
  },
) {
  // The in-process budget running now and what it was made from. A reload that leaves those alone
  // keeps it: a fresh one would forget every clinician it knows (each a newcomer again, beside a
  // flood rotating ids) and hand Spine a full burst (issue 21 review, H1).
  const budgetInputs = (c: GatewayConfig) => {
    const { perSecond, burst, userShare } = c.spine.rateLimit;
    return { perSecond, burst, userShare, shares: clientShares(spineClients(c)) };
  };
  let limiter = o.budget.limiter;
  let inputs = JSON.stringify(budgetInputs(config));
  return async (next: GatewayConfig): Promise<ReloadResult> => {
    const nextMaterial = readKeyMaterial(next);
    // A shared (Redis) budget is restart-only; an in-process one starts afresh only when its rate,
    // burst, user share or client shares change.
    if (!config.spine.rateLimit.redisUrl && JSON.stringify(budgetInputs(next)) !== inputs) {
      // The users the running budget knows are carried over, with empty parts (rate-limiter.ts).
      // (In-process here: a shared budget is restart-only, and not one this looks up.)
      limiter = createRateLimiter({ ...budgetInputs(next), carry: limiter as LocalRateLimiter });
      inputs = JSON.stringify(budgetInputs(next));
    }
    const nextApp = o.appFor(next, nextMaterial, vocabularyFor(next), limiter);
    const needsRestart = restartNeeded(config, next);
    const changed = applyServiceStates(o.inService, next);
    o.swap(nextApp);
    o.front.setListen(next.listen);
    o.log({
      level: needsRestart.length ? 'warn' : 'info',
      msg: 'config reloaded',
      changedClients: changed.join(','),
      needsRestart: needsRestart.join(','),
    });
    await o.audit.sink.record(
      systemEvent(next, deps, 'config-reload', {
        configSha256: configSha256(next),
        changedClients: changed,
        needsRestart,
        ...referenceData(next, nextMaterial),
      }),
    );
    return { changedClients: changed, needsRestart, ...referenceData(next, nextMaterial) };
  };
}
