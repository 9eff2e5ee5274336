/**
 * @module auth/key-set-refetch
 * A cache of verified tokens must forget them when a key set is fetched again (a key may have been
 * withdrawn). jose installs the new set only after it has read the body, so forgetting when the
 * answer's headers arrive leaves a gap in which a token is verified against the OLD set and then
 * remembered as if checked against the new one. This fetch wrapper calls `changed` twice: once the
 * answer's body is in, before jose reads it (nothing verified before is remembered), and again once
 * jose has installed it (nothing verified in between is remembered either).
 */

import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';

/** How often a token naming an unknown `kid` may make the gateway fetch a key set again. */
export const JWKS_REFRESH_MS = 30_000;

/**
 * A remote key set fetched again only for an unknown `kid`, at most once per JWKS_REFRESH_MS even
 * when the fetch fails, so made-up key ids cannot turn the gateway into a load generator against
 * the identity provider (jose's own cooldown starts only after a successful fetch: atk21c F4).
 * `changed` hears of every other set fetched (see announcingRefetch). `cacheMaxAge` as jose's.
 * @example guardedKeySet(url, { timeoutMs: 5000, changed: () => cache.clear() })
 */
export function guardedKeySet(
  url: string,
  o: { timeoutMs: number; changed?: () => void; fetch?: typeof fetch; cacheMaxAge?: number },
): JWTVerifyGetKey {
  let lastAttempt = -Infinity;
  const announcing = announcingRefetch(o.fetch ?? fetch, o.changed ?? (() => {}));
  const guarded = ((input: RequestInfo | URL, init?: RequestInit) => {
    if (Date.now() - lastAttempt < JWKS_REFRESH_MS) return Promise.reject(new Error('key set fetched too recently'));
    lastAttempt = Date.now();
    return announcing(input, init);
  }) as typeof fetch;
  return createRemoteJWKSet(new URL(url), {
    cooldownDuration: JWKS_REFRESH_MS,
    timeoutDuration: o.timeoutMs,
    ...(o.cacheMaxAge !== undefined && { cacheMaxAge: o.cacheMaxAge }),
    [customFetch]: guarded,
  });
}

/**
 * Wraps `fetchFn` for jose's `customFetch`: `changed()` on every successful answer but the first
 * fetch's whose body differs from the last set fetched, and once more after jose has parsed and installed it. The
 * same set fetched again changes nothing: a token naming a made-up `kid` makes jose fetch the set
 * again, and forgetting every verified token on each such fetch let anyone without a key wipe the
 * caches (every clinician's UserInfo call repeated against CIS2; hostile review atk21b F4).
 * @example createRemoteJWKSet(url, { [customFetch]: announcingRefetch(fetch, () => cache.clear()) })
 */
export function announcingRefetch(
  fetchFn: typeof fetch,
  changed: () => void,
  isFirst: () => boolean = firstOnce(),
): typeof fetch {
  let last: Buffer | undefined;
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const first = isFirst();
    const res = await fetchFn(input, init);
    const body = Buffer.from(await res.arrayBuffer());
    const same = last !== undefined && body.equals(last);
    if (res.ok) last = body;
    // Changed before jose sees the body: nothing verified under the old set from here is remembered.
    // An error answer installs nothing (jose keeps the set it has), so it changes nothing either:
    // forged kids during an identity provider's incident must not wipe the caches (atk21c F4).
    if (!first && res.ok && !same) {
      changed();
      // jose awaits res.json() and installs the set in the microtasks after it; setImmediate runs after them.
      setImmediate(changed);
    }
    return new Response(new Uint8Array(body), { status: res.status, statusText: res.statusText, headers: res.headers });
  }) as typeof fetch;
}

/** True the first time it is called, false after. */
function firstOnce(): () => boolean {
  let called = false;
  return () => {
    const first = !called;
    called = true;
    return first;
  };
}
