// The floor a Node gateway cannot go below on this machine: a Node HTTP server that relays each
// request body to the simulator over TLS mutual authentication (a kept-alive https.Agent, as the
// gateway's Spine client) and relays the answer back — no token, no FHIR, no audit. The bench
// measures its CPU per request beside the gateway's, so "the rest is HTTP and TLS" is a figure.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Agent, request } from 'node:https';

const spine = new URL(process.env.FLOOR_SPINE_URL);
const agent = new Agent({
  keepAlive: true,
  maxSockets: 32,
  cert: readFileSync(process.env.FLOOR_CERT),
  key: readFileSync(process.env.FLOOR_KEY),
  ca: readFileSync(process.env.FLOOR_CA),
});
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const out = request(
      spine,
      { method: 'POST', agent, headers: { 'content-type': 'text/xml; charset=utf-8', 'content-length': body.length } },
      (answer) => {
        const got = [];
        answer.on('data', (c) => got.push(c));
        answer.on('end', () =>
          res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/fhir+xml' }).end(Buffer.concat(got)),
        );
      },
    );
    out.on('error', () => res.writeHead(502).end());
    out.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
