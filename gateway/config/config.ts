/**
 * @module config
 * The gateway's JSON configuration: a strict zod schema (unknown keys are errors), loaded once at
 * start-up. Relative file paths resolve against the config file's directory. Every problem
 * becomes one ConfigError line naming the key, e.g. `config: clients.0.token.issuer: …`.
 */
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_SKEW } from '../spine/answer-safety.ts';
import { clientShares } from '../spine/client-shares.ts';
import { withoutTrailingSlashes } from '../fhir/uri.ts';

/** A start-up problem with the configuration; its message is one line, safe to print as is. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Asymmetric algorithms only: `none` and HS* would let a public key act as a shared secret. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

const file = z.string().min(1);
const asid = z.string().regex(/^\d{1,12}$/, 'an ASID is up to 12 digits');
const odsCode = z.string().regex(/^[A-Z0-9]{3,10}$/, 'an ODS code is 3 to 10 upper-case letters or digits');
/** A roles claim may be a space-separated string (auth/identity.ts), so a role name has no spaces. */
const roleName = z
  .string()
  .regex(/^\S+$/, 'a role name has no spaces (a space-separated roles claim is read as several roles)');
const activity = z.string().regex(/^B\d{4}$/, 'an RBAC activity code looks like B0370');

/**
 * A URL with one of `schemes` (a regex alternation). The scheme rule is also a pattern, so the
 * generated JSON Schema carries it and an editor flags `http://` where only https is allowed.
 */
const urlOf = (schemes: string, error: string) =>
  z.url({ protocol: new RegExp(`^(?:${schemes})$`), error }).regex(new RegExp(`^(?:${schemes}):`), error);

/** https, or http to a loopback name; false (never a throw) for what is not a URL, which its own check names. */
const httpsOrLoopback = (u: string) =>
  u.startsWith('https:') || (URL.canParse(u) && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname));

/** A key set fetched over plain http could be rewritten on the way (SMSP-IG-002): https only, http for loopback development. */
const JWKS_URL_RULE = 'a jwksUrl must be https (http only for 127.0.0.1, localhost or [::1])';
const jwksUrl = urlOf('https?', JWKS_URL_RULE).refine(httpsOrLoopback, JWKS_URL_RULE);

const TokenSchema = z
  .strictObject({
    issuer: z.string().min(1),
    audience: z.string().min(1),
    jwksUrl: jwksUrl.optional(),
    publicKeyFile: file.optional(),
    algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1),
    maxLifetimeSeconds: z.number().int().min(1).max(86_400),
  })
  .refine((t) => (t.jwksUrl === undefined) !== (t.publicKeyFile === undefined), {
    message: 'give exactly one of jwksUrl or publicKeyFile',
  });

/** A CIS2 URL: https, http only for loopback (tests and the demo's in-process OpenID provider). */
const CIS2_URL_RULE = 'a CIS2 URL must be https (http only for 127.0.0.1, localhost or [::1])';
const cis2Url = urlOf('https?', CIS2_URL_RULE).refine(httpsOrLoopback, CIS2_URL_RULE);

/**
 * The client's NHS CIS2 Authentication environment (SMSP-AUDIT-002): where its users' access
 * tokens are confirmed. Integration and production are separate issuers.
 */
const Cis2Schema = z
  .strictObject({
    issuer: cis2Url.describe(
      'The CIS2 issuer: access tokens must carry it as iss; UserInfo and the JWKS are found by OpenID Connect discovery at <issuer>/.well-known/openid-configuration unless userInfoEndpoint and jwksUrl are given.',
    ),
    clientId: z
      .string()
      .min(1)
      .max(200)
      .describe(
        "The portal's CIS2 client_id: an access token is accepted only when it is a JWT signed by the issuer's keys whose client_id (or azp, or aud) is this, so a token another relying party obtained is refused before CIS2 is asked.",
      ),
    userInfoEndpoint: cis2Url
      .describe('The CIS2 UserInfo endpoint itself, without discovery; give jwksUrl with it.')
      .optional(),
    jwksUrl: cis2Url
      .describe(
        "The issuer's JWKS (its signing keys for access tokens), without discovery; give userInfoEndpoint with it.",
      )
      .optional(),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .max(30_000)
      .default(3000)
      .describe(
        'Deadline for confirming one session with CIS2 (discovery, waiting for a free call and UserInfo together); past it the request is refused CIS2_UNAVAILABLE.',
      ),
    cacheSeconds: z
      .number()
      .int()
      .min(0)
      .max(300)
      .default(60)
      .describe(
        "How long a UserInfo answer is reused for the same access token (kept by its SHA-256, never the token), never past the access token's exp; 0 asks CIS2 on every request.",
      ),
    maxConcurrentCalls: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(16)
      .describe(
        'UserInfo calls in flight at once for this client; more wait (within timeoutMs), so a cache-miss storm cannot flood CIS2.',
      ),
  })
  .refine((c) => (c.userInfoEndpoint === undefined) === (c.jwksUrl === undefined), {
    message: 'give userInfoEndpoint and jwksUrl together (or neither, for discovery)',
  });
export type Cis2Config = z.infer<typeof Cis2Schema>;

const LocalClaimsSchema = z.strictObject({
  userId: z.string().min(1),
  roles: z.string().min(1),
  orgCode: z.string().min(1),
});

const ClientSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a client id is letters, digits, dot, dash or underscore'),
    name: z.string().min(1),
    odsCode,
    /** ODS codes the client system may act for on the FHIR interface (SMSP-IG-003); default [odsCode]. */
    odsCodes: z.array(odsCode).min(1).optional(),
    origins: z.array(
      urlOf(
        'https?',
        "an origin is the portal page's https:// (or http://) scheme, host and port, e.g. https://portal.trust.nhs.uk",
      ).transform((u) => new URL(u).origin),
    ),
    /** The portal's own session token rules; not for `claims: "cis2"` clients, whose users bring CIS2 access tokens. */
    token: TokenSchema.optional(),
    claims: z.union([z.literal('cis2'), LocalClaimsSchema]),
    /** Required for `claims: "cis2"`; on other clients it lets the FHIR interface accept SDS authors (X-CIS2-Access-Token). */
    cis2: Cis2Schema.optional().describe(
      'NHS CIS2 Authentication for this client: required with claims "cis2" (the widget API then confirms every user session with CIS2 UserInfo); on any client it lets the FHIR interface accept a Practitioner with SDS ids, confirmed by the X-CIS2-Access-Token header.',
    ),
    roleActivities: z.record(roleName, z.array(activity)),
    auditorRoles: z.array(roleName),
    /** Roles that may search every client's audit records (SMSP-wide IG staff); `auditorRoles` see their own client's only. */
    smspAuditorRoles: z.array(roleName).optional(),
    priority: z.enum(['interactive', 'batch']),
    /** Fraction of the Spine rate kept for this client when others are asking too; default an equal part of what is left. */
    spineShare: z.number().gt(0).max(1).optional(),
    /** false takes the client out of service; applied on a config reload without a restart (SMSP-SEC-001). */
    enabled: z.boolean().default(true),
    /** Extra (beyond the contract in docs/development/design.md): organisation names by ODS code, for Organization.name in Spine messages. */
    orgNames: z.record(odsCode, z.string().min(1)).optional(),
    mtls: z
      .strictObject({
        fingerprint256: z
          .string()
          .regex(/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/, 'a SHA-256 certificate fingerprint is 32 hex bytes')
          .transform((f) => f.replace(/:/g, '').toUpperCase()),
      })
      .optional(),
    /** The client system's own credential for the FHIR interface, never a user session token (SMSP-IG-002). */
    systemToken: TokenSchema.optional(),
  })
  // A CIS2 client's users are who CIS2 says: a portal-signed token must not be a second way in.
  .refine((c) => c.claims !== 'cis2' || (c.cis2 !== undefined && c.token === undefined), {
    message:
      'a claims "cis2" client names its CIS2 environment (cis2) and has no token: its users bring CIS2 access tokens',
    path: ['cis2'],
  })
  .refine((c) => c.claims === 'cis2' || c.token !== undefined, {
    message: "a client with local claims needs token (its portal's session token rules)",
    path: ['token'],
  })
  // CIS2 activity codes are national: an SMSP-wide activity would make every IG officer in England SMSP-wide.
  .refine((c) => c.claims !== 'cis2' || c.smspAuditorRoles === undefined, {
    message:
      'a claims "cis2" client cannot have smspAuditorRoles: CIS2 activity codes are national, so any IG officer anywhere would read every client\'s records; give SMSP-wide auditors a local client',
    path: ['smspAuditorRoles'],
  })
  .transform((c) => ({ ...c, odsCodes: c.odsCodes ?? [c.odsCode] }));

function sharesFit(clients: { id: string; spineShare?: number | undefined }[]): boolean {
  try {
    clientShares(clients);
    return true;
  } catch {
    return false;
  }
}

const TlsFilesSchema = z.strictObject({ certFile: file, keyFile: file, caFile: file });

/** A CDS client (an EPR calling the CDS Hooks service): its JWT rules, per the CDS Hooks security section. */
const CdsClientSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a client id is letters, digits, dot, dash or underscore'),
    name: z.string().min(1),
    odsCode,
    issuer: z.string().min(1),
    jwksUrl: jwksUrl.optional(),
    publicKeyFile: file.optional(),
    /** JWK Set URLs a JWT's `jku` header may name; any other `jku` is refused. */
    jkuAllowList: z.array(jwksUrl).optional(),
    algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1),
    maxLifetimeSeconds: z.number().int().min(1).max(3600),
    priority: z.enum(['interactive', 'batch']),
    allowUnverified: z
      .boolean()
      .default(false)
      .describe(
        "Clinical-safety decision: ask Spine about an NHS number the EPR's Patient gives without UK Core verification status 01 (default false: such a Patient gets no cards and no Spine call)",
      ),
    /** FHIR server base URLs this EPR may name as `fhirServer` (its access token is sent there); without it, the patient must be prefetched. */
    fhirServers: z
      .array(
        urlOf(
          'https?',
          'a fhirServers entry is a FHIR base URL: https:// (http:// only with allowInsecureFhirServers)',
        ).transform(withoutTrailingSlashes),
      )
      .min(1)
      .optional(),
  })
  .refine((t) => (t.jwksUrl === undefined) !== (t.publicKeyFile === undefined), {
    message: 'give exactly one of jwksUrl or publicKeyFile',
  });

/** Loopback and plain-http FHIR servers: fine for tests and the demo, never with a real EPR's token. */
// Judged on the URL's normalised hostname (WHATWG URL writes `[::ffff:127.0.0.1]` as
// `[::ffff:7f00:1]` and `127.1` as `127.0.0.1`), so no spelling of a loopback address slips by.
const isLoopbackHost = (hostname: string) => {
  const host = hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIPv4(host)) return host.startsWith('127.') || host === '0.0.0.0';
  if (!isIPv6(host)) return false;
  if (host === '::1' || host === '::') return true;
  // IPv4-mapped: the IPv4 address's first byte is the high byte of the second-last group.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  return mapped !== null && (parseInt(mapped[1]!, 16) >> 8 === 127 || (mapped[1] === '0' && mapped[2] === '0'));
};
export const isLocalOrPlain = (u: string) => {
  const url = new URL(u);
  return url.protocol !== 'https:' || isLoopbackHost(url.hostname);
};

const CdsHooksSchema = z
  .strictObject({
    /** The public base URL EPRs call: a JWT's `aud` must be `{baseUrl}/cds-services/...` exactly. */
    baseUrl: urlOf('https?', 'must be the https:// (or http://) URL EPRs call the gateway at').transform((u) =>
      withoutTrailingSlashes(u),
    ),
    clients: z
      .array(CdsClientSchema)
      .min(1)
      .refine((cs) => new Set(cs.map((c) => c.issuer)).size === cs.length, 'two CDS clients share an issuer')
      .refine((cs) => new Set(cs.map((c) => c.id)).size === cs.length, 'two CDS clients share an id'),
    /** Lets `fhirServers` name plain-http or loopback servers: for tests and the demo only (default false). */
    allowInsecureFhirServers: z.boolean().default(false),
  })
  .refine(
    (h) => h.allowInsecureFhirServers || h.clients.every((c) => (c.fhirServers ?? []).every((u) => !isLocalOrPlain(u))),
    {
      message: 'a fhirServers URL must be https and not loopback (allowInsecureFhirServers is for tests and the demo)',
      path: ['clients'],
    },
  );

export const GatewayConfigSchema = z
  .strictObject({
    /** The JSON Schema an editor checks the file against (config.schema.json); ignored by the gateway. */
    $schema: z.string().optional(),
    listen: z.strictObject({
      host: z.string().min(1),
      port: z.number().int().min(0).max(65_535),
      tls: TlsFilesSchema.extend({ requestClientCert: z.boolean() }).optional(),
      /** Extra: request body cap in bytes (413 above it). */
      maxBodyBytes: z.number().int().min(1024).max(1_048_576).default(65_536),
      /** Extra: how long a client may take to send a whole request. */
      requestTimeoutMs: z.number().int().min(1000).max(300_000).default(30_000),
      /** Extra: how long a client may take to send a request's headers (at most requestTimeoutMs). */
      headersTimeoutMs: z.number().int().min(1000).max(300_000).default(10_000),
      /** Extra: how long an idle keep-alive connection stays open after an answer. */
      keepAliveTimeoutMs: z.number().int().min(100).max(300_000).default(5000),
      /** Extra: open connections at most; keep it under the process's open-file limit (docs/operating.md, "Configuration"). */
      maxConnections: z.number().int().min(8).max(1_000_000).default(800),
      /** Extra: how long a request's body may take to arrive once its headers have (a slow body cannot hold a connection for requestTimeoutMs). */
      bodyTimeoutMs: z.number().int().min(100).max(300_000).default(5000),
      /** Extra: how long a complete answer may wait for its reader to take it (a slow reader cannot hold a connection). */
      writeTimeoutMs: z.number().int().min(100).max(300_000).default(10_000),
      /** Extra: requests one user (a widget user, a client system's originating user, a CDS client's EPR user) may have in flight at once; more are answered with the busy tone. */
      maxInFlightPerUser: z.number().int().min(1).max(10_000).default(8),
      /** Extra: requests one client system or CDS client may have in flight at once; more are answered with the busy tone. */
      maxInFlightPerClient: z.number().int().min(1).max(1_000_000).default(200),
      maxUnauthenticatedPerAddress: z
        .number()
        .int()
        .min(1)
        .max(1_000_000)
        .default(64)
        .describe(
          'Connections no request has authenticated yet, open at once from one source (an IPv4 address or an IPv6 /64); a newcomer beyond it replaces the oldest silent one from that source (refused only if none is closable). Behind a trust NAT every clinician shares the one address: keep it well above the number opening connections at once',
        ),
      maxPipelinedPerConnection: z
        .number()
        .int()
        .min(1)
        .max(10_000)
        .default(16)
        .describe(
          'Requests one connection may have in flight at once (HTTP pipelining); a connection with more is closed',
        ),
    }),
    /** GET /metrics on a listener of its own, never the public one (its counters would reveal outcomes). */
    metrics: z
      .strictObject({ host: z.string().min(1), port: z.number().int().min(0).max(65_535) })
      .default({ host: '127.0.0.1', port: 9464 }),
    smsp: z.strictObject({ asid, odsCode, name: z.string().min(1).optional() }),
    spine: z.strictObject({
      endpoint: urlOf('https', 'must be an https URL: Spine is reached only over TLS mutual authentication'),
      asid,
      tls: TlsFilesSchema,
      timeoutMs: z.number().int().min(100).max(120_000),
      rateLimit: z
        .strictObject({
          perSecond: z.number().positive(),
          burst: z.number().int().min(1),
          /** One budget shared by every gateway (perSecond and burst are then the SMSP's total toward Spine). */
          redisUrl: urlOf('rediss?', 'must be a redis:// or rediss:// (TLS) URL').optional(),
          /** Key prefix in Redis, so several SMSPs (or tests) can share one server. */
          redisKeyPrefix: z.string().min(1).max(100).default('fgm-spine:'),
          /** While Redis is unreachable, this gateway alone may use this fraction of perSecond and burst. */
          localFallbackShare: z.number().gt(0).max(1).optional(),
          /** The part of its client's share one user (or originating system user) may take for sure while few share it, never more than KNOWN_SHARE (0.4) split between the users asking; beyond it only spare tokens (default 0.25). */
          userShare: z.number().gt(0).max(1).default(0.25),
        })
        .refine((r) => !r.redisUrl || r.localFallbackShare !== undefined, {
          message: "redisUrl needs localFallbackShare (each gateway's part of the budget while Redis is unreachable)",
          path: ['localFallbackShare'],
        })
        .refine((r) => r.redisUrl || r.localFallbackShare === undefined, {
          message: 'localFallbackShare applies only with redisUrl',
          path: ['localFallbackShare'],
        }),
      /** Outage tolerance (SMSP-PERF-006): consecutive connection failures that open the breaker, and its cool-down. */
      circuitBreaker: z
        .strictObject({ failureThreshold: z.number().int().min(1), coolDownMs: z.number().int().min(100) })
        .partial()
        .optional(),
      /** Extra: cap on Spine's answer; FGM-IS responses are a few KB. */
      maxResponseBytes: z.number().int().min(1024).max(10_485_760).default(262_144),
      answerTimestamp: z
        .strictObject({
          maxAheadSeconds: z
            .number()
            .int()
            .min(0)
            .max(3600)
            .default(DEFAULT_SKEW.maxAheadSeconds)
            .describe(
              "How far Spine's MessageHeader.timestamp may be ahead of the gateway's clock before the answer is refused as implausible",
            ),
          maxBehindSeconds: z
            .number()
            .int()
            .min(60)
            .max(604_800)
            .default(DEFAULT_SKEW.maxBehindSeconds)
            .describe(
              "How far Spine's MessageHeader.timestamp may be behind the gateway's clock before the answer is refused as stale",
            ),
        })
        .default(DEFAULT_SKEW)
        .describe(
          "The safety core's check of Spine's timestamp against the gateway's clock (an answer outside it is RESPONSE_MESSAGE_VALIDATION_ERROR, never shown)",
        ),
    }),
    clients: z
      .array(ClientSchema)
      .min(1)
      .refine(
        (cs) => new Set(cs.flatMap((c) => (c.token ? [c.token.issuer] : []))).size === cs.filter((c) => c.token).length,
        'two clients share a token issuer',
      )
      // A system token verifies by its issuer and audience: sharing either with a user session
      // token would let a portal user's session pass as a client system's credential.
      .refine((cs) => {
        const issuers = cs.flatMap((c) => [
          ...(c.token ? [c.token.issuer] : []),
          ...(c.systemToken ? [c.systemToken.issuer] : []),
        ]);
        return new Set(issuers).size === issuers.length;
      }, 'a systemToken issuer is also used by another token')
      .refine(
        (cs) => cs.every((c) => !c.systemToken || cs.every((o) => o.token?.audience !== c.systemToken!.audience)),
        'a systemToken audience is also a user session token audience',
      )
      // A CIS2 access token finds its client by its binding (issuer and CIS2 client_id), so that must pick one.
      .refine((cs) => {
        const bindings = cs
          .filter((c) => c.claims === 'cis2' && c.cis2)
          .map((c) => `${c.cis2!.issuer} ${c.cis2!.clientId}`);
        return new Set(bindings).size === bindings.length;
      }, 'two claims "cis2" clients share a CIS2 issuer and clientId (the binding is how a CIS2 access token finds its client)')
      .refine((cs) => new Set(cs.map((c) => c.id)).size === cs.length, 'two clients share an id')
      .refine(
        (cs) => sharesFit(cs),
        'the spineShare values add up to more than 1, or leave nothing for the clients without one',
      ),
    audit: z
      .strictObject({
        /** The embedded default store; with postgresUrl, only the source `cli.js migrate-to-postgres` copies from. */
        sqliteFile: file.optional(),
        hmacKeyFile: file,
        /** Ed25519 public key that checks signed anchors, and the folder holding anchor files (both optional). */
        anchorPublicKeyFile: file.optional(),
        anchorDir: file.optional(),
        /** Several gateways share one trail in PostgreSQL (docs/operating.md, "Running it highly available"). */
        postgresUrl: urlOf('postgres(?:ql)?', 'must be a postgres:// or postgresql:// URL').optional(),
        /** What start-up does when the chain's tail does not verify: log a loud warning (`warn`, the default) or refuse to start. */
        onBrokenChain: z.enum(['warn', 'refuse']).optional(),
        /** FGMISQR009, SMSP-AUDIT-001: `cli.js retain` archives (signed) and removes records older than this many days, on either store. */
        retentionDays: z
          .number()
          .int()
          .min(1)
          .default(2922)
          .describe(
            'Audit retention in days: `cli.js retain --key FILE` archives (signed) and removes records older than this, on SQLite or PostgreSQL. Default 2922 (8 years); set it to your IG policy. Read by each retain run.',
          ),
        /** FGMISQR009: how long a query's outcome is kept when the patient's birth date is unknown (the FHIR interface). */
        outcomeRetentionDays: z
          .number()
          .int()
          .min(1)
          .max(366)
          .default(30)
          .describe(
            "UK calendar days a query's outcome (what Spine said) stays in the audit trail when the request gave no birth date (the FHIR interface), before the hourly erasure clears it (FGMISQR009). Widget and CDS Hooks queries are erased on the child's 18th birthday instead. Default 30: long enough to investigate an incident report, short so a 17-year-old's outcome does not long outlive her 18th birthday. Applies on SIGHUP to new queries.",
          ),
      })
      .refine((a) => a.sqliteFile || a.postgresUrl, {
        message: 'give sqliteFile or postgresUrl',
        path: ['sqliteFile'],
      }),
    /** SMSP-CONF-001: an operator's own error vocabulary file (default: the shipped one). */
    vocabularyFile: file.optional(),
    /** Extra: the built widget module served at GET /widget/fgm-status.js. */
    widgetFile: file.optional(),
    /** CDS Hooks 2.0 `patient-view` for EPRs that cannot embed the element; without it the routes are not served. */
    cdsHooks: CdsHooksSchema.optional(),
  })
  // A CDS client and a client system with one id would share an audit scope and a Spine budget share.
  .refine((c) => !c.cdsHooks || c.cdsHooks.clients.every((cds) => c.clients.every((cl) => cl.id !== cds.id)), {
    message: 'a CDS client id is also a client system id',
    path: ['cdsHooks', 'clients'],
  })
  // One issuer, one kind of token: a portal's session token must never pass as a CDS client's JWT.
  .refine(
    (c) =>
      !c.cdsHooks ||
      c.cdsHooks.clients.every((cds) =>
        c.clients.every((cl) => cl.token?.issuer !== cds.issuer && cl.systemToken?.issuer !== cds.issuer),
      ),
    { message: 'a CDS client issuer is also a client token issuer', path: ['cdsHooks', 'clients'] },
  )
  .refine((c) => !c.cdsHooks || sharesFit(spineClients(c)), {
    message: "the clients' spineShare values leave nothing of the Spine budget for the CDS clients",
    path: ['cdsHooks', 'clients'],
  });
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
export type ClientConfig = GatewayConfig['clients'][number];
export type CdsClientConfig = NonNullable<GatewayConfig['cdsHooks']>['clients'][number];

/** Everyone with a part of the Spine budget: the client systems and the CDS clients (EPRs). */
export function spineClients(c: {
  clients: readonly { id: string; spineShare?: number | undefined }[];
  cdsHooks?: { clients: readonly { id: string }[] } | undefined;
}): { id: string; spineShare?: number | undefined }[] {
  return [...c.clients, ...(c.cdsHooks?.clients ?? [])];
}

/**
 * The widget build output, used when `widgetFile` is not set: `dist/widget/` beside the built
 * gateway in `dist/gateway/`, or under the project root when run from source.
 */
export const DEFAULT_WIDGET_FILE = fileURLToPath(
  new URL(`../../${import.meta.url.endsWith('.ts') ? 'dist/' : ''}widget/fgm-status.js`, import.meta.url),
);

type Issue = z.core.$ZodIssue;

/**
 * One line for the operator. An unknown key comes first, even when a required key is also missing:
 * a typo (`timeoutMS`) is both, and "timeoutMs: required" alone sends them looking in the wrong place.
 */
function describeIssues(issues: readonly Issue[], raw: unknown): string {
  const named = issues.flatMap((issue) =>
    // An unknown key is reported at its parent; name the key itself.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => ({
          path: [...issue.path, k].join('.'),
          message: unknownKeyMessage(k, issues, issue.path, raw),
        }))
      : // zod says only "Invalid key in record"; the key's own rule (an ODS code, a role name) says what is wrong.
        [
          {
            path: issue.path.join('.') || '(root)',
            message:
              issue.code === 'invalid_key' && issue.issues[0]
                ? `not a valid key: ${issue.issues[0].message}`
                : issue.message,
          },
        ],
  );
  // A URL's protocol check and its refinement can both fail with one message: say it once.
  const distinct = named.filter((n, i) => named.findIndex((o) => o.path === n.path && o.message === n.message) === i);
  const ordered = [
    ...distinct.filter((n) => n.message.startsWith('unknown key')),
    ...distinct.filter((n) => !n.message.startsWith('unknown key')),
  ];
  const [first, ...rest] = ordered;
  const more = rest.length
    ? ` (and ${rest.length} more: ${rest
        .slice(0, 5)
        .map((r) => r.path)
        .join(', ')}${rest.length > 5 ? ', …' : ''})`
    : '';
  return `config: ${first!.path}: ${first!.message}${more}`;
}

/** The keys the schema allows in the object at `path` (array indexes step into the element). */
function keysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.core.$ZodType | undefined = GatewayConfigSchema;
  const unwrap = (s: z.core.$ZodType): z.core.$ZodType => {
    const def = s._zod.def as { type: string; in?: z.core.$ZodType; innerType?: z.core.$ZodType };
    if (def.type === 'pipe') return unwrap(def.in!);
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault')
      return unwrap(def.innerType!);
    return s;
  };
  for (const step of path) {
    const def: { type: string; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType } = unwrap(schema)
      ._zod.def as never;
    schema = def.type === 'array' ? def.element : def.shape?.[String(step)];
    if (!schema) return [];
  }
  const def = unwrap(schema)._zod.def as { shape?: Record<string, z.core.$ZodType> };
  return Object.keys(def.shape ?? {});
}

/** What the file has at `path` (undefined where a key is absent). */
const valueAt = (raw: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    raw,
  );

/** Edits (insert, delete, change, swap two neighbours) between two keys, case ignored. */
function distance(a: string, b: string): number {
  [a, b] = [a.toLowerCase(), b.toLowerCase()];
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Suggests the key an unknown one was probably meant to be: a required sibling reported missing
 * with the same letters in another case, or the only one missing beside the only unknown one (a
 * renamed key: `fingerprint` for `fingerprint256`), else the closest allowed key (at most two
 * edits away, optional keys included: `redisURL` is as much a typo as `timeoutMS`).
 */
function unknownKeyMessage(
  key: string,
  issues: readonly Issue[],
  parent: readonly PropertyKey[],
  raw: unknown,
): string {
  const at = parent.join('.');
  const missingHere = issues.filter(
    (i) =>
      i.code === 'invalid_type' &&
      valueAt(raw, i.path) === undefined &&
      i.path.length === parent.length + 1 &&
      i.path.slice(0, -1).join('.') === at,
  );
  const unknownHere = issues
    .filter((i) => i.code === 'unrecognized_keys' && i.path.join('.') === at)
    .flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys : []));
  const missing =
    missingHere.find((i) => String(i.path.at(-1)).toLowerCase() === key.toLowerCase()) ??
    (missingHere.length === 1 && unknownHere.length === 1 ? missingHere[0] : undefined);
  const [closest] = keysAt(parent)
    .map((k) => ({ k, d: distance(key, k) }))
    .filter(({ d }) => d <= Math.min(2, Math.floor(key.length / 3)))
    .sort((x, y) => x.d - y.d);
  const meant = missing ? String(missing.path.at(-1)) : closest?.k;
  return meant ? `unknown key; did you mean ${meant}?` : 'unknown key';
}

/**
 * Validates a parsed config object and resolves its relative file paths against `baseDir`.
 * Throws a ConfigError naming the bad key (unknown keys first) and how many more there are.
 * @example parseConfig(JSON.parse(text), '/etc/fgm').spine.tls.certFile // '/etc/fgm/spine.crt'
 */
export function parseConfig(raw: unknown, baseDir: string): GatewayConfig {
  const parsed = GatewayConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error.issues, raw));
  const c = parsed.data;
  const at = (f: string) => (isAbsolute(f) ? f : resolve(baseDir, f));
  const tls = (t: { certFile: string; keyFile: string; caFile: string }) => ({
    ...t,
    certFile: at(t.certFile),
    keyFile: at(t.keyFile),
    caFile: at(t.caFile),
  });
  return {
    ...c,
    listen: {
      ...c.listen,
      ...(c.listen.tls ? { tls: { ...tls(c.listen.tls), requestClientCert: c.listen.tls.requestClientCert } } : {}),
    },
    spine: { ...c.spine, tls: tls(c.spine.tls) },
    clients: c.clients.map((cl) => ({
      ...cl,
      ...(cl.token
        ? { token: { ...cl.token, ...(cl.token.publicKeyFile ? { publicKeyFile: at(cl.token.publicKeyFile) } : {}) } }
        : {}),
      ...(cl.systemToken
        ? {
            systemToken: {
              ...cl.systemToken,
              ...(cl.systemToken.publicKeyFile ? { publicKeyFile: at(cl.systemToken.publicKeyFile) } : {}),
            },
          }
        : {}),
    })),
    audit: {
      ...c.audit,
      ...(c.audit.sqliteFile ? { sqliteFile: at(c.audit.sqliteFile) } : {}),
      hmacKeyFile: at(c.audit.hmacKeyFile),
      ...(c.audit.anchorPublicKeyFile ? { anchorPublicKeyFile: at(c.audit.anchorPublicKeyFile) } : {}),
      ...(c.audit.anchorDir ? { anchorDir: at(c.audit.anchorDir) } : {}),
    },
    ...(c.vocabularyFile ? { vocabularyFile: at(c.vocabularyFile) } : {}),
    ...(c.widgetFile ? { widgetFile: at(c.widgetFile) } : {}),
    ...(c.cdsHooks
      ? {
          cdsHooks: {
            ...c.cdsHooks,
            clients: c.cdsHooks.clients.map((cl) => ({
              ...cl,
              ...(cl.publicKeyFile ? { publicKeyFile: at(cl.publicKeyFile) } : {}),
            })),
          },
        }
      : {}),
  };
}

/**
 * Reads and validates the config file (`given`, else `FGM_GATEWAY_CONFIG`, else
 * `./fgm-gateway.config.json`). `flag` is the command-line option that names it, if the caller has
 * one (the CLI's `--config`), so a file not found says every way to point at the right one.
 * @example const config = loadConfig(values.config, '--config');
 */
export function loadConfig(given?: string, flag?: string): GatewayConfig {
  const full = resolve(given ?? process.env.FGM_GATEWAY_CONFIG ?? 'fgm-gateway.config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(full, 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    // The gateway and every CLI command find the file the same way; say how, since the default is relative to where you stand.
    const how = given
      ? flag
        ? ` (named by ${flag})`
        : ''
      : process.env.FGM_GATEWAY_CONFIG
        ? ' (named by FGM_GATEWAY_CONFIG)'
        : ` (FGM_GATEWAY_CONFIG is not set, so ./fgm-gateway.config.json was tried: set it to the gateway's config file${flag ? `, or give ${flag} FILE` : ''})`;
    throw new ConfigError(`config: cannot read ${full}: ${why}${how}`);
  }
  return parseConfig(raw, dirname(full));
}
