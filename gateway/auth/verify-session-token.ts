/**
 * @module auth/verify-session-token
 * Verifies the JWTs the gateway accepts: a host portal's user session token (`clients[].token`)
 * and a client system's own token for the FHIR interface (`clients[].systemToken`). One verifier
 * serves both, keyed by issuer; the config keeps every issuer and system audience distinct, so a
 * token is only ever checked against the rules of its own kind. The token is decoded unverified
 * ONLY to read `iss` (which rules); jose then checks the signature against that issuer's key and
 * algorithm allow-list, the issuer, audience and time claims (with a small clock skew), and the
 * lifetime is checked here.
 *
 * A verified token is remembered by its SHA-256 (never the token) until its `exp` or
 * TOKEN_CACHE_MAX_SECONDS, whichever is sooner, in an LRU bounded in entries and bytes: a clinician's token is the same
 * for many queries and verifying it is the costliest step of a request (issue 22). Only the
 * verification is remembered, never a decision: roles and RBAC are read per request from the
 * payload by the caller. The cache belongs to this verifier, so a SIGHUP reload (which builds a
 * new verifier from the new clients, keys and audiences) starts empty; a key set fetched again
 * (a rotated or removed key) empties it too. Refusals are never remembered.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { ClientConfig } from '../config/config.ts';
import { guardedKeySet } from './key-set-refetch.ts';

export type { JWTPayload } from 'jose';

/** Clock skew allowed between the portal's identity provider and us, in seconds. */
export const MAX_CLOCK_SKEW_SECONDS = 30;

/** A refused token. `reason` is a short fixed phrase safe for logs (never the token or its claims). */
export class TokenRejected extends Error {
  override name = 'TokenRejected';
  constructor(readonly reason: string) {
    super(`session token refused: ${reason}`);
  }
}

/** `session`: a portal user's session (`token`); `system`: a client system itself (`systemToken`). */
export type TokenKind = 'session' | 'system';

export interface VerifiedSession {
  client: ClientConfig;
  payload: JWTPayload;
  kind: TokenKind;
}

export interface SessionVerifierOptions {
  clients: readonly ClientConfig[];
  /** PEM public keys of clients whose `token` has a `publicKeyFile`, by client id (read at start). */
  clientKeys: ReadonlyMap<string, string>;
  /** The same for `systemToken`. */
  systemKeys?: ReadonlyMap<string, string>;
  /** Seconds since the epoch; default the system clock. */
  now?: () => number;
  /** For clients with `jwksUrl`; default global fetch. */
  fetch?: typeof fetch;
}

export type SessionVerifier = (token: string) => Promise<VerifiedSession>;

type TokenRules = NonNullable<ClientConfig['token']>;

/** What an issuer's tokens are checked against: its client, kind, rules and key. */
interface Issuer {
  client: ClientConfig;
  kind: TokenKind;
  rules: TokenRules;
  key: KeyObject | JWTVerifyGetKey;
}

/** Verified tokens remembered at most; the least recently used go first. */
export const TOKEN_CACHE_MAX_ENTRIES = 10_000;
/**
 * And at most this much memory (estimated from the payload's JSON: it is kept decoded).
 * Entries alone would let large tokens (an Entra ID token with many groups is ~9 KB) outgrow the
 * heap limit the gateway runs with; 8 MiB holds ~350 such tokens, or ~1,500 of ~0.8 KB with a
 * score of claims.
 */
export const TOKEN_CACHE_MAX_BYTES = 8 * 1024 * 1024;
/**
 * Bytes an entry costs, an upper estimate of the payload as V8 keeps it decoded: two bytes a
 * character, ~96 for each object or array, ~32 for each further member and ~160 for each key (an
 * object of distinct keys keeps a chain of hidden classes, frozen ones beside), so a payload of many
 * small values (3,000 `{}` in 12 KB keep ~180 KB; review atk22b F2) or many keys (atk-today F3) is
 * counted as what it keeps, not by its length; plus the hash and the Map's own. A brace, comma or
 * colon inside a string only counts it higher.
 */
function entryBytes(token: string): number {
  const json = Buffer.from(token.slice(token.indexOf('.') + 1, token.lastIndexOf('.')), 'base64url').toString('latin1');
  let containers = 0;
  let members = 0;
  let keys = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) containers++;
    else if (c === 0x2c) members++;
    else if (c === 0x3a) keys++;
  }
  return 2 * json.length + 96 * containers + 32 * members + 160 * keys + 200;
}
/** How long at most a verified token is remembered, in seconds, however far off its `exp`. */
export const TOKEN_CACHE_MAX_SECONDS = 300;

export { JWKS_REFRESH_MS } from './key-set-refetch.ts';

/**
 * A client's key set: fetched on first use, kept (an identity provider outage must not revoke valid
 * sessions early) and re-fetched only for an unknown `kid`, at most once per JWKS_REFRESH_MS even
 * when the fetch fails (guardedKeySet).
 */
const remoteKeySet = (url: string, fetchFn: typeof fetch = fetch, onFetched: () => void = () => {}): JWTVerifyGetKey =>
  guardedKeySet(url, { fetch: fetchFn, changed: onFetched, timeoutMs: 5000, cacheMaxAge: Infinity });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** jose's error, as a fixed phrase (its messages can quote claims). */
function reasonFor(e: unknown): string {
  if (e instanceof errors.JWTExpired) return 'expired';
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'aud') return 'wrong audience';
    if (e.claim === 'iss') return 'wrong issuer';
    if (e.claim === 'nbf') return 'not yet valid';
    if (e.claim === 'iat') return 'issued in the future';
    if (e.claim === 'typ') return 'not a JWT';
    return `claim ${e.claim} invalid`;
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (e instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) return 'unknown key id';
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid || e instanceof errors.JOSENotSupported)
    return 'not a JWT';
  if (e instanceof errors.JOSEError) return 'key set unavailable';
  // jose throws a TypeError when the key cannot serve the token's algorithm (an RSA key asked for ES256).
  if (e instanceof TypeError) return 'key does not fit the algorithm';
  return 'key set unavailable';
}

/**
 * Builds the verifier for the configured clients; throws at start-up if a client has no key.
 * @example const verifySessionToken = createSessionVerifier({ clients, clientKeys, systemKeys }); const { client, payload, kind } = await verifySessionToken(jwt);
 */
export function createSessionVerifier({
  clients,
  clientKeys,
  systemKeys = new Map(),
  now = () => Math.floor(Date.now() / 1000),
  fetch: fetchFn,
}: SessionVerifierOptions): SessionVerifier {
  const byIssuer = new Map<string, Issuer>();
  const verified = new Map<string, { session: VerifiedSession; from: number; until: number; bytes: number }>();
  let cachedBytes = 0;
  const forget = (hash: string) => {
    const e = verified.get(hash);
    if (!e) return;
    verified.delete(hash);
    cachedBytes -= e.bytes;
  };
  // Bumped when a key set is fetched again: a token verified under the previous set is not remembered.
  let keysGeneration = 0;
  const add = (client: ClientConfig, kind: TokenKind, rules: TokenRules, keys: ReadonlyMap<string, string>) => {
    const pem = keys.get(client.id);
    if (rules.jwksUrl)
      byIssuer.set(rules.issuer, {
        client,
        kind,
        rules,
        key: remoteKeySet(rules.jwksUrl, fetchFn, () => {
          keysGeneration++;
          verified.clear();
          cachedBytes = 0;
        }),
      });
    else if (pem) byIssuer.set(rules.issuer, { client, kind, rules, key: createPublicKey(pem) });
    else throw new Error(`client ${client.id} has no ${kind} token verification key`);
  };
  for (const c of clients) {
    if (c.token) add(c, 'session', c.token, clientKeys);
    if (c.systemToken) add(c, 'system', c.systemToken, systemKeys);
  }

  return async function verifySessionToken(token) {
    const hash = createHash('sha256').update(token).digest('base64');
    const t0 = now();
    const hit = verified.get(hash);
    if (hit) {
      verified.delete(hash);
      // Re-inserted to mark it most recently used (a Map keeps insertion order). Within the window
      // verification itself would accept: a clock stepped back past iat/nbf refuses it again.
      if (hit.from <= t0 && t0 < hit.until) {
        verified.set(hash, hit);
        return hit.session;
      }
      cachedBytes -= hit.bytes;
    }
    const generation = keysGeneration;
    const session = await verifyUncached(token);
    const { exp, iat, nbf } = session.payload as { exp: number; iat: number; nbf?: number };
    // Until exp itself, not exp plus the clock skew: past exp the token is verified again, so the
    // cache never accepts for longer than verification would.
    const until = Math.min(exp, now() + TOKEN_CACHE_MAX_SECONDS);
    const bytes = entryBytes(token);
    if (until > now() && generation === keysGeneration && bytes <= TOKEN_CACHE_MAX_BYTES) {
      // Verified twice at once (a page asking for two children), the token may already be here:
      // replaced, not counted twice, or the count would drift past what the entries hold (atk22b F1).
      forget(hash);
      while (
        verified.size > 0 &&
        (verified.size >= TOKEN_CACHE_MAX_ENTRIES || cachedBytes + bytes > TOKEN_CACHE_MAX_BYTES)
      )
        forget(verified.keys().next().value!);
      const from = Math.max(iat, typeof nbf === 'number' ? nbf : iat) - MAX_CLOCK_SKEW_SECONDS;
      verified.set(hash, { session, from, until, bytes });
      cachedBytes += bytes;
    }
    return session;
  };

  async function verifyUncached(token: string): Promise<VerifiedSession> {
    let header: unknown;
    let unverified: unknown;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new TokenRejected('not a JWT');
    }
    // Valid JSON is not yet a JWT: `null`, an array or a number must not reach the claim reads.
    if (!isObject(header) || !isObject(unverified) || typeof header.alg !== 'string')
      throw new TokenRejected('not a JWT');
    // A `typ` other than JWT (e.g. a signed logout token) is another kind of object signed by the same key.
    if (
      header.typ !== undefined &&
      (typeof header.typ !== 'string' || header.typ.toLowerCase().replace(/^application\//, '') !== 'jwt')
    )
      throw new TokenRejected('not a JWT');
    const issuer = typeof unverified.iss === 'string' ? byIssuer.get(unverified.iss) : undefined;
    if (!issuer) throw new TokenRejected('unknown issuer');
    const { client, kind, rules } = issuer;
    // The allow-list holds asymmetric algorithms only, so `none` and HS* never get this far.
    if (!(rules.algorithms as readonly string[]).includes(header.alg)) throw new TokenRejected('algorithm not allowed');
    // A key set is consulted by key id only: a token without one is not matched to "the only key".
    if (rules.jwksUrl && typeof header.kid !== 'string') throw new TokenRejected('unknown key id');

    const t = now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, issuer.key as KeyObject, {
        algorithms: [...rules.algorithms],
        issuer: rules.issuer,
        audience: rules.audience,
        requiredClaims: ['exp', 'iat'],
        clockTolerance: MAX_CLOCK_SKEW_SECONDS,
        currentDate: new Date(t * 1000),
      }));
    } catch (e) {
      if (
        e instanceof errors.JWTClaimValidationFailed &&
        (e.reason === 'missing' || e.reason === 'invalid') &&
        (e.claim === 'exp' || e.claim === 'iat')
      )
        throw new TokenRejected(`${e.claim} missing`);
      throw new TokenRejected(reasonFor(e));
    }

    const { exp, iat } = payload as { exp: number; iat: number };
    // jose allows iat in the future; a token minted ahead of our clock (beyond the skew) is refused.
    if (iat > t + MAX_CLOCK_SKEW_SECONDS) throw new TokenRejected('issued in the future');
    if (exp - iat > rules.maxLifetimeSeconds) throw new TokenRejected('lifetime too long');
    // One verified session serves many requests of the same token: frozen, claims included, so no
    // request can change what the next one reads. (`client` is the config's own, shared anyway.)
    return Object.freeze({ client, payload: deepFreeze(payload), kind });
  }
}

/** Freezes a decoded JSON value all the way down (claims are plain JSON: objects, arrays, scalars). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
