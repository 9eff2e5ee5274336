/**
 * @module auth/verify-session-token
 * Verifies the JWTs the gateway accepts: a host portal's user session token (`clients[].token`)
 * and a client system's own token for the FHIR interface (`clients[].systemToken`). One verifier
 * serves both, keyed by issuer; the config keeps every issuer and system audience distinct, so a
 * token is only ever checked against the rules of its own kind. The token is decoded unverified
 * ONLY to read `iss` (which rules) and the header (`alg`, `kid`: which key); then hono's `verify`
 * checks the signature with every option set, and the time claims are checked here with a small
 * clock skew.
 */
import { decode, verify } from 'hono/utils/jwt/jwt';
import type { SignatureAlgorithm } from 'hono/utils/jwt/jwa';
import type { SignatureKey } from 'hono/utils/jwt/jws';
import type { JWTPayload } from 'hono/utils/jwt/types';
import type { ClientConfig } from '../config.ts';
import { createJwksCache, type JwksCache } from './jwks-cache.ts';
import { verifyKey } from './verify-key.ts';

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

type TokenRules = ClientConfig['token'];

/** What an issuer's tokens are checked against: its client, kind, rules and key. */
interface Issuer {
  client: ClientConfig;
  kind: TokenKind;
  rules: TokenRules;
  jwks?: JwksCache;
  pem?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Builds the verifier for the configured clients; throws at start-up if a client has no key.
 * @example const verifySessionToken = createSessionVerifier({ clients, clientKeys, systemKeys }); const { client, payload, kind } = await verifySessionToken(jwt);
 */
export function createSessionVerifier({ clients, clientKeys, systemKeys = new Map(), now = () => Math.floor(Date.now() / 1000), fetch: fetchFn }: SessionVerifierOptions): SessionVerifier {
  const byIssuer = new Map<string, Issuer>();
  const add = (client: ClientConfig, kind: TokenKind, rules: TokenRules, keys: ReadonlyMap<string, string>) => {
    const pem = keys.get(client.id);
    if (rules.jwksUrl) byIssuer.set(rules.issuer, { client, kind, rules, jwks: createJwksCache({ url: rules.jwksUrl, ...(fetchFn ? { fetch: fetchFn } : {}) }) });
    else if (pem) byIssuer.set(rules.issuer, { client, kind, rules, pem });
    else throw new Error(`client ${client.id} has no ${kind} token verification key`);
  };
  for (const c of clients) {
    add(c, 'session', c.token, clientKeys);
    if (c.systemToken) add(c, 'system', c.systemToken, systemKeys);
  }

  return async function verifySessionToken(token) {
    let header: unknown;
    let unverified: unknown;
    try {
      ({ header, payload: unverified } = decode(token));
    } catch {
      throw new TokenRejected('not a JWT');
    }
    // Valid JSON is not yet a JWT: `null`, an array or a number must not reach the claim reads.
    if (!isObject(header) || !isObject(unverified) || typeof header.alg !== 'string') throw new TokenRejected('not a JWT');
    const issuer = typeof unverified.iss === 'string' ? byIssuer.get(unverified.iss) : undefined;
    if (!issuer) throw new TokenRejected('unknown issuer');
    const { client, kind, rules } = issuer;
    // The allow-list holds asymmetric algorithms only, so `none` and HS* never get this far.
    const alg = header.alg;
    if (!(rules.algorithms as readonly string[]).includes(alg)) throw new TokenRejected('algorithm not allowed');

    let key: SignatureKey | undefined;
    if (issuer.jwks) {
      const jwk = typeof header.kid === 'string' ? await issuer.jwks.find(header.kid) : undefined;
      if (!jwk) throw new TokenRejected('unknown key id');
      if (jwk.alg !== undefined && jwk.alg !== alg) throw new TokenRejected('algorithm does not match the key');
      key = jwk;
    } else {
      key = issuer.pem;
    }

    let cryptoKey: SignatureKey;
    try {
      cryptoKey = (await verifyKey(key as string | JsonWebKey, alg)) as unknown as SignatureKey;
    } catch {
      throw new TokenRejected('key does not fit the algorithm');
    }
    let payload: JWTPayload;
    try {
      payload = await verify(token, cryptoKey, {
        alg: alg as SignatureAlgorithm,
        iss: rules.issuer,
        aud: rules.audience,
        typ: 'JWT',
        exp: true,
        // hono checks nbf and iat against its own clock with no leeway; we check them below
        // with MAX_CLOCK_SKEW_SECONDS so a portal clock a second ahead does not refuse fresh tokens.
        nbf: false,
        iat: false,
      });
    } catch (e) {
      // hono's messages quote the token, so only the error class reaches the reason.
      throw new TokenRejected((e as Error).name || 'invalid token');
    }

    const t = now();
    const { exp, iat, nbf } = payload;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new TokenRejected('exp missing');
    if (exp + MAX_CLOCK_SKEW_SECONDS <= t) throw new TokenRejected('expired');
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new TokenRejected('iat missing');
    if (iat > t + MAX_CLOCK_SKEW_SECONDS) throw new TokenRejected('issued in the future');
    if (exp - iat > rules.maxLifetimeSeconds) throw new TokenRejected('lifetime too long');
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > t + MAX_CLOCK_SKEW_SECONDS)) throw new TokenRejected('not yet valid');
    return { client, payload, kind };
  };
}
