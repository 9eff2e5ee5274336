/**
 * @module app
 * Builds the gateway's Hono app from injected dependencies (config, vocabulary, Spine client,
 * audit sink, token verifier, logger, clock). It never listens: server.ts does, and tests call
 * `app.request(...)` or serve it on an ephemeral port.
 */
import { randomBytes } from 'node:crypto';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { AuditSink } from './audit/audit-event.ts';
import type { SessionVerifier } from './auth/verify-session-token.ts';
import { spineClients, type GatewayConfig } from './config/config.ts';
import type { GatewayEnv } from './env.ts';
import type { Vocabulary } from './fhir/vocabulary.ts';
import type { Logger } from './observe/logger.ts';
import { accessLog } from './middleware/access-log.ts';
import { audit } from './middleware/audit.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { clientAuth, type PeerCertificate } from './middleware/client-auth.ts';
import { corsHeaders } from './middleware/cors-headers.ts';
import { noStore } from './middleware/no-store.ts';
import { rbac } from './middleware/rbac.ts';
import { requestId } from './middleware/request-id.ts';
import { SESSION_URID_HEADER, sessionAuth } from './middleware/session-auth.ts';
import { cis2Author, cis2Directory } from './middleware/cis2-session.ts';
import { errorHandler, notFound, replyFor, type ReplyDeps } from './reply.ts';
import { fgmStatus, notePatient, type FgmStatusDeps } from './routes/fgm-status.ts';
import { fhirQuery } from './routes/fhir-query.ts';
import { healthz } from './routes/healthz.ts';
import { openApiDocument } from './routes/openapi.ts';
import {
  VERSIONED_WIDGET_PATH,
  VERSIONED_WIDGET_ROUTE,
  versionedWidgetModule,
  widgetModule,
} from './routes/widget-module.ts';
import {
  auditorOnly,
  auditPage,
  auditSessionRoute,
  searchAuditRoute,
  throughputRoute,
  verifyAuditRoute,
} from './routes/admin-audit.ts';
import type { AuditTrail } from './audit/trail.ts';
import { clientInService } from './middleware/client-in-service.ts';
import { requestMetrics } from './middleware/request-metrics.ts';
import { createGatewayMetrics, type GatewayMetrics } from './observe/gateway-metrics.ts';
import { createCircuitBreaker } from './spine/circuit-breaker.ts';
import { protectSpine } from './spine/protected-spine.ts';
import { clientShares } from './spine/client-shares.ts';
import { createRateLimiter, type RateLimiter } from './spine/rate-limiter.ts';
import type { EngineHealth } from './server/engines.ts';
import type { SpineClient } from './spine/client.ts';
import type { CdsHooks } from './routes/cds-hooks.ts';
import type { IncomingMessage } from 'node:http';
import { callerBound, inFlightCounts, type InFlightCounts } from './middleware/caller-bound.ts';

export interface AppDeps {
  config: GatewayConfig;
  vocabulary: Vocabulary;
  spine: SpineClient;
  audit: AuditSink;
  verifySession: SessionVerifier;
  log: Logger;
  /** Path of the built widget module. */
  widgetFile: string;
  now?: () => Date;
  /** The TLS peer certificate of a request's connection (server.ts); absent on plain HTTP and in app.request tests. */
  peerCertificate?: (c: Context) => PeerCertificate | undefined;
  /** Whether a client system is in service now (changes on a config reload); default: its `enabled` flag. */
  clientEnabled?: (clientId: string) => boolean;
  /** Default: a fresh registry (server.ts serves it on the metrics listener, not here). */
  metrics?: GatewayMetrics;
  /** The audit trail for auditors (/admin/*); without it those routes are not served. */
  auditTrail?: AuditTrail;
  /** The Spine budget (engines.ts: in-process or shared in Redis); default: an in-process one from the config. */
  limiter?: RateLimiter;
  /** The scale-out engines' state for /healthz (server.ts, when PostgreSQL or Redis is configured). */
  engines?: () => EngineHealth;
  /** The CDS Hooks interface (server.ts loads it only when `cdsHooks` is configured). */
  cdsHooks?: CdsHooks;
  /** Requests in flight per caller, kept across reloads (server.ts); default: the app's own. */
  inFlight?: InFlightCounts;
  /** Tells the connection bound whose connection a request came on (server.ts). */
  claimConnection?: (req: IncomingMessage, caller: string) => void;
  /** The secret of the access log's pseudonymous user keys (server.ts: logUserKeySecret of the audit key); default: one random per app. */
  logUserKeySecret?: Buffer;
}

/** The gateway's fixed paths (only these appear in access logs). */
export const PATHS = [
  '/api/fgm-status',
  '/fhir/fgm/query',
  '/widget/fgm-status.js',
  '/healthz',
  '/admin/audit',
  '/admin/audit/verify',
  '/admin/throughput',
  '/admin/session',
  '/admin/audit.html',
  '/admin/audit.js',
  '/admin/audit.css',
  VERSIONED_WIDGET_PATH,
  '/openapi.json',
  '/cds-services',
  '/cds-services/fgm-is',
] as const;

/** The security headers on API answers; server.ts puts them on the answers it gives before the app can. */
export const apiSecureHeaders = () =>
  secureHeaders({ contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } });

/**
 * Creates the gateway app.
 * @example const app = createApp({ config, vocabulary, spine, audit, verifySession, log, widgetFile }); await app.request('/healthz')
 */
export function createApp(deps: AppDeps): Hono<GatewayEnv> {
  const { config, log } = deps;
  const now = deps.now ?? (() => new Date());
  const replyDeps: ReplyDeps = {
    vocabulary: deps.vocabulary,
    smspAsid: config.smsp.asid,
    smspName: config.smsp.name,
    log,
  };
  const metrics = deps.metrics ?? createGatewayMetrics();
  const breaker = createCircuitBreaker({
    ...config.spine.circuitBreaker,
    now: () => now().getTime(),
    onStateChange: (state) => {
      metrics.breakerState(state);
      log({ level: state === 'open' ? 'warn' : 'info', msg: 'spine link', breaker: state });
    },
  });
  // A new app (a config reload) starts with a closed breaker: the gauge must not keep the old one's state.
  metrics.breakerState(breaker.state);
  const spine = protectSpine(deps.spine, {
    limiter:
      deps.limiter ??
      createRateLimiter({
        perSecond: config.spine.rateLimit.perSecond,
        burst: config.spine.rateLimit.burst,
        shares: clientShares(spineClients(config)),
        userShare: config.spine.rateLimit.userShare,
      }),
    breaker,
    metrics,
  });
  const inService = clientInService({
    isEnabled: deps.clientEnabled ?? ((id) => config.clients.find((c) => c.id === id)?.enabled !== false),
  });
  const routeDeps: FgmStatusDeps = {
    ...replyDeps,
    spine,
    spineAsid: config.spine.asid,
    now,
    answerSkew: config.spine.answerTimestamp,
    deviationCounter: metrics.spineAnswerDeviations,
  };
  const origins = new Set(config.clients.flatMap((c) => c.origins));
  const allowOrigin = (origin: string) => (origins.has(origin) ? origin : null);
  const limitBody = bodyLimit({ maxBytes: config.listen.maxBodyBytes });
  const perCaller = callerBound({
    counts: deps.inFlight ?? inFlightCounts(),
    maxPerClient: config.listen.maxInFlightPerClient,
    maxPerUser: config.listen.maxInFlightPerUser,
    ...(deps.claimConnection ? { claim: deps.claimConnection } : {}),
    onShed: () => metrics.connectionsShed.inc({ action: 'evicted', reason: 'body-awaited' }),
  });
  const auditAs = (
    eventType: 'widget-query' | 'fhir-query' | 'cds-query' | 'audit-query',
  ): MiddlewareHandler<GatewayEnv> =>
    audit({
      sink: deps.audit,
      eventType,
      log,
      now,
      outcomeRetentionDays: deps.config.audit.outcomeRetentionDays,
      onFailure: (c) => replyFor(c, replyDeps, 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE'),
    });

  const apiHeaders = apiSecureHeaders();
  // The widget is loaded as a module by other origins' pages, so it may be embedded cross-origin.
  const widgetHeaders = secureHeaders({ crossOriginResourcePolicy: 'cross-origin' });
  // The auditors' page loads its own script and calls the API on this origin.
  // The portal that opens it hands over the session by postMessage, so the page keeps its opener
  // (COOP unsafe-none); it accepts messages from configured client origins only (audit.js).
  const adminPageHeaders = secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'self'"], frameAncestors: ["'none'"] },
    crossOriginOpenerPolicy: 'unsafe-none',
  });
  const headersFor = (path: string) =>
    path.startsWith('/widget/') ? widgetHeaders : path.startsWith('/admin/audit.') ? adminPageHeaders : apiHeaders;

  const app = new Hono<GatewayEnv>();
  app.use(
    '*',
    requestId(),
    accessLog({ log, paths: PATHS, userKeySecret: deps.logUserKeySecret ?? randomBytes(32) }),
    requestMetrics({ metrics, paths: PATHS }),
    (c, next) => headersFor(c.req.path)(c, next),
  );
  // Date and Retry-After are not CORS-safelisted: the element on another origin ages an answer on
  // this clock (Date) and waits as long as a busy gateway asks (Retry-After).
  app.use(
    '/api/*',
    noStore(),
    corsHeaders({
      origin: allowOrigin,
      allowMethods: ['POST'],
      allowHeaders: ['Authorization', 'Content-Type', SESSION_URID_HEADER],
      exposeHeaders: ['X-Request-Id', 'Date', 'Retry-After'],
      maxAge: 600,
    }),
  );
  app.use('/fhir/*', noStore());
  app.use('/healthz', noStore());
  app.use('/widget/*', corsHeaders({ origin: allowOrigin, allowMethods: ['GET'] }));

  const verify = deps.verifySession;
  // One CIS2 confirmer per CIS2 client, with the app's clock (a reload starts a fresh cache).
  const cis2 = cis2Directory(config.clients, () => now().getTime());
  const asUser = sessionAuth({ verify, clients: config.clients, cis2 });
  // Who is asking is proven (with CIS2 for smartcard users) before the body is read; who they asked about is noted before RBAC can refuse.
  app.post(
    '/api/fgm-status',
    auditAs('widget-query'),
    asUser,
    inService,
    perCaller,
    limitBody,
    notePatient(),
    rbac(),
    fgmStatus(routeDeps),
  );
  app.post(
    '/fhir/fgm/query',
    auditAs('fhir-query'),
    clientAuth({
      clients: config.clients,
      verify,
      ...(deps.peerCertificate ? { peerCertificate: deps.peerCertificate } : {}),
    }),
    inService,
    cis2Author({ cis2 }),
    perCaller,
    limitBody,
    fhirQuery(routeDeps),
  );
  deps.cdsHooks?.mount(app, {
    ask: routeDeps,
    audit: auditAs('cds-query'),
    limitBody: [perCaller, limitBody],
    // Half the client's in-flight bound at most waits on its FHIR servers: the rest stays for calls with the Patient prefetched.
    maxFetchesPerClient: Math.max(1, Math.floor(config.listen.maxInFlightPerClient / 2)),
  });
  app.get('/widget/fgm-status.js', widgetModule({ file: deps.widgetFile }));
  app.get(VERSIONED_WIDGET_ROUTE, versionedWidgetModule({ file: deps.widgetFile }));
  if (deps.auditTrail) {
    const trail = deps.auditTrail;
    const asAuditor = [
      auditAs('audit-query'),
      sessionAuth({ verify, clients: config.clients, cis2, portalOriginHeader: true }),
      inService,
      auditorOnly(),
    ] as const;
    app.use('/admin/*', noStore());
    app.get('/admin/session', ...asAuditor, auditSessionRoute());
    app.get('/admin/audit', ...asAuditor, searchAuditRoute(trail));
    app.get('/admin/audit/verify', ...asAuditor, verifyAuditRoute(trail));
    app.get('/admin/throughput', ...asAuditor, throughputRoute(trail));
    const page = auditPage(config.clients.flatMap((c) => c.origins));
    app.get('/admin/audit.html', page.html);
    app.get('/admin/audit.js', page.js);
    app.get('/admin/audit.css', page.css);
  }
  const openApi = JSON.stringify(openApiDocument());
  app.get('/openapi.json', (c) => c.body(openApi, 200, { 'Content-Type': 'application/json' }));
  app.get(
    '/healthz',
    healthz({ breakerState: () => breaker.state, ...(deps.engines ? { engines: deps.engines } : {}) }),
  );

  const onError = errorHandler(replyDeps);
  // A body cut off by a client hang-up fails to parse: that is the client gone, not a bad request.
  // One the gateway closed itself (callerBound, for a newcomer) keeps the reason it was given.
  app.onError((err, c) => {
    if (!c.req.raw.signal.aborted) return onError(err, c);
    c.set('refusalReason', c.get('refusalReason') ?? 'client went away');
    return replyFor(c, replyDeps, replyDeps.vocabulary.codeFor('client-went-away'));
  });
  app.notFound(notFound(replyDeps));
  return app;
}
