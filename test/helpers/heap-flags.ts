/**
 * @module test/helpers/heap-flags
 * The Node heap flags the gateway is started with, read from `npm run gateway` in package.json
 * (the one place they are written; the systemd unit must carry the same, the bench measures with
 * and without them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The `--max-…` flags of the package's `gateway` script, e.g. ['--max-semi-space-size=16', …]. */
export function gatewayHeapFlags(root = new URL('../..', import.meta.url).pathname): string[] {
  const script: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.gateway;
  const m = /^exec node ((?:--[\w-]+=\S+ )*)dist\/gateway\/main\.js$/.exec(script);
  if (!m) throw new Error(`package.json scripts.gateway is not "exec node [flags] dist/gateway/main.js": ${script}`);
  return m[1]!.trim().split(/\s+/).filter(Boolean);
}
