/**
 * @module middleware/no-store
 * `Cache-Control: no-store` on every answer, errors included: FGM-IS data must not be kept by
 * browsers or proxies (SMSP-FGMRI-003 applies to everything on the path).
 */
import type { MiddlewareHandler } from 'hono';

/**
 * @example app.use('/api/*', noStore())
 */
export function noStore(): MiddlewareHandler {
  return async function noStore(c, next) {
    await next();
    c.res.headers.set('Cache-Control', 'no-store');
  };
}
