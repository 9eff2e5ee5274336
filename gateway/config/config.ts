/**
 * @module config/config
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

const JWKS_URL_TEXT =
  'The JWK Set URL the signing keys are fetched from (tokens must carry a kid): https only; plain http only for 127.0.0.1, localhost or [::1] in development. Give this or publicKeyFile, not both.';
const PUBLIC_KEY_FILE_TEXT =
  'The PEM public key the tokens are signed with (checked at start: a key that does not fit algorithms, a private key or a certificate stops start-up). Give this or jwksUrl, not both.';
const ALGORITHMS_TEXT =
  'The signature algorithms accepted, asymmetric only: RS256/384/512, PS256/384/512, ES256/384/512, EdDSA.';

const TokenSchema = z
  .strictObject({
    issuer: z
      .string()
      .min(1)
      .describe("The tokens' iss; it picks the client, so it is unique among every client's token and systemToken."),
    audience: z.string().min(1).describe("The tokens' aud (a string, or an array containing it)."),
    jwksUrl: jwksUrl.optional().describe(JWKS_URL_TEXT),
    publicKeyFile: file.optional().describe(PUBLIC_KEY_FILE_TEXT),
    algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).describe(ALGORITHMS_TEXT),
    maxLifetimeSeconds: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .describe('The longest lifetime (exp − iat, seconds) a token may have; a longer one is refused.'),
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
      'The CIS2 issuer: access tokens must carry it as iss; UserInfo and the JWKS are found by OpenID Connect discovery at <issuer>/.well-known/openid-configuration (whose document must name this issuer) unless userInfoEndpoint and jwksUrl are given. https only (http only for loopback).',
    ),
    clientId: z
      .string()
      .min(1)
      .max(200)
      .describe(
        "The portal's CIS2 client_id (for a FHIR client system, its own): an access token is accepted only when it is a JWT signed by the issuer's keys, with that iss, this client_id (or azp, or an aud entry) and not expired, so a token another relying party obtained is refused before CIS2 is asked; UserInfo's sub must be the token's. Unique per issuer among claims \"cis2\" clients (it is how a token finds its client).",
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
        'Deadline for confirming one session with CIS2 (discovery, waiting for a free call and UserInfo together); past it the request is refused 503 CIS2_UNAVAILABLE.',
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
  userId: z.string().min(1).describe("The token claim holding the user's id (e.g. sub)."),
  roles: z
    .string()
    .min(1)
    .describe(
      "The token claim holding the user's roles, looked up in roleActivities: an array of role names, or one string of names separated by spaces.",
    ),
  orgCode: z
    .string()
    .min(1)
    .describe(
      "The token claim holding the ODS code the user acts for (optional in the token: default the client's odsCode).",
    ),
});

const CLIENT_ID_TEXT =
  "The client's identifier in logs, the audit trail and the Spine budget; unique among clients and CDS clients.";

const ClientSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'a client id is letters, digits, dot, dash or underscore')
      .describe(CLIENT_ID_TEXT),
    name: z.string().min(1).describe("The client system's name (logs, the audit trail)."),
    odsCode: odsCode.describe("The client organisation's ODS code: the default organisation of its local users."),
    odsCodes: z
      .array(odsCode)
      .min(1)
      .optional()
      .describe(
        "The ODS codes this client may act for (default [odsCode]): the bundle's Organization on /fhir/fgm/query, and the organisation a user's session token names (org_code of the selected CIS2 role, or the local orgCode claim) on the widget API; any other is refused ACCESS_DENIED (SMSP-IG-003).",
      ),
    origins: z
      .array(
        urlOf(
          'https?',
          "an origin is the portal page's https:// (or http://) scheme, host and port, e.g. https://portal.trust.nhs.uk",
        ).transform((u) => new URL(u).origin),
      )
      .describe(
        'Browser origins allowed to call the widget API and load the widget (CORS), e.g. https://portal.trust.nhs.uk; a token of this client sent with any other Origin is refused.',
      ),
    token: TokenSchema.optional().describe(
      'The user session token rules of a local-claims portal (widget API, audit interface); required with local claims, refused with claims "cis2", whose users bring CIS2 access tokens.',
    ),
    claims: z
      .union([z.literal('cis2'), LocalClaimsSchema])
      .describe(
        'Who the users are: "cis2" (each session is confirmed with NHS CIS2; see cis2), or the names of the local claims in the portal\'s session token.',
      ),
    cis2: Cis2Schema.optional().describe(
      'NHS CIS2 Authentication for this client: required with claims "cis2" (the widget API then confirms every user session with CIS2 UserInfo; a reload starts a fresh UserInfo cache); on any client it lets the FHIR interface accept a Practitioner with SDS ids, confirmed by the X-CIS2-Access-Token header.',
    ),
    roleActivities: z
      .record(roleName, z.array(activity))
      .describe(
        'Local role name → RBAC activity codes, e.g. {"midwife": ["B0370"]}; a user whose roles map to no B0370 is refused ACCESS_DENIED. Role names have no spaces.',
      ),
    auditorRoles: z
      .array(roleName)
      .describe(
        "Roles allowed to query this client's own audit records; for CIS2 users, RBAC activity codes their selected role must hold (your trust's IG activity). Either way the auditor's organisation must be one of the client's odsCodes, else 403 ACCESS_DENIED.",
      ),
    smspAuditorRoles: z
      .array(roleName)
      .optional()
      .describe(
        'Roles allowed to query every client\'s audit records (SMSP-wide IG staff). Refused on claims "cis2" clients: CIS2 activity codes are national, so an SMSP-wide activity would make every IG officer in England SMSP-wide; give SMSP-wide auditors a local-claims client.',
      ),
    priority: z
      .enum(['interactive', 'batch'])
      .describe('Who is served first when Spine capacity runs short: interactive before batch.'),
    spineShare: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe(
        'Fraction of spine.rateLimit.perSecond kept for this client when others are asking too; default an equal part of what the clients with a share leave (three clients, none set: a third each). The shares may not add up to more than 1.',
      ),
    enabled: z
      .boolean()
      .default(true)
      .describe('false takes the client out of service, applied on a reload without a restart (SMSP-SEC-001).'),
    // An extra beyond the contract in docs/development/design.md.
    orgNames: z
      .record(odsCode, z.string().min(1))
      .optional()
      .describe('ODS code → organisation name, for Organization.name in Spine messages.'),
    mtls: z
      .strictObject({
        fingerprint256: z
          .string()
          .regex(/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/, 'a SHA-256 certificate fingerprint is 32 hex bytes')
          .transform((f) => f.replace(/:/g, '').toUpperCase())
          .describe(
            "SHA-256 fingerprint of the client system's TLS certificate (AB:CD:… or plain hex): a credential for /fhir/fgm/query (needs listen.tls.requestClientCert).",
          ),
      })
      .optional()
      .describe("The client system's TLS client certificate, as a credential for the FHIR interface."),
    systemToken: TokenSchema.optional().describe(
      "The client system's own credential for /fhir/fgm/query, never a user session token (SMSP-IG-002); the same keys as token. Its issuer must be unique and its audience differ from every token.audience, so no user session token can pass as one.",
    ),
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

/** A TLS end's PEM files; what each is depends on the end, so each use says. */
const tlsFiles = (certFile: string, keyFile: string, caFile: string) =>
  z.strictObject({
    certFile: file.describe(certFile),
    keyFile: file.describe(keyFile),
    caFile: file.describe(caFile),
  });

/** A CDS client (an EPR calling the CDS Hooks service): its JWT rules, per the CDS Hooks security section. */
const CdsClientSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'a client id is letters, digits, dot, dash or underscore')
      .describe(CLIENT_ID_TEXT),
    name: z.string().min(1).describe("The EPR's name (logs, the audit trail)."),
    odsCode: odsCode.describe(
      "The EPR organisation's ODS code: the Organization in Spine messages and the organisation of its users.",
    ),
    issuer: z
      .string()
      .min(1)
      .describe("The JWT's iss; unique among CDS clients, and no clients[] token or systemToken may use it."),
    jwksUrl: jwksUrl.optional().describe(JWKS_URL_TEXT),
    publicKeyFile: file.optional().describe(PUBLIC_KEY_FILE_TEXT),
    jkuAllowList: z
      .array(jwksUrl)
      .optional()
      .describe("JWK Set URLs a JWT's jku header may name; any other jku is refused."),
    algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).describe(ALGORITHMS_TEXT),
    maxLifetimeSeconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .describe('The longest lifetime (exp − iat, seconds) a JWT may have; a longer one is refused.'),
    priority: z
      .enum(['interactive', 'batch'])
      .describe('Who is served first when Spine capacity runs short: interactive before batch.'),
    allowUnverified: z
      .boolean()
      .default(false)
      .describe(
        "Clinical-safety decision: ask Spine about an NHS number the EPR's Patient gives without UK Core verification status 01 (default false: such a Patient gets no cards and no Spine call). See docs/cds-hooks.md.",
      ),
    fhirServers: z
      .array(
        urlOf(
          'https?',
          'a fhirServers entry is a FHIR base URL: https:// (http:// only with allowInsecureFhirServers)',
        ).transform(withoutTrailingSlashes),
      )
      .min(1)
      .optional()
      .describe(
        "The only FHIR server base URLs a call's fhirServer may name (the EPR's access token is sent there): https, not loopback; without it the Patient must be prefetched.",
      ),
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
    baseUrl: urlOf('https?', 'must be the https:// (or http://) URL EPRs call the gateway at')
      .transform(withoutTrailingSlashes)
      .describe(
        "The public base URL EPRs call (as they reach it, e.g. through the load balancer): a JWT's aud must be {baseUrl}/cds-services or {baseUrl}/cds-services/fgm-is exactly.",
      ),
    clients: z
      .array(CdsClientSchema)
      .min(1)
      .refine((cs) => new Set(cs.map((c) => c.issuer)).size === cs.length, 'two CDS clients share an issuer')
      .refine((cs) => new Set(cs.map((c) => c.id)).size === cs.length, 'two CDS clients share an id')
      .describe('The CDS clients: the EPRs that may call the CDS Hooks service, each with its JWT rules.'),
    allowInsecureFhirServers: z
      .boolean()
      .default(false)
      .describe(
        'Lets fhirServers name plain-http or loopback servers: for tests and the demo only, never with a real EPR.',
      ),
  })
  .refine(
    (h) => h.allowInsecureFhirServers || h.clients.every((c) => (c.fhirServers ?? []).every((u) => !isLocalOrPlain(u))),
    {
      message: 'a fhirServers URL must be https and not loopback (allowInsecureFhirServers is for tests and the demo)',
      path: ['clients'],
    },
  );

const port = z.number().int().min(0).max(65_535);

export const GatewayConfigSchema = z
  .strictObject({
    $schema: z
      .string()
      .optional()
      .describe('The JSON Schema an editor checks the file against (config.schema.json); ignored by the gateway.'),
    listen: z
      .strictObject({
        host: z.string().min(1).describe('The address the public listener binds to, e.g. 0.0.0.0 or 127.0.0.1.'),
        port: port.describe("The public listener's port (0: any free port)."),
        tls: tlsFiles(
          "The gateway's server certificate (PEM).",
          "The gateway's server private key (PEM); it must match certFile.",
          'The CA (PEM) that issues SMSP client system certificates, for mTLS on /fhir/fgm/query.',
        )
          .extend({
            requestClientCert: z
              .boolean()
              .describe(
                'Ask callers for a client certificate: needed for mTLS on /fhir/fgm/query (clients[].mtls); browsers without one are still served.',
              ),
          })
          .optional()
          .describe('Serve HTTPS instead of plain HTTP (plain HTTP only behind a TLS-terminating proxy).'),
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(1_048_576)
          .default(65_536)
          .describe('Request body cap in bytes; a larger body is refused 413.'),
        requestTimeoutMs: z
          .number()
          .int()
          .min(1000)
          .max(300_000)
          .default(30_000)
          .describe('Time allowed to receive a whole request.'),
        headersTimeoutMs: z
          .number()
          .int()
          .min(1000)
          .max(300_000)
          .default(10_000)
          .describe(
            "Time allowed to send a request's headers (and, on the TLS listener, to finish the handshake); at most requestTimeoutMs.",
          ),
        keepAliveTimeoutMs: z
          .number()
          .int()
          .min(100)
          .max(300_000)
          .default(5000)
          .describe(
            'How long an idle keep-alive connection stays open after an answer (Node adds one second, so a client using the same figure never races it).',
          ),
        maxConnections: z
          .number()
          .int()
          .min(8)
          .max(1_000_000)
          .default(800)
          .describe(
            "Open connections at most. Keep it below the process's open-file limit (ulimit -n) less about 100 (Spine connections, the audit database, logs).",
          ),
        bodyTimeoutMs: z
          .number()
          .int()
          .min(100)
          .max(300_000)
          .default(5000)
          .describe(
            "Time allowed for a request's body to arrive once its headers have (so a slow body cannot hold a connection for requestTimeoutMs); then the connection is closed.",
          ),
        writeTimeoutMs: z
          .number()
          .int()
          .min(100)
          .max(300_000)
          .default(10_000)
          .describe(
            'Time allowed for a caller to take a complete answer; then the connection is closed. At maxConnections a connection that is not reading its answers may be closed for a newcomer.',
          ),
        maxInFlightPerUser: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(8)
          .describe(
            "Requests one user may have in flight at once (a widget user, a client system's originating user, a CDS client's EPR user); more get the busy tone (SPINE_BUSY, Retry-After: 1).",
          ),
        maxInFlightPerClient: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .default(200)
          .describe(
            "Requests one client system or CDS client may have in flight at once; at the bound a newcomer closes one of the client's requests still waiting for its body, and only when all have theirs does it get the busy tone.",
          ),
        maxUnauthenticatedPerAddress: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .default(512)
          .describe(
            "Connections no request has authenticated yet, open at once from one source (an IPv4 address or an IPv6 /64); a newcomer beyond it replaces one of that source's at random, first one that has sent no byte though it could have, then one that has sent bytes but no request or is too new to tell, then the least recently active idle one (refused only if none is closable). Behind a trust NAT (or an L4 balancer) every clinician shares the one address, and before its first bytes are read her fresh connection is one of this many a churner from the same address could be replacing: it survives R replacements a second for g seconds with chance about e^(-R·g/cap). 512 keeps that near 0.86 for 1,300 a second over a 60 ms gap; an idle socket costs a few kilobytes and listen.maxConnections still bounds them all. At or above listen.maxConnections it never applies, and that bound chooses the same way from the holder with the most.",
          ),
        maxPipelinedPerConnection: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(16)
          .describe(
            'Requests one connection may have in flight at once (HTTP pipelining; browsers do not pipeline); a connection with more is closed.',
          ),
      })
      .describe('The public listener: the widget API, the widget, /fhir/fgm/query, CDS Hooks, /healthz.'),
    metrics: z
      .strictObject({
        host: z.string().min(1).describe('The address the metrics listener binds to.'),
        port: port.describe("The metrics listener's port (0: any free port)."),
      })
      .default({ host: '127.0.0.1', port: 9464 })
      .describe(
        'GET /metrics on a plain-HTTP listener of its own, never the public one (its counters would reveal outcomes); nothing else is served there.',
      ),
    smsp: z
      .strictObject({
        asid: asid.describe("The SMSP's own ASID: the source of every Spine message (SMSP-IG-003)."),
        odsCode: odsCode.describe("The SMSP's ODS code."),
        name: z.string().min(1).optional().describe("The SMSP's name, for MessageHeader.source.name."),
      })
      .describe('The Spine Mini Service Provider this gateway is: who Spine sees asking.'),
    spine: z
      .strictObject({
        endpoint: urlOf('https', 'must be an https URL: Spine is reached only over TLS mutual authentication').describe(
          'The Spine FGM-IS URL, https only, e.g. https://msg.int.spine2.ncrs.nhs.uk/fhir/fgm/query.',
        ),
        asid: asid.describe("Spine's ASID (the messages' destination); an answer from any other ASID is refused."),
        tls: tlsFiles(
          "The gateway's Spine client certificate (PEM).",
          'The private key (PEM) of the Spine client certificate; it must match certFile.',
          "The CA (PEM) for Spine's server certificate (hostname verified, TLS 1.2 or later).",
        ).describe('TLS mutual authentication toward Spine.'),
        timeoutMs: z
          .number()
          .int()
          .min(100)
          .max(120_000)
          .describe('Overall deadline for one Spine call (connect, headers and body).'),
        rateLimit: z
          .strictObject({
            perSecond: z
              .number()
              .positive()
              .describe("Requests per second toward Spine, gateway-wide (with redisUrl: the SMSP's total)."),
            burst: z
              .number()
              .int()
              .min(1)
              .describe('Requests that may go at once after a quiet spell (the bucket size).'),
            redisUrl: urlOf('rediss?', 'must be a redis:// or rediss:// (TLS) URL')
              .optional()
              .describe(
                'One budget shared by every gateway in Redis (perSecond and burst are then the SMSP\'s total toward Spine). See docs/operating.md, "Running it highly available".',
              ),
            redisKeyPrefix: z
              .string()
              .min(1)
              .max(100)
              .default('fgm-spine:')
              .describe('Key prefix in Redis, so several SMSPs (or tests) can share one server.'),
            localFallbackShare: z
              .number()
              .gt(0)
              .max(1)
              .optional()
              .describe(
                'While Redis is unreachable, this gateway alone may use this fraction of perSecond and burst; required with redisUrl, refused without it.',
              ),
            userShare: z
              .number()
              .gt(0)
              .max(1)
              .default(0.25)
              .describe(
                "The part of its client's share one user (or originating system user) may take for sure while few share it, never more than 0.4 split between the users asking; beyond it only spare tokens.",
              ),
          })
          .refine((r) => !r.redisUrl || r.localFallbackShare !== undefined, {
            message: "redisUrl needs localFallbackShare (each gateway's part of the budget while Redis is unreachable)",
            path: ['localFallbackShare'],
          })
          .refine((r) => r.redisUrl || r.localFallbackShare === undefined, {
            message: 'localFallbackShare applies only with redisUrl',
            path: ['localFallbackShare'],
          })
          .describe(
            'The limit toward Spine (docs/operating.md, "Protecting Spine and surviving its outages"); an in-process budget starts afresh on a reload.',
          ),
        circuitBreaker: z
          .strictObject({
            failureThreshold: z
              .number()
              .int()
              .min(1)
              .describe(
                'Consecutive connection failures that open the breaker, from at least two callers (client and user; one when this is 1), so one user cannot open it for everyone (default 5).',
              ),
            coolDownMs: z
              .number()
              .int()
              .min(100)
              .describe('How long the open breaker refuses before it lets one call try Spine again (default 10000).'),
          })
          .partial()
          .optional()
          .describe('Outage tolerance (SMSP-PERF-006); a reload starts it closed.'),
        maxResponseBytes: z
          .number()
          .int()
          .min(1024)
          .max(10_485_760)
          .default(262_144)
          .describe("Cap on Spine's answer in bytes; FGM-IS answers are a few KB."),
        answerTimestamp: z
          .strictObject({
            maxAheadSeconds: z
              .number()
              .int()
              .min(0)
              .max(3600)
              .default(DEFAULT_SKEW.maxAheadSeconds)
              .describe(
                "How far Spine's MessageHeader.timestamp may be ahead of the gateway's clock before the answer is refused as implausible.",
              ),
            // The element keeps an indicator at most 24 h after Spine's timestamp (MSCA-FGMRISQR-08): an
            // answer older than that could never be shown, so a wider skew only hides that it is stale (review 18f F7).
            maxBehindSeconds: z
              .number()
              .int()
              .min(60)
              .max(
                86_400,
                "at most 86400 (24 hours): the element keeps an answer at most 24 hours after Spine's timestamp, so an older one could never be shown",
              )
              .default(DEFAULT_SKEW.maxBehindSeconds)
              .describe(
                "How far Spine's MessageHeader.timestamp may be behind the gateway's clock before the answer is refused as stale: at most 86400 (24 hours), the longest the element keeps an answer after Spine's timestamp.",
              ),
          })
          .default(DEFAULT_SKEW)
          .describe(
            "The safety core's check of Spine's timestamp against the gateway's clock (an answer outside it is RESPONSE_MESSAGE_VALIDATION_ERROR, never shown). Keep the clock on NTP.",
          ),
      })
      .describe("The Spine FGM-IS service and the gateway's limits toward it."),
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
      )
      .describe('The client systems: host portals and other SMSP clients.'),
    audit: z
      .strictObject({
        sqliteFile: file
          .optional()
          .describe(
            'The audit database (created if missing), the embedded default store. With postgresUrl it is only the trail `cli.js migrate-to-postgres` copies from.',
          ),
        hmacKeyFile: file.describe(
          'At least 32 bytes of secret that keys the audit hash chain (read and checked at start); keep it as safe as the database.',
        ),
        anchorPublicKeyFile: file.optional().describe('The Ed25519 public key (PEM) that checks signed anchors.'),
        anchorDir: file.optional().describe('The folder holding the anchor files.'),
        postgresUrl: urlOf('postgres(?:ql)?', 'must be a postgres:// or postgresql:// URL')
          .optional()
          .describe(
            'One audit trail in PostgreSQL shared by several gateways, instead of the SQLite file, e.g. postgres://fgm_gateway@db-host/fgm. See docs/operating.md, "Running it highly available".',
          ),
        onBrokenChain: z
          .enum(['warn', 'refuse'])
          .optional()
          .describe(
            "What start-up does when the chain's newest records or anchor do not verify: log a loud warning (warn, the default) or refuse to start.",
          ),
        retentionDays: z
          .number()
          .int()
          .min(1)
          .default(2922)
          .describe(
            'Audit retention in days (FGMISQR009, SMSP-AUDIT-001): `cli.js retain --key FILE` archives (signed) and removes records older than this, on SQLite or PostgreSQL. Default 2922 (8 years); set it to your IG policy. Read by each retain run.',
          ),
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
      })
      .describe('The audit trail (docs/audit.md): give sqliteFile or postgresUrl.'),
    vocabularyFile: file
      .optional()
      .describe(
        'An operator\'s own error vocabulary and event-to-code mapping (SMSP-CONF-001; docs/api.md, "Codes"), default the shipped one; it must keep every code the gateway emits, the local ones included (ACCESS_DENIED, REQUEST_TOO_LARGE, NOT_FOUND).',
      ),
    widgetFile: file
      .optional()
      .describe('The built widget module served at GET /widget/fgm-status.js, default dist/widget/fgm-status.js.'),
    cdsHooks: CdsHooksSchema.optional().describe(
      'Serve CDS Hooks 2.0 patient-view (GET /cds-services, POST /cds-services/fgm-is) for EPRs that cannot embed the element; without it those routes do not exist. See docs/cds-hooks.md.',
    ),
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
