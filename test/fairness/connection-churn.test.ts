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
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { boundConnections, sourceOf, type ConnectionLimits, type Shed } from '../../gateway/server/connection-bound.ts';
import { startTestStack } from '../helpers/stack.ts';

/** A server whose requests carrying `X-Caller` are claimed for that caller and answered at once; `/hold` is never answered. */
async function bounded(limits: Partial<ConnectionLimits>) {
  const server = createServer({ keepAliveTimeout: 60_000 });
  const shed: Shed[] = [];
  let connections = 0;
  const waiters: { n: () => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (!w.n()) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  // Registered before the bound's own listener: counted here once the bound has decided on it.
  server.on('connection', () => queueMicrotask(() => (connections++, check())));
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
    port: (server.address() as AddressInfo).port,
    shed,
    /** Resolves once the server has seen `n` connections in all. */
    connections: (n: number) =>
      new Promise<void>((resolve) => (waiters.push({ n: () => connections >= n, resolve }), check())),
    /** Resolves once the server has seen `n` requests in all. */
    requests: (n: number) =>
      new Promise<void>((resolve) => (waiters.push({ n: () => requests >= n, resolve }), check())),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

async function open(port: number, from = '127.0.0.1'): Promise<Socket> {
  const sock = connect({ port, host: '127.0.0.1', localAddress: from });
  sock.on('error', () => {});
  await once(sock, 'connect');
  return sock;
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
    'at most listen.maxUnauthenticatedPerAddress unauthenticated connections from one source: a newcomer replaces the oldest silent one (reported), and is refused only when none is closable; another source and an authenticated connection are not held to it',
    { timeout: 60_000 },
    async () => {
      const srv = await bounded({ maxConnections: 100, maxUnauthenticatedPerAddress: 3 });
      const socks: Socket[] = [];
      try {
        for (let i = 0; i < 5; i++) socks.push(await open(srv.port, '127.0.2.5'));
        await srv.connections(5);
        await Promise.all(socks.slice(0, 2).map((s) => (s.destroyed ? undefined : once(s, 'close'))));
        assert.deepEqual(
          srv.shed.map(({ action, reason, source }) => ({ action, reason, source })),
          [
            { action: 'evicted', reason: 'unauthenticated-per-address', source: '127.0.2.5' },
            { action: 'evicted', reason: 'unauthenticated-per-address', source: '127.0.2.5' },
          ],
        );
        assert.deepEqual(
          socks.slice(2).map((s) => s.destroyed),
          [false, false, false],
          'the oldest two went, the newest three stay',
        );
        const other = await open(srv.port, '127.0.2.6');
        socks.push(other);
        await srv.connections(6);
        assert.equal(srv.shed.length, 2, 'another source has its own count');
        // Once one of them has authenticated, the source has room for one more.
        assert.match(await ask(socks[2]!, 'user:epr/ajones'), /^HTTP\/1\.1 200/);
        const more = await open(srv.port, '127.0.2.5');
        socks.push(more);
        await srv.connections(7);
        assert.equal(srv.shed.length, 2);
        // Every unauthenticated one from the source now has a request being answered: none is
        // closable, so the newcomer is the one refused.
        for (const s of [socks[3]!, socks[4]!, more]) s.write('GET /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        await srv.requests(4);
        const refused = await open(srv.port, '127.0.2.5');
        socks.push(refused);
        if (!refused.destroyed) await once(refused, 'close');
        assert.deepEqual(
          srv.shed.slice(2).map(({ action, reason, source }) => ({ action, reason, source })),
          [{ action: 'refused', reason: 'unauthenticated-per-address', source: '127.0.2.5' }],
        );
        assert.deepEqual(
          [socks[3]!, socks[4]!, more].map((s) => s.destroyed),
          [false, false, false],
        );
      } finally {
        socks.forEach((s) => s.destroy());
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
