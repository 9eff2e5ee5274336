/**
 * @module demo/start
 * `npm start`: the whole product on this machine against the Spine simulator. Prints the demo
 * EPR's address; Ctrl-C stops everything.
 */
import { existsSync } from 'node:fs';
import { DEFAULT_WIDGET_FILE } from '../gateway/config/config.ts';
import { startDemoStack } from './stack.ts';

if (!existsSync(DEFAULT_WIDGET_FILE)) {
  console.error(`The widget is not built (${DEFAULT_WIDGET_FILE}); run "npm run build" first (npm start does).`);
  process.exit(1);
}

try {
  const stack = await startDemoStack({
    ports: {
      ...(process.env.SPINE_SIM_PORT && { spine: Number(process.env.SPINE_SIM_PORT) }),
      ...(process.env.GATEWAY_PORT && { gateway: Number(process.env.GATEWAY_PORT) }),
      ...(process.env.DEMO_EPR_PORT && { epr: Number(process.env.DEMO_EPR_PORT) }),
      ...(process.env.METRICS_PORT && { metrics: Number(process.env.METRICS_PORT) }),
    },
  });
  console.log(`
fgm-status is running against the Spine simulator:

  Demo EPR        ${stack.eprUrl}        <- open this
  Gateway         ${stack.gatewayUrl}   (config ${stack.configFile})
  Metrics         ${stack.metricsUrl}   (gateway's own listener; METRICS_PORT fixes the port)
  Spine simulator ${stack.spineUrl}
  CIS2 double     ${stack.cis2Url}   (oidc-provider standing in for NHS CIS2 Authentication)

Sign in as the midwife, or with a smartcard (choose Dr Sam Patel's GP role at CIS2), and open
Amara OKAFOR (999 000 0018) to see the alert. Ctrl-C stops.
`);
  const stop = () =>
    void stack.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (e) {
  // One line, never a stack trace: a taken port is named with the variable that moves it (stack.ts).
  console.error(`npm start: ${(e as Error).message.split('\n')[0]}`);
  process.exit(1);
}
