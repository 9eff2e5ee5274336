/**
 * @module middleware/access-log
 * One JSON log line per request: request id, method, path, status, Details.Code, duration and
 * client id (the client system's or the CDS client's). Never the body, query string or headers — those may hold NHS numbers or tokens.
 */
import type { MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../env.ts';
import type { Logger } from '../logger.ts';

/**
 * @example app.use(accessLog({ log: jsonLineLogger(), paths: ['/healthz'] }))
 */
export function accessLog({ log, paths, now = () => performance.now() }: { log: Logger; paths: readonly string[]; now?: () => number }): MiddlewareHandler<GatewayEnv> {
  const known = new Set(paths);
  return async function accessLog(c, next) {
    const start = now();
    await next();
    log({
      level: c.res.status >= 500 ? 'error' : 'info',
      msg: 'request',
      requestId: c.get('requestId'),
      method: c.req.method,
      // Only the gateway's own fixed paths are logged: any other path is client text, not echoed.
      path: known.has(c.req.path) ? c.req.path : 'other',
      status: c.res.status,
      code: c.get('outcomeCode') ?? null,
      reason: c.get('refusalReason') ?? null,
      // Whoever asked, on every interface: a client system (widget API, FHIR) or a CDS client (EPR).
      clientId: c.get('client')?.id ?? c.get('cdsClient')?.id ?? null,
      durationMs: Math.round(now() - start),
    });
  };
}
