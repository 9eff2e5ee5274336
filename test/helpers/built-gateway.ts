/**
 * @module test/helpers/built-gateway
 * The compiled gateway in dist/gateway/ (`npm run build`), which operators run: tests that start
 * it as a process use these paths, so they prove the build and not only the TypeScript source.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { runLog } from './run-log.ts';

/** `node <file>` arguments for a built gateway entry point, e.g. builtGateway('main.js'). */
export function builtGateway(entry: 'main.js' | 'audit/cli.js'): string[] {
  const file = `dist/gateway/${entry}`;
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" first (npm test does)`);
  return [file];
}

/**
 * Resolves with the URL a gateway process prints once it listens; rejects if it exits first. Its
 * stdout is read for its whole life (its log lines must never fill the pipe) and kept for the
 * run's log scan under `name`.
 */
export function listeningUrl(child: ChildProcess, name: string): Promise<string> {
  const keep = runLog(name);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (out.length > 10_000) return; // the line comes first; the rest is only kept
      out += chunk;
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}) before listening: ${out.slice(0, 500)}`)));
  });
}
