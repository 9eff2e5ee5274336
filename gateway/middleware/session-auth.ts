/**
 * @module middleware/session-auth
 * Authenticates a widget (or audit page) request by its bearer token and sets the user identity
 * (`c.get('client')`, `c.get('identity')`) before anything else is read:
 * - a portal's own signed session token (a configured `token` issuer) → the local-identifier
 *   access method, claims mapped to local roles;
 * - a JWT naming a `claims: "cis2"` client's CIS2 issuer and client id is taken as the user's CIS2
 *   access token: its binding (not the request's Origin, which curl can set) picks the client,
 *   cis2-userinfo.ts proves it, and CIS2 UserInfo's answer alone makes the identity
 *   (SMSP-AUDIT-002); the selected role may come from the `NHSD-Session-URID` header. An Origin
 *   (or, on the audit page only, X-FGM-Portal-Origin) of another client is refused.
 * Any authentication failure is 401 AUTHOR_CREDENTIALS_ERROR (SMSP-IG-002, SMSP-AUDIT-005) — a claim
 * too long to be an identifier included (audit/audited-identifier.ts) — CIS2
 * unreachable is CIS2_UNAVAILABLE, and a client system's own token (`systemToken`) names no user.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { boundTo, OPAQUE_TOKEN_REASON, peekJwt } from '../auth/cis2-userinfo.ts';
import type { JWTPayload } from 'jose';
import { refusedValue } from '../audit/audited-identifier.ts';
import { identityFromCis2, identityFromClaims, UnusableClaim, type Identity } from '../auth/identity.ts';
import { TokenRejected, type SessionVerifier } from '../auth/verify-session-token.ts';
import type { ClientConfig } from '../config/config.ts';
import { noteAudit, type GatewayEnv } from '../env.ts';
import { SmspError } from '../smsp-error.ts';
import { nameUser } from './caller-bound.ts';
import { confirmWithCis2, type Cis2Directory } from './cis2-session.ts';

/** The header naming the user's selected role profile, as NHS England's user-restricted APIs take it. */
export const SESSION_URID_HEADER = 'NHSD-Session-URID';
/** The audit page (same origin, so no `Origin`) names the portal that handed it the session here. */
export const PORTAL_ORIGIN_HEADER = 'X-FGM-Portal-Origin';

export interface SessionAuthOptions {
  verify: SessionVerifier;
  /** The configured clients: a CIS2 access token finds its client by its issuer and client id. */
  clients: readonly ClientConfig[];
  cis2: Cis2Directory;
  /** The audit page's routes: X-FGM-Portal-Origin stands in for the Origin a same-origin page does not send. */
  portalOriginHeader?: boolean;
}

/** The bearer token in an Authorization header value, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header ?? '');
  return m?.[1];
}

function noteIdentity(c: Context<GatewayEnv>, identity: Identity): void {
  c.set('identity', identity);
  c.set('identitySource', identity.source);
  const userId = identity.author.kind === 'sds' ? identity.author.userId : identity.author.localId;
  nameUser(c, userId);
  noteAudit(c, {
    userId,
    roleProfileId: identity.author.kind === 'sds' ? identity.author.roleProfileId : null,
    localRoles: identity.roles.length ? identity.roles.join(',') : null,
    orgCode: identity.orgCode,
  });
}

/** The token's identity; a claim it will not use is refused on the record, with what refusedValue keeps of it (never so long that the write fails). */
function claimedIdentity(c: Context<GatewayEnv>, client: ClientConfig, payload: JWTPayload): Identity | null {
  try {
    return identityFromClaims(client, payload);
  } catch (e) {
    if (e instanceof UnusableClaim)
      noteAudit(c, { detail: JSON.stringify({ refusedClaim: { claim: e.claim, ...refusedValue(e.value) } }) });
    throw e;
  }
}

/**
 * @example app.use('/api/fgm-status', sessionAuth({ verify, clients: config.clients, cis2: cis2Directory(config.clients, Date.now) }))
 */
export function sessionAuth({
  verify,
  clients,
  cis2,
  portalOriginHeader = false,
}: SessionAuthOptions): MiddlewareHandler<GatewayEnv> {
  const cis2Clients = clients.filter((c) => c.claims === 'cis2' && c.cis2);
  /** The claims "cis2" client a JWT claims to be bound to (checked by cis2-userinfo.ts before CIS2 is asked). */
  const boundClient = (token: string) => {
    const claims = peekJwt(token);
    return claims && cis2Clients.find((cl) => claims.iss === cl.cis2!.issuer && boundTo(claims, cl.cis2!.clientId));
  };
  return async function sessionAuth(c, next) {
    const token = bearerToken(c.req.header('Authorization'));
    if (!token) throw new SmspError('no-credentials', 'no bearer token');
    let session;
    try {
      session = await verify(token);
    } catch (e) {
      if (!(e instanceof TokenRejected)) throw e;
      // Not a token of any configured portal: it may be a CIS2 access token, which names its client.
      // (An RFC 9068 access token's typ is at+jwt, which the session verifier calls not a JWT.)
      const cis2Client = e.reason === 'unknown issuer' || e.reason === 'not a JWT' ? boundClient(token) : undefined;
      if (!cis2Client && cis2Clients.length && !peekJwt(token)) {
        c.set('refusalReason', OPAQUE_TOKEN_REASON);
        throw new SmspError('token-rejected', `token: ${OPAQUE_TOKEN_REASON}`);
      }
      if (!cis2Client) throw new SmspError('token-rejected', `token: ${e.reason}`);
      // The token decides the client; a page (or curl) of another client's origin is refused.
      const origin = c.req.header('Origin') ?? (portalOriginHeader ? c.req.header(PORTAL_ORIGIN_HEADER) : undefined);
      if (origin !== undefined && !cis2Client.origins.includes(origin))
        throw new SmspError('token-rejected', "token: a CIS2 access token used from another client's origin");
      const user = await confirmWithCis2(c, cis2(cis2Client)!, token);
      // Named only once CIS2 vouched for the token: a refused one is an unauthenticated attempt,
      // bounded per address like any other (audit/unauthenticated-bound.ts), whatever it claimed.
      c.set('client', cis2Client);
      // The user as CIS2 answered, on the record even when the role checks below refuse (SMSP-AUDIT-009).
      noteAudit(c, { clientId: cis2Client.id, userId: user.userId });
      noteIdentity(c, identityFromCis2(user, c.req.header(SESSION_URID_HEADER)));
      await next();
      return;
    }
    const { client, payload, kind } = session;
    c.set('client', client);
    noteAudit(c, { clientId: client.id });
    if (kind !== 'session') throw new SmspError('wrong-token-kind', 'a system token is not a user session');
    // A token is only good from its own portal's pages: CORS alone does not stop a script on
    // another configured portal replaying it.
    const origin = c.req.header('Origin');
    if (origin !== undefined && !client.origins.includes(origin))
      throw new SmspError('origin-not-allowed', 'origin not allowed for this client');
    const identity = claimedIdentity(c, client, payload);
    if (!identity) throw new SmspError('token-has-no-identity', 'token has no user identity');
    noteIdentity(c, identity);
    await next();
  };
}
