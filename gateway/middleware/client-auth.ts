/**
 * @module middleware/client-auth
 * Authenticates a client system on the SMSP FHIR interface (SMSP-IG-002): by its TLS client
 * certificate (the SHA-256 fingerprint configured as `mtls.fingerprint256`, on a CA-verified
 * connection) or, failing that, by its own system token (`systemToken`). A portal user's session
 * token is NOT a client-system credential: the FHIR interface trusts the client for its users'
 * RBAC, which a portal user cannot vouch for. Sets `c.get('client')`; else 401
 * AUTHOR_CREDENTIALS_ERROR, before the body is read. The user identity comes from the bundle's
 * Practitioner, not from here.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { TokenRejected, type SessionVerifier } from '../auth/verify-session-token.ts';
import type { ClientConfig } from '../config/config.ts';
import { noteAudit, type GatewayEnv } from '../env.ts';
import { SmspError } from '../smsp-error.ts';
import { bearerToken } from './session-auth.ts';

/** What the TLS layer knows about the peer: its certificate fingerprint and whether the CA verified it. */
export interface PeerCertificate {
  fingerprint256: string;
  authorized: boolean;
}

export interface ClientAuthOptions {
  clients: readonly ClientConfig[];
  verify: SessionVerifier;
  /** Reads the peer certificate of the request's connection (server.ts supplies it); none on plain HTTP. */
  peerCertificate?: (c: Context) => PeerCertificate | undefined;
}

/**
 * @example app.use('/fhir/fgm/query', clientAuth({ clients, verify, peerCertificate }))
 */
export function clientAuth({
  clients,
  verify,
  peerCertificate = () => undefined,
}: ClientAuthOptions): MiddlewareHandler<GatewayEnv> {
  const byFingerprint = new Map(clients.filter((c) => c.mtls).map((c) => [c.mtls!.fingerprint256, c]));
  return async function clientAuth(c, next) {
    const peer = peerCertificate(c);
    let client = peer?.authorized ? byFingerprint.get(peer.fingerprint256.replace(/:/g, '').toUpperCase()) : undefined;
    if (!client) {
      const token = bearerToken(c.req.header('Authorization'));
      if (!token)
        throw new SmspError('no-credentials', peer ? 'client certificate not recognised' : 'no client credentials');
      let verified;
      try {
        verified = await verify(token);
      } catch (e) {
        if (e instanceof TokenRejected) throw new SmspError('token-rejected', `token: ${e.reason}`);
        throw e;
      }
      if (verified.kind !== 'system') {
        // On the record which portal's session was tried here.
        noteAudit(c, { clientId: verified.client.id });
        throw new SmspError('wrong-token-kind', 'a user session token is not a client-system credential');
      }
      client = verified.client;
    }
    c.set('client', client);
    noteAudit(c, { clientId: client.id });
    await next();
  };
}
