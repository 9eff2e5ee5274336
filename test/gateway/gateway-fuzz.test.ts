/**
 * The gateway shrugs off bad input (issue: "must not fall over for any input"): a seeded sample
 * of the fuzz run (`npm run fuzz` does 100,000), then a slow-header client that must be cut off.
 * Each input must get a documented answer in time; see test/fuzz/gateway-fuzz.ts.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, it } from 'node:test';
import { fuzzGateway } from '../fuzz/gateway-fuzz.ts';
import { startTestStack, validNhsNumbersIn, type TestStack } from '../helpers/stack.ts';

const SEED = 20261124;
let stack: TestStack;
before(async () => {
  stack = await startTestStack({ configure: (r) => (r.listen.requestTimeoutMs = 2000) });
});
after(() => stack?.close());

it(`1,500 generated requests (seed ${SEED}) all get a documented answer in time, and the gateway stays up`, async () => {
  const seen = await fuzzGateway(stack, { runs: 1500, seed: SEED });
  assert.ok(seen.size > 5, `varied answers: ${[...seen.keys()].join(', ')}`);
  const health = await stack.request('/healthz');
  assert.equal(health.status, 200);
  assert.deepEqual(validNhsNumbersIn(stack.logs.join('\n')), []);
});

it('a client that sends its headers slowly is cut off', async () => {
  const { port } = new URL(stack.gatewayUrl);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => {}); // the server hanging up mid-write is the point
  await new Promise((r) => socket.once('connect', r));
  socket.write('POST /api/fgm-status HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  // The client trickles a byte every 200 ms, forever; only the server can end this.
  const trickle = setInterval(() => socket.writable && socket.write('a'), 200);
  try {
    const closed = await Promise.race([
      new Promise<boolean>((r) => socket.once('close', () => r(true))),
      new Promise<boolean>((r) => setTimeout(() => r(false), 15_000).unref()),
    ]);
    assert.ok(closed, 'the server closed the connection');
  } finally {
    clearInterval(trickle);
    socket.destroy();
  }
});
