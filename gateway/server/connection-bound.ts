/**
 * @module server/connection-bound
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
 * Shedding (issue 21): no one caller can take another's connection. Each connection has a holder
 * — the authenticated caller once a request named one, else its source (an IPv4 address, or an
 * IPv6 /64: one host's share of addresses) — and per-holder counts are kept as connections come
 * and go. A connection with no request yet is "silent", and either has sent no byte or has sent
 * some, read from the TCP socket's `bytesRead` when a choice is made (on the TLS listener a
 * browser's ClientHello counts, sent with the TCP handshake's last packet); one accepted this turn
 * of the event loop or the last is too young to tell (its bytes may be there, not yet read). At
 * `listen.maxConnections` the connection closed is one of the holder with the MOST connections;
 * among holders tied for the most, one that has sent no byte though it could have goes first, then
 * a silent one that has sent bytes or is too young to tell, then an idle unauthenticated one, then
 * an idle authenticated one. So a caller holding many connections loses its own, and a flood from
 * many addresses (one each) loses its oldest silent ones, while a clinician's fresh connection
 * and her kept-alive one (authenticated) stay. At most `listen.maxUnauthenticatedPerAddress`
 * unauthenticated connections are open from one source: a newcomer from a source at that cap
 * replaces one of the source's own instead of being refused, so one person behind a trust's NAT
 * cannot lock the rest of it out. Within one holder the silent connection replaced is chosen AT
 * RANDOM within its class (idle ones go least recently active first): a churner behind her
 * address makes its own connections young, so oldest-first closed a clinician's fresh one
 * whenever the churn outpaced her; at random, each newcomer takes hers with chance one in however
 * many it chooses among.
 *
 * The residual limit: until Node has read a connection's first bytes, a clinician's and a
 * churner's cannot be told apart. Behind one address at the cap C, a churn of R new connections a
 * second leaves hers open over the g seconds before those bytes are read with chance about
 * e^(−R·g/C); a churner that sends a byte on each of its own competes with hers the same way until
 * her request arrives (on TLS, about one round trip). C is the lever (docs/operating.md has the
 * figures measured); the churner's own connections are the ones it mostly loses.
 *
 * A connection with more than `listen.maxPipelinedPerConnection` requests in flight at once is
 * closed. Every close and
 * refusal is reported (`onShed`: metric in server.ts), with the source's prefix only; `log` is
 * set on at most one report per holder per `SHED_LOG_INTERVAL_MS`, carrying how many were shed
 * since, so a flood is one log line per holder, not one per connection.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomInt } from 'node:crypto';

export interface ConnectionLimits {
  maxConnections: number;
  bodyTimeoutMs: number;
  writeTimeoutMs: number;
  maxUnauthenticatedPerAddress: number;
  maxPipelinedPerConnection: number;
}

/** A log line about shedding per holder at most this often: a flood must not flood the log too. */
export const SHED_LOG_INTERVAL_MS = 10_000;

/** A connection closed (evicted for a newcomer) or refused, and why; `source` is the address's prefix, never more. */
export interface Shed {
  action: 'evicted' | 'refused';
  reason: 'max-connections' | 'unauthenticated-per-address' | 'pipelined';
  source: string;
  /** Present when this report is due a log line: `count` sheds of this holder since its last one (this one included). */
  log?: { count: number };
}

/** RFC 6052's well-known NAT64 prefix, 64:ff9b::/96, as its first six 16-bit groups. */
const NAT64_PREFIX = [0x64, 0xff9b, 0, 0, 0, 0];

/** An IPv6 address's eight 16-bit groups (a zone dropped, a trailing dotted IPv4 read as two), or undefined if it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  const text = address.split('%')[0]!.toLowerCase();
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parts = (half: string | undefined) => {
    if (!half) return [];
    const out: number[] = [];
    for (const p of half.split(':')) {
      const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(p);
      if (v4) {
        const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
        if ([a, b, c, d].some((n) => n > 255)) return undefined;
        out.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9a-f]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const left = parts(halves[0]);
  const right = parts(halves[1]);
  if (!left || !right) return undefined;
  const gap = 8 - left.length - right.length;
  if (halves.length === 1 ? gap !== 0 : gap < 1) return undefined;
  return [...left, ...Array<number>(halves.length === 1 ? 0 : gap).fill(0), ...right];
}

/**
 * The source a connection (or an unauthenticated request, audit/unauthenticated-bound.ts) is
 * counted under: an IPv4 address as it is; an IPv6 address by its /64 (one host's or one site's
 * share of addresses: counting each address apart would give it 2^64 shares); an IPv4-mapped
 * address (::ffff:a.b.c.d) or a NAT64 one (64:ff9b::/96, RFC 6052) by the IPv4 address it
 * carries, so clients behind a NAT64 gateway are grouped as their IPv4 peers are. Anything else is
 * kept as it is.
 * @example sourceOf('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 * @example sourceOf('64:ff9b::c000:211') // '192.0.2.17'
 */
export function sourceOf(address: string): string {
  if (!address.includes(':')) return address;
  const g = ipv6Groups(address);
  if (!g) return address;
  const embedded = () => `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return embedded();
  if (NAT64_PREFIX.every((x, i) => g[i] === x)) return embedded();
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`;
}

export interface ConnectionBound {
  /** Names the caller a request's connection belongs to (from its authenticated headers). */
  claim(req: IncomingMessage, caller: string): void;
}

/**
 * Where a connection is: `young` accepted in this turn of the event loop or the one before, so
 * Node may not yet have read bytes that are already there; `zero` older, and no byte read from it
 * yet (as last looked at: looked at again when chosen, so an arrival costs nothing); `started`
 * bytes but no request yet; `asked` a request has arrived.
 */
type State = 'young' | 'zero' | 'started' | 'asked';

interface Conn {
  key: string;
  /** The TCP socket: on the TLS listener under the TLS one, so `bytesRead` counts raw bytes (its ClientHello too). */
  socket: Socket;
  source: string;
  caller?: string;
  holder: Holder;
  state: State;
  /** The turn it was accepted in. */
  turn: number;
  /** Its index in its holder's `zero` or `started` bag. */
  slot: number;
  inFlight: number;
  req?: IncomingMessage;
  res?: ServerResponse;
}

/** Connections in no order, each added, removed or one picked at random in O(1) (its `slot` is its index). */
class Bag {
  readonly items: Conn[] = [];
  add(c: Conn) {
    c.slot = this.items.length;
    this.items.push(c);
  }
  delete(c: Conn) {
    const last = this.items.pop()!;
    if (last === c) return;
    this.items[c.slot] = last;
    last.slot = c.slot;
  }
}

/** One caller's connections by state: the `asked` ones least recently active first. */
interface Holder {
  key: string;
  young: Bag;
  zero: Bag;
  started: Bag;
  asked: Set<Conn>;
  count: number;
}

/** Whether the peer has sent any byte: the kernel's count as Node read it, no event needed. */
const hasSent = (c: Conn) => c.socket.bytesRead > 0;

/**
 * @param random An integer in [0, n): which of a holder's interchangeable connections to close
 *   (a test passes a seeded one). Unpredictable by default: a churner that could tell which
 *   connection goes next could time its own.
 * @example const bound = boundConnections(server, () => ({ maxConnections: 800, bodyTimeoutMs: 5000, writeTimeoutMs: 10000, maxUnauthenticatedPerAddress: 512, maxPipelinedPerConnection: 16 }));
 */
export function boundConnections(
  server: Server,
  limits: () => ConnectionLimits,
  onShed: (s: Shed) => void = () => {},
  now: () => number = Date.now,
  random: (n: number) => number = (n) => randomInt(n),
): ConnectionBound {
  // Keyed by the peer's address and port, which a request's socket shares with its TCP
  // connection (for HTTPS the request's socket is the TLS socket on top of it).
  const open = new Map<string, Conn>();
  const keyOf = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }) =>
    `${s.remoteAddress}:${s.remotePort}`;
  const holders = new Map<string, Holder>();
  // Holders by how many connections they hold, and the most any holds: the victim's holder is
  // found without counting every connection on every accept.
  const byCount = new Map<number, Set<Holder>>();
  let most = 0;
  const rebucket = (h: Holder, from: number) => {
    if (from > 0) {
      const set = byCount.get(from)!;
      set.delete(h);
      if (set.size === 0) byCount.delete(from);
    }
    if (h.count > 0) {
      let set = byCount.get(h.count);
      if (!set) byCount.set(h.count, (set = new Set()));
      set.add(h);
    }
    if (h.count > most) most = h.count;
    while (most > 0 && !byCount.has(most)) most--;
  };
  // Every connection with no request yet: `young` and `zero` ones in the order accepted (so the
  // young last), `started` in the order found to have sent (for the oldest across holders of one
  // connection each).
  const zeroAll = new Set<Conn>();
  const startedAll = new Set<Conn>();
  const enter = (conn: Conn) => {
    const h = conn.holder;
    if (conn.state === 'asked') return void h.asked.add(conn);
    h[conn.state].add(conn);
    (conn.state === 'started' ? startedAll : zeroAll).add(conn);
  };
  const exit = (conn: Conn) => {
    const h = conn.holder;
    if (conn.state === 'asked') return void h.asked.delete(conn);
    h[conn.state].delete(conn);
    (conn.state === 'started' ? startedAll : zeroAll).delete(conn);
  };
  // Turns of the event loop, counted while connections arrive: a connection accepted in one turn
  // has its bytes read in the next at the earliest (its socket is watched from then on), so until
  // that turn is over, "no byte read" says nothing about it.
  let turn = 0;
  let turning = false;
  const recent: Conn[] = [];
  const nextTurn = () => {
    if (turning) return;
    turning = true;
    setImmediate(() => {
      turning = false;
      turn++;
      let i = 0;
      for (; i < recent.length && recent[i]!.turn < turn - 1; i++) {
        const c = recent[i]!;
        // Its place in `zeroAll` (accept order) stays.
        if (c.state === 'young' && open.get(c.key) === c) {
          c.holder.young.delete(c);
          c.state = 'zero';
          c.holder.zero.add(c);
        }
      }
      recent.splice(0, i);
      if (recent.length > 0) nextTurn();
    });
  };
  const move = (conn: Conn, state: State) => {
    exit(conn);
    conn.state = state;
    enter(conn);
  };
  const join = (conn: Conn, key: string) => {
    let h = holders.get(key);
    if (!h)
      holders.set(
        key,
        (h = { key, young: new Bag(), zero: new Bag(), started: new Bag(), asked: new Set(), count: 0 }),
      );
    conn.holder = h;
    enter(conn);
    h.count++;
    rebucket(h, h.count - 1);
  };
  const leave = (conn: Conn) => {
    exit(conn);
    const h = conn.holder;
    h.count--;
    rebucket(h, h.count + 1);
    if (h.count === 0) holders.delete(h.key);
  };
  const forget = (conn: Conn) => {
    if (open.get(conn.key) !== conn) return;
    open.delete(conn.key);
    leave(conn);
  };
  const addressKey = (source: string) => `address:${source}`;
  // Its reader is not taking its answers: output queued behind a full socket, or requests sent
  // behind an answer it has not taken.
  const stalled = (c: Conn) =>
    c.inFlight > 1 || c.socket.writableNeedDrain || (c.res?.socket?.writableNeedDrain ?? false);
  // Idle, its request's body has not all arrived, or it is not reading: closing it takes no
  // answer from anyone who is waiting for one.
  const closable = (c: Conn) => c.inFlight === 0 || (c.req !== undefined && !c.req.complete) || stalled(c);

  /**
   * A holder's connection to close, and its rank (lower goes first): one that has had a turn to
   * send and sent no byte, at random; else, at random, one that has sent bytes but no request or
   * one too young to tell; else its least recently active closable one. At random, not oldest: a
   * churner from the holder's address keeps replacing its own connections, so the oldest silent
   * one is soon a clinician's fresh one, and oldest-first would close hers every time the churn
   * outpaced her; at random each newcomer takes hers with chance 1/(those it picks among). A
   * connection that has sent nothing though it could have goes first, so a browser's (ClientHello
   * sent with the TCP handshake's last packet) is out of reach of a churn that sends nothing; the
   * young and those that have sent are one pool, so a churn that sends a byte on each of its own
   * still leaves hers one chance in the whole pool, fresh or not.
   */
  function pick(h: Holder): { conn: Conn; rank: number } | undefined {
    while (h.zero.items.length > 0) {
      const conn = h.zero.items[random(h.zero.items.length)]!;
      if (!hasSent(conn)) return { conn, rank: 0 };
      move(conn, 'started');
    }
    for (;;) {
      const started = h.started.items.length;
      const all = started + h.young.items.length;
      if (all === 0) break;
      const i = random(all);
      if (i < started) return { conn: h.started.items[i]!, rank: 1 };
      const conn = h.young.items[i - started]!;
      if (!hasSent(conn)) return { conn, rank: 1 };
      move(conn, 'started');
    }
    for (const conn of h.asked) if (closable(conn)) return { conn, rank: conn.caller === undefined ? 2 : 3 };
    return undefined;
  }
  /**
   * The connection to close for a newcomer: one of the holder with the most connections. Among
   * holders tied for the most, the lowest rank; among those of rank 2 or 3, the least recently
   * active (tracked by `seen`); among those of one connection each, the oldest.
   */
  function victim(): Conn | undefined {
    for (let n = most; n > 0; n--) {
      // A connection with no request is always closable, so below the top only holders without
      // one remain: at one each, the oldest such connection of all is the oldest of theirs (no scan).
      if (n === 1) {
        let young: Conn | undefined;
        for (const conn of zeroAll) {
          if (hasSent(conn)) move(conn, 'started');
          else if (conn.state === 'zero') return conn;
          else {
            // Accept order: the rest are young too.
            young = conn;
            break;
          }
        }
        for (const conn of startedAll) return conn;
        if (young) return young;
      }
      let best: { conn: Conn; rank: number } | undefined;
      for (const h of byCount.get(n) ?? []) {
        const p = pick(h);
        if (
          p &&
          (!best ||
            p.rank < best.rank ||
            (p.rank > 1 && p.rank === best.rank && seen.get(p.conn)! < seen.get(best.conn)!))
        )
          best = p;
        if (best?.rank === 0) break;
      }
      if (best) return best.conn;
    }
    return undefined;
  }
  // When each connection was accepted or last finished an answer, for "oldest" across holders.
  const seen = new WeakMap<Conn, number>();
  let tick = 0;

  // Log lines per holder: when the next may be written, and how many sheds wait to be counted in it.
  const logged = new Map<string, { next: number; count: number }>();
  const report = (s: Shed, holder: string) => {
    const t = now();
    const entry = logged.get(holder);
    if (entry && t < entry.next) {
      entry.count++;
      return onShed(s);
    }
    if (logged.size >= 10_000) for (const [k, e] of logged) if (t >= e.next) logged.delete(k);
    logged.set(holder, { next: t + SHED_LOG_INTERVAL_MS, count: 0 });
    onShed({ ...s, log: { count: (entry?.count ?? 0) + 1 } });
  };
  const evict = (v: Conn, reason: Shed['reason']) => {
    const holder = v.holder.key;
    forget(v);
    v.socket.destroy();
    report({ action: 'evicted', reason, source: v.source }, holder);
  };

  server.on('connection', (socket: Socket) => {
    // Reset before it was accepted: it has no peer address to key it by, and closes by itself
    // once Node has read what it sent.
    if (!socket.remoteAddress) return;
    const source = sourceOf(socket.remoteAddress);
    const from = holders.get(addressKey(source));
    if (from && from.count >= limits().maxUnauthenticatedPerAddress) {
      // One of the source's own connections makes room (pick): whoever holds the source's
      // connections silent cannot keep everyone else behind the same address out.
      const p = pick(from);
      if (!p) {
        report({ action: 'refused', reason: 'unauthenticated-per-address', source }, from.key);
        return socket.destroy();
      }
      evict(p.conn, 'unauthenticated-per-address');
    } else if (open.size >= limits().maxConnections) {
      const v = victim();
      if (!v) {
        report({ action: 'refused', reason: 'max-connections', source }, addressKey(source));
        return socket.destroy();
      }
      evict(v, 'max-connections');
    }
    const conn = { key: keyOf(socket), socket, source, state: 'young', turn, slot: 0, inFlight: 0 } as Conn;
    recent.push(conn);
    nextTurn();
    seen.set(conn, tick++);
    open.set(conn.key, conn);
    join(conn, addressKey(source));
    socket.on('close', () => forget(conn));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const conn = open.get(keyOf(req.socket));
    if (conn) {
      if (conn.state !== 'asked') move(conn, 'asked');
      conn.inFlight++;
      conn.req = req;
      conn.res = res;
      if (conn.inFlight > limits().maxPipelinedPerConnection) {
        const holder = conn.holder.key;
        forget(conn);
        req.socket.destroy();
        report({ action: 'refused', reason: 'pipelined', source: conn.source }, holder);
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
      // Now the most recently active of its holder's.
      seen.set(conn, tick++);
      conn.holder.asked.delete(conn);
      conn.holder.asked.add(conn);
    });
  });
  return {
    claim(req, caller) {
      const conn = open.get(keyOf(req.socket));
      if (!conn || conn.caller === caller) return;
      leave(conn);
      conn.caller = caller;
      join(conn, caller);
    },
  };
}
