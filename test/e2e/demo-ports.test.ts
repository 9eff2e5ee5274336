/**
 * @module test/e2e/demo-ports
 * `npm start` (demo/start.ts) with each of its four ports taken: one friendly line naming the port
 * and the variable that moves it, exit 1, never a stack trace. Run as a process, as a developer
 * would, in a scratch folder (its `.data/` goes there).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const START = fileURLToPath(new URL('../../demo/start.ts', import.meta.url));
const TSX = fileURLToPath(import.meta.resolve('tsx'));
const cwd = mkdtempSync(join(tmpdir(), 'fgm-ports-'));
after(() => rmSync(cwd, { recursive: true, force: true }));

async function startWith(
  envVar: string,
  port: number,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const env = {
    ...process.env,
    SPINE_SIM_PORT: '0',
    GATEWAY_PORT: '0',
    DEMO_EPR_PORT: '0',
    METRICS_PORT: '0',
    [envVar]: String(port),
  };
  const child = spawn(process.execPath, ['--import', TSX, START], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (c) => (stderr += c));
  child.stdout!.on('data', (c) => (stdout += c));
  const [code] = await once(child, 'exit');
  return { code, stderr, stdout };
}

describe('npm start: a port in use is one friendly line', () => {
  for (const [envVar, what] of [
    ['SPINE_SIM_PORT', 'Spine simulator'],
    ['GATEWAY_PORT', 'gateway'],
    ['METRICS_PORT', 'gateway metrics'],
    ['DEMO_EPR_PORT', 'demo EPR'],
  ] as const) {
    it(`${envVar} taken → "the ${what} port … is already in use; set ${envVar}"`, { timeout: 60_000 }, async () => {
      const squatter = createServer().listen(0, '127.0.0.1');
      await once(squatter, 'listening');
      const { port } = squatter.address() as AddressInfo;
      try {
        const { code, stderr, stdout } = await startWith(envVar, port);
        assert.equal(code, 1, stdout + stderr);
        assert.equal(
          stderr,
          `npm start: the ${what} port ${port} is already in use; set ${envVar} to another port (0 picks a free one)\n`,
        );
      } finally {
        squatter.close();
      }
    });
  }
});
