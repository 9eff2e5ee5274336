/**
 * @module demo/epr/server
 * A demo EPR on its own origin: sign-in as a local user or with (the double of) NHS CIS2, a
 * patient list, and a patient record whose banner carries `<fgm-status>`. Sessions are in memory;
 * local tokens are really signed. A smartcard user signs in as a CIS2 relying party does:
 * authorization code + PKCE against the CIS2 issuer, then UserInfo for the banner; the element
 * gets the user's CIS2 access token, which the gateway confirms with CIS2 itself.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { patientListPage, patientPage, signInPage, type Patient } from './pages.ts';
import { DEMO_ORG, DEMO_USERS, type DemoUser } from './users.ts';
import { CIS2_SCOPES, pkcePair } from '../cis2/provider.ts';
import { AUDIT_ACTIVITY } from '../cis2/users.ts';
import type { DemoIdp } from './idp.ts';

export interface DemoEprOptions {
  idp: DemoIdp;
  gatewayUrl: string;
  /** The local users' token issuer; must match the gateway's client configuration. */
  issuers: { local: string };
  audience: string;
  /** The EPR as a CIS2 relying party: the issuer, its client id there and its redirect URI. */
  cis2: { issuer: string; clientId: string; redirectUri: string };
  patients?: readonly Patient[];
}

/** A signed-in session: a local user, or a CIS2 user with their access token. */
interface Session {
  user: DemoUser;
  cis2AccessToken?: string;
}

interface Cis2Endpoints {
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
}

/** The part of CIS2's UserInfo answer the banner shows. */
interface Cis2UserInfo {
  name?: string;
  selected_roleid?: string;
  nhsid_nrbac_roles?: { person_roleid: string; org_code: string; role_name?: string; activity_codes?: string[] }[];
}

/** `"Clinical":"Clinical Provision":"General Medical Practitioner"` → `General Medical Practitioner`. */
const roleTitle = (roleName: string | undefined) => roleName?.split(':').at(-1)?.replace(/"/g, '') ?? 'role';

const SESSION_COOKIE = 'epr_session';
/** Ties the CIS2 redirect back to the browser that started the sign-in (CSRF on the callback). */
const STATE_COOKIE = 'epr_cis2_state';
const asset = (name: string) => readFileSync(new URL(`./public/${name}`, import.meta.url), 'utf8');

/** Loads the demo patients from `patients.json`. */
export function loadDemoPatients(): Patient[] {
  return (JSON.parse(readFileSync(new URL('./patients.json', import.meta.url), 'utf8')) as { patients: Patient[] })
    .patients;
}

/** Builds the EPR app; it never listens (see startDemoEpr). */
export function createDemoEprApp(opts: DemoEprOptions): Hono {
  const patients = opts.patients ?? loadDemoPatients();
  const sessions = new Map<string, Session>();
  /** PKCE verifiers of sign-ins under way, by state. */
  const pendingCis2 = new Map<string, string>();
  const gatewayOrigin = new URL(opts.gatewayUrl).origin;
  const cis2Origin = new URL(opts.cis2.issuer).origin;
  let endpoints: Promise<Cis2Endpoints> | undefined;
  // OpenID Connect discovery, once (a failure is tried again on the next sign-in).
  const cis2Endpoints = () =>
    (endpoints ??= fetch(`${opts.cis2.issuer}/.well-known/openid-configuration`)
      .then((r) =>
        r.ok ? (r.json() as Promise<Cis2Endpoints>) : Promise.reject(new Error(`discovery HTTP ${r.status}`)),
      )
      .catch((e) => {
        endpoints = undefined;
        throw e;
      }));
  const assets = { 'epr.js': asset('epr.js'), 'epr.css': asset('epr.css') };
  const app = new Hono();

  app.use(async (c, next) => {
    await next();
    c.header(
      'Content-Security-Policy',
      `default-src 'self'; script-src 'self' ${gatewayOrigin}; connect-src 'self' ${gatewayOrigin}; style-src 'self'; ` +
        `img-src 'self'; base-uri 'none'; form-action 'self' ${cis2Origin}; frame-ancestors 'none'`,
    );
    c.header('Cache-Control', 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
  });

  const sessionOf = (c: Context) => {
    const id = getCookie(c, SESSION_COOKIE);
    return id ? sessions.get(id) : undefined;
  };
  const userOf = (c: Context) => sessionOf(c)?.user;
  const startSession = (c: Context, session: Session) => {
    const id = randomBytes(24).toString('base64url');
    sessions.set(id, session);
    setCookie(c, SESSION_COOKIE, id, { httpOnly: true, sameSite: 'Strict', path: '/' });
  };

  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.get('/epr.js', (c) => c.body(assets['epr.js'], 200, { 'Content-Type': 'text/javascript; charset=utf-8' }));
  app.get('/epr.css', (c) => c.body(assets['epr.css'], 200, { 'Content-Type': 'text/css; charset=utf-8' }));

  app.get('/', (c) => {
    const user = userOf(c);
    return c.html(user ? patientListPage(user, patients, opts.gatewayUrl) : signInPage(DEMO_USERS, opts.gatewayUrl));
  });

  app.post('/sign-in', async (c) => {
    const form = await c.req.parseBody();
    const user = DEMO_USERS.find((u) => u.id === form.user);
    if (!user) return c.text('Unknown demo user', 400);
    if (user.issuer === 'cis2') {
      // The authorization request: code flow, PKCE (S256), CIS2's scopes, a state bound to this browser.
      const { authorization_endpoint } = await cis2Endpoints();
      const { verifier, challenge } = pkcePair();
      const state = randomBytes(16).toString('base64url');
      pendingCis2.set(state, verifier);
      setCookie(c, STATE_COOKIE, state, { httpOnly: true, sameSite: 'Lax', path: '/cis2/callback' });
      const url = new URL(authorization_endpoint);
      const params = {
        client_id: opts.cis2.clientId,
        redirect_uri: opts.cis2.redirectUri,
        response_type: 'code',
        scope: CIS2_SCOPES.join(' '),
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state,
      };
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      return c.redirect(url.href, 303);
    }
    startSession(c, { user });
    return c.redirect('/', 303);
  });

  // CIS2 sends the browser back here with a code: exchange it (with the PKCE verifier) for the
  // tokens, ask UserInfo who signed in and in which role, and keep the access token for the element.
  app.get('/cis2/callback', async (c) => {
    const state = c.req.query('state');
    const code = c.req.query('code');
    const verifier = state ? pendingCis2.get(state) : undefined;
    if (!state || state !== getCookie(c, STATE_COOKIE) || !verifier || !code)
      return c.text('CIS2 sign-in did not complete', 400);
    pendingCis2.delete(state);
    deleteCookie(c, STATE_COOKIE, { path: '/cis2/callback' });
    const { token_endpoint, userinfo_endpoint } = await cis2Endpoints();
    const tokenRes = await fetch(token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: opts.cis2.redirectUri,
        client_id: opts.cis2.clientId,
        code_verifier: verifier,
      }).toString(),
    });
    const tokens = (await tokenRes.json()) as { access_token?: string };
    if (!tokenRes.ok || !tokens.access_token) return c.text('CIS2 refused the sign-in', 502);
    const info = (await (
      await fetch(userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    ).json()) as Cis2UserInfo;
    const role = info.nhsid_nrbac_roles?.find((r) => r.person_roleid === info.selected_roleid);
    const orgCode = role?.org_code ?? '—';
    startSession(c, {
      user: {
        id: role?.activity_codes?.includes(AUDIT_ACTIVITY) ? 'auditor' : 'smartcard',
        name: info.name ?? 'CIS2 user',
        roleName: `${roleTitle(role?.role_name)} (smartcard)`,
        orgCode,
        orgName: orgCode === DEMO_ORG.code ? DEMO_ORG.name : orgCode,
        issuer: 'cis2',
        claims: {},
      },
      cis2AccessToken: tokens.access_token,
    });
    return c.redirect('/', 303);
  });

  app.post('/sign-out', (c) => {
    const id = getCookie(c, SESSION_COOKIE);
    if (id) sessions.delete(id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/', 303);
  });

  app.get('/patients/:nhsNumber', (c) => {
    const user = userOf(c);
    if (!user) return c.redirect('/', 303);
    const patient = patients.find((p) => p.nhsNumber === c.req.param('nhsNumber'));
    if (!patient) return c.text('No such patient', 404);
    return c.html(patientPage(user, patient, opts.gatewayUrl));
  });

  // The element's tokenProvider calls this: a fresh short-lived token for a local user, the CIS2
  // access token for a smartcard user (the gateway confirms it with CIS2).
  app.get('/session/token', (c) => {
    const session = sessionOf(c);
    if (!session) return c.text('Not signed in', 401);
    return c.text(session.cis2AccessToken ?? opts.idp.issue(session.user.claims, opts.issuers.local, opts.audience));
  });

  return app;
}

export interface DemoEpr {
  url: string;
  close(): Promise<void>;
}

/** Serves the demo EPR on `host:port` (port 0 picks a free one). */
export async function startDemoEpr(opts: DemoEprOptions & { host?: string; port?: number }): Promise<DemoEpr> {
  const app = createDemoEprApp(opts);
  const host = opts.host ?? '127.0.0.1';
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: opts.port ?? 8080 }, () => resolve(s));
    // A port in use must reject (npm start reports it in one line), not throw from the event.
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
