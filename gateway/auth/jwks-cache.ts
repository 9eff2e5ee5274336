/**
 * @module auth/jwks-cache
 * A client's JSON Web Key Set, fetched on first use and re-fetched only when a token names a
 * `kid` the cached set lacks — at most once per `minRefreshMs`, so a flood of tokens with
 * made-up key ids cannot turn the gateway into a load generator against the identity provider.
 */
import type { HonoJsonWebKey } from 'hono/utils/jwt/jws';

export interface JwksCacheOptions {
  url: string;
  /** Injected for tests; default global fetch. */
  fetch?: typeof fetch;
  /** Default 30 s. */
  minRefreshMs?: number;
  /** Default 5 s: a slow key server must not hold requests for long. */
  timeoutMs?: number;
  now?: () => number;
}

export interface JwksCache {
  /** The key with this `kid`, refreshing the set if allowed; undefined when there is none. */
  find(kid: string): Promise<HonoJsonWebKey | undefined>;
}

/**
 * Creates the cache for one JWKS URL.
 * @example const jwks = createJwksCache({ url: 'https://idp.example/jwks.json' }); await jwks.find(header.kid)
 */
export function createJwksCache({ url, fetch: fetchFn = fetch, minRefreshMs = 30_000, timeoutMs = 5000, now = Date.now }: JwksCacheOptions): JwksCache {
  let keys: HonoJsonWebKey[] = [];
  let fetchedAt = -Infinity;
  let inFlight: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    fetchedAt = now();
    try {
      const res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
      if (!res.ok) return;
      const body = (await res.json()) as { keys?: unknown };
      if (Array.isArray(body.keys)) keys = body.keys.filter((k): k is HonoJsonWebKey => typeof k === 'object' && k !== null && typeof (k as { kid?: unknown }).kid === 'string');
    } catch {
      // Keep the keys we had: an identity provider outage must not revoke valid sessions early.
    }
  }

  return {
    async find(kid) {
      const known = keys.find((k) => k.kid === kid);
      if (known) return known;
      if (now() - fetchedAt >= minRefreshMs) {
        inFlight ??= refresh().finally(() => (inFlight = undefined));
      }
      if (inFlight) await inFlight;
      return keys.find((k) => k.kid === kid);
    },
  };
}
