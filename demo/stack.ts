/**
 * @module demo/stack
 * Everything `npm start` runs, in one process: the dev PKI (made once), the Spine simulator, the
 * CIS2 double (oidc-provider on 127.0.0.1, a free port), the gateway configured for the demo EPR,
 * and the demo EPR itself. The end-to-end tests start the
 * same stack on free ports with a throwaway data folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { loadConfig } from '../gateway/config/config.ts';
import type { Logger } from '../gateway/observe/logger.ts';
import { startGateway } from '../gateway/server/server.ts';
import { startDemoEpr } from './epr/server.ts';
import { DEMO_ORG } from './epr/users.ts';
import { loadDemoIdp } from './epr/idp.ts';
import { ensureDevPki } from './pki.ts';
import { startCis2Provider } from './cis2/provider.ts';
import { AUDIT_ACTIVITY, CIS2_PEOPLE } from './cis2/users.ts';
import { DEMO_GATEWAY_ASID, startSpineSimulator } from './spine/server.ts';
import { SPINE_ASID } from '../gateway/fhir/constants.ts';

export interface DemoStackOptions {
  /** Where the PKI, config, keys and audit database live (default `.data`). */
  dataDir?: string;
  host?: string;
  /** 0 picks free ports. Defaults: Spine 9443, gateway 8787, EPR 8080, metrics 0 (a free port, printed: never a clash with a gateway on 9464). */
  ports?: { spine?: number; gateway?: number; epr?: number; metrics?: number };
  /** The gateway's log lines (default: JSON lines on stdout). */
  log?: Logger;
  /** Simulator request lines (default: none). */
  spineLog?: (line: string) => void;
}

export interface DemoStack {
  eprUrl: string;
  gatewayUrl: string;
  /** The gateway's metrics listener (`GET /metrics`). */
  metricsUrl: string;
  spineUrl: string;
  /** The CIS2 double's issuer. */
  cis2Url: string;
  configFile: string;
  close(): Promise<void>;
}

export const DEMO_AUDIENCE = 'fgm-status-gateway';
/** The demo EPR's client id at the CIS2 double. */
const CIS2_CLIENT_ID = 'demo-epr';

/** A port nobody is listening on right now (for services that must know each other's URL up front). */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Writes the gateway config the demo uses; paths are relative to the data folder. */
function writeDemoConfig(
  dataDir: string,
  o: {
    host: string;
    gatewayPort: number;
    metricsPort: number;
    spineEndpoint: string;
    eprOrigin: string;
    idpKeyFile: string;
    cis2Issuer: string;
  },
) {
  const hmacKeyFile = join(dataDir, 'audit-hmac.key');
  if (!existsSync(hmacKeyFile)) writeFileSync(hmacKeyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const token = (issuer: string) => ({
    issuer,
    audience: DEMO_AUDIENCE,
    publicKeyFile: o.idpKeyFile,
    algorithms: ['ES256'],
    maxLifetimeSeconds: 900,
  });
  const config = {
    listen: { host: o.host, port: o.gatewayPort },
    metrics: { host: o.host, port: o.metricsPort },
    smsp: { asid: DEMO_GATEWAY_ASID, odsCode: DEMO_ORG.code, name: 'fgm-status demo SMSP' },
    spine: {
      endpoint: o.spineEndpoint,
      asid: SPINE_ASID,
      tls: { certFile: 'pki/gateway-client.crt', keyFile: 'pki/gateway-client.key', caFile: 'pki/ca.crt' },
      timeoutMs: 5000,
      rateLimit: { perSecond: 50, burst: 50 },
    },
    clients: [
      {
        id: 'demo-epr',
        name: 'Demo EPR (local sign-in)',
        odsCode: DEMO_ORG.code,
        origins: [o.eprOrigin],
        token: token(`${o.eprOrigin}/idp/local`),
        claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
        roleActivities: { midwife: ['B0370'], receptionist: [], auditor: [] },
        auditorRoles: ['auditor'],
        // The demo's IG officer audits the whole SMSP: both sign-in routes' records.
        smspAuditorRoles: ['auditor'],
        priority: 'interactive',
        orgNames: { [DEMO_ORG.code]: DEMO_ORG.name },
      },
      {
        id: 'demo-epr-cis2',
        name: 'Demo EPR (smartcard sign-in)',
        odsCode: DEMO_ORG.code,
        origins: [o.eprOrigin],
        // Smartcard users are who CIS2 says: the gateway confirms each access token with its UserInfo.
        cis2: { issuer: o.cis2Issuer, clientId: CIS2_CLIENT_ID },
        claims: 'cis2',
        roleActivities: {},
        // A CIS2 IG officer's selected role must hold this activity (made up for the demo: a trust names its own).
        auditorRoles: [AUDIT_ACTIVITY],
        priority: 'interactive',
        orgNames: { [DEMO_ORG.code]: DEMO_ORG.name },
      },
    ],
    audit: { sqliteFile: 'audit.sqlite', hmacKeyFile: 'audit-hmac.key' },
  };
  const file = join(dataDir, 'fgm-gateway.config.json');
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

/** A port of the stack is taken: the message is one line naming the port and its variable. */
export class PortInUse extends Error {
  override name = 'PortInUse';
  constructor(what: string, port: number | undefined, envVar: string) {
    super(
      `the ${what} port${port ? ` ${port}` : ''} is already in use; set ${envVar} to another port (0 picks a free one)`,
    );
  }
}

/** Rethrows a listen failure on a taken port as PortInUse; anything else unchanged. */
export function portInUse(e: unknown, what: string, port: number | undefined, envVar: string): never {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'EADDRINUSE' || /EADDRINUSE/.test(String(err?.message))) throw new PortInUse(what, port, envVar);
  throw e;
}

/** Starts PKI, simulator, gateway and demo EPR; `close()` stops them in reverse order. */
export async function startDemoStack(opts: DemoStackOptions = {}): Promise<DemoStack> {
  const dataDir = resolve(opts.dataDir ?? '.data');
  const host = opts.host ?? '127.0.0.1';
  mkdirSync(dataDir, { recursive: true });
  const pki = await ensureDevPki(join(dataDir, 'pki'));
  const idp = loadDemoIdp(join(dataDir, 'pki'));
  const pick = async (p: number | undefined, fallback: number) => (p === 0 ? freePort(host) : (p ?? fallback));
  const gatewayPort = await pick(opts.ports?.gateway, 8787);
  const eprPort = await pick(opts.ports?.epr, 8080);
  const eprOrigin = `http://${host}:${eprPort}`;
  const gatewayUrl = `http://${host}:${gatewayPort}`;

  const spinePort = opts.ports?.spine ?? 9443;
  const sim = await startSpineSimulator({
    pkiDir: pki.dir,
    host,
    port: spinePort,
    ...(opts.spineLog && { log: opts.spineLog }),
  }).catch((e) => portInUse(e, 'Spine simulator', spinePort, 'SPINE_SIM_PORT'));
  const stops: (() => Promise<void>)[] = [() => sim.close()];
  try {
    const cis2 = await startCis2Provider({
      host,
      people: Object.values(CIS2_PEOPLE),
      relyingParties: [{ clientId: CIS2_CLIENT_ID, redirectUris: [`${eprOrigin}/cis2/callback`] }],
    });
    stops.unshift(() => cis2.close());
    const configFile = writeDemoConfig(dataDir, {
      host,
      gatewayPort,
      metricsPort: opts.ports?.metrics ?? 0,
      spineEndpoint: sim.endpoint,
      eprOrigin,
      idpKeyFile: 'pki/demo-idp.pub.pem',
      cis2Issuer: cis2.issuer,
    });
    const gateway = await startGateway(loadConfig(configFile), opts.log ? { log: opts.log } : {}).catch((e: Error) =>
      e.message.startsWith('config: metrics:')
        ? portInUse(e, 'gateway metrics', opts.ports?.metrics, 'METRICS_PORT')
        : portInUse(e, 'gateway', gatewayPort, 'GATEWAY_PORT'),
    );
    stops.unshift(() => gateway.close());
    const epr = await startDemoEpr({
      idp,
      host,
      port: eprPort,
      gatewayUrl,
      issuers: { local: `${eprOrigin}/idp/local` },
      audience: DEMO_AUDIENCE,
      cis2: { issuer: cis2.issuer, clientId: CIS2_CLIENT_ID, redirectUri: `${eprOrigin}/cis2/callback` },
    }).catch((e) => portInUse(e, 'demo EPR', eprPort, 'DEMO_EPR_PORT'));
    stops.unshift(() => epr.close());
    return {
      eprUrl: epr.url,
      gatewayUrl,
      cis2Url: cis2.issuer,
      metricsUrl: gateway.metricsUrl,
      spineUrl: sim.endpoint,
      configFile,
      close: async () => {
        for (const stop of stops) await stop();
      },
    };
  } catch (e) {
    for (const stop of stops) await stop();
    throw e;
  }
}
