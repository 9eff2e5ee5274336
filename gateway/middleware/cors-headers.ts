/**
 * @module middleware/cors-headers
 * CORS for the configured client origins: Hono's cors answers preflights; on an actual request the
 * same headers are set on the context before the route answers. Hono's cors sets them on `c.res`
 * before the handler and `Vary` after it by `c.header`, so Hono copies every answer into a new Response and
 * @hono/node-server writes it through the full Web Response: about a tenth of the gateway's CPU per
 * request (issue 22). Set first, they go out with the answer as the handler made it.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

export interface CorsOptions {
  /** The origin to allow (echoed back), or null when the request's Origin is no configured client's. */
  origin: (origin: string) => string | null;
  allowMethods: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: number;
}

/**
 * @example app.use('/api/*', corsHeaders({ origin: allowOrigin, allowMethods: ['POST'] }))
 */
export function corsHeaders(options: CorsOptions): MiddlewareHandler {
  const preflight = cors(options);
  const expose = options.exposeHeaders?.join(',');
  return async function corsHeaders(c, next) {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    // What Hono's cors sets on an actual request: the allowed origin and the exposed headers first,
    // then Vary appended to the answer's own (in place: c.header would copy the answer again).
    const origin = options.origin(c.req.header('origin') || '');
    if (origin) c.header('Access-Control-Allow-Origin', origin);
    if (expose) c.header('Access-Control-Expose-Headers', expose);
    await next();
    // A Response a route made itself (not through the context) carries nothing set on the context:
    // then the headers are set on it here, as Hono's cors would (review atk22 F1).
    const answer = c.res.headers;
    const own =
      (!origin || answer.get('Access-Control-Allow-Origin') === origin) &&
      (!expose || answer.has('Access-Control-Expose-Headers'));
    if (!own) {
      if (origin) c.header('Access-Control-Allow-Origin', origin);
      if (expose) c.header('Access-Control-Expose-Headers', expose);
    }
    // An answer whose headers cannot change (Response.redirect, a fetched one) is copied by c.header.
    try {
      c.res.headers.append('Vary', 'Origin');
    } catch {
      c.header('Vary', 'Origin', { append: true });
    }
  };
}
