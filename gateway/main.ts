/**
 * @module main
 * `npm run gateway`: load the config named by FGM_GATEWAY_CONFIG, start, print one line with the
 * URL; on SIGTERM/SIGINT shut down gracefully; on SIGHUP re-read the config and apply it (server.ts
 * `reload`), naming what needs a restart. A configuration problem prints its one-line
 * message and exits 1 — no stack trace.
 */
import { loadConfig } from './config/config.ts';
import { startGateway, type RunningGateway } from './server/server.ts';

// A closed stdout (the log reader went away) must not take the gateway down with EPIPE.
process.stdout.on('error', () => {});

// The signal handlers come first: a SIGTERM or SIGHUP that arrives while the gateway starts (or
// just after it prints "listening") must get the graceful path, not the default that kills it.
let gateway: RunningGateway | undefined;
let stopping = false;
const shutDown = (g: RunningGateway) =>
  g.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
const stop = () => {
  stopping = true;
  if (gateway) void shutDown(gateway);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// SIGHUP re-reads the config: clients, origins, keys and limits apply from the next request.
// One that arrives during start-up is ignored: send it again once the gateway listens.
process.on('SIGHUP', () => {
  const g = gateway;
  if (!g) return;
  Promise.resolve()
    .then(() => g.reload(loadConfig()))
    .then(
      ({ changedClients, needsRestart }) =>
        process.stdout.write(
          `config reloaded; clients whose service changed: ${changedClients.join(', ') || 'none'}` +
            `${needsRestart.length ? `; restart to apply: ${needsRestart.join(', ')} (still running with the previous values)` : ''}\n`,
        ),
      (e: Error) =>
        process.stderr.write(
          `config reload refused, still running on the previous config: ${e.message.split('\n')[0]}\n`,
        ),
    );
});

try {
  gateway = await startGateway(loadConfig());
  process.stdout.write(`fgm-status gateway listening on ${gateway.url}\nmetrics on ${gateway.metricsUrl}\n`);
  if (stopping) void shutDown(gateway);
} catch (e) {
  const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
  process.stderr.write(
    `${e instanceof Error && e.name === 'ConfigError' ? '' : 'gateway: cannot start: '}${message}\n`,
  );
  process.exit(1);
}
