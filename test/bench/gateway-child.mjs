// The gateway as the benchmark runs it: the BUILT gateway (dist/gateway, as `npm run gateway` runs
// it), plus BENCH_AUDIT=off to swap the SQLite audit store for a no-op sink (for the audit on/off
// comparison only).
import { loadConfig } from '../../dist/gateway/config/config.js';
import { startGateway } from '../../dist/gateway/server/server.js';

const gateway = await startGateway(loadConfig(), {
  ...(process.env.BENCH_AUDIT === 'off' ? { audit: { record: async () => {} } } : {}),
});
process.stdout.write(`listening on ${gateway.url}\n`);
process.once('SIGTERM', () => gateway.close().then(() => process.exit(0)));
