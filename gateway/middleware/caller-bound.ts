/**
 * @module middleware/caller-bound
 * Per-caller bounds on requests in flight (issue 21): once a request's headers have proved who
 * is asking (token verification is cheap next to holding a socket), it counts against its client
 * system or CDS client (`listen.maxInFlightPerClient`), before its body is read, and against its
 * user (`listen.maxInFlightPerUser`) as soon as the user is known (`nameUser`): on the widget API
 * from the token, so before the body too; on the FHIR interface and CDS Hooks from the message
 * itself (the originating system and user, the EPR user), so once the body is parsed. Over a
 * bound it is answered at once with the busy tone (SPINE_BUSY, Retry-After 1), so one caller's
 * many or slow requests leave the rest their turn. A request counts until its answer has been
 * taken by its reader (or its connection closed), not merely until the handler returns: a caller
 * who does not read its answers still holds its share. It also tells the connection bound
 * (connection-bound.ts) whose connection this is: the widget user's, or the client system's or
 * CDS client's (its connections carry many users' requests). The counts live outside the app, so
 * a reload keeps them.
 *
 * Slow bodies (issue 21): until its body has arrived a FHIR or CDS request names no user, so
 * only its client's bound holds it, and one source's slow bodies could fill that bound and lock
 * out the client's other users. So a request at its client's bound is not refused while some
 * request of that client is still waiting for its body: the waiting one is closed instead (its
 * connection destroyed, as the connection bound and `listen.bodyTimeoutMs` close slow bodies),
 * taken from the source (an IPv4 address, an IPv6 /64) with the most waiting, its oldest first.
 * Only when every request of the client in flight has its body does a newcomer hear the busy
 * tone. A connection carries one waiting body at most (HTTP/1.1 reads the next request only once
 * a body has arrived), so per source is per connection too.
 */
import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import type { IncomingMessage } from 'node:http';
import type { GatewayEnv } from '../env.ts';
import { sourceOf } from '../server/connection-bound.ts';
import { SmspError } from '../smsp-error.ts';

export interface InFlightCounts {
  /**
   * Counts one request for each key; undefined (and nothing counted) when a key is at its bound
   * and no request counted under it is waiting for its body. When every key at its bound has
   * such a request, one of each is closed (`awaitBody`) to make room.
   */
  enter(bounds: readonly (readonly [key: string, max: number])[]): (() => void) | undefined;
  /**
   * Notes a request counted under `key` whose body is still awaited from `source`; `close` must
   * give back its counts at once and close its connection. `arrived` says whether its body has
   * since arrived. Returns what to call once the body has arrived or the request is over.
   */
  awaitBody(key: string, source: string, wait: { arrived: () => boolean; close: () => void }): () => void;
}

interface Waiting {
  seq: number;
  arrived: () => boolean;
  close: () => void;
}

/** The counts a gateway keeps across reloads. */
export function inFlightCounts(): InFlightCounts {
  const counts = new Map<string, number>();
  // Per key, per source, its requests waiting for their bodies in the order they came.
  const waiting = new Map<string, Map<string, Set<Waiting>>>();
  let seq = 0;
  const forget = (key: string, source: string, w: Waiting) => {
    const bySource = waiting.get(key);
    const set = bySource?.get(source);
    if (!set?.delete(w)) return;
    if (set.size === 0) bySource!.delete(source);
    if (bySource!.size === 0) waiting.delete(key);
  };
  /** The oldest waiting request of the source with the most waiting under `key` (ties: the oldest first), bodies since arrived dropped. */
  const victim = (key: string): { source: string; w: Waiting } | undefined => {
    const bySource = waiting.get(key);
    if (!bySource) return undefined;
    for (const [source, set] of [...bySource]) for (const w of [...set]) if (w.arrived()) forget(key, source, w);
    let best: { source: string; w: Waiting; n: number } | undefined;
    for (const [source, set] of bySource) {
      const [w] = set;
      if (w && (!best || set.size > best.n || (set.size === best.n && w.seq < best.w.seq)))
        best = { source, w, n: set.size };
    }
    return best;
  };
  return {
    enter(bounds) {
      const full = bounds.filter(([key, max]) => (counts.get(key) ?? 0) >= max);
      const victims = full.map(([key]) => victim(key));
      if (victims.some((v) => v === undefined)) return undefined;
      for (const [i, v] of victims.entries()) {
        forget(full[i]![0], v!.source, v!.w);
        v!.w.close();
      }
      if (bounds.some(([key, max]) => (counts.get(key) ?? 0) >= max)) return undefined;
      for (const [key] of bounds) counts.set(key, (counts.get(key) ?? 0) + 1);
      let left = false;
      return () => {
        if (left) return;
        left = true;
        for (const [key] of bounds) {
          const n = (counts.get(key) ?? 1) - 1;
          if (n > 0) counts.set(key, n);
          else counts.delete(key);
        }
      };
    },
    awaitBody(key, source, { arrived, close }) {
      const w = { seq: seq++, arrived, close };
      let bySource = waiting.get(key);
      if (!bySource) waiting.set(key, (bySource = new Map<string, Set<Waiting>>()));
      let set = bySource.get(source);
      if (!set) bySource.set(source, (set = new Set()));
      set.add(w);
      return () => forget(key, source, w);
    },
  };
}

/** The access log's reason for a request closed, its body not yet arrived, to make room for a newcomer of its client. */
export const BODY_AWAITED_REASON = "closed for a newcomer: body not arrived at the client's in-flight bound";

/** A user id longer than this is known by its hash: the id is the caller's text, kept in memory and keys. */
const MAX_USER_ID_LENGTH = 128;

/**
 * Names the user a request is counted, rate-limited and logged under within its client
 * (`callerUser`), and counts it against her in-flight bound if callerBound has already run (it
 * throws the busy tone when she is at it). An id over MAX_USER_ID_LENGTH characters becomes
 * `sha256:` and the base64url SHA-256 of it, so two ids stay two users whatever their length.
 * @example nameUser(c, `${q.sourceAsid}/${q.author.localId}`)
 */
export function nameUser(c: Context<GatewayEnv>, userId: string): string {
  const user =
    userId.length <= MAX_USER_ID_LENGTH ? userId : `sha256:${createHash('sha256').update(userId).digest('base64url')}`;
  c.set('callerUser', user);
  c.get('countUser')?.(user);
  return user;
}

export interface CallerBoundOptions {
  counts: InFlightCounts;
  maxPerClient: number;
  maxPerUser: number;
  /** Names the request's connection's caller (server.ts's connection bound). */
  claim?: (req: IncomingMessage, caller: string) => void;
  /** A request still waiting for its body was closed to make room for a newcomer of its client (a metric). */
  onShed?: () => void;
}

/**
 * After authentication, before the body.
 * @example app.post('/api/fgm-status', sessionAuth(...), callerBound({ counts, maxPerClient: 200, maxPerUser: 8 }), bodyLimit(...), ...)
 */
export function callerBound({
  counts,
  maxPerClient,
  maxPerUser,
  claim,
  onShed,
}: CallerBoundOptions): MiddlewareHandler<GatewayEnv> {
  return async function callerBound(c, next) {
    const clientId = c.get('client')?.id ?? c.get('cdsClient')?.id;
    if (clientId === undefined) return next();
    const userKey = (user: string) => `user:${clientId}\u0000${user}`;
    const userId = c.get('callerUser');
    const client = `client:${clientId}`;
    const incoming = (c.env as HttpBindings | undefined)?.incoming;
    const outgoing = (c.env as HttpBindings | undefined)?.outgoing;
    if (incoming) claim?.(incoming, userId === undefined ? client : userKey(userId));
    const leaves: (() => void)[] = [];
    const enter = (bounds: readonly (readonly [string, number])[], busy: string) => {
      const leave = counts.enter(bounds);
      if (!leave) {
        c.header('Retry-After', '1');
        throw new SmspError('spine-busy', busy);
      }
      leaves.push(leave);
    };
    enter(
      userId === undefined
        ? [[client, maxPerClient]]
        : [
            [client, maxPerClient],
            [userKey(userId), maxPerUser],
          ],
      userId === undefined
        ? 'too many requests in flight for this client'
        : 'too many requests in flight for this user',
    );
    // A user named later (from the message) is counted then, and given back with the rest (by the
    // `finally` below if her client has already gone).
    if (userId === undefined)
      c.set('countUser', (user) => enter([[userKey(user), maxPerUser]], 'too many requests in flight for this user'));
    // Counted until the answer is handed to the connection ('finish') or either side is gone: a
    // response not yet given its socket (a hang-up mid-body, say) may never emit 'close', so the
    // socket's own close releases it too — a count that leaked would lock its caller out for good.
    const socket = incoming?.socket;
    const done = () => {
      outgoing?.off('close', done).off('finish', done);
      socket?.off('close', done);
      leaves.splice(0).forEach((leave) => leave());
    };
    outgoing?.once('close', done).once('finish', done);
    socket?.once('close', done);
    if (incoming && socket && !incoming.complete) {
      // Closable for a newcomer of its client until its body is here (see the module comment).
      const arrived = counts.awaitBody(client, sourceOf(socket.remoteAddress ?? ''), {
        arrived: () => incoming.complete,
        close: () => {
          c.set('refusalReason', BODY_AWAITED_REASON);
          done();
          socket.destroy();
          onShed?.();
        },
      });
      leaves.push(arrived);
      incoming.once('end', arrived);
    }
    try {
      await next();
    } finally {
      if (!outgoing || socket?.destroyed) done();
    }
  };
}
