/**
 * @module gateway/auth/attack-today-token-cache.test
 * Hostile review of today's fix fe7d050 (entryBytes from the payload's JSON). The estimate charges
 * 2 bytes a character, 96 a container, 32 a member; V8 keeps a fast-mode object of many distinct
 * keys as a chain of hidden classes (a Map and descriptors per key, and a frozen copy from
 * deepFreeze), so a signed payload of objects of ~120 distinct keys each keeps ~3 times the
 * estimate: the 8 MiB bound holds ~25 MiB under the gateway's 96 MB heap.
 * Runs in a child under the gateway's heap flags, as attack22b-token-cache.test.ts does.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { gatewayHeapFlags } from '../../test/helpers/heap-flags.ts';
import { signJwt } from '../../test/helpers/jwt.ts';
import type { ClientConfig } from '../config/config.ts';
import { createSessionVerifier, TOKEN_CACHE_MAX_BYTES } from './verify-session-token.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const NOW = 1_900_000_000;
const localClient: ClientConfig = {
  id: 'local',
  name: 'local',
  odsCode: 'RX1',
  odsCodes: ['RX1'],
  origins: [],
  claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
  roleActivities: {},
  auditorRoles: [],
  priority: 'interactive',
  enabled: true,
  token: { issuer: 'https://local.example', audience: 'gw', algorithms: ['ES256'], maxLifetimeSeconds: 600 },
};

/** The verifier's own estimate, copied (not exported): the child fills the cache to exactly its bound. */
function entryBytes(token: string): number {
  const json = Buffer.from(token.split('.')[1]!, 'base64url').toString('latin1');
  let containers = 0;
  let members = 0;
  for (const c of json)
    if (c === '{' || c === '[') containers++;
    else if (c === ',') members++;
  return 2 * json.length + 96 * containers + 32 * members + 200;
}

/** Fills the cache to its byte bound with ~15 KB tokens: 12 objects of 120 distinct three-letter keys each. */
async function memoryChild(): Promise<void> {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const verify = createSessionVerifier({
    clients: [localClient],
    clientKeys: new Map([['local', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string]]),
    now: () => NOW,
  });
  const A = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let n = 0;
  const key = () => A[n % 62]! + A[Math.floor(n / 62) % 62]! + A[Math.floor(n++ / 3844) % 62]!;
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  const before = process.memoryUsage().heapUsed;
  let estimated = 0;
  for (let i = 0; ; i++) {
    const f = Array.from({ length: 12 }, () => Object.fromEntries(Array.from({ length: 120 }, () => [key(), 0])));
    const token = signJwt(
      { iss: 'https://local.example', aud: 'gw', iat: NOW - 10, exp: NOW + 300, sub: `u${i}`, f },
      { alg: 'ES256', key: ec.privateKey },
    );
    if (estimated + entryBytes(token) > TOKEN_CACHE_MAX_BYTES) break;
    estimated += entryBytes(token);
    await verify(token);
  }
  gc();
  console.log(JSON.stringify({ retained: process.memoryUsage().heapUsed - before, estimated }));
}

function child(flags: string[], deadlineMs: number) {
  return new Promise<{ status: number | null; out: string; killed: boolean }>((resolve) => {
    const p = spawn(process.execPath, [...flags, '--import', 'tsx', THIS_FILE], {
      env: { ...process.env, ATK_TODAY_CHILD: 'memory' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let killed = false;
    const deadline = setTimeout(() => {
      killed = true;
      p.kill('SIGKILL');
    }, deadlineMs);
    p.on('exit', (status) => {
      clearTimeout(deadline);
      resolve({ status, out, killed });
    });
  });
}

if (process.env.ATK_TODAY_CHILD === 'memory') {
  await memoryChild();
  process.exit(0);
}

describe('verified-token cache, hostile review of fe7d050', () => {
  it('SMSP-IG-002 the cache keeps at most twice TOKEN_CACHE_MAX_BYTES for payloads of objects with many distinct keys, under the gateway heap flags', async () => {
    const r = await child([...gatewayHeapFlags(), '--expose-gc'], 120_000);
    assert.equal(r.killed, false, r.out.slice(-2000));
    assert.equal(r.status, 0, r.out.slice(-1500));
    const { retained, estimated } = JSON.parse(/^\{.*\}$/m.exec(r.out)![0]) as { retained: number; estimated: number };
    assert.ok(
      retained <= 2 * TOKEN_CACHE_MAX_BYTES,
      `the cache retained ${(retained / 2 ** 20).toFixed(1)} MiB for ${(estimated / 2 ** 20).toFixed(1)} MiB estimated (bound ${TOKEN_CACHE_MAX_BYTES / 2 ** 20} MiB)`,
    );
  });
});
