/**
 * @module demo/cis2/provider
 * A CIS2 double for the demo and the tests: `oidc-provider` (the certified Node OpenID Provider)
 * on 127.0.0.1, speaking what NHS CIS2 Authentication speaks — discovery, authorization code +
 * PKCE, and UserInfo with CIS2's claims (`nhsid_useruid`, `nhsid_nrbac_roles`,
 * `selected_roleid` for the `selectedrole` scope) for the people in users.ts. Its sign-in page
 * picks a person and, like CIS2's role chooser, one of their roles. Access tokens are JWTs
 * (RFC 9068, oidc-provider's resourceIndicators with accessTokenFormat 'jwt') carrying the
 * relying party's `client_id`, signed by a key of its JWKS, as the gateway requires.
 * oidc-provider's own UserInfo refuses audience-bound tokens, so `/me` is answered here, for
 * tokens this provider signed and issued only (their jti recorded at issue), from the person and
 * the grant's scopes: nothing a caller sends decides what it says.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify } from 'jose';
import type ProviderType from 'oidc-provider';
import type { Cis2Person } from './users.ts';

/** CIS2's scopes that the gateway needs: who the user is, their RBAC roles, the role chosen at sign-in. */
export const CIS2_SCOPES = ['openid', 'profile', 'nationalrbacaccess', 'selectedrole'] as const;
/** The resource the double's access tokens are for (their `aud`); the gateway checks `client_id`. */
export const CIS2_RESOURCE = 'urn:fgm-status:cis2-userinfo';
/** UserInfo's claims per scope (CIS2's, cis2.md). */
const SCOPE_CLAIMS: Record<string, readonly string[]> = {
  openid: ['sub'],
  profile: ['name', 'uid'],
  nationalrbacaccess: ['nhsid_useruid', 'nhsid_nrbac_roles'],
  selectedrole: ['selected_roleid'],
};

export interface Cis2RelyingParty {
  clientId: string;
  redirectUris: string[];
}

export interface Cis2ProviderOptions {
  people: readonly Cis2Person[];
  relyingParties: readonly Cis2RelyingParty[];
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Access token lifetime (default 600 s). */
  accessTokenSeconds?: number;
}

export interface SignInOptions {
  clientId: string;
  redirectUri: string;
  /** The role chosen at sign-in; with `scope` lacking `selectedrole`, UserInfo names none. */
  roleId?: string;
  scope?: string;
}

export interface Cis2Provider {
  /** The issuer (discovery at `<issuer>/.well-known/openid-configuration`). */
  issuer: string;
  /** UserInfo requests answered so far. */
  userInfoCalls(): number;
  /**
   * The whole authorization code + PKCE flow over HTTP, as a browser would drive it: the
   * authorization request, the sign-in form, the redirect back, the token request. Returns the tokens.
   */
  signIn(uid: string, opts: SignInOptions): Promise<{ accessToken: string; idToken: string }>;
  close(): Promise<void>;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** PKCE (RFC 7636): a fresh verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 8192) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Runs `f` without oidc-provider's two start-up notices that do not apply to a double: that Node
 * 20 is not its target (it runs there: the project supports 20.19+) and that its store is in
 * memory (right for a double). Any other warning still shows.
 */
async function withoutDoubleNotices<T>(f: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!(
      typeof args[0] === 'string' &&
      /^oidc-provider WARNING: (Unsupported runtime|a quick start development-only in-memory adapter)/.test(args[0])
    ))
      warn(...args);
  };
  try {
    return await f();
  } finally {
    console.warn = warn;
  }
}

/** Starts the provider on `host:port`; `close()` stops it. */
export async function startCis2Provider(opts: Cis2ProviderOptions): Promise<Cis2Provider> {
  // Loaded here, not at import: the demo EPR imports this module's helpers without a provider.
  const Provider: typeof ProviderType = await withoutDoubleNotices(async () => (await import('oidc-provider')).default);
  const host = opts.host ?? '127.0.0.1';
  const server = createServer();
  server.listen(opts.port ?? 0, host);
  await once(server, 'listening');
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;
  const people = new Map(opts.people.map((p) => [p.uid, p]));
  /** The role each grant's user chose at sign-in (CIS2's role chooser). */
  const selectedRoles = new Map<string, string>();
  let userInfoCalls = 0;
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const verifyKey = await importJWK({ kty: 'RSA', n: signingKey.n!, e: signingKey.e! }, 'RS256');
  /** Access tokens issued (by jti): the grant and account each speaks for. */
  const issued = new Map<string, { accountId: string; grantId: string }>();

  const provider = await withoutDoubleNotices(
    async () =>
      new Provider(issuer, {
        clients: opts.relyingParties.map((rp) => ({
          client_id: rp.clientId,
          redirect_uris: rp.redirectUris,
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          response_types: ['code'],
        })),
        jwks: { keys: [{ ...signingKey, kid: 'cis2-double-1', alg: 'RS256', use: 'sig' }] },
        cookies: { keys: [randomBytes(32).toString('hex')] },
        scopes: [...CIS2_SCOPES],
        claims: Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([k, v]) => [k, [...v]])),
        ttl: {
          AccessToken: opts.accessTokenSeconds ?? 600,
          AuthorizationCode: 60,
          IdToken: 600,
          Interaction: 600,
          Session: 3600,
          Grant: 3600,
        },
        features: {
          devInteractions: { enabled: false },
          resourceIndicators: {
            enabled: true,
            defaultResource: () => CIS2_RESOURCE,
            useGrantedResource: () => true,
            getResourceServerInfo: () => ({
              scope: CIS2_SCOPES.join(' '),
              audience: CIS2_RESOURCE,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'RS256' } },
            }),
          },
        },
        interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
        async findAccount(_ctx, id, token) {
          const person = people.get(id);
          if (!person) return undefined;
          const grantId = (token as { grantId?: string } | undefined)?.grantId;
          const selected = grantId ? selectedRoles.get(grantId) : undefined;
          return {
            accountId: id,
            claims: () => ({
              sub: id,
              uid: person.uid,
              name: person.name,
              nhsid_useruid: person.uid,
              nhsid_nrbac_roles: person.roles,
              ...(selected ? { selected_roleid: selected } : {}),
            }),
          };
        },
      }),
  );
  const callback = provider.callback();

  /** The sign-in page: one button per person and role, as CIS2 asks for the role after the card. */
  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    if (req.method === 'GET') {
      const buttons = opts.people.flatMap((p) =>
        (p.roles.length ? p.roles : [undefined]).map(
          (r) =>
            `<li><button type="submit" name="choice" value="${escapeHtml(`${p.uid}:${r?.person_roleid ?? ''}`)}" data-uid="${escapeHtml(p.uid)}" data-role="${escapeHtml(r?.person_roleid ?? '')}">${escapeHtml(p.name)}${r ? ` – ${escapeHtml(r.role_name)} at ${escapeHtml(r.org_code)}` : ' – no role'}</button></li>`,
        ),
      );
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; form-action 'self' http://127.0.0.1:* http://localhost:*",
        'cache-control': 'no-store',
      });
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CIS2 double – sign in</title></head><body>
<h1>NHS CIS2 Authentication (demo double)</h1>
<p>Choose who inserts their smartcard, and the role they select.</p>
<form method="post" action="/interaction/${escapeHtml(uid)}"><ul>${buttons.join('')}</ul></form></body></html>`);
      return;
    }
    const [personId = '', roleId = ''] = ((await formBody(req)).get('choice') ?? '').split(':');
    const person = people.get(personId);
    if (!person) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('unknown person');
      return;
    }
    const grant = new provider.Grant({ accountId: person.uid, clientId: String(details.params.client_id) });
    const scope = String((details.params.scope as string | undefined) ?? 'openid');
    grant.addOIDCScope(scope);
    grant.addResourceScope(CIS2_RESOURCE, scope);
    const grantId = await grant.save();
    // CIS2 selects a single role by itself; with several the user picks one (here: the button).
    const chosen = roleId || (person.roles.length === 1 ? person.roles[0]!.person_roleid : '');
    if (scope.split(' ').includes('selectedrole') && chosen) selectedRoles.set(grantId, chosen);
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: person.uid }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  provider.on('access_token.issued', (token: { jti: string; accountId: string; grantId: string }) => {
    issued.set(token.jti, { accountId: token.accountId, grantId: token.grantId });
  });

  /** UserInfo for the JWT access tokens this provider issued; 401 for anything else. */
  async function userInfo(req: IncomingMessage, res: ServerResponse) {
    const refuse = () =>
      void res
        .writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' })
        .end('{"error":"invalid_token"}');
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return refuse();
    const { payload } = await jwtVerify(token, verifyKey, { issuer }).catch(() => ({ payload: undefined }));
    const record = typeof payload?.jti === 'string' ? issued.get(payload.jti) : undefined;
    const grant = record && (await provider.Grant.find(record.grantId));
    const person = record && people.get(record.accountId);
    if (!record || !grant || !person) return refuse();
    const selected = selectedRoles.get(record.grantId);
    const all: Record<string, unknown> = {
      sub: person.uid,
      uid: person.uid,
      name: person.name,
      nhsid_useruid: person.uid,
      nhsid_nrbac_roles: person.roles,
      ...(selected ? { selected_roleid: selected } : {}),
    };
    const wanted = new Set((grant.getOIDCScope() ?? '').split(' ').flatMap((sc) => SCOPE_CLAIMS[sc] ?? []));
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(Object.fromEntries(Object.entries(all).filter(([k]) => wanted.has(k)))));
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/me') {
      userInfoCalls++;
      return void userInfo(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('userinfo failed');
      });
    }
    const m = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(path);
    if (!m) return void callback(req, res);
    interaction(req, res, m[1]!).catch(() => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('sign-in failed');
    });
  });

  /** A tiny cookie jar: the provider's interaction and session cookies across the redirects. */
  async function signIn(uid: string, o: SignInOptions) {
    const jar = new Map<string, string>();
    const call = async (url: string, init: RequestInit = {}) => {
      const res = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: {
          ...(init.headers as Record<string, string>),
          cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        },
      });
      for (const c of res.headers.getSetCookie()) {
        const [pair = ''] = c.split(';');
        const eq = pair.indexOf('=');
        jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      return res;
    };
    const location = (res: Response) => {
      const to = res.headers.get('location');
      if (!to || res.status < 300 || res.status > 399)
        throw new Error(`CIS2 double: expected a redirect, got HTTP ${res.status}`);
      return new URL(to, issuer).href;
    };
    const { verifier, challenge } = pkcePair();
    const state = randomBytes(16).toString('base64url');
    const auth = new URL('/auth', issuer);
    for (const [k, v] of Object.entries({
      client_id: o.clientId,
      redirect_uri: o.redirectUri,
      response_type: 'code',
      scope: o.scope ?? CIS2_SCOPES.join(' '),
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
    }))
      auth.searchParams.set(k, v);
    const toInteraction = location(await call(auth.href));
    await (await call(toInteraction)).text();
    const resume = location(
      await call(toInteraction, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ choice: `${uid}:${o.roleId ?? ''}` }).toString(),
      }),
    );
    const back = new URL(location(await call(resume)));
    if (back.searchParams.get('state') !== state || !back.searchParams.get('code'))
      throw new Error(
        `CIS2 double: sign-in did not come back with a code (${back.searchParams.get('error') ?? 'no error'})`,
      );
    const tokenRes = await fetch(new URL('/token', issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: back.searchParams.get('code')!,
        redirect_uri: o.redirectUri,
        client_id: o.clientId,
        code_verifier: verifier,
      }).toString(),
    });
    const tokens = (await tokenRes.json()) as { access_token?: string; id_token?: string; error?: string };
    if (!tokens.access_token || !tokens.id_token)
      throw new Error(`CIS2 double: token request refused (${tokens.error ?? tokenRes.status})`);
    return { accessToken: tokens.access_token, idToken: tokens.id_token };
  }

  return {
    issuer,
    userInfoCalls: () => userInfoCalls,
    signIn,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
