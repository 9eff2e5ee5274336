/**
 * @module observe/metrics-server
 * `GET /metrics` on a listener of its own (config `metrics`, default 127.0.0.1:9464), never on the
 * public one: counters by outcome, read just after someone's query, would tell anyone who can
 * reach the gateway whether that patient has an indicator. Plain node:http, one route; prom-client
 * renders the registry.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

const TEXT = 'text/plain; charset=utf-8';

/**
 * A server answering `GET /metrics` (Prometheus text format) and 404 to anything else; the caller listens.
 * @example const server = createMetricsServer(metrics.registry); server.listen(9464, '127.0.0.1');
 */
export function createMetricsServer(registry: Registry): Server {
  const server = createServer((req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': TEXT }).end('Not Found\n');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': TEXT, Allow: 'GET, HEAD' }).end('Method Not Allowed\n');
    } else {
      registry.metrics().then(
        (text) =>
          res.writeHead(200, { 'Content-Type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        () => res.writeHead(500, { 'Content-Type': TEXT }).end('metrics unavailable\n'),
      );
    }
  });
  // A scraper sends one small request; nothing here needs the public listener's longer deadlines.
  server.headersTimeout = 5000;
  server.requestTimeout = 5000;
  server.keepAliveTimeout = 5000;
  return server;
}
