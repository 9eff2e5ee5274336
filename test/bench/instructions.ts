/**
 * @module test/bench/instructions
 * `npm run bench:instructions [-- <tree> …]`: the gateway's CPU per request as a count of machine
 * instructions (valgrind's callgrind), not seconds. A count moves far less than a time with what
 * else the machine is doing (not at all on a quiet machine; by up to about a tenth under heavy load,
 * as V8 times its collections and optimisations), so two commits can be compared where
 * `npm run bench` figures move by a third between runs. For each tree (a checkout with `npm ci` and `npm run build`
 * done; this one by default) it starts that tree's built gateway under callgrind, sends it
 * BENCH_WARMUP (default 200) and then BENCH_REQUESTS (default 300) requests one after another over
 * one keep-alive connection, stops it, and does the same with the warm-up only: instructions per
 * request = (with − without) / requests, the audit writer thread included. With and without the heap flags of this tree's `npm run gateway`.
 * The simulator and the token are this tree's for every tree, so each gateway reads the same answer.
 * Needs valgrind (Debian's `valgrind`); figures are printed, nothing is written.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createPki } from '../../demo/pki.ts';
import { gatewayHeapFlags } from '../helpers/heap-flags.ts';
import { signJwt } from '../helpers/jwt.ts';
import { startSpineSimulator } from '../../demo/spine/server.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
// Requests first answered in both runs: V8 compiles the hot path in these, so they are not counted.
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
const trees = process.argv.slice(2).length ? process.argv.slice(2).map((t) => resolve(t)) : [process.cwd()];
const dir = mkdtempSync(join(tmpdir(), 'fgm-instructions-'));

async function main() {
  const pki = await createPki(join(dir, 'pki'));
  const spine = await startSpineSimulator({ pkiDir: pki.dir, port: 0 });
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'client.pub.pem'), key.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  writeFileSync(join(dir, 'hmac.key'), randomBytes(32).toString('hex'));
  const now = Math.floor(Date.now() / 1000);
  const token = signJwt(
    {
      iss: 'https://bench.test',
      aud: 'gw',
      iat: now,
      nbf: now,
      exp: now + 3000,
      sub: 'bench',
      roles: ['midwife'],
      org: 'RX1',
    },
    { alg: 'ES256', key: key.privateKey },
  );
  let n = 0;
  // The bench's own config (run.ts), with keys every measured commit knows.
  const config = () => {
    const file = join(dir, `gateway-${++n}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        metrics: { host: '127.0.0.1', port: 0 },
        listen: { host: '127.0.0.1', port: 0 },
        smsp: { asid: '200000000111', odsCode: 'RX1' },
        spine: {
          endpoint: spine.endpoint,
          asid: '990101234567',
          timeoutMs: 60_000,
          rateLimit: { perSecond: 100_000, burst: 100_000 },
          tls: {
            certFile: pki.leaf['gateway-client'].cert,
            keyFile: pki.leaf['gateway-client'].key,
            caFile: pki.caCert,
          },
        },
        clients: [
          {
            id: 'bench',
            name: 'Bench EPR',
            odsCode: 'RX1',
            origins: ['http://127.0.0.1'],
            claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
            roleActivities: { midwife: ['B0370'] },
            auditorRoles: [],
            priority: 'interactive',
            token: {
              issuer: 'https://bench.test',
              audience: 'gw',
              publicKeyFile: join(dir, 'client.pub.pem'),
              algorithms: ['ES256'],
              maxLifetimeSeconds: 3600,
            },
          },
        ],
        audit: { sqliteFile: join(dir, `audit-${n}.sqlite`), hmacKeyFile: join(dir, 'hmac.key') },
      }),
    );
    return file;
  };

  /** Instructions the gateway of `tree` executes from start to exit, answering `requests` on the way. */
  const count = async (tree: string, flags: string[], requests: number): Promise<number> => {
    const out = join(dir, `callgrind-${n}.out`);
    const proc = spawn(
      'valgrind',
      [
        '--tool=callgrind',
        '--smc-check=all-non-file',
        `--callgrind-out-file=${out}`,
        process.execPath,
        ...flags,
        'test/bench/gateway-child.mjs',
      ],
      {
        cwd: tree,
        env: { ...process.env, FGM_GATEWAY_CONFIG: config(), NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c));
    const url = await new Promise<string>((res, rej) => {
      proc.stdout.on('data', (c: Buffer) => {
        stdout += c;
        const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m) res(m[1]!);
      });
      proc.once('exit', (code) => rej(new Error(`gateway exited (${code}): ${stderr.slice(-500)}`)));
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const body = '{"nhsNumber":"9990000018","birthDate":"2014-03-02"}';
    for (let i = 0; i < requests; i++) {
      const [status, answer] = await new Promise<[number, string]>((res, rej) => {
        const req = request(
          new URL('/api/fgm-status', url),
          {
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': body.length,
              authorization: `Bearer ${token}`,
            },
          },
          (r) => {
            let text = '';
            r.on('data', (c: Buffer) => (text += c));
            r.on('end', () => res([r.statusCode ?? 0, text]));
          },
        );
        req.on('error', rej);
        req.end(body);
      });
      if (status !== 200) throw new Error(`request ${i} answered ${status}: ${answer.slice(0, 300)}`);
    }
    agent.destroy();
    proc.kill('SIGTERM');
    await once(proc, 'exit');
    const m = /Collected : (\d+)/.exec(stderr);
    if (!m) throw new Error(`no callgrind total: ${stderr.slice(-500)}`);
    return Number(m[1]);
  };

  for (const tree of trees) {
    const heap = gatewayHeapFlags(tree);
    for (const flags of heap.length ? [heap, []] : [heap]) {
      const warm = await count(tree, flags, WARMUP);
      const withN = await count(tree, flags, WARMUP + REQUESTS);
      const perRequest = Math.round((withN - warm) / REQUESTS);
      process.stdout.write(
        `${JSON.stringify({ tree, flags: flags.join(' ') || 'V8 defaults', warmup: WARMUP, requests: REQUESTS, instructionsPerRequest: perRequest })}\n`,
      );
    }
  }
  await spine.close();
}

main()
  .catch((e) => {
    process.stderr.write(`bench:instructions: ${(e as Error).message}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
