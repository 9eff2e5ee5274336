/**
 * @module test/fuzz/run
 * `npm run fuzz`: FUZZ_RUNS (default 100,000) generated requests against a real gateway and
 * simulator, seeded from FUZZ_SEED or the clock (printed, so a failure can be replayed).
 */
import { fuzzGateway } from './gateway-fuzz.ts';
import { startTestStack, validNhsNumbersIn } from '../helpers/stack.ts';

const runs = Number(process.env.FUZZ_RUNS ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const stack = await startTestStack({ configure: (r) => (r.spine.rateLimit = { perSecond: 200, burst: 200 }) });
const started = performance.now();
console.log(`fuzzing the gateway with ${runs} inputs, seed ${seed} (replay: FUZZ_SEED=${seed})`);
try {
  const seen = await fuzzGateway(stack, { runs, seed });
  const health = await stack.request('/healthz');
  const leaks = validNhsNumbersIn(stack.logs.join('\n'));
  console.log(
    `${runs} inputs in ${((performance.now() - started) / 1000).toFixed(1)} s; /healthz ${health.status}; NHS numbers in logs: ${leaks.length}`,
  );
  for (const [k, n] of [...seen].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(7)}  ${k}`);
  if (health.status !== 200 || leaks.length) process.exitCode = 1;
} catch (e) {
  console.error((e as Error).message);
  process.exitCode = 1;
} finally {
  await stack.close();
}
