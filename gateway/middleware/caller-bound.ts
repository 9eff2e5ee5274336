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
 */
import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import type { IncomingMessage } from 'node:http';
import type { GatewayEnv } from '../env.ts';
import { SmspError } from '../smsp-error.ts';

export interface InFlightCounts {
  /** Counts one request for each key; undefined (and nothing counted) when a key is at its bound. */
  enter(bounds: readonly (readonly [key: string, max: number])[]): (() => void) | undefined;
}

/** The counts a gateway keeps across reloads. */
export function inFlightCounts(): InFlightCounts {
  const counts = new Map<string, number>();
  return {
    enter(bounds) {
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
  };
}

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
  const user = userId.length <= MAX_USER_ID_LENGTH ? userId : `sha256:${createHash('sha256').update(userId).digest('base64url')}`;
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
}

/**
 * After authentication, before the body.
 * @example app.post('/api/fgm-status', sessionAuth(...), callerBound({ counts, maxPerClient: 200, maxPerUser: 8 }), bodyLimit(...), ...)
 */
export function callerBound({ counts, maxPerClient, maxPerUser, claim }: CallerBoundOptions): MiddlewareHandler<GatewayEnv> {
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
    enter(userId === undefined ? [[client, maxPerClient]] : [[client, maxPerClient], [userKey(userId), maxPerUser]], userId === undefined ? 'too many requests in flight for this client' : 'too many requests in flight for this user');
    // A user named later (from the message) is counted then, and given back with the rest (by the
    // `finally` below if her client has already gone).
    if (userId === undefined) c.set('countUser', (user) => enter([[userKey(user), maxPerUser]], 'too many requests in flight for this user'));
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
    try {
      await next();
    } finally {
      if (!outgoing || socket?.destroyed) done();
    }
  };
}
