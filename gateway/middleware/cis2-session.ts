/**
 * @module middleware/cis2-session
 * Confirms a user's CIS2 access token with their client's CIS2 environment (SMSP-AUDIT-002) for
 * both interfaces: the widget API (the element's bearer token) and the FHIR interface (the
 * `X-CIS2-Access-Token` header beside the client system's own credential). CIS2's refusals and
 * failures become the vocabulary's events: a token CIS2 refuses is AUTHOR_CREDENTIALS_ERROR,
 * CIS2 unreachable, slow or answering nonsense is CIS2_UNAVAILABLE (fail closed).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { Cis2Refused, createCis2UserInfo, type Cis2User, type Cis2UserInfo } from '../auth/cis2-userinfo.ts';
import type { ClientConfig } from '../config/config.ts';
import type { GatewayEnv } from '../env.ts';
import { SmspError } from '../smsp-error.ts';

/** The FHIR interface's header for the user's CIS2 access token (docs/api.md, "POST /fhir/fgm/query"). */
export const CIS2_TOKEN_HEADER = 'X-CIS2-Access-Token';

/** A client's CIS2 confirmer, or undefined for a client without `cis2`. */
export type Cis2Directory = (client: ClientConfig) => Cis2UserInfo | undefined;

/**
 * One confirmer (cache, call cap) per client with `cis2`, for one app (a reload builds a new one).
 * @example const cis2 = cis2Directory(config.clients, () => Date.now()); await cis2(client)?.(accessToken)
 */
export function cis2Directory(clients: readonly ClientConfig[], now: () => number): Cis2Directory {
  const byId = new Map(clients.filter((c) => c.cis2).map((c) => [c.id, createCis2UserInfo({ config: c.cis2!, now })]));
  return (client) => byId.get(client.id);
}

/** Asks CIS2 about `token`; its refusal as the request's SmspError. */
export async function confirmWithCis2(
  c: Context<GatewayEnv>,
  userInfo: Cis2UserInfo,
  token: string,
): Promise<Cis2User> {
  try {
    return await userInfo(token);
  } catch (e) {
    if (!(e instanceof Cis2Refused)) throw e;
    c.set('refusalReason', e.reason);
    if (e.kind === 'token-refused') throw new SmspError('cis2-token-refused', `CIS2: ${e.reason}`);
    throw new SmspError(e.kind === 'answer-invalid' ? 'cis2-answer-invalid' : 'cis2-unavailable', `CIS2: ${e.reason}`);
  }
}

/**
 * FHIR interface: when the client system sends its user's CIS2 access token, confirms it before
 * the body is read and keeps CIS2's answer for the route (`cis2User`), which matches the
 * Practitioner's SDS ids against it. Runs after clientAuth.
 * @example app.post('/fhir/fgm/query', clientAuth(...), cis2Author({ cis2 }), bodyLimit(...), fhirQuery(deps))
 */
export function cis2Author({ cis2 }: { cis2: Cis2Directory }): MiddlewareHandler<GatewayEnv> {
  return async function cis2Author(c, next) {
    const token = c.req.header(CIS2_TOKEN_HEADER);
    if (token !== undefined) {
      const userInfo = cis2(c.get('client'));
      if (!userInfo)
        throw new SmspError('author-unidentified', 'X-CIS2-Access-Token sent, but the client has no cis2 configured');
      if (!/^[A-Za-z0-9._~+/=-]{1,4096}$/.test(token))
        throw new SmspError('cis2-token-refused', 'X-CIS2-Access-Token is not a token');
      c.set('cis2User', await confirmWithCis2(c, userInfo, token));
    }
    await next();
  };
}
