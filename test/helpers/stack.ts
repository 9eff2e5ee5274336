/**
 * @module test/helpers/stack
 * Starts the whole server side on ephemeral ports for a test: the Spine simulator (TLS-MA, dev
 * PKI), the gateway (real config file in a temp folder, real SQLite audit file, real HTTPS Spine
 * client), and the CIS2 double (oidc-provider, demo/cis2) whose issuer the
 * smartcard client names. Signs session tokens for the local portal, signs CIS2 users in through
 * the double for real CIS2 access tokens (`cis2Token`), and signs system tokens (`systemToken`)
 * for another SMSP client system on the FHIR interface. `signToken(…, { client: 'cis2' })` signs
 * with a key nobody configured: a portal-made token claiming a CIS2 identity.
 *
 * @example
 * const stack = await startTestStack();
 * const res = await stack.request('/api/fgm-status', { method: 'POST', token: stack.signToken({}), json: { nhsNumber: '9990000018' } });
 * await stack.close();
 */
import { generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig, type GatewayConfig } from '../../gateway/config/config.ts';
import { fhirAnswerViolations } from './fhir-answer.ts';
import { isValidNhsNumber } from '../../widget/rules/nhs-number.ts';
import { startGateway, type GatewayDeps, type RunningGateway } from '../../gateway/server/server.ts';
import { startSpineSimulator } from '../../demo/spine/server.ts';
import { signJwt, type TestAlg } from './jwt.ts';
import { keptLogger } from './run-log.ts';
import { testPki } from './pki.ts';
import { startCis2Provider, type Cis2Provider } from '../../demo/cis2/provider.ts';
import { AUDIT_ACTIVITY, CIS2_PEOPLE } from '../../demo/cis2/users.ts';
import { auditDetail } from './sealed-detail.ts';

/** Issuers, audience and origin of the configured test clients. */
export const TEST_CLIENTS = {
  local: { id: 'test-epr', issuer: 'https://epr.test/local', ods: 'RX1', name: 'Test Maternity NHS Trust' },
  cis2: {
    id: 'test-epr-cis2',
    issuer: 'https://epr.test/cis2',
    ods: 'RX1',
    name: 'Test Maternity NHS Trust (smartcard)',
  },
  /** `issuer` is its systemToken's: `signToken(…, { client: 'system' })` signs a system token. */
  system: { id: 'test-chs', issuer: 'https://chs.test', ods: 'RY2', name: 'Test Child Health System' },
} as const;
export const TEST_AUDIENCE = 'fgm-status-gateway';
/** The system token audience: distinct from every session token's, as the config requires. */
export const TEST_SYSTEM_AUDIENCE = 'fgm-status-gateway/fhir';
export const TEST_ORIGIN = 'https://epr.test';
export const GATEWAY_ASID = '200000000111';
/** The smartcard portal as a CIS2 relying party. */
export const CIS2_RP = { clientId: 'test-epr-cis2', redirectUri: 'https://epr.test/cis2/callback' };
/** Another relying party of the same CIS2: its users' tokens are not the portal's. */
export const OTHER_RP = { clientId: 'another-nhs-app', redirectUri: 'https://another.test/callback' };
export const SPINE_ASID = '990101234567';

/** The claims of the default users: a local midwife (B0370 via roleActivities) and a CIS2 GP. */
export const LOCAL_MIDWIFE = { sub: 'ajones', name: 'Alex Jones', roles: ['midwife'], org: 'RX1' };
export const LOCAL_RECEPTIONIST = { sub: 'clee', name: 'Chris Lee', roles: ['receptionist'], org: 'RX1' };
export const CIS2_GP = {
  sub: '555021935107',
  nhsid_useruid: '555021935107',
  selected_roleid: '555021936108',
  nhsid_nrbac_roles: [{ person_roleid: '555021936108', org_code: 'RX1', activity_codes: ['B0370', 'B0360'] }],
};

export interface SignOptions {
  /** Which configured client signs (default `local`). */
  client?: keyof typeof TEST_CLIENTS;
  /** Default: the client's algorithm (ES256 local/system, RS256 cis2). `none` and `HS256` forge tokens. */
  alg?: TestAlg;
  /** Sign with a key the gateway does not know. */
  foreignKey?: boolean;
  /** Seconds from now to exp (default 300); iat = now. */
  lifetimeSeconds?: number;
}

export interface TestStackOptions {
  /** `spine.timeoutMs` (default 2000). */
  spineTimeoutMs?: number;
  /** Serve the gateway over HTTPS asking for client certificates (needed for mTLS tests). */
  tls?: boolean;
  /** Edit the raw config object before it is written. */
  configure?: (raw: Record<string, any>) => void;
  /** Extra gateway dependencies (e.g. a clock). */
  deps?: GatewayDeps;
  /** The simulator's clock (default the system clock). */
  simulatorNow?: () => Date;
  /** Edit the smartcard client's `cis2` block (default: the double's issuer). */
  cis2?: (issuer: string) => Record<string, unknown>;
}

export interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  token?: string;
  json?: unknown;
  body?: string;
  /** Present the client system's certificate (client-system.crt) on the TLS connection. */
  clientCert?: boolean;
}

export interface TestStack {
  gatewayUrl: string;
  /** The gateway's own metrics listener (`GET /metrics`), apart from the public one. */
  metricsUrl: string;
  sim: Awaited<ReturnType<typeof startSpineSimulator>>;
  config: GatewayConfig;
  configFile: string;
  auditDbPath: string;
  pkiDir: string;
  dir: string;
  /** Every line the gateway logged. */
  logs: string[];
  /** The CIS2 double (oidc-provider). */
  cis2: Cis2Provider;
  /** Signs a CIS2 person in through the double (code + PKCE) and returns their CIS2 access token. */
  cis2Token(
    uid: string,
    opts?: { roleId?: string; scope?: string; clientId?: string; redirectUri?: string },
  ): Promise<string>;
  /** Signs a session token (a system token for client `system`): registered claims (iss, aud, iat, exp) first, then `claims` (undefined removes one). */
  signToken(claims: Record<string, unknown>, opts?: SignOptions): string;
  /** An HTTP(S) request to the gateway (trusting the dev CA). */
  request(path: string, opts?: RequestOptions): Promise<TestResponse>;
  /**
   * Sends the headers (declaring `Content-Length: declaredLength`) and only `body`, never the rest,
   * and resolves with the answer: a server that waited for the whole body would never answer.
   */
  requestUnfinished(path: string, opts: RequestOptions & { declaredLength: number }): Promise<TestResponse>;
  /** The running gateway (a new one after `restart`). */
  gateway(): RunningGateway;
  /** Stops the gateway and starts it again on the same config file and dependencies (a new port: `gatewayUrl` then goes stale, `request` follows). */
  restart(): Promise<void>;
  /** Re-reads the config file (edit it first) and applies it as SIGHUP would; returns changed client ids. */
  reload(): Promise<string[]>;
  /** All rows of the audit table, in sequence order. */
  auditRows(): Record<string, unknown>[];
  /** A row's `detail`, its sealed part (what Spine's answer looked like) opened with the audit key. */
  auditDetail(row: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

function keyPem(k: KeyObject) {
  return k.export({ type: 'spki', format: 'pem' }) as string;
}

/** Starts simulator + gateway (+ JWKS server) with a fresh temp folder; `close()` removes it. */
export async function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const dir = mkdtempSync(join(tmpdir(), 'fgm-stack-'));
  const pki = await testPki();
  const pkiDir = pki.dir;
  const sim = await startSpineSimulator({
    host: '127.0.0.1',
    port: 0,
    pkiDir,
    ...(opts.simulatorNow && { now: opts.simulatorNow }),
  });

  const localKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const systemKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cis2Key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const foreignEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const foreignRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'local.pub.pem'), keyPem(localKey.publicKey));
  writeFileSync(join(dir, 'system.pub.pem'), keyPem(systemKey.publicKey));
  writeFileSync(join(dir, 'audit-hmac.key'), randomBytes(32).toString('hex'));

  const cis2 = await startCis2Provider({
    people: Object.values(CIS2_PEOPLE),
    relyingParties: [CIS2_RP, OTHER_RP].map((rp) => ({ clientId: rp.clientId, redirectUris: [rp.redirectUri] })),
  });

  const systemCert = new X509Certificate(readFileSync(join(pkiDir, 'client-system.crt')));
  const tokenRules = (issuer: string, algorithms: string[]) => ({
    issuer,
    audience: TEST_AUDIENCE,
    algorithms,
    maxLifetimeSeconds: 900,
  });
  const raw: Record<string, any> = {
    metrics: { host: '127.0.0.1', port: 0 },
    listen: {
      host: '127.0.0.1',
      port: 0,
      ...(opts.tls
        ? {
            tls: {
              certFile: join(pkiDir, 'gateway.crt'),
              keyFile: join(pkiDir, 'gateway.key'),
              caFile: join(pkiDir, 'ca.crt'),
              requestClientCert: true,
            },
          }
        : {}),
    },
    smsp: { asid: GATEWAY_ASID, odsCode: 'RX1', name: 'Test SMSP' },
    spine: {
      endpoint: sim.endpoint,
      asid: SPINE_ASID,
      tls: {
        certFile: join(pkiDir, 'gateway-client.crt'),
        keyFile: join(pkiDir, 'gateway-client.key'),
        caFile: join(pkiDir, 'ca.crt'),
      },
      timeoutMs: opts.spineTimeoutMs ?? 2000,
      // Far above what any test file asks: since each user has a part of the share (issue 21), one
      // test clinician asking a hundred times would otherwise hear the busy tone. Tests of the
      // budget set their own (configure).
      rateLimit: { perSecond: 1000, burst: 2000 },
    },
    clients: [
      {
        id: TEST_CLIENTS.local.id,
        name: TEST_CLIENTS.local.name,
        odsCode: TEST_CLIENTS.local.ods,
        origins: [TEST_ORIGIN],
        token: { ...tokenRules(TEST_CLIENTS.local.issuer, ['ES256']), publicKeyFile: 'local.pub.pem' },
        claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
        roleActivities: { midwife: ['B0370'], receptionist: [] },
        auditorRoles: ['auditor'],
        priority: 'interactive',
      },
      {
        id: TEST_CLIENTS.cis2.id,
        name: TEST_CLIENTS.cis2.name,
        odsCode: TEST_CLIENTS.cis2.ods,
        origins: [TEST_ORIGIN],
        cis2: opts.cis2?.(cis2.issuer) ?? { issuer: cis2.issuer, clientId: CIS2_RP.clientId },
        claims: 'cis2',
        roleActivities: {},
        auditorRoles: [AUDIT_ACTIVITY],
        priority: 'interactive',
      },
      {
        id: TEST_CLIENTS.system.id,
        name: TEST_CLIENTS.system.name,
        odsCode: TEST_CLIENTS.system.ods,
        origins: [],
        token: { ...tokenRules(`${TEST_CLIENTS.system.issuer}/users`, ['ES256']), publicKeyFile: 'system.pub.pem' },
        systemToken: {
          ...tokenRules(TEST_CLIENTS.system.issuer, ['ES256']),
          audience: TEST_SYSTEM_AUDIENCE,
          publicKeyFile: 'system.pub.pem',
        },
        claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
        roleActivities: {},
        auditorRoles: [],
        priority: 'batch',
        mtls: { fingerprint256: systemCert.fingerprint256 },
      },
    ],
    audit: { sqliteFile: 'audit.sqlite', hmacKeyFile: 'audit-hmac.key' },
  };
  opts.configure?.(raw);
  const configFile = join(dir, 'fgm-gateway.config.json');
  writeFileSync(configFile, JSON.stringify(raw, null, 2));
  const logs: string[] = [];
  let config: GatewayConfig;
  let gateway: RunningGateway;
  try {
    config = loadConfig(configFile);
    gateway = await startGateway(config, { log: keptLogger(logs, 'stack'), ...opts.deps });
  } catch (e) {
    await sim.close();
    await cis2.close();
    throw e;
  }

  const ca = readFileSync(join(pkiDir, 'ca.crt'));
  const clientCert = {
    cert: readFileSync(join(pkiDir, 'client-system.crt')),
    key: readFileSync(join(pkiDir, 'client-system.key')),
  };

  /** `whole` false: the body is written but the request never ended; its socket is closed once answered. */
  function send(path: string, o: RequestOptions, whole: boolean): Promise<TestResponse> {
    const url = new URL(path, gateway.url);
    const body = o.json !== undefined ? JSON.stringify(o.json) : o.body;
    const headers: Record<string, string> = {
      ...(o.json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...o.headers,
    };
    const transport = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const spineFailures = sim.profileFailures.length;
    return new Promise<TestResponse>((resolve, reject) => {
      const req = transport(
        url,
        {
          method: o.method ?? (body === undefined ? 'GET' : 'POST'),
          headers,
          agent: false,
          ...(url.protocol === 'https:' ? { ca, ...(o.clientCert ? clientCert : {}) } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (!whole) req.destroy();
            const answer = {
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            };
            // Every message in the run is checked against the profiles: the gateway's FHIR answers here,
            // its messages to Spine and the simulator's answers by the simulator.
            const violations = [
              ...(/fhir\+xml|xml\+fhir/.test(String(res.headers['content-type']))
                ? fhirAnswerViolations(answer.body)
                : []),
              ...sim.profileFailures.slice(spineFailures).flatMap((f) =>
                f.violations.map((v) => ({
                  ...v,
                  path: `${f.message === 'request' ? 'message to Spine' : "simulator's answer"}: ${v.path}`,
                })),
              ),
            ];
            if (violations.length)
              reject(new Error(`a message broke the FGM-IS profiles: ${JSON.stringify(violations)}`));
            else resolve(answer);
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (whole) req.end(body);
      else req.write(body ?? '');
    });
  }

  const keys = {
    local: {
      alg: 'ES256' as const,
      key: localKey.privateKey,
      foreign: foreignEc.privateKey,
      pub: keyPem(localKey.publicKey),
    },
    cis2: {
      alg: 'RS256' as const,
      key: cis2Key.privateKey,
      foreign: foreignRsa.privateKey,
      pub: keyPem(cis2Key.publicKey),
    },
    system: {
      alg: 'ES256' as const,
      key: systemKey.privateKey,
      foreign: foreignEc.privateKey,
      pub: keyPem(systemKey.publicKey),
    },
  };

  return {
    gatewayUrl: gateway.url,
    metricsUrl: gateway.metricsUrl,
    sim,
    config,
    configFile,
    auditDbPath: config.audit.sqliteFile!,
    pkiDir,
    dir,
    logs,
    cis2,
    cis2Token: async (uid, o = {}) => (await cis2.signIn(uid, { ...CIS2_RP, ...o })).accessToken,
    signToken(claims, o = {}) {
      const which = o.client ?? 'local';
      const k = keys[which];
      const alg = o.alg ?? k.alg;
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: TEST_CLIENTS[which].issuer,
        aud: which === 'system' ? TEST_SYSTEM_AUDIENCE : TEST_AUDIENCE,
        iat: now,
        nbf: now,
        exp: now + (o.lifetimeSeconds ?? 300),
        ...claims,
      };
      const key = alg === 'HS256' ? k.pub : o.foreignKey ? k.foreign : k.key;
      return signJwt(payload, { alg, key, ...(which === 'cis2' ? { kid: 'cis2-1' } : {}) });
    },
    request: (path, o = {}) => send(path, o, true),
    requestUnfinished: (path, o) =>
      send(path, { ...o, headers: { ...o.headers, 'content-length': String(o.declaredLength) } }, false),
    reload: () => gateway.reload(loadConfig(configFile)).then((r) => r.changedClients),
    gateway: () => gateway,
    async restart() {
      await gateway.close();
      gateway = await startGateway(loadConfig(configFile), { log: keptLogger(logs, 'stack'), ...opts.deps });
    },
    auditDetail: (row) => auditDetail(Buffer.from(readFileSync(join(dir, 'audit-hmac.key'), 'utf8').trim()), row),
    auditRows() {
      const db = new Database(config.audit.sqliteFile!, { readonly: true });
      try {
        return db.prepare('SELECT * FROM audit_event ORDER BY seq').all() as Record<string, unknown>[];
      } finally {
        db.close();
      }
    },
    async close() {
      await gateway.close();
      await sim.close();
      await cis2.close();
      rmSync(dir, { recursive: true, force: true });
      if (sim.profileFailures.length)
        throw new Error(`messages to or from Spine broke the FGM-IS profiles: ${JSON.stringify(sim.profileFailures)}`);
    },
  };
}

/** Every NHS number (10 digits, or 3-3-4 spaced) in `text` that passes the check digit — for log scans. */
export function validNhsNumbersIn(text: string): string[] {
  // Request and message ids are UUIDs; a run of ten digits inside one can pass modulus 11 by chance.
  text = text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>');
  return (text.match(/(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)/g) ?? [])
    .map((s) => s.replace(/\D/g, ''))
    .filter(isValidNhsNumber);
}
