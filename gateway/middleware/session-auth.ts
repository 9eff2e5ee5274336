/**
 * @module middleware/session-auth
 * Authenticates a widget request by the host portal's session token (`Authorization: Bearer`),
 * then maps its claims to the user identity (`c.get('client')`, `c.get('identity')`). Any
 * failure is 401 AUTHOR_CREDENTIALS_ERROR (SMSP-IG-002, SMSP-AUDIT-005), and so is a client
 * system's own token (`systemToken`): it names no user.
 */
import type { MiddlewareHandler } from 'hono';
import { identityFromClaims } from '../auth/identity.ts';
import { TokenRejected, type SessionVerifier } from '../auth/verify-session-token.ts';
import { noteAudit, type GatewayEnv } from '../env.ts';
import { SmspError } from '../smsp-error.ts';

export interface SessionAuthOptions {
  verify: SessionVerifier;
}

/** The bearer token in an Authorization header value, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header ?? '');
  return m?.[1];
}

/**
 * @example app.use('/api/fgm-status', sessionAuth({ verify: createSessionVerifier({ clients, clientKeys }) }))
 */
export function sessionAuth({ verify }: SessionAuthOptions): MiddlewareHandler<GatewayEnv> {
  return async function sessionAuth(c, next) {
    const token = bearerToken(c.req.header('Authorization'));
    if (!token) throw new SmspError('no-credentials', 'no bearer token');
    let session;
    try {
      session = await verify(token);
    } catch (e) {
      if (e instanceof TokenRejected) throw new SmspError('token-rejected', `token: ${e.reason}`);
      throw e;
    }
    const { client, payload, kind } = session;
    c.set('client', client);
    noteAudit(c, { clientId: client.id });
    if (kind !== 'session') throw new SmspError('wrong-token-kind', 'a system token is not a user session');
    // A token is only good from its own portal's pages: CORS alone does not stop a script on
    // another configured portal replaying it.
    const origin = c.req.header('Origin');
    if (origin !== undefined && !client.origins.includes(origin)) throw new SmspError('origin-not-allowed', 'origin not allowed for this client');
    const identity = identityFromClaims(client, payload);
    if (!identity) throw new SmspError('token-has-no-identity', 'token has no user identity');
    c.set('identity', identity);
    noteAudit(c, {
      userId: identity.author.kind === 'sds' ? identity.author.userId : identity.author.localId,
      roleProfileId: identity.author.kind === 'sds' ? identity.author.roleProfileId : null,
      localRoles: identity.roles.length ? identity.roles.join(',') : null,
      orgCode: identity.orgCode,
    });
    await next();
  };
}
