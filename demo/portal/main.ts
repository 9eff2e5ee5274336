/**
 * @module demo/portal/main
 * `npm run dev:portal -- --origin http://localhost:5173`: a gateway for a portal of one's own, on
 * this machine, against the Spine simulator. Writes `<data>/portal/fgm-gateway.config.json` (one
 * client: that origin, tokens from the dev IdP key), starts the simulator and the gateway, and
 * prints the element snippet and how to get a session token (`npm run dev:token`). Ports as
 * `npm start`: GATEWAY_PORT (8787), SPINE_SIM_PORT (9443); 0 picks free ones.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseOrigin } from './origin.ts';

const HOST = '127.0.0.1';

function args() {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: { origin: { type: 'string' }, 'data-dir': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    return { origin: parseOrigin(values.origin), dataDir: resolve(values['data-dir'] ?? '.data') };
  } catch (e) {
    throw new Error(
      `${(e as Error).message.split('\n')[0]}\nusage: npm run dev:portal -- --origin <your portal's origin> [--data-dir .data]`,
      { cause: e },
    );
  }
}

/** What the developer reads: where things are, the snippet to paste, how to get a token. */
function instructions(
  o: { origin: string; gatewayUrl: string; spineUrl: string; configFile: string; dataDir: string },
  { DEV_ISSUER, DEV_AUDIENCE, DEV_USERS }: typeof import('./dev-portal.ts'),
) {
  const dataArg = o.dataDir === resolve('.data') ? '' : ` --data-dir ${o.dataDir}`;
  return `
dev:portal is running: a development gateway for the portal at ${o.origin}

  Gateway         ${o.gatewayUrl}   (config ${o.configFile})
  Accepts         pages from ${o.origin} only (CORS), tokens from "${DEV_ISSUER}" for "${DEV_AUDIENCE}"
  Spine simulator ${o.spineUrl}

A session token for a test user (valid an hour; development only, never a real user):

  npm run -s dev:token -- midwife${dataArg}      (${DEV_USERS.map((u) => u.id).join(', ')})

The midwife sees FGM-IS; the receptionist lacks activity B0370 and is refused. Paste into a page
served from ${o.origin}:

<script type="module" src="${o.gatewayUrl}/widget/fgm-status.js"></script>
<fgm-status gateway="${o.gatewayUrl}" nhs-number="9990000018" birth-date="2014-03-02" nhs-number-verified></fgm-status>
<script type="module">
  // Development only: your portal's backend gives the element its user's session token.
  document.querySelector('fgm-status').token = 'PASTE THE OUTPUT OF npm run -s dev:token -- midwife';
</script>

Test patients: 9990000018 (born 2014-03-02) and 9990000042 (2019-11-30) have an indicator,
9990000026 (2016-07-19) has none, 9990000034 (2001-01-15) is over 18. docs/embedding.md walks a
Vite app from npm create vite to the alert. Ctrl-C stops.
`;
}

try {
  const { origin, dataDir } = args();
  // The gateway and simulator modules load only once the arguments are good: a mistake is answered at once.
  const [
    { DEFAULT_WIDGET_FILE, loadConfig },
    { startGateway },
    { loadDemoIdp },
    { ensureDevPki },
    { startSpineSimulator },
    { portInUse },
    dev,
  ] = await Promise.all([
    import('../../gateway/config/config.ts'),
    import('../../gateway/server/server.ts'),
    import('../epr/idp.ts'),
    import('../pki.ts'),
    import('../spine/server.ts'),
    import('../stack.ts'),
    import('./dev-portal.ts'),
  ]);
  const { DEV_AUDIENCE, DEV_ISSUER, writeDevPortal, writeMarker } = dev;
  if (!existsSync(DEFAULT_WIDGET_FILE))
    throw new Error(
      `the widget is not built (${DEFAULT_WIDGET_FILE}); run "npm run build" first (npm run dev:portal does)`,
    );
  const pki = await ensureDevPki(join(dataDir, 'pki'), { report: (line) => console.log(`dev:portal ${line}`) });
  const idp = loadDemoIdp(pki.dir);
  const spinePort = Number(process.env.SPINE_SIM_PORT ?? 9443);
  const gatewayPort = Number(process.env.GATEWAY_PORT ?? 8787);
  const sim = await startSpineSimulator({ pkiDir: pki.dir, host: HOST, port: spinePort }).catch((e) =>
    portInUse(e, 'Spine simulator', spinePort, 'SPINE_SIM_PORT'),
  );
  const files = writeDevPortal(dataDir, {
    origin,
    host: HOST,
    gatewayPort,
    spineEndpoint: sim.endpoint,
    pkiDir: pki.dir,
    idpKeyFile: join(pki.dir, 'demo-idp.key'),
    idpPublicKeyFile: idp.publicKeyFile,
  });
  const gateway = await startGateway(loadConfig(files.configFile)).catch(async (e) => {
    await sim.close();
    return portInUse(e, 'gateway', gatewayPort, 'GATEWAY_PORT');
  });
  writeMarker(files, {
    origin,
    gatewayUrl: gateway.url,
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
    keyFile: join(pki.dir, 'demo-idp.key'),
  });
  console.log(
    instructions(
      { origin, gatewayUrl: gateway.url, spineUrl: sim.endpoint, configFile: files.configFile, dataDir },
      dev,
    ),
  );
  const stop = () =>
    void gateway
      .close()
      .then(() => sim.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (e) {
  // One line (plus usage for a bad argument), never a stack trace.
  console.error(`npm run dev:portal: ${(e as Error).message}`);
  process.exit(1);
}
