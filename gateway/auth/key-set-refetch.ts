/**
 * @module auth/key-set-refetch
 * A cache of verified tokens must forget them when a key set is fetched again (a key may have been
 * withdrawn). jose installs the new set only after it has read the body, so forgetting when the
 * answer's headers arrive leaves a gap in which a token is verified against the OLD set and then
 * remembered as if checked against the new one. This fetch wrapper calls `changed` twice: when the
 * answer arrives (nothing verified before it is remembered) and again once jose has installed the
 * body (nothing verified in between is remembered either).
 */

/**
 * Wraps `fetchFn` for jose's `customFetch`: `changed()` on every answer but the first fetch's, and
 * once more after jose has parsed and installed it.
 * @example createRemoteJWKSet(url, { [customFetch]: announcingRefetch(fetch, () => cache.clear()) })
 */
export function announcingRefetch(
  fetchFn: typeof fetch,
  changed: () => void,
  isFirst: () => boolean = firstOnce(),
): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const first = isFirst();
    const res = await fetchFn(input, init);
    if (first) return res;
    changed();
    const body = await res.arrayBuffer();
    // jose awaits res.json() and installs the set in the microtasks after it; setImmediate runs after them.
    setImmediate(changed);
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
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
