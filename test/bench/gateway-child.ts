/**
 * @module test/bench/gateway-child
 * The gateway as the benchmark runs it: `npm run gateway`'s start-up, plus BENCH_AUDIT=off to swap
 * the SQLite audit store for a no-op sink (for the audit on/off comparison only).
 */
import { loadConfig } from '../../gateway/config.ts';
import { startGateway } from '../../gateway/server.ts';

const gateway = await startGateway(loadConfig(), {
  ...(process.env.BENCH_AUDIT === 'off' ? { audit: { record: async () => {} } } : {}),
});
process.stdout.write(`listening on ${gateway.url}\n`);
process.once('SIGTERM', () => gateway.close().then(() => process.exit(0)));
