/**
 * Issue 21: a request's in-flight counts are given back when its answer has been handed to the
 * connection ('finish', the connection kept open) and when its client hangs up mid-answer — over
 * a real socket, each step waiting for an event (headers read, first chunk read, count released).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import type { GatewayEnv } from '../env.ts';
import { SmspError } from '../smsp-error.ts';
import { callerBound, inFlightCounts, nameUser, type InFlightCounts } from './caller-bound.ts';

/** Counts that tell the test each time a request stops counting. */
function watched(): { counts: InFlightCounts; released: () => Promise<void> } {
  const inner = inFlightCounts();
  let waiting: (() => void)[] = [];
  const counts: InFlightCounts = {
    ...inner,
    enter: (bounds) => {
      const leave = inner.enter(bounds);
      return (
        leave &&
        (() => {
          leave();
          const w = waiting;
          waiting = [];
          w.forEach((r) => r());
        })
      );
    },
  };
  return { counts, released: () => new Promise<void>((r) => waiting.push(r)) };
}

/** One client ('epr', one request in flight at most) and one user; GET /stream answers a first chunk, then the rest once `finish()` is called. */
async function server(counts: InFlightCounts) {
  let finish!: () => void;
  const rest = new Promise<void>((r) => (finish = r));
  let reach!: () => void;
  const reached = new Promise<void>((r) => (reach = r));
  const app = new Hono<GatewayEnv>();
  // The app's own handler turns the refusal into the vocabulary's answer; here its event is enough.
  app.onError((e, c) => (e instanceof SmspError ? c.text(e.event, 429) : c.text('unexpected', 500)));
  app.use('*', async (c, next) => {
    c.set('client', { id: 'epr' } as GatewayEnv['Variables']['client']);
    if (c.req.path !== '/late') nameUser(c, 'ajones');
    await next();
  });
  app.get('/', callerBound({ counts, maxPerClient: 1, maxPerUser: 1 }), (c) => c.text('served'));
  app.get('/stream', callerBound({ counts, maxPerClient: 1, maxPerUser: 1 }), (c) =>
    c.body(
      new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode('first chunk\n'));
          await rest;
          controller.enqueue(new TextEncoder().encode('the rest\n'));
          controller.close();
        },
      }),
    ),
  );
  // As the FHIR and CDS routes do, the user is named once the message is read: here after `finish()`.
  app.get('/late', callerBound({ counts, maxPerClient: 2, maxPerUser: 1 }), async (c) => {
    reach();
    await rest;
    nameUser(c, 'late-user');
    return c.text('served');
  });
  const srv = createAdaptorServer({ fetch: app.fetch });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  return {
    port,
    reached,
    finish: () => finish(),
    close: () =>
      new Promise<void>((r) => {
        (srv as import('node:http').Server).closeAllConnections();
        srv.close(() => r());
      }),
  };
}

function get(port: number, path: string, agent?: Agent): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ...(agent && { agent }) }, resolve);
    req.on('error', reject);
    req.end();
  });
}
const text = async (res: IncomingMessage) => {
  let s = '';
  for await (const chunk of res) s += chunk;
  return s;
};

describe('callerBound gives its counts back', () => {
  it('SMSP-PERF-001 when the answer is handed to the connection (finish), the connection staying open', async () => {
    const { counts, released } = watched();
    const srv = await server(counts);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const gone = released();
      const res = await get(srv.port, '/stream', agent);
      assert.equal(res.statusCode, 200);
      const socket = res.socket; // the response lets go of it once read
      // Mid-answer the request still counts: the client's and the user's one place are taken.
      const busy = await get(srv.port, '/');
      assert.equal(busy.statusCode, 429);
      assert.equal(await text(busy), 'spine-busy');
      srv.finish();
      assert.equal(await text(res), 'first chunk\nthe rest\n');
      await gone;
      assert.equal(socket.destroyed, false, 'given back on finish, not because the connection closed');
      // The next request, on the same kept-alive connection, is served.
      const next = await get(srv.port, '/', agent);
      assert.equal(next.statusCode, 200);
      assert.equal(await text(next), 'served');
    } finally {
      agent.destroy();
      await srv.close();
    }
  });

  it('SMSP-PERF-001 when the client hangs up mid-answer', async () => {
    const { counts, released } = watched();
    const srv = await server(counts);
    try {
      const gone = released();
      const res = await get(srv.port, '/stream');
      await once(res, 'data'); // the first chunk has arrived: the answer is under way
      assert.equal((await get(srv.port, '/')).statusCode, 429);
      res.socket.destroy();
      await gone;
      const next = await get(srv.port, '/');
      assert.equal(next.statusCode, 200);
      assert.equal(await text(next), 'served');
    } finally {
      srv.finish();
      await srv.close();
    }
  });

  it(
    'SMSP-PERF-001 when the route names the user after her client hung up (the FHIR and CDS routes name her from the message)',
    { timeout: 30_000 },
    async () => {
      const { counts, released } = watched();
      const srv = await server(counts);
      try {
        const req = request({ host: '127.0.0.1', port: srv.port, path: '/late' });
        req.on('error', () => {});
        req.end();
        await srv.reached;
        const clientGone = released();
        req.destroy();
        await clientGone;
        // Her user is counted only now, after the hang-up: it must be given back all the same.
        const userGone = released();
        srv.finish();
        await userGone;
        const next = await get(srv.port, '/late');
        assert.equal(next.statusCode, 200);
        assert.equal(await text(next), 'served');
      } finally {
        srv.finish();
        await srv.close();
      }
    },
  );
});
