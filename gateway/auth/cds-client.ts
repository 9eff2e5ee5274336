/**
 * @module auth/cds-client
 * Trusting CDS clients (CDS Hooks 2.0, "Trusting CDS Clients"): the `Authorization` JWT an EPR
 * sends with every call is checked against the configured client its `iss` names — keys from the
 * client's `jwksUrl` or `publicKeyFile`, or from the JWT's `jku` only when that URL is on the
 * client's `jkuAllowList`; the client's asymmetric algorithms only (never `none` or HMAC); `aud`
 * exactly the service URL called, built from `cdsHooks.baseUrl`; `exp`, `iat`, a short maximum
 * lifetime; and a `jti` never accepted twice within its lifetime (this gateway's memory always, and
 * Redis too when the gateway has one, so every gateway sees it). Self-contained: the portal session verifier is
 * separate, so a portal's session token can never pass here.
 */
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import { ConfigError, type CdsClientConfig } from '../config/config.ts';
import { verificationKey } from '../server/key-material.ts';

/** Seconds of clock difference tolerated between the EPR and the gateway. */
const CLOCK_SKEW_SECONDS = 30;

/** A refused CDS client JWT; `reason` is a fixed phrase for logs (never token content). */
export class CdsTokenRejected extends Error {
  override name = 'CdsTokenRejected';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Remembers each accepted `jti` until it expires. `claim` resolves false when it was already seen. */
export interface JtiStore {
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Live jtis one gateway's memory holds at most: past it a claim fails (the replay check refuses, never waves through). */
export const MAX_MEMORY_JTIS = 1_000_000;

/**
 * One gateway's memory: enough when a single gateway serves the CDS clients. A claim costs O(1)
 * amortised: ids wait in a queue in the order claimed, and each claim drops the expired ones from
 * its head (each entry is examined once there, not every live one on every claim, as before).
 * Lifetimes differ, so an expired id behind a live one waits for it; `claim` reads expiry itself.
 * `examined` counts the queue entries looked at, so a test can see the cost without a clock.
 */
export function memoryJtiStore({
  now = Date.now,
  maxEntries = MAX_MEMORY_JTIS,
}: { now?: () => number; maxEntries?: number } = {}): JtiStore & { readonly examined: number } {
  const seen = new Map<string, number>();
  let queue: { key: string; until: number }[] = [];
  let head = 0;
  let examined = 0;
  return {
    get examined() {
      return examined;
    },
    async claim(key, ttlSeconds) {
      const t = now();
      while (head < queue.length) {
        examined++;
        const first = queue[head]!;
        if (first.until > t) break;
        // A later claim of the same id (after this one expired) keeps its own entry.
        if (seen.get(first.key) === first.until) seen.delete(first.key);
        head++;
      }
      // Compacted once half is spent: each entry is copied at most once per halving, O(1) amortised.
      if (head > 1024 && head * 2 > queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
      const until = seen.get(key);
      if (until !== undefined && until > t) return false;
      if (queue.length - head >= maxEntries) throw new Error('jti memory full');
      seen.set(key, t + ttlSeconds * 1000);
      queue.push({ key, until: t + ttlSeconds * 1000 });
      return true;
    },
    async close() {},
  };
}

/**
 * Shared by every gateway on one Redis (`SET NX` with the token's remaining lifetime). While Redis
 * is unreachable a claim rejects at once, and while it stalls within `commandTimeout` (500 ms):
 * withLocalFallback decides what then happens.
 */
export async function redisJtiStore(redisUrl: string, keyPrefix: string): Promise<JtiStore> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 1000,
    retryStrategy: (n) => Math.min(n * 200, 1000),
    lazyConnect: true,
  });
  // Errors surface on the commands; the event is consumed so the process does not crash.
  redis.on('error', () => {});
  await redis.connect().catch(() => {});
  return {
    async claim(key, ttlSeconds) {
      return (
        (await redis.set(`${keyPrefix}cds-jti:${key}`, '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX')) === 'OK'
      );
    },
    async close() {
      redis.disconnect();
    },
  };
}

/** Where the replay check stands, for /healthz: the shared store in use, or this gateway's memory alone. */
export type JtiHealth = { mode: 'shared' } | { mode: 'local-fallback'; reason: string };

/**
 * The shared store with this gateway's memory beside it. Every claim is made in memory first, so a
 * replay to this gateway is refused whatever Redis does. When the shared store cannot answer, the
 * memory's answer stands: CDS Hooks keeps serving, and only a replay sent to another gateway while
 * Redis is out can pass. `onChange` hears each switch (for the log).
 * @example const jti = withLocalFallback(await redisJtiStore(url, prefix), memoryJtiStore(), (h) => log({ ... }));
 */
export function withLocalFallback(
  shared: JtiStore,
  local: JtiStore,
  onChange: (health: JtiHealth) => void,
): JtiStore & { health(): JtiHealth } {
  let health: JtiHealth = { mode: 'shared' };
  const become = (next: JtiHealth) => {
    if (next.mode === health.mode) return;
    health = next;
    onChange(next);
  };
  return {
    async claim(key, ttlSeconds) {
      if (!(await local.claim(key, ttlSeconds))) return false;
      let fresh: boolean;
      try {
        fresh = await shared.claim(key, ttlSeconds);
      } catch (e) {
        become({ mode: 'local-fallback', reason: `Redis unreachable: ${(e as Error).message}` });
        return true;
      }
      become({ mode: 'shared' });
      return fresh;
    },
    health: () => health,
    async close() {
      await Promise.all([shared.close(), local.close()]);
    },
  };
}

export interface CdsVerifierOptions {
  clients: readonly CdsClientConfig[];
  /** `cdsHooks.baseUrl` without a trailing slash. */
  baseUrl: string;
  jti: JtiStore;
  now?: () => Date;
}

/** Verifies a JWT for a call to `path` (e.g. `/cds-services/fgm-is`) and names the CDS client. */
export type CdsVerifier = (token: string, path: string) => Promise<CdsClientConfig>;

const JOSE_REASONS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'bad signature',
  ERR_JOSE_ALG_NOT_ALLOWED: 'algorithm not allowed',
  ERR_JWKS_NO_MATCHING_KEY: 'no key for kid',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'several keys match',
  ERR_JWKS_TIMEOUT: 'key set unreachable',
  ERR_JWKS_INVALID: 'key set invalid',
  ERR_JWS_INVALID: 'malformed',
  ERR_JWT_INVALID: 'malformed',
};

/**
 * @example const verify = createCdsVerifier({ clients, baseUrl, jti: memoryJtiStore() }); const client = await verify(jwt, '/cds-services/fgm-is');
 */
export function createCdsVerifier({ clients, baseUrl, jti, now = () => new Date() }: CdsVerifierOptions): CdsVerifier {
  const byIssuer = new Map(clients.map((c) => [c.issuer, c]));
  const files = new Map<string, KeyObject>();
  clients.forEach((c, i) => {
    if (!c.publicKeyFile) return;
    const key = `cdsHooks.clients.${i}.publicKeyFile`;
    let pem: string;
    try {
      pem = readFileSync(c.publicKeyFile, 'utf8');
    } catch (e) {
      throw new ConfigError(
        `config: ${key}: cannot read ${c.publicKeyFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    files.set(c.id, verificationKey(pem, c.publicKeyFile, key, c.algorithms, "the EPR's"));
  });
  const remote = new Map<string, JWTVerifyGetKey>();
  const keySet = (url: string) => {
    let set = remote.get(url);
    if (!set)
      remote.set(url, (set = createRemoteJWKSet(new URL(url), { timeoutDuration: 2000, cooldownDuration: 30_000 })));
    return set;
  };

  return async function verifyCdsClient(token, path) {
    let header: ProtectedHeaderParameters, unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new CdsTokenRejected('malformed');
    }
    const client = typeof unverified.iss === 'string' ? byIssuer.get(unverified.iss) : undefined;
    if (!client) throw new CdsTokenRejected('unknown issuer');
    if (!header.alg || !(client.algorithms as string[]).includes(header.alg))
      throw new CdsTokenRejected('algorithm not allowed');
    // CDS Hooks 2.0: "kid REQUIRED", whichever way the key is found (a key file names one key, but
    // an EPR that omits it is not sending what the specification requires).
    if (typeof header.kid !== 'string' || header.kid === '') throw new CdsTokenRejected('no kid');
    let key: KeyObject | JWTVerifyGetKey;
    if (header.jku !== undefined) {
      // A jku is fetched only from a URL agreed with the client beforehand: otherwise anyone could sign with their own key set.
      if (!client.jkuAllowList?.includes(header.jku)) throw new CdsTokenRejected('jku not on the allow-list');
      key = keySet(header.jku);
    } else {
      key = client.jwksUrl ? keySet(client.jwksUrl) : files.get(client.id)!;
    }
    const audience = `${baseUrl}${path}`;
    let payload;
    try {
      const rules = {
        algorithms: client.algorithms,
        issuer: client.issuer,
        audience,
        typ: 'JWT',
        requiredClaims: ['exp', 'iat', 'jti'],
        maxTokenAge: client.maxLifetimeSeconds,
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: now(),
      };
      ({ payload } =
        typeof key === 'function' ? await jwtVerify(token, key, rules) : await jwtVerify(token, key, rules));
    } catch (e) {
      if (e instanceof errors.JWTClaimValidationFailed) throw new CdsTokenRejected(`claim ${e.claim} refused`);
      if (e instanceof errors.JOSEError) throw new CdsTokenRejected(JOSE_REASONS[e.code] ?? 'refused');
      throw new CdsTokenRejected('key set unreachable');
    }
    // The spec: aud is the endpoint URL, as a string or a one-element array — nothing else alongside.
    if (Array.isArray(payload.aud) && payload.aud.length !== 1) throw new CdsTokenRejected('claim aud refused');
    // jose's maxTokenAge bounds the age since iat (and refuses an iat in the future), not exp - iat.
    const t = now().getTime() / 1000;
    const { exp, iat } = payload as { exp: number; iat: number };
    if (exp - iat > client.maxLifetimeSeconds) throw new CdsTokenRejected('lifetime over the maximum');
    if (typeof payload.jti !== 'string' || !payload.jti || payload.jti.length > 256)
      throw new CdsTokenRejected('claim jti refused');
    let fresh: boolean;
    try {
      fresh = await jti.claim(`${client.id}:${payload.jti}`, exp - t + CLOCK_SKEW_SECONDS);
    } catch {
      throw new CdsTokenRejected('replay check unavailable');
    }
    if (!fresh) throw new CdsTokenRejected('jti replayed');
    return client;
  };
}
