// The floor of the gateway's own framework: a Hono app on @hono/node-server (the HTTP stack the
// gateway is built on) whose one route reads the request body and relays it to the simulator over
// TLS mutual authentication, as node-floor-child.mjs does with bare node:http — no token, no FHIR,
// no audit, no middleware. The bench measures its CPU per request and its RSS beside the gateway's
// and the bare floor's, so what the framework costs before any SMSP work is a figure.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const spine = new URL(process.env.FLOOR_SPINE_URL);
const agent = new Agent({
  keepAlive: true,
  maxSockets: 32,
  cert: readFileSync(process.env.FLOOR_CERT),
  key: readFileSync(process.env.FLOOR_KEY),
  ca: readFileSync(process.env.FLOOR_CA),
});
const relay = (body) =>
  new Promise((resolve) => {
    const out = request(
      spine,
      { method: 'POST', agent, headers: { 'content-type': 'text/xml; charset=utf-8', 'content-length': body.length } },
      (answer) => {
        const got = [];
        answer.on('data', (c) => got.push(c));
        answer.on('end', () =>
          resolve({ status: answer.statusCode ?? 502, body: Buffer.concat(got).toString('utf8') }),
        );
      },
    );
    out.on('error', () => resolve({ status: 502, body: '' }));
    out.end(body);
  });
const app = new Hono();
app.post('/', async (c) => {
  const answer = await relay(Buffer.from(await c.req.arrayBuffer()));
  return c.body(answer.body, answer.status, { 'content-type': 'application/fhir+xml' });
});
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
  process.stdout.write(`listening on http://127.0.0.1:${info.port}\n`),
);
process.once('SIGTERM', () => server.close(() => process.exit(0)));
