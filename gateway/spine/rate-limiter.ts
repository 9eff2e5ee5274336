/**
 * @module spine/rate-limiter
 * The gateway-wide token bucket in front of Spine (SMSP-PERF-001). It never queues: a request
 * that finds no token gets the busy tone at once, so a burst from clients cannot pile up.
 * Interactive traffic may take any token; batch traffic only takes a token while the bucket holds
 * more than a reserve kept for people at a screen (SMSP-PERF-007).
 *
 * Per-client shares keep one client from starving another: each client also has a small bucket
 * of its own, refilled at its share of the rate. Within its share a client draws on its
 * priority's whole part of the gateway bucket. Beyond its share it still gets whatever is spare,
 * but while another client of the same priority is asking, only from the upper half of that
 * part — the lower half is left for the clients still within their shares.
 *
 * Users get the same inside their client's share (issue 21): each user (a widget user, or the
 * originating system and user a client system or CDS client names) has a bucket of `userShare`
 * of the client's share. Within it a user may take any token of the priority (the parts add up to
 * less than the share: she is within it whatever the client's bucket holds). Beyond it she draws
 * on her client's bucket while it has a token, then on spare tokens, but never below a level kept
 * for requests within a part, always (the first request of a clinician who has not asked for a
 * while must not find the bucket emptied by another user): the upper half of her priority's part;
 * for interactive while batch traffic asks, half the interactive reserve instead, so interactive
 * demand beyond its parts still comes before batch, which stops at the reserve (SMSP-PERF-007).
 * Beyond her client's share, while another client of the priority asks, only the upper half, as
 * the client rule says. So one user's flood gets the busy tone while the client's other users are
 * still answered, and a clinic of new users asking while batch floods gets what it would without
 * the per-user rules but for the tokens kept (half the reserve; the bound is tested).
 * A lone flooder keeps the sustained rate (the bucket still refills).
 *
 * A user id the gateway does not know yet has no part of its own: its part is funded from the
 * client's newcomers' part (NEWCOMERS_SHARE of its share) shared by every id not yet known. An id
 * whose first request that part funds is known from then on (until it has not asked for
 * KNOWN_USER_MS) and has its own part, whose first token the newcomers' part pays too (a whole
 * token, so her next check is within her part: the part may owe up to one token for it, and then
 * funds no one until repaid; it still pays two tokens per id at its rate). So a
 * caller rotating a new user id per request (a portal, or a client system asserting its
 * originating user) gets, with all its ids together, the newcomers' part plus its client's share
 * and spare tokens above those kept, and
 * the colleagues already at work keep theirs; one flooding user takes two tokens of the newcomers'
 * part. No rule can tell a rotated id from a clinician's first request: while such a flood runs,
 * a clinician of the same client new to the gateway (or quiet for KNOWN_USER_MS, a shift) competes
 * for the newcomers' part and may hear the busy tone; the newcomers' part is each client's own, so
 * another client's newcomers are untouched. For the same reason a clinic of new users arriving at
 * once on an idle gateway gets the newcomers' part and the upper half only (about half the burst):
 * opening the lower half to them would open it to a rotation begun on an idle gateway.
 *
 * The known users' parts of one client add up to at most KNOWN_SHARE of its share (known-parts.ts),
 * so a caller that farms ids cannot hold more parts than the client has: each user who asked
 * within SHARING_MS (apart from the request that made her known) is credited min(userShare,
 * KNOWN_SHARE / those asking) of the share a second, her bucket max(1, that part × capacity).
 * What the parts hold is bounded in sum too (atk21c F1): each client has a *known users' pool*, a
 * bucket refilled at KNOWN_SHARE of its share (holding that share of the burst, plus one token), and
 * a known user is within her part only while her part has a token and the pool has one; she takes
 * one from each. So tokens saved in parts — a token for each of 20,000 farmed ids, kept while they
 * are silent — cross at most the pool's rate, inside their own client's share: the pool empty, the
 * ids are beyond their parts, as any user beyond hers. The bound: with NEWCOMERS_SHARE +
 * KNOWN_SHARE < 1, requests within a part (the only ones that reach the tokens kept below
 * beyond-part requests) take at most 0.9 of a client's share a second (plus the newcomers' part,
 * the one token it may owe, and the pool: at most 0.9 of the share's part of the burst, plus two
 * tokens), so those tokens refill at 0.1 of the share or more however the client's ids flood, and
 * a colleague within her part finds one there. What it cannot promise: (1) bursts — the newcomers'
 * part and the pool, full before a flood, can empty the kept tokens once (sooner while batch asks),
 * after which they refill at that 0.1; (2) dilution — the more ids a caller keeps asking, the
 * smaller everyone's part: a colleague asking more often than her part allows is beyond it, and a
 * flood leaves nothing spare; (3) the pool is the client's: while a caller replays tokens saved in
 * many ids, a clinician *of the same client* competes with it for the pool (a credited colleague
 * finds the pool's last token only as often as the replay leaves it), as a newcomer competes with
 * rotated ids for the newcomers' part; another client's pool is untouched.
 * Memory follows the ids that were given a part (at most one part's rate of them, and at most
 * MAX_KNOWN_USERS per client, those that never asked again forgotten first), not every id seen.
 */

import { createHmac, randomBytes } from 'node:crypto';
import { createKnownParts, type KnownUser } from './known-parts.ts';

export type Priority = 'interactive' | 'batch';

export interface RateLimiterOptions {
  /** Sustained requests per second allowed to reach Spine. */
  perSecond: number;
  /** Extra requests allowed in a burst above the sustained rate. */
  burst: number;
  /** Tokens batch traffic must leave in the bucket; default half the bucket (none when burst is 0). */
  interactiveReserve?: number;
  /** Each client's share of the rate, by client id (fractions, see clientShares); without it, no per-client fairness. */
  shares?: Readonly<Record<string, number>>;
  /** Each user's part of its client's share (spine.rateLimit.userShare); without it, no per-user fairness. */
  userShare?: number;
  /** Known users kept per client (MAX_KNOWN_USERS), smaller in tests. */
  maxKnownUsers?: number;
  /** Milliseconds clock, injectable for tests. */
  now?: () => number;
  /**
   * The budget this one replaces (a reload that changed the rate or the shares): the users it
   * knows are known here too, each part holding what it held (at most one token), each where she
   * was in the order of forgetting and with her last request's time, so a reload during a flood of
   * rotated ids does not make every clinician a newcomer (hostile review atk21b F1), nor file her
   * with the ids that never came back, nor restart anyone's KNOWN_USER_MS (atk21c F3); and ids
   * farmed before the reload gain nothing by it. Its buckets hand on what they hold (each at most
   * its new capacity), so a reload is not a fresh burst (atk21c F5).
   */
  carry?: LocalRateLimiter;
}

/** The levels of a budget's buckets at one moment, by client id where they are a client's. */
interface Levels {
  tokens: number;
  batchAt: number;
  own: Map<string, { tokens: number; priority?: Priority; askedAt: number }>;
  newcomers: Map<string, number>;
  pools: Map<string, number>;
}
/** What a budget hands the one that replaces it: its key secret, whom it knows and what its buckets hold now. */
const carried = new WeakMap<LocalRateLimiter, { secret: Buffer; known: () => KnownUser[]; levels: () => Levels }>();

export interface RateLimiter {
  /** Takes a token if the priority (and the client's and user's parts) may have one now; false means answer with the busy tone. */
  tryAcquire(priority: Priority, clientId?: string, userId?: string): boolean | Promise<boolean>;
  /** Seconds until a token for `priority` (and this client and user) is likely, for Retry-After (at least 1). */
  retryAfterSeconds(priority: Priority, clientId?: string, userId?: string): number | Promise<number>;
}

/** The in-process limiter: synchronous (the shared one in redis-rate-limiter.ts asks Redis). */
export interface LocalRateLimiter extends RateLimiter {
  tryAcquire(priority: Priority, clientId?: string, userId?: string): boolean;
  retryAfterSeconds(priority: Priority, clientId?: string, userId?: string): number;
  /**
   * Counts a request of a user whom another budget (the shared one in Redis) knows and answered:
   * if she is known here, as her asking again; if not, she is made known with her part's first
   * token, so that on this budget she is not a newcomer beside a flood — among those who asked
   * again when `again` (she was known there before this request), else as one just made known.
   */
  know(clientId: string, userId: string, again: boolean): void;
  /**
   * Takes a token that another budget (the shared one in Redis) granted, from the bucket and the
   * client's share, with no user's part touched: so this budget is no fuller when it must decide
   * alone than the traffic it saw leaves it, but for half of each, kept so that clinicians are
   * answered at once when it must.
   */
  charge(clientId?: string): void;
}

/** A client counts as asking for this long after its last request: long enough to span a clinician's pauses. Shared with redis-rate-limiter.ts. */
export const ASKING_MS = 10_000;

/**
 * A known user shares her client's known users' part (is credited, and counted in dividing it)
 * this long after her last request: a minute spans a clinician's pauses between records, and a
 * part of one token a minute at least keeps her answered while up to KNOWN_SHARE × share × rate
 * × 60 ids share it. Shared with redis-rate-limiter.ts.
 */
export const SHARING_MS = 60_000;

/**
 * A user who was given a part stays known (keeps her own part) this long after her last request:
 * a shift, so a clinician back from a break, a theatre list or a ward round is not a newcomer
 * again (competing with a caller's rotated ids for the newcomers' part). Shared with redis-rate-limiter.ts.
 */
export const KNOWN_USER_MS = 12 * 60 * 60_000;

/**
 * Known users kept per client at most, so a shift's memory stays bounded (about 200 bytes each in
 * process, a little more in Redis): more than a large trust's clinicians in a shift. At the bound
 * the ids that never asked again go first (known-parts.ts). Shared with redis-rate-limiter.ts.
 */
export const MAX_KNOWN_USERS = 20_000;

/**
 * The newcomers' part: this much of a client's share (or one user's part, if larger) funds the
 * first requests of the ids not known yet. Half: rotating ids can take no more than half of their
 * client's share from the colleagues already at work, and clinicians arriving together at a busy
 * moment (the start of a clinic) still find the interactive reserve (SMSP-PERF-007) for them.
 * Shared with redis-rate-limiter.ts.
 */
export const NEWCOMERS_SHARE = 0.5;

/**
 * The known users' part: their parts of a client's share add up to at most this much of it, so
 * farmed ids cannot hold more than the client has. With NEWCOMERS_SHARE it leaves a tenth of each
 * share that no request within a part can take: the tokens kept below beyond-part requests always refill.
 * Shared with redis-rate-limiter.ts.
 */
export const KNOWN_SHARE = 0.4;

/**
 * The secret of the shared Spine budget's user keys in Redis, derived from the audit HMAC key for
 * this use alone (as the access log's is), so whoever reads Redis cannot test guessed user ids
 * and a Redis key cannot be matched to a log line. Gateways sharing a budget share the audit key
 * (as they must to write one PostgreSQL trail); with different keys one user would have a part on each.
 */
export function budgetUserKeySecret(auditHmacKey: Buffer): Buffer {
  return createHmac('sha256', auditHmacKey).update('fgm-status spine budget user key v1').digest();
}

/**
 * The key of a user's bucket: keyed (HMAC-SHA-256), so user ids are neither kept in clear, nor of
 * unbounded length, nor recoverable by hashing guessed ids without the secret.
 */
export function userKey(secret: Buffer, clientId: string, userId: string): string {
  return createHmac('sha256', secret).update(`${clientId}\u0000${userId}`).digest('base64url').slice(0, 22);
}

/**
 * @example const limiter = createRateLimiter({ perSecond: 50, burst: 20, shares: { epr: 0.5, chs: 0.5 } });
 * if (!limiter.tryAcquire('interactive', 'epr')) return busyTone();
 */
export function createRateLimiter({
  perSecond,
  burst,
  interactiveReserve,
  shares,
  userShare,
  maxKnownUsers = MAX_KNOWN_USERS,
  now = performance.now.bind(performance),
  carry,
}: RateLimiterOptions): LocalRateLimiter {
  if (!(perSecond > 0)) throw new Error('rateLimit.perSecond must be greater than 0');
  if (!(burst >= 0)) throw new Error('rateLimit.burst must be 0 or more');
  // The bucket holds the burst plus one token: with burst 0 a single request per 1/rate still passes.
  const capacity = burst + 1;
  // Batch must always be able to reach the last token, or it would starve even with Spine idle.
  const reserve = Math.min(interactiveReserve ?? Math.floor(capacity / 2), capacity - 1);
  let last = now();
  // The budget this one replaces, and what its buckets hold now (refilled to now).
  const from = carry && carried.get(carry);
  const was = from?.levels();
  let tokens = Math.min(capacity, was?.tokens ?? capacity);
  // When batch traffic last asked.
  let batchAt = was?.batchAt ?? -Infinity;

  interface Share {
    rate: number;
    capacity: number;
    tokens: number;
    last: number;
    priority?: Priority;
    askedAt: number;
  }
  const own = new Map<string, Share>(
    Object.entries(shares ?? {}).map(([id, share]) => {
      const cap = Math.max(1, share * capacity);
      const before = was?.own.get(id);
      return [
        id,
        {
          rate: share * perSecond,
          capacity: cap,
          tokens: Math.min(cap, before?.tokens ?? cap),
          last,
          askedAt: before?.askedAt ?? -Infinity,
          ...(before?.priority && { priority: before.priority }),
        },
      ];
    }),
  );
  // Known users' parts (made when the newcomers' part funds an id's first request, dropped once
  // the user has not asked for KNOWN_USER_MS), each client's newcomers' part and its known users'
  // pool (each dropped once full).
  interface Bucket {
    tokens: number;
    last: number;
    rate: number;
    capacity: number;
  }
  const known = createKnownParts({
    perSecond,
    capacity,
    userShare: userShare ?? 1,
    knownShare: KNOWN_SHARE,
    sharingMs: SHARING_MS,
    maxKnown: maxKnownUsers,
  });
  const newcomers = new Map<string, Bucket>();
  const pools = new Map<string, Bucket>();
  // Keys never leave the process: a secret of its own, so a heap dump's keys cannot be matched to ids
  // (the budget it replaces hands on its own, with the keys it knows).
  const secret = from?.secret ?? randomBytes(32);
  const fill = (b: Bucket, t: number) => {
    b.tokens = Math.min(b.capacity, b.tokens + ((t - b.last) / 1000) * b.rate);
    b.last = t;
  };
  const clientShare = (clientId: string | undefined) => (shares ? (shares[clientId ?? ''] ?? 0) : 1);
  /**
   * The client's part of `fraction` of its share: the newcomers' part, holding that fraction of the
   * burst (at least one token); or the known users' pool, holding one token more (`headroom`), so a
   * clinician's saved token still finds one right after a colleague's credited token is taken.
   * Full when new, or what the budget this one replaces held (`carried`).
   */
  const partBucket = (
    buckets: Map<string, Bucket>,
    id: string,
    fraction: number,
    headroom: number,
    t: number,
    carried?: Map<string, number>,
  ) => {
    let b = buckets.get(id);
    if (!b) {
      const share = clientShare(id);
      const cap = headroom > 0 ? fraction * share * capacity + headroom : Math.max(1, fraction * share * capacity);
      const held = carried?.get(id);
      buckets.set(
        id,
        (b = { rate: fraction * share * perSecond, capacity: cap, tokens: Math.min(cap, held ?? cap), last: t }),
      );
    }
    fill(b, t);
    return b;
  };
  const newcomersOf = (id: string, t: number, carried?: Map<string, number>) =>
    partBucket(newcomers, id, NEWCOMERS_SHARE, 0, t, carried);
  const poolOf = (id: string, t: number, carried?: Map<string, number>) =>
    partBucket(pools, id, KNOWN_SHARE, 1, t, carried);
  if (userShare !== undefined) {
    // Each in its order (those who never asked again, then the others), with her time.
    for (const u of from?.known() ?? []) {
      const share = clientShare(u.client);
      if (share > 0) known.admit(u.client, share, u.key, u.askedAt, Math.min(1, u.tokens), u.again);
    }
    // The parts not full when it was replaced (the others were dropped, full, as they are here).
    for (const [id] of was?.newcomers ?? []) if (clientShare(id) > 0) newcomersOf(id, last, was?.newcomers);
    for (const [id] of was?.pools ?? []) if (clientShare(id) > 0) poolOf(id, last, was?.pools);
  }
  /**
   * The part a user's request is within or beyond: whether it is within, how long until it would be
   * (seconds), and how a token is taken from it.
   */
  const partOf = (
    clientId: string | undefined,
    userId: string | undefined,
    t: number,
  ): { within: boolean; wait: number; take: () => void } | undefined => {
    if (userShare === undefined || userId === undefined) return undefined;
    const id = clientId ?? '';
    const share = clientShare(clientId);
    if (!(share > 0)) return undefined;
    const key = userKey(secret, id, userId);
    const mine = known.ask(key, t);
    if (mine) {
      // Within her part only while her client's known users' pool has a token too: what the parts
      // hold, however many ids saved it, crosses at most the pool's rate (atk21c F1).
      const pool = poolOf(id, t);
      return {
        within: has(mine) && has(pool),
        wait: Math.max(wait(0, mine.tokens, mine.rate), wait(0, pool.tokens, pool.rate)),
        take: () => {
          known.take(key);
          pool.tokens -= 1;
        },
      };
    }
    const from = newcomersOf(id, t);
    return {
      within: has(from),
      wait: wait(0, from.tokens, from.rate),
      // Its first token comes from the newcomers' part, and so does the first of its own part: one
      // whole token, so her next check is within her part even when the newcomers' part held less
      // than two (it then owes the rest, at most one token, before it funds another id). A farmed id
      // holds nothing the newcomers' part did not pay for.
      take: () => {
        from.tokens -= 2;
        known.admit(id, share, key, t, 1);
      },
    };
  };
  let swept = last;
  const sweep = (t: number) => {
    if (t - swept < 1000) return;
    swept = t;
    known.sweep(t, KNOWN_USER_MS);
    for (const parts of [newcomers, pools])
      for (const [id, p] of parts) if (p.tokens + ((t - p.last) / 1000) * p.rate >= p.capacity) parts.delete(id);
  };

  const refill = () => {
    const t = now();
    tokens = Math.min(capacity, tokens + ((t - last) / 1000) * perSecond);
    last = t;
    for (const s of own.values()) {
      s.tokens = Math.min(s.capacity, s.tokens + ((t - s.last) / 1000) * s.rate);
      s.last = t;
    }
    sweep(t);
    return t;
  };
  // The lowest level of the bucket a priority may take from: everything for interactive, above the reserve for batch.
  const base = (p: Priority) => (p === 'batch' ? reserve : 0);
  // Over its share with another client of its priority asking: the upper half of its priority's part only.
  const overShare = (p: Priority) => base(p) + Math.floor((capacity - base(p)) / 2);
  const othersAsking = (id: string | undefined, p: Priority, t: number) =>
    [...own].some(([other, s]) => other !== id && s.priority === p && t - s.askedAt < ASKING_MS);
  function has(b: { tokens: number }) {
    return b.tokens >= 1 - 1e-9;
  }
  const within = (id: string | undefined) => !shares || (own.get(id ?? '')?.tokens ?? 0) >= 1 - 1e-9;
  // Beyond her part a user goes no lower than this; the tokens below are kept for requests within a
  // part. The upper half of her priority's part; for interactive while batch asks, the upper half
  // of the interactive reserve instead, so beyond-part interactive demand comes before batch (which
  // stops at the reserve, SMSP-PERF-007) — fewer tokens kept, only while batch could take the rest.
  const keep = (p: Priority, t: number) =>
    p === 'interactive' && reserve >= 2 && t - batchAt < ASKING_MS ? Math.floor(reserve / 2) : overShare(p);
  const clientFloor = (p: Priority, id: string | undefined, t: number) =>
    within(id) || !othersAsking(id, p, t) ? base(p) : overShare(p);
  // Within her part a user is within her client's share (the parts add up to less than it), whatever
  // the client's bucket holds: beyond-part colleagues drawing it cannot push her into the upper half.
  const floor = (p: Priority, id: string | undefined, t: number, userWithin: boolean | undefined) =>
    userWithin === false ? Math.max(clientFloor(p, id, t), keep(p, t)) : userWithin ? base(p) : clientFloor(p, id, t);
  function wait(level: number, have: number, rate: number) {
    return Math.max(0, level + 1 - have) / rate;
  }

  const limiter: LocalRateLimiter = {
    tryAcquire(priority, clientId, userId) {
      const t = refill();
      const mine = own.get(clientId ?? '');
      const part = partOf(clientId, userId, t);
      const allowed = floor(priority, clientId, t, part?.within);
      if (mine) Object.assign(mine, { priority, askedAt: t });
      if (priority === 'batch') batchAt = t;
      // The epsilon absorbs float drift from many small refills (0.1 × 10 is 0.9999…).
      if (tokens - 1 < allowed - 1e-9) return false;
      tokens -= 1;
      // Beyond its part a user draws on its client's share while it lasts, then on spare tokens; its own part is not overdrawn.
      if (part?.within) part.take();
      if (mine && mine.tokens >= 1 - 1e-9) mine.tokens -= 1;
      return true;
    },
    charge(clientId) {
      refill();
      const spend = (have: number, cap: number) => Math.max(Math.min(have, cap / 2), have - 1);
      tokens = spend(tokens, capacity);
      const mine = own.get(clientId ?? '');
      if (mine) mine.tokens = spend(mine.tokens, mine.capacity);
    },
    know(clientId, userId, again) {
      const share = clientShare(clientId);
      if (userShare === undefined || !(share > 0)) return;
      const key = userKey(secret, clientId, userId);
      const t = now();
      // Another budget answered her: known here, she asked again (atk21c F3); not yet, she is filed as it files her.
      if (!known.seen(key, t)) known.admit(clientId, share, key, t, 1, again);
    },
    retryAfterSeconds(priority, clientId, userId) {
      const t = refill();
      const mine = own.get(clientId ?? '');
      const part = partOf(clientId, userId, t);
      let seconds = wait(floor(priority, clientId, t, part?.within), tokens, perSecond);
      // Over its part, the user may also be served once its part and its client's pool have a token again.
      if (part && !part.within)
        seconds = Math.min(seconds, Math.max(part.wait, wait(base(priority), tokens, perSecond)));
      // Over its share, the client may also be served once its own bucket has a token again.
      else if (mine && !within(clientId))
        seconds = Math.min(seconds, Math.max(wait(0, mine.tokens, mine.rate), wait(base(priority), tokens, perSecond)));
      return Math.max(1, Math.ceil(seconds));
    },
  };
  carried.set(limiter, {
    secret,
    known: () => known.known(),
    levels: () => {
      refill();
      const level = (parts: Map<string, Bucket>) => new Map([...parts].map(([id, b]) => [id, b.tokens]));
      return {
        tokens,
        batchAt,
        own: new Map(
          [...own].map(([id, s]) => [
            id,
            { tokens: s.tokens, askedAt: s.askedAt, ...(s.priority && { priority: s.priority }) },
          ]),
        ),
        newcomers: level(newcomers),
        pools: level(pools),
      };
    },
  });
  return limiter;
}
