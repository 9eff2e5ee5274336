/**
 * @module demo/epr/server
 * A demo EPR on its own origin: sign-in as one of three users, a patient list, and a patient
 * record whose banner carries `<fgm-status>`. Sessions are in memory; tokens are really signed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { patientListPage, patientPage, signInPage, type Patient } from './pages.ts';
import { DEMO_USERS, type DemoUser } from './users.ts';
import type { DemoIdp } from './idp.ts';

export interface DemoEprOptions {
  idp: DemoIdp;
  gatewayUrl: string;
  /** Token issuer per identity kind; must match the gateway's client configuration. */
  issuers: { local: string; cis2: string };
  audience: string;
  patients?: readonly Patient[];
}

const SESSION_COOKIE = 'epr_session';
const asset = (name: string) => readFileSync(new URL(`./public/${name}`, import.meta.url), 'utf8');

/** Loads the demo patients from `patients.json`. */
export function loadDemoPatients(): Patient[] {
  return JSON.parse(readFileSync(new URL('./patients.json', import.meta.url), 'utf8')).patients;
}

/** Builds the EPR app; it never listens (see startDemoEpr). */
export function createDemoEprApp(opts: DemoEprOptions): Hono {
  const patients = opts.patients ?? loadDemoPatients();
  const sessions = new Map<string, DemoUser>();
  const gatewayOrigin = new URL(opts.gatewayUrl).origin;
  const assets = { 'epr.js': asset('epr.js'), 'epr.css': asset('epr.css') };
  const app = new Hono();

  app.use(async (c, next) => {
    await next();
    c.header(
      'Content-Security-Policy',
      `default-src 'self'; script-src 'self' ${gatewayOrigin}; connect-src 'self' ${gatewayOrigin}; style-src 'self'; ` +
        `img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    );
    c.header('Cache-Control', 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
  });

  const userOf = (c: Context) => {
    const id = getCookie(c, SESSION_COOKIE);
    return id ? sessions.get(id) : undefined;
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
    const id = randomBytes(24).toString('base64url');
    sessions.set(id, user);
    setCookie(c, SESSION_COOKIE, id, { httpOnly: true, sameSite: 'Strict', path: '/' });
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

  // The element's tokenProvider calls this: a fresh short-lived token for the signed-in user.
  app.get('/session/token', (c) => {
    const user = userOf(c);
    if (!user) return c.text('Not signed in', 401);
    return c.text(opts.idp.issue(user.claims, opts.issuers[user.issuer], opts.audience));
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
