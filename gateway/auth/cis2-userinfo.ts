/**
 * @module auth/cis2-userinfo
 * Confirms a CIS2 access token with NHS CIS2 Authentication's UserInfo endpoint (SMSP-AUDIT-002:
 * the national service says who the user is and which role profiles they hold, never the portal).
 * Plain `fetch` rather than an OpenID client library: the gateway is a resource server, not the
 * relying party, and it needs one deadline over discovery, queueing and UserInfo, no redirects, a
 * size cap and 401 told apart from failure.
 *
 * Before UserInfo is asked, the access token must prove it was issued to this client's portal
 * (RFC 9068 style): a JWT signed by a key of the issuer's JWKS (jose), `iss` the issuer,
 * `client_id` (or `azp`, or an `aud` entry) the portal's CIS2 client id, not expired. A token
 * another relying party obtained is refused locally, without a call to CIS2; an opaque token is
 * refused too, as its binding cannot be proven (fail closed). UserInfo's `sub` must be the JWT's.
 *
 * Answers are cached by the token's SHA-256 (never the token) for `cacheSeconds`, never past the
 * access token's `exp` nor past a new fetch of the key set (a withdrawn key), nor across a reload
 * (each app builds its own), and UserInfo's refusals for NEGATIVE_CACHE_SECONDS at most; concurrent misses for one token share one call, and at most
 * `maxConcurrentCalls` calls are in flight, so a busy clinic or a miss storm cannot flood CIS2.
 * Every failure throws Cis2Refused: the caller refuses the request (fail closed).
 */
import { createHash } from 'node:crypto';
import { decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { guardedKeySet } from './key-set-refetch.ts';
import { withoutTrailingSlashes } from '../fhir/uri.ts';
import type { Cis2Config } from '../config/config.ts';

/** One of the user's role profiles, as the national RBAC directory gave it. */
export interface Cis2Role {
  roleProfileId: string;
  orgCode: string;
  activities: string[];
}

/** What UserInfo said about the session's user. */
export interface Cis2User {
  userId: string;
  name?: string;
  /** The role chosen at sign-in (`selected_roleid`), when CIS2 gives one. */
  selectedRoleId?: string;
  roles: Cis2Role[];
}

/**
 * Why CIS2 did not confirm a session: `token-refused` (UserInfo said 401/403: unknown, expired or
 * revoked), `unavailable` (unreachable, slow, at its call cap, or discovery failed) or
 * `answer-invalid` (a 200 that is not a usable UserInfo answer). `reason` is a fixed phrase for logs.
 */
export class Cis2Refused extends Error {
  override name = 'Cis2Refused';
  constructor(
    readonly kind: 'token-refused' | 'unavailable' | 'answer-invalid',
    readonly reason: string,
    readonly fromUserInfo = false,
  ) {
    super(`CIS2 did not confirm the session: ${reason}`);
  }
}

export type Cis2UserInfo = (accessToken: string) => Promise<Cis2User>;

/** The fixed log phrase for an opaque (non-JWT) access token: the gateway fails closed (docs/operating.md, "Smartcard (CIS2) users"). */
export const OPAQUE_TOKEN_REASON = 'the access token is not a JWT: its binding to this client could not be proven';

/** Whether an access token's claims bind it to the CIS2 client `clientId` (RFC 9068 client_id, else azp or aud). */
export function boundTo(payload: JWTPayload, clientId: string): boolean {
  const aud = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
  return payload.client_id === clientId || payload.azp === clientId || aud.includes(clientId);
}

export interface Cis2UserInfoOptions {
  config: Cis2Config;
  /** The clock for the cache; default the system clock. */
  now?: () => number;
  fetch?: typeof fetch;
}

/** Entries kept at most; the oldest go first (a token seen once is not worth more memory). */
export const CACHE_MAX_ENTRIES = 10_000;
/** A UserInfo answer is a few hundred bytes; a bigger one is nonsense, not worth reading. */
export const MAX_ANSWER_BYTES = 65_536;
/** How long at most a UserInfo refusal (401/403) of a token is remembered (never longer than cacheSeconds). */
export const NEGATIVE_CACHE_SECONDS = 30;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const usableUrl = (u: unknown): u is string => {
  if (typeof u !== 'string') return false;
  try {
    const url = new URL(u);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
  } catch {
    return false;
  }
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** SDS User IDs and Role Profile IDs are 12 digits (cis2.md). */
const id = (v: unknown): v is string => typeof v === 'string' && /^\d{12}$/.test(v);
/** Longest display name kept; a longer one (or one with control characters) is dropped, not used. */
export const MAX_NAME_LENGTH = 200;

/** A token's claims unverified (only to find whose it claims to be), or undefined for a non-JWT. */
export function peekJwt(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

/** A UserInfo answer as a Cis2User, or an answer-invalid refusal: nothing half-read is used. */
export function parseUserInfo(v: unknown): Cis2User {
  const bad = (what: string) => new Cis2Refused('answer-invalid', `UserInfo answer: ${what}`);
  if (!isObject(v)) throw bad('not a JSON object');
  if (!id(v.nhsid_useruid)) throw bad('no nhsid_useruid of 12 digits');
  if (v.selected_roleid !== undefined && !id(v.selected_roleid)) throw bad('selected_roleid is not 12 digits');
  // A user with no role is a real case (the request is then refused for want of a role), so is a missing claim.
  const raw = v.nhsid_nrbac_roles ?? [];
  if (!Array.isArray(raw)) throw bad('nhsid_nrbac_roles is not a list');
  const roles = raw.map((r: unknown) => {
    if (!isObject(r) || !id(r.person_roleid) || typeof r.org_code !== 'string' || !/^[A-Z0-9]{3,10}$/.test(r.org_code))
      throw bad('a role without a 12-digit person_roleid or an org_code');
    const codes = r.activity_codes ?? [];
    if (!Array.isArray(codes) || !codes.every((a) => typeof a === 'string'))
      throw bad('activity_codes is not a list of codes');
    return { roleProfileId: r.person_roleid, orgCode: r.org_code, activities: codes as string[] };
  });
  // One role profile id twice (at two organisations, say) leaves which one was selected open.
  if (new Set(roles.map((r) => r.roleProfileId)).size !== roles.length) throw bad('a person_roleid appears twice');
  const name =
    typeof v.name === 'string' &&
    v.name.trim() &&
    v.name.length <= MAX_NAME_LENGTH &&
    !/[\u0000-\u001f\u007f]/.test(v.name)
      ? v.name
      : undefined;
  return {
    userId: v.nhsid_useruid,
    ...(name ? { name } : {}),
    ...(v.selected_roleid ? { selectedRoleId: v.selected_roleid as string } : {}),
    roles,
  };
}

/** Reads at most MAX_ANSWER_BYTES of a body as JSON. */
async function readJson(res: Response): Promise<unknown> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_ANSWER_BYTES) throw new Cis2Refused('answer-invalid', 'UserInfo answer too large');
  const chunks: Uint8Array[] = [];
  const reader = res.body?.getReader();
  let size = 0;
  for (let r = await reader?.read(); reader && r && !r.done; r = await reader.read()) {
    const value = r.value;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel();
      throw new Cis2Refused('answer-invalid', 'UserInfo answer too large');
    }
    chunks.push(value);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Cis2Refused('answer-invalid', 'UserInfo answer is not JSON');
  }
}

/**
 * Builds the confirmer for one CIS2 environment.
 * @example const userInfo = createCis2UserInfo({ config: client.cis2 }); const user = await userInfo(accessToken);
 */
export function createCis2UserInfo({
  config,
  now = Date.now,
  fetch: fetchFn = fetch,
}: Cis2UserInfoOptions): Cis2UserInfo {
  const cache = new Map<string, { user: Cis2User; until: number } | { refused: Cis2Refused; until: number }>();
  const remember = (
    key: string,
    entry: { user: Cis2User; until: number } | { refused: Cis2Refused; until: number },
  ) => {
    if (cache.size >= CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(key, entry);
  };
  const inFlight = new Map<string, Promise<Cis2User>>();
  type Endpoints = { userInfo: string; keys: JWTVerifyGetKey };
  // Bumped whenever the key set is fetched again: a key may have been withdrawn, so answers confirmed
  // under the old set are forgotten, and an answer still in flight under it is not remembered.
  // The first fetch of a set replaces nothing, so only later ones count.
  let keysGeneration = 0;
  const remoteKeys = (url: string) => {
    // Made-up kids fetch it at most once per JWKS_REFRESH_MS, failing or not (atk21c F4).
    return guardedKeySet(url, {
      fetch: fetchFn,
      timeoutMs: config.timeoutMs,
      changed: () => {
        keysGeneration++;
        cache.clear();
      },
    });
  };
  let endpoint: Endpoints | undefined =
    config.userInfoEndpoint && config.jwksUrl
      ? { userInfo: config.userInfoEndpoint, keys: remoteKeys(config.jwksUrl) }
      : undefined;
  let discovering: Promise<Endpoints> | undefined;
  let calls = 0;
  const waiting: (() => void)[] = [];

  const failed = (e: unknown, signal: AbortSignal, what: string): Cis2Refused =>
    e instanceof Cis2Refused
      ? e
      : new Cis2Refused('unavailable', signal.aborted ? `${what}: deadline passed` : `${what}: unreachable`);

  async function discover(signal: AbortSignal): Promise<Endpoints> {
    const issuer = config.issuer;
    try {
      const res = await fetchFn(`${withoutTrailingSlashes(issuer)}/.well-known/openid-configuration`, {
        signal,
        redirect: 'manual',
        headers: { Accept: 'application/json' },
      });
      if (res.status !== 200) throw new Cis2Refused('unavailable', `discovery: HTTP ${res.status}`);
      const doc = await readJson(res).catch(() => undefined);
      // OpenID Connect Discovery §4.3: the document's issuer must be the one asked about.
      if (!isObject(doc) || doc.issuer !== issuer)
        throw new Cis2Refused('unavailable', 'discovery: the document names another issuer');
      // A discovered URL is https, http only when the issuer itself is loopback (tests, the demo).
      const discovered = (u: unknown): u is string =>
        usableUrl(u) && (u.startsWith('https:') || !issuer.startsWith('https:'));
      if (!discovered(doc.userinfo_endpoint))
        throw new Cis2Refused('unavailable', 'discovery: no https userinfo_endpoint');
      if (!discovered(doc.jwks_uri)) throw new Cis2Refused('unavailable', 'discovery: no https jwks_uri');
      return { userInfo: doc.userinfo_endpoint, keys: remoteKeys(doc.jwks_uri) };
    } catch (e) {
      throw failed(e, signal, 'discovery');
    }
  }

  /** UserInfo and the JWKS: configured, or discovered once (a failed discovery is tried again next time). */
  function endpoints(signal: AbortSignal): Promise<Endpoints> {
    if (endpoint) return Promise.resolve(endpoint);
    discovering ??= discover(signal).then(
      (url) => (endpoint = url),
      (e) => {
        discovering = undefined;
        throw e;
      },
    );
    return discovering;
  }

  /** Waits for one of the maxConcurrentCalls places, or refuses when the deadline passes first. */
  function place(signal: AbortSignal): Promise<() => void> {
    const release = () => {
      calls--;
      waiting.shift()?.();
    };
    if (signal.aborted)
      return Promise.reject(new Cis2Refused('unavailable', 'UserInfo calls at their cap until the deadline'));
    if (calls < config.maxConcurrentCalls) {
      calls++;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const go = () => {
        signal.removeEventListener('abort', onAbort);
        calls++;
        resolve(release);
      };
      const onAbort = () => {
        waiting.splice(waiting.indexOf(go), 1);
        reject(new Cis2Refused('unavailable', 'UserInfo calls at their cap until the deadline'));
      };
      waiting.push(go);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The token's verified claims, or a refusal: issued by the issuer to this client, unexpired. */
  async function verifyBinding(token: string, keys: Endpoints['keys']): Promise<{ sub: string; exp: number }> {
    if (!peekJwt(token)) throw new Cis2Refused('token-refused', OPAQUE_TOKEN_REASON);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: config.issuer,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(now()),
      }));
    } catch (e) {
      if (e instanceof errors.JWKSTimeout) throw new Cis2Refused('unavailable', 'JWKS: deadline passed');
      if (e instanceof errors.JWTExpired) throw new Cis2Refused('token-refused', 'the access token has expired');
      if (e instanceof errors.JWTClaimValidationFailed)
        throw new Cis2Refused('token-refused', `the access token's ${e.claim} claim is not acceptable`);
      if (e instanceof errors.JOSEError && !(e instanceof errors.JWKSInvalid))
        throw new Cis2Refused('token-refused', 'the access token is not signed by a key of the issuer');
      throw new Cis2Refused('unavailable', 'JWKS: unreachable or not a key set');
    }
    if (!boundTo(payload, config.clientId))
      throw new Cis2Refused('token-refused', 'the access token was issued to another client');
    return { sub: payload.sub!, exp: payload.exp! };
  }

  async function ask(token: string): Promise<{ user: Cis2User; exp: number }> {
    const signal = AbortSignal.timeout(config.timeoutMs);
    const { userInfo: url, keys } = await endpoints(signal);
    const { sub, exp } = await verifyBinding(token, keys);
    const release = await place(signal);
    try {
      const res = await fetchFn(url, {
        signal,
        redirect: 'manual',
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      });
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw new Cis2Refused('token-refused', `UserInfo HTTP ${res.status}`, true);
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Cis2Refused('unavailable', `UserInfo HTTP ${res.status}`);
      }
      // Exactly application/json, parameters allowed (application/json-seq is another format).
      if (!/^application\/json\s*(;|$)/i.test(res.headers.get('content-type') ?? '')) {
        await res.body?.cancel();
        throw new Cis2Refused('answer-invalid', 'UserInfo answer is not application/json');
      }
      const answer = await readJson(res);
      // OpenID Connect Core §5.3.2: the UserInfo sub must be the token's, or the answer is not about it.
      if (!isObject(answer) || answer.sub !== sub)
        throw new Cis2Refused('answer-invalid', "UserInfo sub is not the access token's");
      return { user: parseUserInfo(answer), exp: exp * 1000 };
    } catch (e) {
      throw failed(e, signal, 'UserInfo');
    } finally {
      release();
    }
  }

  return async function cis2UserInfo(token) {
    const key = createHash('sha256').update(token).digest('hex');
    const t = now();
    const hit = cache.get(key);
    if (hit && hit.until > t) {
      if ('refused' in hit) throw hit.refused;
      return hit.user;
    }
    if (hit) cache.delete(key);
    let pending = inFlight.get(key);
    if (!pending) {
      const generation = keysGeneration;
      const asked = ask(token);
      pending = asked.then(({ user }) => user).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
      void asked.then(
        ({ user, exp }) => {
          if (generation !== keysGeneration) return;
          const at = now();
          const until = Math.min(at + config.cacheSeconds * 1000, exp);
          if (until <= at) return;
          remember(key, { user, until });
        },
        (e: unknown) => {
          // CIS2's own 401 is kept briefly, so replaying a revoked token does not ask CIS2 each time.
          if (e instanceof Cis2Refused && e.kind === 'token-refused' && e.fromUserInfo)
            remember(key, { refused: e, until: now() + Math.min(config.cacheSeconds, NEGATIVE_CACHE_SECONDS) * 1000 });
        },
      );
    }
    return pending;
  };
}
