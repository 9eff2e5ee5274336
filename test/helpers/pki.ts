/**
 * @module test/helpers/pki
 * One throwaway dev PKI per test process (creating one takes a few hundred milliseconds), in the
 * OS temp folder and removed when the process exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPki, type DevPki } from '../../demo/pki.ts';

let cached: Promise<DevPki> | undefined;
const made: string[] = [];
process.once('exit', () => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A PKI like `.data/pki`, shared by every test in this process. */
export function testPki(): Promise<DevPki> {
  cached ??= newPki('fgm-status test CA');
  return cached;
}

/** A separate PKI with its own CA, e.g. to prove a foreign client certificate is refused. */
export function newPki(caName: string): Promise<DevPki> {
  const dir = mkdtempSync(join(tmpdir(), 'fgm-pki-'));
  made.push(dir);
  return createPki(join(dir, 'pki'), { caName });
}
