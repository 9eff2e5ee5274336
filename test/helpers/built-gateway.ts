/**
 * @module test/helpers/built-gateway
 * The compiled gateway in dist/gateway/ (`npm run build`), which operators run: tests that start
 * it as a process use these paths, so they prove the build and not only the TypeScript source.
 */
import { existsSync } from 'node:fs';

/** `node <file>` arguments for a built gateway entry point, e.g. builtGateway('main.js'). */
export function builtGateway(entry: 'main.js' | 'audit/cli.js'): string[] {
  const file = `dist/gateway/${entry}`;
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" first (npm test does)`);
  return [file];
}
