/**
 * @module middleware/request-id
 * Gives each request a fresh id (`c.get('requestId')`, `X-Request-Id` response header). An
 * incoming X-Request-Id is deliberately ignored: it is client-controlled text that would reach
 * logs and audit, and could carry patient data.
 */
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../env.ts';

/**
 * @example app.use(requestId())
 */
export function requestId({ generate = randomUUID }: { generate?: () => string } = {}): MiddlewareHandler<GatewayEnv> {
  return async function requestId(c, next) {
    const id = generate();
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    await next();
  };
}
