/**
 * @module demo/portal/dev-portal
 * The development gateway `npm run dev:portal` runs for a portal of one's own: one client that
 * accepts the portal's origin and session tokens signed with the dev IdP key (demo/epr/idp.ts),
 * and a marker file beside the config. `npm run dev:token` mints tokens only where that marker
 * says development, so no production config ever gains a way to mint tokens (and the gateway
 * has no token endpoint at all).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { SPINE_ASID } from '../../gateway/fhir/constants.ts';
import { DEMO_ORG, DEMO_USERS, type DemoUser } from '../epr/users.ts';
import { DEMO_GATEWAY_ASID } from '../spine/server.ts';

/** The tokens' issuer and audience: fixed strings, not URLs, so nobody mistakes them for a real IdP. */
export const DEV_ISSUER = 'urn:fgm-status:dev-portal';
export const DEV_AUDIENCE = 'fgm-status-gateway';
/** An hour: one pasted token lasts a working session; the gateway's limit for the client is the same. */
export const DEV_TOKEN_SECONDS = 3600;
const MARKER = 'dev-portal.json';

/** The test users a dev token can be had for: the demo EPR's locally signed users. */
export const DEV_USERS: readonly DemoUser[] = DEMO_USERS.filter((u) => u.issuer === 'local');

/** What `dev:portal` leaves for `dev:token`: written only by writeDevPortal. */
export interface DevPortalMarker {
  development: true;
  origin: string;
  gatewayUrl: string;
  issuer: string;
  audience: string;
  /** The dev IdP's private key (absolute). */
  keyFile: string;
}

export interface DevPortalFiles {
  dir: string;
  configFile: string;
  markerFile: string;
}

/** Writes the gateway config and the development marker into `<dataDir>/portal/`. */
export function writeDevPortal(
  dataDir: string,
  o: {
    origin: string;
    host: string;
    gatewayPort: number;
    spineEndpoint: string;
    pkiDir: string;
    idpKeyFile: string;
    idpPublicKeyFile: string;
  },
): DevPortalFiles {
  const dir = join(resolve(dataDir), 'portal');
  mkdirSync(dir, { recursive: true });
  const hmacKeyFile = join(dir, 'audit-hmac.key');
  if (!existsSync(hmacKeyFile)) writeFileSync(hmacKeyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const rel = (f: string) => relative(dir, f);
  const config = {
    listen: { host: o.host, port: o.gatewayPort },
    // A free port for metrics: never a clash with npm start or a gateway already on 9464.
    metrics: { host: o.host, port: 0 },
    smsp: { asid: DEMO_GATEWAY_ASID, odsCode: DEMO_ORG.code, name: 'fgm-status dev:portal' },
    spine: {
      endpoint: o.spineEndpoint,
      asid: SPINE_ASID,
      tls: {
        certFile: rel(join(o.pkiDir, 'gateway-client.crt')),
        keyFile: rel(join(o.pkiDir, 'gateway-client.key')),
        caFile: rel(join(o.pkiDir, 'ca.crt')),
      },
      timeoutMs: 5000,
      rateLimit: { perSecond: 50, burst: 50 },
    },
    clients: [
      {
        id: 'dev-portal',
        name: `Development portal at ${o.origin}`,
        odsCode: DEMO_ORG.code,
        origins: [o.origin],
        token: {
          issuer: DEV_ISSUER,
          audience: DEV_AUDIENCE,
          publicKeyFile: rel(o.idpPublicKeyFile),
          algorithms: ['ES256'],
          maxLifetimeSeconds: DEV_TOKEN_SECONDS,
        },
        claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
        roleActivities: { midwife: ['B0370'], receptionist: [], auditor: [] },
        auditorRoles: ['auditor'],
        priority: 'interactive',
        orgNames: { [DEMO_ORG.code]: DEMO_ORG.name },
      },
    ],
    audit: { sqliteFile: 'audit.sqlite', hmacKeyFile: 'audit-hmac.key' },
  };
  const configFile = join(dir, 'fgm-gateway.config.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return { dir, configFile, markerFile: join(dir, MARKER) };
}

/** Records the running gateway's URL for dev:token (written once the gateway listens). */
export function writeMarker(files: DevPortalFiles, m: Omit<DevPortalMarker, 'development'>) {
  const marker: DevPortalMarker = { development: true, ...m };
  writeFileSync(files.markerFile, `${JSON.stringify(marker, null, 2)}\n`);
}

/** The marker in `<dataDir>/portal/`, or an Error saying why no token may be minted there. */
export function readMarker(dataDir: string): DevPortalMarker {
  const file = join(resolve(dataDir), 'portal', MARKER);
  if (!existsSync(file))
    throw new Error(
      `no development portal in ${resolve(dataDir)} (${file} is missing): start one with npm run dev:portal -- --origin <your origin>`,
    );
  let m: Partial<DevPortalMarker>;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevPortalMarker>;
  } catch {
    throw new Error(`${file} is not JSON: restart npm run dev:portal to rewrite it`);
  }
  if (m.development !== true)
    throw new Error(
      `${file} does not say "development": true; dev tokens are minted only for a gateway npm run dev:portal configured`,
    );
  for (const k of ['origin', 'gatewayUrl', 'issuer', 'audience', 'keyFile'] as const) {
    if (typeof m[k] !== 'string') throw new Error(`${file} lacks "${k}": restart npm run dev:portal to rewrite it`);
  }
  if (!existsSync(m.keyFile!))
    throw new Error(`the dev IdP key ${m.keyFile} is missing: restart npm run dev:portal to make it`);
  return m as DevPortalMarker;
}
