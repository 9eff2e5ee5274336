/**
 * @module middleware/caller-bound
 * Per-caller bounds on requests in flight (issue 21): once a request's headers have proved who
 * is asking (token verification is cheap next to holding a socket), it counts against its client
 * system or CDS client (`listen.maxInFlightPerClient`) and, on the widget API, its user
 * (`listen.maxInFlightPerUser`), before its body is read. Over a bound it is answered at once
 * with the busy tone (SPINE_BUSY, Retry-After 1), so one caller's many or slow requests leave the
 * rest their turn. A request counts until its answer has been taken by its reader (or its
 * connection closed), not merely until the handler returns: a caller who does not read its
 * answers still holds its share. It also tells the connection bound (connection-bound.ts) whose connection this
 * is. The counts live outside the app, so a reload keeps them.
 */
import type { MiddlewareHandler } from 'hono';
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
    const author = c.get('identity')?.author;
    const userId = author && (author.kind === 'sds' ? author.userId : author.localId);
    const client = `client:${clientId}`;
    const user = userId === undefined ? undefined : `user:${clientId}\u0000${userId}`;
    const incoming = (c.env as HttpBindings | undefined)?.incoming;
    const outgoing = (c.env as HttpBindings | undefined)?.outgoing;
    if (incoming) claim?.(incoming, user ?? client);
    const leave = counts.enter(user === undefined ? [[client, maxPerClient]] : [[client, maxPerClient], [user, maxPerUser]]);
    if (!leave) {
      c.header('Retry-After', '1');
      throw new SmspError('spine-busy', user === undefined ? 'too many requests in flight for this client' : 'too many requests in flight for this user');
    }
    // Counted until the answer is handed to the connection ('finish') or either side is gone: a
    // response not yet given its socket (a hang-up mid-body, say) may never emit 'close', so the
    // socket's own close releases it too — a count that leaked would lock its caller out for good.
    const socket = incoming?.socket;
    const done = () => {
      outgoing?.off('close', done).off('finish', done);
      socket?.off('close', done);
      leave();
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
