/**
 * @module auth/verify-session-token
 * Verifies a host portal's session token (JWT) for the client system that issued it. The token is
 * decoded unverified ONLY to read `iss` (which client) and the header (`alg`, `kid`: which key);
 * then hono's `verify` checks the signature with every option set, and the time claims are
 * checked here with a small clock skew.
 */
import { decode, verify } from 'hono/utils/jwt/jwt';
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

export interface VerifiedSession {
  client: ClientConfig;
  payload: JWTPayload;
}

export interface SessionVerifierOptions {
  clients: readonly ClientConfig[];
  /** PEM public keys of clients configured with `publicKeyFile`, by client id (read at start). */
  clientKeys: ReadonlyMap<string, string>;
  /** Seconds since the epoch; default the system clock. */
  now?: () => number;
  /** For clients with `jwksUrl`; default global fetch. */
  fetch?: typeof fetch;
}

export type SessionVerifier = (token: string) => Promise<VerifiedSession>;

/**
 * Builds the verifier for the configured clients; throws at start-up if a client has no key.
 * @example const verifySessionToken = createSessionVerifier({ clients, clientKeys }); const { client, payload } = await verifySessionToken(jwt);
 */
export function createSessionVerifier({ clients, clientKeys, now = () => Math.floor(Date.now() / 1000), fetch: fetchFn }: SessionVerifierOptions): SessionVerifier {
  const byIssuer = new Map(clients.map((c) => [c.token.issuer, c]));
  const jwks = new Map<string, JwksCache>();
  for (const c of clients) {
    if (c.token.jwksUrl) jwks.set(c.id, createJwksCache({ url: c.token.jwksUrl, ...(fetchFn ? { fetch: fetchFn } : {}) }));
    else if (!clientKeys.has(c.id)) throw new Error(`client ${c.id} has no token verification key`);
  }

  return async function verifySessionToken(token) {
    let header: ReturnType<typeof decode>['header'];
    let unverified: JWTPayload;
    try {
      ({ header, payload: unverified } = decode(token));
    } catch {
      throw new TokenRejected('not a JWT');
    }
    const client = typeof unverified.iss === 'string' ? byIssuer.get(unverified.iss) : undefined;
    if (!client) throw new TokenRejected('unknown issuer');
    // The allow-list holds asymmetric algorithms only, so `none` and HS* never get this far.
    const alg = header.alg;
    if (!(client.token.algorithms as readonly string[]).includes(alg)) throw new TokenRejected('algorithm not allowed');

    let key: SignatureKey | undefined;
    const cache = jwks.get(client.id);
    if (cache) {
      const jwk = typeof header.kid === 'string' ? await cache.find(header.kid) : undefined;
      if (!jwk) throw new TokenRejected('unknown key id');
      if (jwk.alg !== undefined && jwk.alg !== alg) throw new TokenRejected('algorithm does not match the key');
      key = jwk;
    } else {
      key = clientKeys.get(client.id);
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
        alg,
        iss: client.token.issuer,
        aud: client.token.audience,
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
    if (exp - iat > client.token.maxLifetimeSeconds) throw new TokenRejected('lifetime too long');
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > t + MAX_CLOCK_SKEW_SECONDS)) throw new TokenRejected('not yet valid');
    return { client, payload };
  };
}
