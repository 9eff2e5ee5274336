/**
 * @module connection-bound
 * Bounds the listener's open connections in total (`listen.maxConnections`) so that no one
 * caller can take them from the rest (issue 21). Each connection belongs to a caller: the
 * authenticated client/user once a request's headers named one (`claim`), else its source
 * address. At the bound a new connection closes one that is idle (no request in flight) or still
 * waiting for its request body — never one whose request has arrived and is being answered — and
 * picks it from the caller holding the most connections (the longest idle of theirs first). Only
 * when every connection is being answered is the new one closed. Every request body must arrive
 * within `listen.bodyTimeoutMs` of its headers, or the connection is closed: a slow body cannot
 * hold a socket for the whole `requestTimeoutMs`. Likewise every answer must be taken by its
 * reader within `listen.writeTimeoutMs` of being complete, or the connection is closed; and a
 * connection that does not read its answers (its output waits on a drain, or it has sent further
 * requests behind an answer not yet taken — pipelining) is closable too: a slow reader is not
 * "being answered", it is holding a socket. Limits are read per event, so a reload applies.
 *
 * Connection churn (issue 21): a flood of new connections from many addresses must not close the
 * connections clinicians already hold. The flood's connections are the young ones that have not
 * authenticated yet, so sparing young connections would spare the attacker: instead a connection
 * no request has authenticated is closed before any authenticated one, the youngest first (a
 * clinician's own idle keep-alive connection is authenticated and old). Unauthenticated
 * connections are counted per source — an IPv4 address, or an IPv6 /64 (one host's share of
 * addresses) — and at most `listen.maxUnauthenticatedPerAddress` are open from one source. A
 * connection with more than `listen.maxPipelinedPerConnection` requests in flight at once is
 * closed. Every close and refusal is reported (`onShed`: log line and metric in server.ts) with
 * the source's prefix only.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  maxConnections: number;
  bodyTimeoutMs: number;
  writeTimeoutMs: number;
  maxUnauthenticatedPerAddress: number;
  maxPipelinedPerConnection: number;
}

/** A connection closed (evicted for a newcomer) or refused, and why; `source` is the address's prefix, never more. */
export interface Shed {
  action: 'evicted' | 'refused';
  reason: 'max-connections' | 'unauthenticated-per-address' | 'pipelined';
  source: string;
}

/**
 * The source a connection is counted under: an IPv4 address as it is, an IPv6 address by its /64.
 * @example sourceOf('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 */
export function sourceOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => (g || '0').toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export interface ConnectionBound {
  /** Names the caller a request's connection belongs to (from its authenticated headers). */
  claim(req: IncomingMessage, caller: string): void;
}

interface Conn { key: string; socket: Socket; source: string; caller?: string; inFlight: number; req?: IncomingMessage; res?: ServerResponse }

/**
 * @example const bound = boundConnections(server, () => ({ maxConnections: 800, bodyTimeoutMs: 5000, writeTimeoutMs: 10000 }));
 */
export function boundConnections(server: Server, limits: () => ConnectionLimits, onShed: (s: Shed) => void = () => {}): ConnectionBound {
  // Keyed by the peer's address and port, which a request's socket shares with its TCP
  // connection (for HTTPS the request's socket is the TLS socket on top of it). Map order is
  // least recently active first: a connection moves to the end whenever it finishes an answer.
  const open = new Map<string, Conn>();
  const keyOf = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }) => `${s.remoteAddress}:${s.remotePort}`;
  const forget = (conn: Conn) => {
    if (open.get(conn.key) === conn) open.delete(conn.key);
  };
  const owner = (c: Conn) => c.caller ?? `address:${c.source}`;
  // Its reader is not taking its answers: output queued behind a full socket, or requests sent
  // behind an answer it has not taken.
  const stalled = (c: Conn) => c.inFlight > 1 || c.socket.writableNeedDrain || (c.res?.socket?.writableNeedDrain ?? false);
  // Idle, its request's body has not all arrived, or it is not reading: closing it takes no
  // answer from anyone who is waiting for one.
  const closable = (c: Conn) => c.inFlight === 0 || (c.req !== undefined && !c.req.complete) || stalled(c);

  /**
   * The connection to close for a newcomer: a closable unauthenticated one if there is one (of the
   * source holding the most, its youngest), else a closable one of the caller holding the most
   * (its longest idle).
   */
  function victim(): Conn | undefined {
    const held = new Map<string, number>();
    for (const c of open.values()) held.set(owner(c), (held.get(owner(c)) ?? 0) + 1);
    let best: Conn | undefined;
    for (const c of open.values()) {
      if (!closable(c)) continue;
      if (!best) best = c;
      else if (best.caller !== undefined && c.caller === undefined) best = c;
      else if ((best.caller === undefined) !== (c.caller === undefined)) continue;
      else if (held.get(owner(c))! > held.get(owner(best))!) best = c;
      // Map order is oldest first: among equals, a later unauthenticated one is younger.
      else if (c.caller === undefined && held.get(owner(c)) === held.get(owner(best))) best = c;
    }
    return best;
  }
  const unauthenticatedFrom = (source: string) => {
    let n = 0;
    for (const c of open.values()) if (c.caller === undefined && c.source === source) n++;
    return n;
  };

  server.on('connection', (socket: Socket) => {
    // Reset before it was accepted: it has no peer address to key it by, and closes by itself
    // once Node has read what it sent.
    if (!socket.remoteAddress) return;
    const source = sourceOf(socket.remoteAddress);
    if (unauthenticatedFrom(source) >= limits().maxUnauthenticatedPerAddress) {
      onShed({ action: 'refused', reason: 'unauthenticated-per-address', source });
      return socket.destroy();
    }
    if (open.size >= limits().maxConnections) {
      const v = victim();
      if (!v) {
        onShed({ action: 'refused', reason: 'max-connections', source });
        return socket.destroy();
      }
      forget(v);
      v.socket.destroy();
      onShed({ action: 'evicted', reason: 'max-connections', source: v.source });
    }
    const conn: Conn = { key: keyOf(socket), socket, source, inFlight: 0 };
    open.set(conn.key, conn);
    socket.on('close', () => forget(conn));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const conn = open.get(keyOf(req.socket));
    if (conn) {
      conn.inFlight++;
      conn.req = req;
      conn.res = res;
      if (conn.inFlight > limits().maxPipelinedPerConnection) {
        forget(conn);
        req.socket.destroy();
        onShed({ action: 'refused', reason: 'pipelined', source: conn.source });
        return;
      }
    }
    // The body's own deadline, from the moment its headers arrived.
    const timer = setTimeout(() => {
      if (!req.complete) req.socket.destroy();
    }, limits().bodyTimeoutMs);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    // The answer's own deadline, from the moment it is complete ('prefinish') until its reader
    // has taken it ('finish'): a reader that never reads cannot hold the socket.
    let writeTimer: NodeJS.Timeout | undefined;
    const armWrite = () => {
      writeTimer = setTimeout(() => {
        if (!res.writableFinished) req.socket.destroy();
      }, limits().writeTimeoutMs);
      writeTimer.unref();
    };
    // A handler on the server before this one may already have ended its answer.
    if (res.writableEnded) armWrite();
    else res.once('prefinish', armWrite);
    res.once('close', () => {
      clearTimeout(writeTimer);
      // An answer given before the body arrived (a refusal) still waits no longer for the rest.
      if (req.complete) clearTimeout(timer);
      if (!conn) return;
      conn.inFlight--;
      if (open.get(conn.key) !== conn) return;
      open.delete(conn.key);
      open.set(conn.key, conn);
    });
  });
  return {
    claim(req, caller) {
      const conn = open.get(keyOf(req.socket));
      if (conn) conn.caller = caller;
    },
  };
}
