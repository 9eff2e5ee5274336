/**
 * @module middleware/client-in-service
 * Refuses a client system an operator has taken out of service (SMSP-SEC-001): `enabled: false`
 * in the config, applied by a reload without restarting the gateway.
 */
import type { MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../env.ts';
import { SmspError } from '../smsp-error.ts';

/**
 * Must run after the middleware that identifies the client (sessionAuth or clientAuth).
 * @example app.post('/api/fgm-status', sessionAuth(...), clientInService({ isEnabled }), …)
 */
export function clientInService({
  isEnabled,
}: {
  isEnabled: (clientId: string) => boolean;
}): MiddlewareHandler<GatewayEnv> {
  return async function clientInService(c, next) {
    if (!isEnabled(c.get('client').id)) throw new SmspError('client-disabled', 'client taken out of service');
    await next();
  };
}
