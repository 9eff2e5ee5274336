/**
 * @module gateway/auth/attack22b-token-cache.test
 * Hostile review 22b of the verified-token cache (issue 22). Each test fails on main at 761c75e.
 *
 * F1: two verifications of one token in flight together (a page asking for two children, or the
 * entry's 300 s running out under load) both miss; the second replaces the first's entry and adds
 * its bytes again, so `cachedBytes` counts bytes no entry holds. They pile up until the cache
 * holds one entry, and then a token larger than what is left makes the eviction loop spin on an
 * empty map: the event loop never turns again (every request, /healthz included, hangs).
 * F2: the byte bound is estimated from the token's length, but the payload is kept decoded: a
 * signed payload of many small values costs ~15 times its length, past the gateway's 96 MB heap.
 *
 * A hang or a heap exhaustion would take the test runner with it, so each case runs in a child
 * process (this file, run with ATK22B_CHILD set) that the test watches with a deadline.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { gatewayHeapFlags } from '../../test/helpers/heap-flags.ts';
import { signJwt } from '../../test/helpers/jwt.ts';
import type { ClientConfig } from '../config/config.ts';
import { createSessionVerifier, TOKEN_CACHE_MAX_BYTES } from './verify-session-token.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const NOW = 1_900_000_000;
/** Pairs of concurrent verifications: enough for the phantom bytes to reach the byte bound (~8 MiB / 6 KB). */
const PAIRS = 2000;

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

function localVerifier() {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const verify = createSessionVerifier({
    clients: [localClient],
    clientKeys: new Map([['local', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string]]),
    now: () => NOW,
  });
  const sign = (claims: Record<string, unknown>) =>
    signJwt(
      { iss: 'https://local.example', aud: 'gw', iat: NOW - 10, exp: NOW + 300, ...claims },
      { alg: 'ES256', key: ec.privateKey },
    );
  return { verify, sign };
}

/** F1 at the verifier: ~6 KB tokens each verified twice at once, then one ~13 KB token. */
async function driftChild(): Promise<void> {
  const { verify, sign } = localVerifier();
  const pad = 'x'.repeat(4400);
  for (let i = 0; i < PAIRS; i++) {
    const token = sign({ sub: `u${i}`, pad });
    await Promise.all([verify(token), verify(token)]);
  }
  const big = sign({ sub: 'big', pad: 'y'.repeat(10_000) });
  await verify(big);
  console.log(`verified a ${big.length}-character token`);
}

/** F1 over the gateway's sockets: the FHIR interface verifies a session token before refusing its kind. */
async function socketChild(): Promise<void> {
  const { startTestStack } = await import('../../test/helpers/stack.ts');
  const stack = await startTestStack();
  console.log(`dir ${stack.dir}`);
  const pad = 'x'.repeat(4400);
  for (let i = 0; i < PAIRS; i++) {
    const token = stack.signToken({ sub: `u${i}`, roles: ['midwife'], org: 'RX1', pad });
    const ask = () => stack.request('/fhir/fgm/query', { method: 'POST', token, body: '' });
    // Four at once: over sockets not every pair overlaps in the verifier; four make the pile-up sure.
    await Promise.all([ask(), ask(), ask(), ask()]);
  }
  const big = stack.signToken({ sub: 'big', roles: ['midwife'], org: 'RX1', pad: 'y'.repeat(10_000) });
  const answer = await stack.request('/fhir/fgm/query', { method: 'POST', token: big, body: '' });
  const health = await stack.request('/healthz');
  console.log(`answered ${answer.status}, healthz ${health.status}`);
  await stack.close();
}

/** F2: fills the cache to its byte bound with tokens whose payload is 3,000 empty objects (~12 KB each). */
async function memoryChild(): Promise<void> {
  const { verify, sign } = localVerifier();
  const filler = Array.from({ length: 3000 }, () => ({}));
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  const before = process.memoryUsage().heapUsed;
  let estimated = 0;
  for (let i = 0; estimated < TOKEN_CACHE_MAX_BYTES; i++) {
    const token = sign({ sub: `u${i}`, f: filler });
    await verify(token);
    estimated += token.length + 200;
  }
  gc();
  console.log(JSON.stringify({ retained: process.memoryUsage().heapUsed - before }));
}

/** Runs this file as a child in `mode`; resolves with its output once it exits or the deadline passes (then killed). */
function child(mode: string, flags: string[], deadlineMs: number) {
  return new Promise<{ status: number | null; signal: string | null; out: string; killed: boolean }>((resolve) => {
    const p = spawn(process.execPath, [...flags, '--import', 'tsx', THIS_FILE], {
      env: { ...process.env, ATK22B_CHILD: mode },
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
    p.on('exit', (status, signal) => {
      clearTimeout(deadline);
      resolve({ status, signal, out, killed });
    });
  });
}

const mode = process.env.ATK22B_CHILD;
if (mode) {
  await { drift: driftChild, socket: socketChild, memory: memoryChild }[mode]!();
  process.exit(0);
}

describe('verified-token cache, hostile review 22b', () => {
  it('SMSP-IG-002 SMSP-PERF-001 F1 a token verified twice at once leaves the byte count true: a larger token later is verified, the event loop turns', () => {
    // Deterministic: the verifier alone; well under a second of work when it does not hang.
    const r = spawnSync(process.execPath, ['--import', 'tsx', THIS_FILE], {
      env: { ...process.env, ATK22B_CHILD: 'drift' },
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    assert.equal(r.signal, null, 'the verifier never returned: its eviction loop spins on an empty cache');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /verified a \d+-character token/);
  });

  it('SMSP-IG-002 SMSP-PERF-001 F1 over the gateway sockets: each token sent four times at once, then one larger token, and the gateway still answers', async () => {
    const r = await child('socket', [], 90_000);
    const dir = /^dir (.+)$/m.exec(r.out)?.[1];
    // A killed child could not remove its stack's folder.
    if (dir) rmSync(dir, { recursive: true, force: true });
    assert.equal(r.killed, false, `the gateway stopped answering after the larger token:\n${r.out.slice(-2000)}`);
    assert.equal(r.status, 0, r.out.slice(-2000));
    assert.match(r.out, /answered 401, healthz 200/);
  });

  it("SMSP-IG-002 F2 the cache's memory stays near TOKEN_CACHE_MAX_BYTES under the gateway's heap flags, whatever the payload's shape", async () => {
    const r = await child('memory', [...gatewayHeapFlags(), '--expose-gc'], 120_000);
    assert.equal(r.killed, false, r.out.slice(-2000));
    assert.equal(r.status, 0, `the child did not survive filling the cache:\n${r.out.slice(-1500)}`);
    const { retained } = JSON.parse(/^\{.*\}$/m.exec(r.out)![0]) as { retained: number };
    assert.ok(
      retained <= 2 * TOKEN_CACHE_MAX_BYTES,
      `the cache retained ${(retained / 2 ** 20).toFixed(0)} MiB for a bound of ${TOKEN_CACHE_MAX_BYTES / 2 ** 20} MiB`,
    );
  });
});
