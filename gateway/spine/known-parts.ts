/**
 * @module spine/known-parts
 * The known users' part of each client's share, for the in-process limiter (rate-limiter.ts; the
 * Redis script in redis-rate-limiter.ts does the same). The users of one client who asked within
 * SHARING_MS ("sharing", apart from the request that made each known) share KNOWN_SHARE of its
 * rate max-min: each is credited min(userShare, KNOWN_SHARE / sharing) of the share a second, so
 * their credits add up to KNOWN_SHARE of it at most however many ids a caller keeps asking.
 *
 * The credit is kept as a virtual clock per client (`v`: tokens credited so far to each user
 * sharing), advanced whenever someone joins or leaves, so a changing crowd is credited exactly —
 * a rate fixed at each user's last request would let ids that ask one after another as the crowd
 * grows, or fall silent to save tokens, be credited more than the part. A user not sharing (silent
 * for SHARING_MS) is credited nothing: what she had then waits for her return, at most her bucket.
 *
 * Memory is bounded per client: at most `maxKnown` known users. At the bound, admitting one more
 * forgets first the id admitted longest ago that never asked again (a rotated id asks once), and
 * only when every known id has asked again the one quiet longest; so a caller rotating ids cannot
 * push out the clinicians who keep asking. Each client keeps its ids in two orders (admitted and
 * not back yet; back, by last request), so forgetting is O(1) and a sweep touches only those due.
 */

/** How the parts are sized: the gateway's rate and bucket, and one user's part of a share. */
export interface KnownPartsOptions {
  perSecond: number;
  capacity: number;
  userShare: number;
  knownShare: number;
  sharingMs: number;
  /** Known users kept per client at most (see the module comment for who is forgotten first). */
  maxKnown: number;
}

/** A known user's bucket as it stands: within her part while it holds a token. */
export interface KnownBucket {
  tokens: number;
  /** Tokens a second she is credited now (for Retry-After). */
  rate: number;
  /**
   * She was not sharing before this request (silent for SHARING_MS, or not back since she was made
   * known): what her part holds was saved, not credited in this spell (see rate-limiter.ts's pool).
   */
  back: boolean;
}

/** A known user as the budget replacing this one takes her over: her part, her order, her time. */
export interface KnownUser {
  key: string;
  client: string;
  /** What her part held when last settled (at most what it holds). */
  tokens: number;
  /** Her last request (or when she was made known, if she has not asked since). */
  askedAt: number;
  /** She has asked again since she was made known. */
  again: boolean;
}

interface User {
  client: string;
  tokens: number;
  v: number;
  askedAt: number;
  sharing: boolean;
}
// `sharing`: the users sharing, by the time of their last request, oldest first. `once`: ids
// admitted that have not asked again, oldest first; `again`: the others, by last request, oldest first.
interface Client {
  share: number;
  v: number;
  vt: number;
  sharing: Map<string, number>;
  once: Set<string>;
  again: Set<string>;
}

export interface KnownParts {
  /** The known user `key`'s bucket after her request at `t` (which makes her one of those sharing), or undefined if not known. */
  ask(key: string, t: number): KnownBucket | undefined;
  /**
   * Makes `key` known (her first token came from the newcomers' part), her part holding `tokens` to
   * start with, as of `t`; `again`: among those who have asked again (by `t`, her last request).
   */
  admit(client: string, share: number, key: string, t: number, tokens: number, again?: boolean): void;
  /** Whether `key` is known (without counting a request). */
  has(key: string): boolean;
  /**
   * Counts a request of the known user `key` that another budget answered (the shared one in
   * Redis): she moves among those who ask again, by `t`, with her part and her sharing untouched.
   * False if she is not known here.
   */
  seen(key: string, t: number): boolean;
  /** Every known user, those who never asked again first, each order oldest first (so admitting them in turn keeps it). */
  known(): KnownUser[];
  /** Takes one token from a known user's part. */
  take(key: string): void;
  /** Forgets the users who have not asked for `forgetMs`, and those no longer sharing. */
  sweep(t: number, forgetMs: number): void;
}

export function createKnownParts({
  perSecond,
  capacity,
  userShare,
  knownShare,
  sharingMs,
  maxKnown,
}: KnownPartsOptions): KnownParts {
  const users = new Map<string, User>();
  const clients = new Map<string, Client>();
  // Each sharing user's part of the share, and so her bucket's capacity (at least one token: a clinician's next request).
  const part = (sharing: number) => Math.min(userShare, knownShare / Math.max(1, sharing));
  const capOf = (share: number, sharing: number) => Math.max(1, part(sharing) * share * capacity);
  const clientOf = (id: string, share: number, t: number) => {
    let c = clients.get(id);
    if (!c) clients.set(id, (c = { share, v: 0, vt: t, sharing: new Map(), once: new Set(), again: new Set() }));
    return c;
  };
  /** Credits her the clock's advance since her mark (at most her bucket), and moves her mark. */
  const settle = (u: User, c: Client) => {
    u.tokens = Math.min(capOf(c.share, c.sharing.size), u.tokens + (c.v - u.v));
    u.v = c.v;
  };
  /** Runs the client's clock to `t`, letting go, in order, of those whose SHARING_MS ran out. */
  const advance = (c: Client, t: number) => {
    const run = (to: number) => {
      if (c.sharing.size > 0) c.v += ((to - c.vt) / 1000) * part(c.sharing.size) * c.share * perSecond;
      c.vt = to;
    };
    for (const [key, at] of c.sharing) {
      if (at + sharingMs > t) break;
      run(at + sharingMs);
      const u = users.get(key);
      // One forgotten at the bound still counts here until her time is up (no one is credited more
      // for it); if she is known again since, she is not sharing until she asks.
      if (u?.sharing) {
        settle(u, c);
        u.sharing = false;
      }
      c.sharing.delete(key);
    }
    run(t);
  };

  return {
    ask(key, t) {
      const u = users.get(key);
      if (!u) return undefined;
      const c = clients.get(u.client)!;
      advance(c, t);
      if (u.sharing) settle(u, c);
      else u.v = c.v; // silent until now: nothing credited since she stopped sharing
      // Oldest first, so the clock lets go of them in order.
      c.sharing.delete(key);
      c.sharing.set(key, t);
      // Back: among those who ask again, by last request (re-added, so the order stays by time).
      c.once.delete(key);
      c.again.delete(key);
      c.again.add(key);
      const back = !u.sharing;
      u.sharing = true;
      u.askedAt = t;
      u.tokens = Math.min(u.tokens, capOf(c.share, c.sharing.size));
      return { tokens: u.tokens, rate: part(c.sharing.size) * c.share * perSecond, back };
    },
    admit(client, share, key, t, tokens, again = false) {
      // Not sharing yet: a rotated id that never asks again takes nothing from anyone's part.
      users.set(key, { client, tokens, v: 0, askedAt: t, sharing: false });
      const c = clientOf(client, share, t);
      c.once.delete(key);
      c.again.delete(key);
      (again ? c.again : c.once).add(key);
      if (c.once.size + c.again.size <= maxKnown) return;
      // At the bound: the oldest id that never came back, else the one quiet longest (never the one admitted now).
      const oldest = (order: Set<string>) => {
        for (const k of order) if (k !== key) return k;
        return undefined;
      };
      const gone = oldest(c.once) ?? oldest(c.again);
      if (gone === undefined) return;
      c.once.delete(gone);
      c.again.delete(gone);
      users.delete(gone);
    },
    has(key) {
      return users.has(key);
    },
    seen(key, t) {
      const u = users.get(key);
      if (!u) return false;
      const c = clients.get(u.client)!;
      c.once.delete(key);
      c.again.delete(key);
      c.again.add(key);
      u.askedAt = t;
      return true;
    },
    known() {
      const out: KnownUser[] = [];
      for (const c of clients.values())
        for (const [order, again] of [
          [c.once, false],
          [c.again, true],
        ] as const)
          for (const key of order) {
            const u = users.get(key)!;
            out.push({ key, client: u.client, tokens: Math.max(0, u.tokens), askedAt: u.askedAt, again });
          }
      return out;
    },
    take(key) {
      const u = users.get(key);
      if (u) u.tokens -= 1;
    },
    sweep(t, forgetMs) {
      // forgetMs is longer than sharingMs: a user forgotten is no longer sharing. Each order is
      // oldest first, so only those due are touched.
      for (const c of clients.values()) {
        for (const order of [c.once, c.again])
          for (const key of order) {
            if (t - users.get(key)!.askedAt < forgetMs) break;
            order.delete(key);
            users.delete(key);
          }
        advance(c, t);
      }
    },
  };
}
