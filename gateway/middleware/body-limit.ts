/**
 * @module middleware/body-limit
 * Refuses a request body over `maxBytes` with 413 REQUEST_TOO_LARGE. A declared Content-Length is
 * checked from the header alone (Node's HTTP parser never delivers more bytes than it declares),
 * so the body is left to @hono/node-server's direct read; touching `c.req.raw.body`, as hono's
 * bodyLimit does first, builds a web Request and stream per request (about 6% of the gateway's
 * CPU in a saturated profile). Bodies without a length (chunked) are counted as they arrive by
 * hono's bodyLimit.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as countingBodyLimit } from 'hono/body-limit';
import type { GatewayEnv } from '../env.ts';
import { SmspError } from '../smsp-error.ts';

/** Request body bytes the gateway holds at once, all callers together: well inside its 96 MB heap. */
export const BODY_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/** …and one client's (a portal, client system or CDS client) part of them, so one cannot take all. */
export const BODY_BYTES_IN_FLIGHT_PER_CLIENT = 4 * 1024 * 1024;
/**
 * What a body may hold without drawing on those budgets: a clinician's request (the element's
 * JSON, a FHIR query, a patient-view with its prefetch) is a few kilobytes, so a flood of large
 * bodies from her own client can never give her the busy tone; what small bodies hold is bounded
 * by the requests in flight (listen.maxInFlightPerClient).
 */
export const BODY_BYTES_FREE = 16 * 1024;

/**
 * Each request holds its declared length (a chunked one: `maxBytes`) beyond BODY_BYTES_FREE from
 * here until its handler has finished with it, within BODY_BYTES_IN_FLIGHT and its client's part;
 * beyond them it hears the busy tone. The per-request cap alone let a client's requests in flight, each waiting on a
 * slow FHIR server with its body held, take the heap: 200 of 128 KB ended the process (issue 21
 * review 21b, H1).
 *
 * @example app.post('/api/fgm-status', bodyLimit({ maxBytes: 65_536 }), handler)
 */
export function bodyLimit({
  maxBytes,
  total = BODY_BYTES_IN_FLIGHT,
  perClient = BODY_BYTES_IN_FLIGHT_PER_CLIENT,
}: {
  maxBytes: number;
  total?: number;
  perClient?: number;
}): MiddlewareHandler<GatewayEnv> {
  const tooLarge = (): never => {
    throw new SmspError('request-too-large', 'body over the size limit');
  };
  const counting = countingBodyLimit({ maxSize: maxBytes, onError: tooLarge });
  let held = 0;
  const byClient = new Map<string, number>();
  const hold = async (c: Parameters<MiddlewareHandler<GatewayEnv>>[0], length: number, run: () => Promise<unknown>) => {
    const bytes = Math.max(0, length - BODY_BYTES_FREE);
    if (bytes === 0) {
      await run();
      return;
    }
    const clientId = c.get('client')?.id ?? c.get('cdsClient')?.id;
    const mine = clientId === undefined ? 0 : (byClient.get(clientId) ?? 0);
    if (held + bytes > total || (clientId !== undefined && mine + bytes > perClient)) {
      c.header('Retry-After', '1');
      throw new SmspError('spine-busy', 'request bodies in flight over the memory budget');
    }
    held += bytes;
    if (clientId !== undefined) byClient.set(clientId, mine + bytes);
    try {
      await run();
    } finally {
      held -= bytes;
      if (clientId !== undefined) {
        const left = (byClient.get(clientId) ?? bytes) - bytes;
        if (left > 0) byClient.set(clientId, left);
        else byClient.delete(clientId);
      }
    }
  };
  return async function bodyLimit(c, next) {
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined)
      return hold(c, maxBytes, async () => counting(c, next));
    if (!/^\d+$/.test(length) || Number(length) > maxBytes) tooLarge();
    await hold(c, Number(length), next);
  };
}
