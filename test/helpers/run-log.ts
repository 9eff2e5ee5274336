/**
 * @module test/helpers/run-log
 * Keeps everything the gateways of a test run log, in the folder `test/run-node-tests.mjs` names
 * in FGM_TEST_LOG_DIR, so the run ends with one scan of all of it for patient data
 * (test/whole-run-logs.check.ts). Outside that runner it keeps nothing.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A writer for one gateway's log text, kept exactly as given: pass lines with their newline, or a
 * child's output chunk by chunk (a chunk may end mid-line).
 */
export function runLog(name: string): (text: string | Buffer) => void {
  const dir = process.env.FGM_TEST_LOG_DIR;
  if (!dir) return () => {};
  const file = join(dir, `${name}-${randomUUID()}.log`);
  return (text) => appendFileSync(file, text);
}

/** A gateway Logger for tests: each line goes into `lines` and into the run's log folder. */
export function keptLogger(lines: string[], name: string): (fields: object) => void {
  const keep = runLog(name);
  return (fields) => {
    const line = JSON.stringify(fields);
    lines.push(line);
    keep(`${line}\n`);
  };
}
