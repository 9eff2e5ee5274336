/**
 * @module test/fairness/connection-churn
 * Issue 21, connection churn: a flood of new connections from many addresses must not close the
 * connections clinicians already hold; one source's unauthenticated connections and one
 * connection's pipelined requests are bounded; every close or refusal is reported. Over real
 * sockets on the loopback (127.0.0.0/8: each flood connection from an address of its own),
 * against connection-bound.ts on a plain HTTP server. Each step waits for an event (the server's
 * 'connection', a reported shed, a socket's close), never the clock.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { boundConnections, sourceOf, type ConnectionLimits, type Shed } from '../../gateway/server/connection-bound.ts';
import { startTestStack } from '../helpers/stack.ts';

/** A seeded stand-in for the bound's random choice (mulberry32): the same run every time. */
function seeded(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}

/**
 * A server whose requests carrying `X-Caller` are claimed for that caller and answered at once;
 * `/hold` is never answered. `random` is the bound's choice among interchangeable connections.
 */
async function bounded(limits: Partial<ConnectionLimits>, random: (n: number) => number = seeded(21)) {
  const server = createServer({ keepAliveTimeout: 60_000 });
  const shed: Shed[] = [];
  let connections = 0;
  // The server's side of each connection, by the client's port: what the bound reads bytesRead from.
  const serverSide = new Map<number, Socket>();
  const waiters: { n: () => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (!w.n()) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  // Registered before the bound's own listener: counted here once the bound has decided on it.
  server.on('connection', (s: Socket) => {
    serverSide.set(s.remotePort!, s);
    queueMicrotask(() => (connections++, check()));
  });
  const bound = boundConnections(
    server,
    () => ({
      maxConnections: 8,
      bodyTimeoutMs: 60_000,
      writeTimeoutMs: 60_000,
      maxUnauthenticatedPerAddress: 1000,
      maxPipelinedPerConnection: 1000,
      ...limits,
    }),
    (s) => (shed.push(s), check()),
    undefined,
    random,
  );
  let requests = 0;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    check();
    const caller = req.headers['x-caller'];
    if (typeof caller === 'string') bound.claim(req, caller);
    if (req.url === '/hold') return;
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    shed,
    /** Resolves once the server has seen `n` connections in all. */
    connections: (n: number) =>
      new Promise<void>((resolve) => (waiters.push({ n: () => connections >= n, resolve }), check())),
    /** Resolves once the server has seen `n` requests in all. */
    requests: (n: number) =>
      new Promise<void>((resolve) => (waiters.push({ n: () => requests >= n, resolve }), check())),
    /**
     * Resolves once the server has read bytes from the client socket `sock`, as the bound will see
     * them: no event says so (the HTTP parser reads them in C++), so it looks again each turn of
     * the event loop, never after a delay.
     */
    read: async (sock: Socket) => {
      const side = serverSide.get(sock.localPort!);
      assert.ok(side, 'the server has accepted it');
      while (side.bytesRead === 0) await new Promise((r) => setImmediate(r));
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

async function open(port: number, from = '127.0.0.1'): Promise<Socket> {
  const sock = connect({ port, host: '127.0.0.1', localAddress: from });
  sock.on('error', () => {});
  await once(sock, 'connect');
  return sock;
}

/** Resolves once `n` of `socks` have closed. */
async function closes(socks: Socket[], n: number): Promise<void> {
  while (socks.filter((s) => s.destroyed).length < n)
    await Promise.race(socks.filter((s) => !s.destroyed).map((s) => once(s, 'close')));
}

/** Sends the rest of a request on `sock`: the start of its answer, or 'CLOSED'. */
function answer(sock: Socket, rest: string): Promise<string> {
  return new Promise((resolve) => {
    if (sock.destroyed) return resolve('CLOSED');
    sock.once('data', (d: Buffer) => resolve(d.toString('latin1')));
    sock.once('close', () => resolve('CLOSED'));
    sock.write(rest);
  });
}

/** Sends one request on `sock` and resolves with the start of its answer. */
async function ask(sock: Socket, caller?: string): Promise<string> {
  sock.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n${caller ? `X-Caller: ${caller}\r\n` : ''}\r\n`);
  const [data] = (await once(sock, 'data')) as [Buffer];
  return data.toString('latin1');
}

describe('issue 21: connection churn cannot take the listener from clinicians already connected', () => {
  it(
    "SMSP-PERF-001 50 new connections from 50 addresses at listen.maxConnections 8: the clinicians' kept-alive connections stay open and answer, and each eviction is reported",
    { timeout: 60_000 },
    async () => {
      const srv = await bounded({ maxConnections: 8 });
      const flood: Socket[] = [];
      try {
        const clinicians = [await open(srv.port), await open(srv.port)];
        assert.match(await ask(clinicians[0]!, 'user:epr/ajones'), /^HTTP\/1\.1 200/);
        assert.match(await ask(clinicians[1]!, 'user:epr/clee'), /^HTTP\/1\.1 200/);
        for (let i = 0; i < 50; i++) flood.push(await open(srv.port, `127.0.1.${i + 1}`));
        await srv.connections(52);
        // 6 places were free; each of the 44 later ones closed an unauthenticated (flood) one.
        assert.equal(srv.shed.length, 44);
        for (const s of srv.shed) {
          assert.equal(s.action, 'evicted');
          assert.equal(s.reason, 'max-connections');
          assert.match(s.source, /^127\.0\.1\.\d+$/, 'a flood connection was the one closed');
        }
        for (const c of clinicians) assert.equal(c.destroyed, false);
        assert.match(await ask(clinicians[0]!, 'user:epr/ajones'), /^HTTP\/1\.1 200/);
        assert.match(await ask(clinicians[1]!, 'user:epr/clee'), /^HTTP\/1\.1 200/);
        clinicians.forEach((c) => c.destroy());
      } finally {
        flood.forEach((s) => s.destroy());
        await srv.close();
      }
    },
  );

  it(
    'at most listen.maxUnauthenticatedPerAddress unauthenticated connections from one source: a newcomer replaces one of its silent ones (reported), and is refused only when none is closable; another source and an authenticated connection are not held to it',
    { timeout: 60_000 },
    async () => {
      const srv = await bounded({ maxConnections: 100, maxUnauthenticatedPerAddress: 3 });
      const socks: Socket[] = [];
      try {
        for (let i = 0; i < 5; i++) socks.push(await open(srv.port, '127.0.2.5'));
        await srv.connections(5);
        assert.deepEqual(
          srv.shed.map(({ action, reason, source }) => ({ action, reason, source })),
          [
            { action: 'evicted', reason: 'unauthenticated-per-address', source: '127.0.2.5' },
            { action: 'evicted', reason: 'unauthenticated-per-address', source: '127.0.2.5' },
          ],
        );
        // Which two went is the bound's random choice: wait for two closes, three stay.
        await closes(socks, 2);
        const kept = socks.filter((s) => !s.destroyed);
        assert.equal(kept.length, 3);
        const other = await open(srv.port, '127.0.2.6');
        socks.push(other);
        await srv.connections(6);
        assert.equal(srv.shed.length, 2, 'another source has its own count');
        // Once one of them has authenticated, the source has room for one more.
        assert.match(await ask(kept[0]!, 'user:epr/ajones'), /^HTTP\/1\.1 200/);
        const more = await open(srv.port, '127.0.2.5');
        socks.push(more);
        await srv.connections(7);
        assert.equal(srv.shed.length, 2);
        // Every unauthenticated one from the source now has a request being answered: none is
        // closable, so the newcomer is the one refused.
        const held = [kept[1]!, kept[2]!, more];
        for (const s of held) s.write('GET /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        await srv.requests(4);
        const refused = await open(srv.port, '127.0.2.5');
        socks.push(refused);
        if (!refused.destroyed) await once(refused, 'close');
        assert.deepEqual(
          srv.shed.slice(2).map(({ action, reason, source }) => ({ action, reason, source })),
          [{ action: 'refused', reason: 'unauthenticated-per-address', source: '127.0.2.5' }],
        );
        assert.deepEqual(
          held.map((s) => s.destroyed),
          [false, false, false],
        );
      } finally {
        socks.forEach((s) => s.destroy());
        await srv.close();
      }
    },
  );

  it(
    "SMSP-PERF-001 the choice at a source's cap: a connection that has sent no byte, chosen by the random draw (not the oldest); none that has sent bytes while one has sent none; then one that has sent bytes but no request; then the least recently active idle one",
    { timeout: 60_000 },
    async () => {
      // Always the last of those it chooses among: before any has gone, the youngest.
      const srv = await bounded({ maxConnections: 100, maxUnauthenticatedPerAddress: 4 }, (n) => n - 1);
      const FROM = '127.0.2.9';
      const socks: Socket[] = [];
      const conn = async () => {
        const s = await open(srv.port, FROM);
        socks.push(s);
        await srv.connections(socks.length);
        return s;
      };
      const partial = async (s: Socket) => (s.write('GET / HT'), await srv.read(s));
      try {
        const z1 = await conn();
        const z2 = await conn();
        const s1 = await conn();
        await partial(s1);
        const i1 = await conn();
        assert.match(await ask(i1), /^HTTP\/1\.1 200/);
        // At the cap (4): z1 and z2 have sent nothing, s1 a partial request line, i1 a whole request.
        await conn(); // n1
        await closes(socks, 1);
        assert.deepEqual(
          [z1, z2, s1, i1].map((s) => s.destroyed),
          [false, true, false, false],
          'z2 (the draw, though z1 is older) went; s1, last in accept order, was passed over',
        );
        // Every silent one has now sent bytes: one of them goes, never the idle i1.
        const n1 = socks[4]!;
        await partial(z1);
        await partial(n1);
        const n2 = await conn();
        await closes(socks, 2);
        assert.equal(n2.destroyed, false, 'the newcomer stays');
        assert.equal(i1.destroyed, false, 'the idle one stays while a silent one is open');
        assert.equal([z1, s1, n1].filter((s) => s.destroyed).length, 1);
        // Every one has sent a whole request and been answered: the least recently active goes (i1).
        for (const s of [z1, s1, n1].filter((x) => !x.destroyed))
          assert.match(await answer(s, 'TP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), /^HTTP\/1\.1 200/);
        assert.match(await ask(n2), /^HTTP\/1\.1 200/);
        await conn();
        await closes(socks, 3);
        assert.equal(i1.destroyed, true);
        assert.equal(srv.shed.length, 3);
        assert.ok(srv.shed.every((s) => s.action === 'evicted' && s.reason === 'unauthenticated-per-address'));
      } finally {
        socks.forEach((s) => s.destroy());
        await srv.close();
      }
    },
  );

  it(
    "SMSP-PERF-001 behind one address, a churn of silent connections three times the source's cap while a clinician's partial request line waits (which closed hers under oldest-first): her connection stays and she is answered, every time",
    { timeout: 60_000 },
    async () => {
      const CAP = 8;
      const srv = await bounded({ maxConnections: 1000, maxUnauthenticatedPerAddress: CAP });
      const NAT = '127.0.2.12';
      const socks: Socket[] = [];
      const churn = async () => {
        socks.push(await open(srv.port, NAT));
        await srv.connections(socks.length);
      };
      try {
        for (let i = 0; i < CAP; i++) await churn();
        for (let round = 0; round < 5; round++) {
          const mine = await open(srv.port, NAT);
          socks.push(mine);
          await srv.connections(socks.length);
          mine.write('GET / HTTP/1.1\r\nHo');
          await srv.read(mine);
          // Each newcomer decided before the next: 3 × CAP replacements while hers waits.
          for (let k = 0; k < 3 * CAP; k++) await churn();
          assert.match(
            await answer(mine, 'st: 127.0.0.1\r\nX-Caller: user:epr/colleague\r\n\r\n'),
            /^HTTP\/1\.1 200/,
            `round ${round}`,
          );
          mine.destroy();
        }
        assert.ok(srv.shed.every((s) => s.action === 'evicted' && s.reason === 'unauthenticated-per-address'));
      } finally {
        socks.forEach((s) => s.destroy());
        await srv.close();
      }
    },
  );

  it(
    "SMSP-PERF-001 behind one address, a churn that sends a byte on each connection: her connection, accepted in the same turn as the churn's newcomers (too young for 'no byte' to mean anything), shares one draw with those that have sent, and stays",
    { timeout: 60_000 },
    async () => {
      // Always the first of those it chooses among: one that has sent, if they share the draw.
      const srv = await bounded({ maxConnections: 100, maxUnauthenticatedPerAddress: 4 }, () => 0);
      const FROM = '127.0.2.20';
      const socks: Socket[] = [];
      // Accepted elsewhere and handed to the server in one synchronous batch, as Node hands it a
      // burst of accepts in one turn: hers first, then three of the churn's.
      const side = createNetServer({ pauseOnConnect: true });
      side.listen(0, '127.0.0.1');
      await once(side, 'listening');
      try {
        for (let i = 0; i < 3; i++) {
          const s = await open(srv.port, FROM);
          socks.push(s);
          await srv.connections(socks.length);
          s.write('G');
          await srv.read(s);
        }
        const accepted = new Map<number, Socket>();
        const all = new Promise<void>((resolve) =>
          side.on('connection', (s: Socket) => (accepted.set(s.remotePort!, s), accepted.size === 4 && resolve())),
        );
        const batch: Socket[] = [];
        for (let i = 0; i < 4; i++) batch.push(await open((side.address() as AddressInfo).port, FROM));
        await all;
        const [mine, ...churn] = batch;
        for (const c of batch) srv.server.emit('connection', accepted.get(c.localPort!)!);
        for (const c of batch) accepted.get(c.localPort!)!.resume();
        await srv.connections(7);
        await closes(socks, 3);
        assert.deepEqual(
          srv.shed.map((s) => `${s.action}/${s.reason}`),
          Array<string>(3).fill('evicted/unauthenticated-per-address'),
        );
        assert.equal(churn.filter((c) => c.destroyed).length, 0, 'the three that had sent a byte went');
        assert.match(await ask(mine!, 'user:epr/colleague'), /^HTTP\/1\.1 200/);
        batch.forEach((s) => s.destroy());
      } finally {
        socks.forEach((s) => s.destroy());
        side.close();
        await srv.close();
      }
    },
  );

  it(
    'a connection with more than listen.maxPipelinedPerConnection requests in flight is closed, and reported',
    { timeout: 60_000 },
    async () => {
      const srv = await bounded({ maxPipelinedPerConnection: 4 });
      try {
        const sock = await open(srv.port, '127.0.3.7');
        const closed = once(sock, 'close');
        sock.write('GET /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(10));
        await closed;
        assert.deepEqual(srv.shed, [
          { action: 'refused', reason: 'pipelined', source: '127.0.3.7', log: { count: 1 } },
        ]);
        // The listener is still there for the next caller.
        const next = await open(srv.port);
        assert.match(await ask(next), /^HTTP\/1\.1 200/);
        next.destroy();
      } finally {
        await srv.close();
      }
    },
  );

  it(
    'on the gateway, a shed connection is a "connection shed" warning naming the source prefix only, and counted',
    { timeout: 60_000 },
    async () => {
      const stack = await startTestStack({
        configure: (r) => {
          r.listen.maxUnauthenticatedPerAddress = 1;
        },
      });
      const socks: Socket[] = [];
      try {
        const port = Number(new URL(stack.gatewayUrl).port);
        const first = await open(port, '127.0.4.9');
        socks.push(first, await open(port, '127.0.4.9'));
        // The newcomer replaced the source's one silent connection.
        if (!first.destroyed) await once(first, 'close');
        const lines = stack.logs
          .filter((l) => l.includes('"msg":"connection shed"'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.deepEqual(
          lines.map(({ level, action, reason, source }) => ({ level, action, reason, source })),
          [{ level: 'warn', action: 'evicted', reason: 'unauthenticated-per-address', source: '127.0.4.9' }],
        );
        const metrics = await (await fetch(new URL('/metrics', stack.metricsUrl))).text();
        assert.match(
          metrics,
          /^fgm_gateway_connections_shed_total\{action="evicted",reason="unauthenticated-per-address"\} 1$/m,
        );
      } finally {
        socks.forEach((s) => s.destroy());
        await stack.close();
      }
    },
  );

  it('sources: an IPv4 address as it is (also IPv4-mapped), an IPv6 address by its /64', () => {
    assert.equal(sourceOf('192.0.2.17'), '192.0.2.17');
    assert.equal(sourceOf('::ffff:192.0.2.17'), '192.0.2.17');
    assert.equal(sourceOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
    assert.equal(sourceOf('2001:DB8:0001:0002::1'), '2001:db8:1:2::/64');
    assert.equal(sourceOf('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(sourceOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(sourceOf('::1'), '0:0:0:0::/64');
  });

  it('sources: a NAT64 address (64:ff9b::/96, RFC 6052) and an IPv4-mapped one in hex by the IPv4 address they carry', () => {
    assert.equal(sourceOf('64:ff9b::c000:211'), '192.0.2.17');
    assert.equal(sourceOf('64:FF9B::192.0.2.17'), '192.0.2.17');
    assert.equal(sourceOf('64:ff9b:0:0:0:0:c633:6401'), '198.51.100.1');
    assert.equal(sourceOf('::ffff:c000:211'), '192.0.2.17');
    // Only the well-known /96 embeds its IPv4 address last: any other prefix is an IPv6 /64.
    assert.equal(sourceOf('64:ff9b:1::c000:211'), '64:ff9b:1:0::/64');
  });
});
