/**
 * @module middleware/rbac
 * Lets a request through only if the authenticated user holds the RBAC activity (default B0370
 * "View Summary Health Records", SMSP-IG-001) in an organisation its client may act for
 * (`clients[].odsCodes`, SMSP-IG-003: the token's org claim names the Organization sent to Spine);
 * otherwise 403 with the local code ACCESS_DENIED.
 */
import type { MiddlewareHandler } from 'hono';
import { VIEW_ACTIVITY } from '../auth/identity.ts';
import type { GatewayEnv } from '../env.ts';
import { SmspError } from '../smsp-error.ts';

/**
 * Must run after sessionAuth, which sets `identity`.
 * @example app.use('/api/fgm-status', sessionAuth(...), rbac())
 */
export function rbac({ activity = VIEW_ACTIVITY }: { activity?: string } = {}): MiddlewareHandler<GatewayEnv> {
  return async function rbac(c, next) {
    const identity = c.get('identity');
    if (!c.get('client').odsCodes.includes(identity.orgCode))
      throw new SmspError('organisation-not-permitted', 'organisation not configured for this client');
    if (!identity.activities.includes(activity)) throw new SmspError('user-lacks-activity', `user lacks ${activity}`);
    await next();
  };
}
