/**
 * @module main
 * `npm run gateway`: load the config named by FGM_GATEWAY_CONFIG, start, print one line with the
 * URL; on SIGTERM/SIGINT shut down gracefully. A configuration problem prints its one-line
 * message and exits 1 — no stack trace.
 */
import { loadConfig } from './config.ts';
import { startGateway } from './server.ts';

try {
  const gateway = await startGateway(loadConfig());
  process.stdout.write(`fgm-status gateway listening on ${gateway.url}\n`);
  const stop = () => {
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (e) {
  const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
  process.stderr.write(`${e instanceof Error && e.name === 'ConfigError' ? '' : 'gateway: cannot start: '}${message}\n`);
  process.exit(1);
}
