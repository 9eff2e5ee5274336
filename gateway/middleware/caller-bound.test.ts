import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { json, listen, testClient, unitApp } from '../../test/helpers/hono-unit.ts';
import { callerBound, inFlightCounts, nameUser, type InFlightCounts } from './caller-bound.ts';

/** Counts that also tell the test each time a request stops counting. */
function watched(): { counts: InFlightCounts; entered: Promise<void>; released: Promise<void> } {
  const inner = inFlightCounts();
  let enter!: () => void, release!: () => void;
  const entered = new Promise<void>((r) => (enter = r));
  const released = new Promise<void>((r) => (release = r));
  const counts: InFlightCounts = {
    ...inner,
    enter: (b) => {
      const leave = inner.enter(b);
      if (leave) enter();
      return leave && (() => (leave(), release()));
    },
  };
  return { counts, entered, released };
}

/**
 * An app with one client per X-Test-Client header and a user per X-Test-User; a request with
 * X-Test-Hold waits for `open()`, so it stays in flight as long as the test wants.
 */
function bounded(counts: InFlightCounts, maxPerClient = 2, maxPerUser = 1) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const app = unitApp();
  app.use('*', async (c, next) => {
    const id = c.req.header('X-Test-Client');
    if (id) c.set('client', testClient({ id }));
    const user = c.req.header('X-Test-User');
    if (user) nameUser(c, user);
    await next();
  });
  app.get('/', callerBound({ counts, maxPerClient, maxPerUser }), async (c) => {
    // As the FHIR and CDS routes do: the user is known only once the message is read.
    const late = c.req.header('X-Test-Late-User');
    if (late) nameUser(c, late);
    if (c.req.header('X-Test-Hold')) await gate;
    return c.text(c.get('callerUser') ?? 'served');
  });
  return { app, open: () => open() };
}

const as = (client: string, user?: string, hold = false) => ({
  headers: {
    'X-Test-Client': client,
    ...(user ? { 'X-Test-User': user } : {}),
    ...(hold ? { 'X-Test-Hold': '1' } : {}),
  },
});

describe('callerBound', () => {
  it("over the client's bound: 429 SPINE_BUSY with Retry-After 1, and the next request after one finishes is served", async () => {
    const { app, open } = bounded(inFlightCounts());
    const held = [app.request('/', as('a', undefined, true)), app.request('/', as('a', undefined, true))];
    const busy = await app.request('/', as('a'));
    assert.equal(busy.status, 429);
    assert.equal(busy.headers.get('Retry-After'), '1');
    assert.equal((await json(busy)).code, 'SPINE_BUSY');
    // Another client still has its turn.
    assert.equal((await app.request('/', as('b'))).status, 200);
    open();
    await Promise.all(held);
    assert.equal((await app.request('/', as('a'))).status, 200);
  });

  it("over a user's bound, that user waits while other users of the same client are served", async () => {
    const { app, open } = bounded(inFlightCounts(), 10, 1);
    const held = app.request('/', as('a', 'ajones', true));
    assert.equal((await app.request('/', as('a', 'ajones'))).status, 429);
    assert.equal((await app.request('/', as('a', 'clee'))).status, 200);
    open();
    await held;
  });

  it("a user the message names after the bound ran is counted then: over her bound she waits while her client's other users are served, and she is served once hers ends", async () => {
    const { app, open } = bounded(inFlightCounts(), 10, 1);
    const late = (user: string, hold = false) => ({
      headers: { 'X-Test-Client': 'a', 'X-Test-Late-User': user, ...(hold ? { 'X-Test-Hold': '1' } : {}) },
    });
    const held = app.request('/', late('asid-1/chs-user', true));
    const busy = await app.request('/', late('asid-1/chs-user'));
    assert.equal(busy.status, 429);
    assert.equal(busy.headers.get('Retry-After'), '1');
    assert.equal((await json(busy)).code, 'SPINE_BUSY');
    assert.equal((await app.request('/', late('asid-1/another-user'))).status, 200);
    // The same user id from another originating system is another user.
    assert.equal((await app.request('/', late('asid-2/chs-user'))).status, 200);
    open();
    await held;
    assert.equal((await app.request('/', late('asid-1/chs-user'))).status, 200);
  });

  it('a user id over 128 characters is kept as `sha256:` and its SHA-256 (bounded); two long ids sharing a prefix stay two users', async () => {
    const { app, open } = bounded(inFlightCounts(), 10, 1);
    const long = 'x'.repeat(200);
    const held = app.request('/', as('a', `${long}-1`, true));
    assert.equal((await app.request('/', as('a', `${long}-1`))).status, 429);
    const other = await app.request('/', as('a', `${long}-2`));
    assert.equal(other.status, 200);
    assert.equal(await other.text(), `sha256:${createHash('sha256').update(`${long}-2`).digest('base64url')}`);
    // An id at the bound is kept as it is.
    assert.equal(await (await app.request('/', as('a', 'y'.repeat(128)))).text(), 'y'.repeat(128));
    open();
    await held;
  });

  it('a request no middleware authenticated is not counted (the authentication step refuses it)', async () => {
    const { app } = bounded(inFlightCounts(), 0, 0);
    assert.equal((await app.request('/')).status, 200);
  });

  it('over a real socket, a client that hangs up mid-request gives its share back at once', async () => {
    const { counts, entered, released } = watched();
    const { app, open } = bounded(counts, 1);
    const server = await listen(app);
    try {
      const req = request({
        host: '127.0.0.1',
        port: server.port,
        path: '/',
        headers: as('a', undefined, true).headers,
      });
      req.on('error', () => {});
      req.end();
      await entered;
      assert.equal((await fetch(server.url, as('a'))).status, 429);
      req.destroy();
      await released;
      assert.equal((await fetch(server.url, as('a'))).status, 200);
    } finally {
      open();
      await server.close();
    }
  });
});

describe("callerBound: slow bodies cannot hold their client's bound (issue 21)", () => {
  /**
   * Client 'a' (three in flight at most) over a real socket; POST / reads the body and answers it,
   * waiting for `open()` first with X-Test-Hold. `entered(n)` resolves once n requests are counted.
   */
  async function slowBodyServer() {
    const inner = inFlightCounts();
    let count = 0;
    let waiters: { n: number; resolve: () => void }[] = [];
    const counts: InFlightCounts = {
      ...inner,
      enter: (b) => {
        const leave = inner.enter(b);
        if (leave) count++;
        waiters = waiters.filter((w) => (count >= w.n ? (w.resolve(), false) : true));
        return leave;
      },
    };
    let shed = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const app = unitApp();
    app.use('*', async (c, next) => {
      c.set('client', testClient({ id: 'a' }));
      await next();
    });
    app.post('/', callerBound({ counts, maxPerClient: 3, maxPerUser: 10, onShed: () => shed++ }), async (c) => {
      const body = await c.req.text();
      if (c.req.header('X-Test-Hold')) await gate;
      return c.text(body);
    });
    const server = await listen(app);
    const entered = (n: number) =>
      new Promise<void>((resolve) => (count >= n ? resolve() : waiters.push({ n, resolve })));
    return { server, entered, open: () => open(), shed: () => shed };
  }

  /** Headers declaring `body` and its first byte only, from `localAddress`; `rest()` sends the rest, `answer` is what comes back. */
  async function slow(port: number, localAddress: string, body = 'hello') {
    const sock = connect({ port, host: '127.0.0.1', localAddress });
    sock.on('error', () => {});
    let text = '';
    sock.on('data', (d) => (text += d));
    const closed = once(sock, 'close').then(() => text);
    await once(sock, 'connect');
    sock.write(
      `POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 1)}`,
    );
    return { sock, closed, rest: () => sock.write(body.slice(1)) };
  }
  const whole = (port: number, localAddress: string, hold = false) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/',
          localAddress,
          agent: false,
          headers: hold ? { 'X-Test-Hold': '1' } : {},
        },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end('whole');
    });
  const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1]);

  it("SMSP-PERF-001 at the client's bound a newcomer closes a request still waiting for its body, from the source with the most waiting (oldest first), and is served", async () => {
    const { server, entered, shed } = await slowBodyServer();
    try {
      const a1 = await slow(server.port, '127.0.0.1');
      await entered(1);
      const b1 = await slow(server.port, '127.0.0.3');
      await entered(2);
      const a2 = await slow(server.port, '127.0.0.1');
      await entered(3);
      // 127.0.0.1 has two waiting: its oldest makes way.
      assert.deepEqual(await whole(server.port, '127.0.0.4'), { status: 200, body: 'whole' });
      assert.equal(await a1.closed, '', 'closed without an answer');
      assert.equal(shed(), 1);
      // The bound full again with one waiting from each of three sources: the oldest of all (b1) makes way.
      const c1 = await slow(server.port, '127.0.0.5');
      await entered(5);
      assert.deepEqual(await whole(server.port, '127.0.0.4'), { status: 200, body: 'whole' });
      assert.equal(await b1.closed, '');
      // a2 and c1 were never closed: their bodies, sent now, are answered.
      a2.rest();
      c1.rest();
      assert.deepEqual([statusOf(await a2.closed), statusOf(await c1.closed)], [200, 200]);
      assert.equal(shed(), 2);
    } finally {
      await server.close();
    }
  });

  it('SMSP-PERF-001 a request whose body has arrived is never closed for a newcomer: once all in flight have theirs, the newcomer hears the busy tone', async () => {
    const { server, entered, open, shed } = await slowBodyServer();
    try {
      const held = [whole(server.port, '127.0.0.1', true), whole(server.port, '127.0.0.1', true)];
      await entered(2);
      const waiting = await slow(server.port, '127.0.0.3');
      await entered(3);
      // The slow one goes, though the two held are older and from one source.
      const third = whole(server.port, '127.0.0.4', true);
      assert.equal(await waiting.closed, '');
      await entered(4);
      const busy = await whole(server.port, '127.0.0.5');
      assert.equal(busy.status, 429);
      assert.equal(JSON.parse(busy.body).code, 'SPINE_BUSY');
      assert.equal(shed(), 1);
      open();
      for (const a of await Promise.all([...held, third])) assert.deepEqual(a, { status: 200, body: 'whole' });
    } finally {
      open();
      await server.close();
    }
  });
});
