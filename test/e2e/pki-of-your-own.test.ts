/**
 * @module test/e2e/pki-of-your-own
 * `npm run pki` (demo/make-pki.ts) run as a process into a temp folder; its files are checked by
 * `openssl verify` and node's X509Certificate, not by the code that made them. Then the simulator
 * is started on that folder (FGM_PKI_DIR) and must keep the files, issue the missing ones from
 * the folder's own CA, and say so.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';

const MAKE_PKI = fileURLToPath(new URL('../../demo/make-pki.ts', import.meta.url));
const SPINE_MAIN = fileURLToPath(new URL('../../demo/spine/main.ts', import.meta.url));
const TSX = fileURLToPath(import.meta.resolve('tsx'));
const tmp = mkdtempSync(join(tmpdir(), 'fgm-own-pki-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

async function pki(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, MAKE_PKI, ...args], {
    cwd: tmp,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const [code] = await once(child, 'exit');
  return { code, stdout, stderr };
}

/** `openssl verify` exit status and output: the independent check of chain and purpose. */
async function opensslVerify(
  ca: string,
  purpose: 'sslserver' | 'sslclient',
  cert: string,
): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('openssl', [
      'verify',
      '-CAfile',
      ca,
      '-purpose',
      purpose,
      cert,
    ]);
    return { ok: true, out: stdout + stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${err.stdout}${err.stderr}` };
  }
}

const cert = (file: string) => new X509Certificate(readFileSync(file));
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('npm run pki: a CA, a server and client certificates of ones own', () => {
  const out = join(tmp, 'trust-test-pki');

  it(
    'writes a CA, a server certificate for every --server-name and one client certificate per --client-name',
    { timeout: 60_000 },
    async () => {
      const r = await pki([
        '--out',
        out,
        '--ca-name',
        'Example Trust Test CA',
        '--server-name',
        'spine.test.example.nhs.uk',
        '--server-name',
        '127.0.0.1',
        '--client-name',
        'fgm-gateway.test',
        '--client-name',
        'epr.test',
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stderr, '');
      assert.deepEqual(readdirSync(out).sort(), [
        'ca.crt',
        'ca.key',
        'client-epr.test.crt',
        'client-epr.test.key',
        'client-fgm-gateway.test.crt',
        'client-fgm-gateway.test.key',
        'server.crt',
        'server.key',
      ]);
      for (const key of ['ca.key', 'server.key', 'client-epr.test.key', 'client-fgm-gateway.test.key']) {
        assert.equal(statSync(join(out, key)).mode & 0o077, 0, `${key} is readable by its owner only`);
      }

      const ca = cert(join(out, 'ca.crt'));
      assert.equal(ca.subject, 'CN=Example Trust Test CA');
      assert.equal(ca.ca, true);
      assert.ok(ca.checkIssued(ca) && ca.verify(ca.publicKey), 'the CA is self-signed');

      const server = cert(join(out, 'server.crt'));
      assert.equal(server.subject, 'CN=spine.test.example.nhs.uk');
      assert.equal(server.subjectAltName, 'DNS:spine.test.example.nhs.uk, IP Address:127.0.0.1');
      assert.deepEqual(server.keyUsage, [OID_SERVER_AUTH], 'server EKU only');
      assert.equal(server.ca, false);
      assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey), 'issued and signed by the CA');
      assert.equal(server.checkHost('spine.test.example.nhs.uk'), 'spine.test.example.nhs.uk');
      assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');

      for (const name of ['fgm-gateway.test', 'epr.test']) {
        const client = cert(join(out, `client-${name}.crt`));
        assert.equal(client.subject, `CN=${name}`);
        assert.deepEqual(client.keyUsage, [OID_CLIENT_AUTH], `${name}: client EKU only`);
        assert.equal(client.subjectAltName, `DNS:${name}`);
        assert.ok(client.checkIssued(ca) && client.verify(ca.publicKey));
      }
    },
  );

  it('openssl verify: the chain holds, and each certificate serves only its purpose', { timeout: 30_000 }, async () => {
    const ca = join(out, 'ca.crt');
    assert.ok((await opensslVerify(ca, 'sslserver', join(out, 'server.crt'))).ok);
    assert.ok((await opensslVerify(ca, 'sslclient', join(out, 'client-fgm-gateway.test.crt'))).ok);
    assert.equal(
      (await opensslVerify(ca, 'sslclient', join(out, 'server.crt'))).ok,
      false,
      'a server certificate is no client certificate',
    );
    assert.equal(
      (await opensslVerify(ca, 'sslserver', join(out, 'client-epr.test.crt'))).ok,
      false,
      'a client certificate is no server certificate',
    );
  });

  it(
    'refuses a folder that already holds files, and bad names, in one line each (exit 1, no stack)',
    { timeout: 60_000 },
    async () => {
      const before = sha(join(out, 'ca.key'));
      const cases: [string[], RegExp][] = [
        [['--out', out, '--ca-name', 'X', '--server-name', 'a.test'], /already holds files/],
        [
          ['--out', join(tmp, 'n1'), '--ca-name', 'X', '--server-name', 'not a name'],
          /--server-name "not a name" is neither a DNS name nor an IP address/,
        ],
        [['--out', join(tmp, 'n2'), '--ca-name', 'X'], /--server-name is required/],
        [
          ['--out', join(tmp, 'n3'), '--ca-name', 'CN=evil/O=x', '--server-name', 'a.test'],
          /--ca-name .* may not contain/,
        ],
        [
          ['--out', join(tmp, 'n4'), '--ca-name', 'X', '--server-name', 'a.test', '--client-name', '../escape'],
          /--client-name "..\/escape" must be/,
        ],
        [['--ca-name', 'X', '--server-name', 'a.test'], /--out is required/],
        [['--out', join(tmp, 'n5'), '--server-name', 'a.test', '--ca'], /Unknown option '--ca'/],
      ];
      for (const [args, message] of cases) {
        const r = await pki(args);
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.stderr, /^npm run pki: /);
        assert.match(r.stderr, message);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      }
      assert.equal(sha(join(out, 'ca.key')), before, 'the existing CA key is untouched');
      assert.deepEqual(
        readdirSync(tmp).filter((f) => f.startsWith('n')),
        [],
        'nothing written for a refused command',
      );
    },
  );

  it(
    'FGM_PKI_DIR: the simulator keeps the files there, issues the missing ones from that CA, and prints which',
    { timeout: 60_000 },
    async () => {
      const kept = Object.fromEntries(readdirSync(out).map((f) => [f, sha(join(out, f))]));
      const child = spawn(process.execPath, ['--import', TSX, SPINE_MAIN], {
        cwd: tmp,
        env: { ...process.env, FGM_PKI_DIR: out, SPINE_SIM_PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stderr!.on('data', (c) => (stderr += c));
      const exited = once(child, 'exit');
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout!.on('data', (c) => {
            stdout += c;
            if (/Spine FGM-IS simulator on https:/.test(stdout)) resolve();
          });
          void exited.then(([code]) => reject(new Error(`simulator exited (${code}): ${stdout}${stderr}`)));
        });
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
      assert.match(
        stdout,
        new RegExp(
          `spine-sim dev PKI in ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: kept ca\\.crt; issued the missing spine\\.crt, gateway-client\\.crt, gateway\\.crt, client-system\\.crt with its ca\\.key\\n`,
        ),
      );
      for (const [f, hash] of Object.entries(kept)) assert.equal(sha(join(out, f)), hash, `${f} kept as it was`);
      for (const [leaf, purpose] of [
        ['spine', 'sslserver'],
        ['gateway-client', 'sslclient'],
      ] as const) {
        const v = await opensslVerify(join(out, 'ca.crt'), purpose, join(out, `${leaf}.crt`));
        assert.ok(v.ok, `${leaf}.crt is issued by the folder's own CA: ${v.out}`);
      }
    },
  );

  it(
    'FGM_PKI_DIR with certificates missing and no ca.key: the simulator stops and names what is missing, making no second CA',
    { timeout: 60_000 },
    async () => {
      const half = join(tmp, 'half');
      mkdirSync(half);
      copyFileSync(join(out, 'ca.crt'), join(half, 'ca.crt'));
      const child = spawn(process.execPath, ['--import', TSX, SPINE_MAIN], {
        cwd: tmp,
        env: { ...process.env, FGM_PKI_DIR: half, SPINE_SIM_PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (c) => (stderr += c));
      const [code] = await once(child, 'exit');
      assert.equal(code, 1);
      assert.match(
        stderr,
        /^spine-sim: .*half lacks spine\.crt\/\.key, gateway-client\.crt\/\.key, gateway\.crt\/\.key, client-system\.crt\/\.key and has no ca\.key to issue them/,
      );
      assert.deepEqual(readdirSync(half), ['ca.crt'], 'nothing added');
    },
  );
});
