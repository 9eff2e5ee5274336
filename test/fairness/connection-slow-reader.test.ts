/**
 * @module test/fairness/connection-slow-reader
 * Issue 21, the slow reader: a caller that sends requests and never reads their answers must not
 * hold the listener's connections. Over real sockets: connections pipelining hundreds of widget
 * fetches and never reading fill `listen.maxConnections`, and a clinician still gets her
 * indicator; an answer its reader never takes closes its connection after `listen.writeTimeoutMs`.
 * Nothing here is timed: each step waits for an event (first byte received, response closed).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { boundConnections } from '../../gateway/server/connection-bound.ts';
import { LOCAL_MIDWIFE, startTestStack } from '../helpers/stack.ts';

/** Opens a connection, pipelines `count` GETs of `path` and, once the first answer's byte arrives, stops reading. */
async function slowReader(port: number, path: string, count: number): Promise<Socket> {
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => {});
  await once(sock, 'connect');
  sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`.repeat(count));
  await once(sock, 'data');
  sock.pause();
  return sock;
}

describe('issue 21: a slow reader cannot take the listener from anyone else', () => {
  it(
    'SMSP-PERF-001 16 connections each pipelining 300 widget fetches and never reading (listen.maxConnections 16): a clinician still gets her indicator',
    { timeout: 60_000 },
    async () => {
      const stack = await startTestStack({
        configure: (r) => {
          r.listen.maxConnections = 16;
          r.listen.maxPipelinedPerConnection = 1000;
        },
      });
      const sockets: Socket[] = [];
      try {
        const port = Number(new URL(stack.gatewayUrl).port);
        for (let i = 0; i < 16; i++) sockets.push(await slowReader(port, '/widget/fgm-status.js', 300));
        const res = await stack.request('/api/fgm-status', {
          token: stack.signToken(LOCAL_MIDWIFE),
          json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
        });
        assert.equal(res.status, 200, res.body);
        assert.equal(JSON.parse(res.body).status, 'indicator');
      } finally {
        sockets.forEach((s) => s.destroy());
        await stack.close();
      }
    },
  );

  it(
    'an answer its reader does not take within listen.writeTimeoutMs closes its connection',
    { timeout: 60_000 },
    async () => {
      // 32 MB: more than loopback's socket buffers hold, so the answer cannot be flushed unread.
      const chunk = Buffer.alloc(1 << 20, 'x');
      let answered!: (res: ServerResponse) => void;
      const answer = new Promise<ServerResponse>((resolve) => {
        answered = resolve;
      });
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        for (let i = 0; i < 32; i++) res.write(chunk);
        res.end();
        answered(res);
      });
      boundConnections(server, () => ({
        maxConnections: 8,
        bodyTimeoutMs: 5000,
        writeTimeoutMs: 200,
        maxUnauthenticatedPerAddress: 64,
        maxPipelinedPerConnection: 1000,
      }));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const sock = await slowReader((server.address() as AddressInfo).port, '/', 1);
      try {
        const res = await answer;
        // Closed by the deadline: the reader never reads again, so nothing else would close it.
        await once(res, 'close');
        const open = await new Promise<number>((resolve, reject) =>
          server.getConnections((e, n) => (e ? reject(e) : resolve(n))),
        );
        assert.equal(open, 0);
      } finally {
        sock.destroy();
        server.close();
        server.closeAllConnections();
      }
    },
  );
});
