/**
 * @module test/e2e/operating-checklist
 * docs/operating.md's "Production checklist", run on this machine (issue 24): its ```sh blocks are
 * read from the doc, so the doc cannot drift from what is tested, and each command runs in a
 * sandbox with the paths mapped — /opt/fgm-gateway to this repository (built: npm test builds
 * first), /etc/fgm-gateway, /var/lib/fgm-gateway, /secure/keys and /etc/systemd/system to fresh
 * temp folders, `sudo -u fgm-gateway env` to `env`. What would change the host is on SKIPPED, with
 * its reason; a command neither run nor skipped fails the test. Where NHS England would answer the
 * CSR, a CA of `npm run pki` signs it; where the operator edits the config, the test writes the
 * sandbox's files into it (a JSON edit). Step 9 runs against a fresh PostgreSQL database.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { builtGateway } from '../helpers/built-gateway.ts';
import { runLog } from '../helpers/run-log.ts';
import { testDatabase, type TestDatabase } from '../helpers/services.ts';

const REPO = process.cwd();
const DOC = 'docs/operating.md';
const SECTION = '## Production checklist';

/** Commands of the checklist this test does not run, each with why (matched on the command as written). */
const SKIPPED: [RegExp, string][] = [
  [/^git clone /, 'the repository is already here; cloning would need the network'],
  [/^npm ci$/, 'node_modules is installed; a reinstall would need the network and rewrite it under other tests'],
  [
    /^npm run build$/,
    'npm test builds dist/ before the node tests; rebuilding would replace it under tests running beside',
  ],
  [
    /^npm prune --omit=dev$/,
    'would remove the devDependencies this test runs on (deploy-systemd.test.ts starts the pruned build)',
  ],
  [/^useradd /, 'adds a user to the host; the sandbox runs everything as the test user'],
  [/^chgrp /, 'needs the fgm-gateway group, which the skipped useradd would create'],
  [/^systemctl /, 'installs, starts or restarts a host service'],
  [/^curl .*\/healthz$/, 'asks the service systemctl started; step 6 asks the started gateway /healthz instead'],
];

/** The checklist's commands: one `sh` block per step, backslash-continued lines joined, `&&` split, comments dropped. */
function checklist(): { step: number; commands: string[] }[] {
  const text = readFileSync(DOC, 'utf8');
  const start = text.indexOf(`\n${SECTION}\n`);
  assert.ok(start >= 0, `${DOC} has a "${SECTION}" section`);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^(\d+)\. [\s\S]*?^ *```sh\n([\s\S]*?)^ *```$/gm)].map((m) => ({
    step: Number(m[1]),
    commands: m[2]!
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((l) => l.replace(/\s+#\s.*$/, '').trim())
      .filter(Boolean)
      .flatMap((l) => l.split(' && ')),
  }));
}

const sandbox = mkdtempSync(join(tmpdir(), 'fgm-checklist-'));
const ETC = join(sandbox, 'etc/fgm-gateway');
const VAR = join(sandbox, 'var/lib/fgm-gateway');
const KEYS = join(sandbox, 'secure/keys');
const UNITS = join(sandbox, 'etc/systemd/system');
const PKI = join(sandbox, 'pki');
// A host with systemd has this folder; the checklist copies the unit into it.
mkdirSync(UNITS, { recursive: true });
let db: TestDatabase | undefined;
after(async () => {
  await db?.drop();
  rmSync(sandbox, { recursive: true, force: true });
});

/** The command as it runs here: the host's paths mapped to the sandbox, the service user to the test user. */
const mapped = (command: string) =>
  command
    .replaceAll('sudo -u fgm-gateway env ', 'env ')
    .replaceAll('/opt/fgm-gateway', REPO)
    .replaceAll('/etc/fgm-gateway', ETC)
    .replaceAll('/var/lib/fgm-gateway', VAR)
    .replaceAll('/secure/keys', KEYS)
    .replaceAll('/etc/systemd/system', UNITS)
    // Ownership needs the skipped user; the directory and its mode are what the gateway relies on.
    .replace(/^install -d -o \S+ -g \S+ /, 'install -d ');

// The variable the commands' own shell would not inherit from the test's environment.
const { FGM_GATEWAY_CONFIG: _, ...hostEnv } = process.env;

function sh(script: string, cwd: string): { status: number | null; out: string } {
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: hostEnv, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function must(script: string, cwd: string): string {
  const r = sh(script, cwd);
  assert.equal(r.status, 0, `${script}\n${r.out}`);
  return r.out;
}

/** Where NHS England answers the CSR: a CA of `npm run pki` signs it (clientAuth), and its certificate is the chain. */
function answerCsr() {
  must(`npm run --silent pki -- --out ${PKI} --ca-name "Checklist test CA" --server-name 127.0.0.1`, REPO);
  writeFileSync(join(sandbox, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  must(
    `openssl x509 -req -in spine-client.csr -CA ${PKI}/ca.crt -CAkey ${PKI}/ca.key -CAcreateserial -days 30 ` +
      `-extfile ${sandbox}/client.ext -out spine-client.crt && cp ${PKI}/ca.crt spine-ca-chain.pem`,
    ETC,
  );
}

/** Step 5's "set each key", as an operator would: the sandbox's files into the copied example (relative paths resolve against the config's folder). */
function fillConfig() {
  const file = join(ETC, 'fgm-gateway.config.json');
  const config = JSON.parse(readFileSync(file, 'utf8'));
  config.listen.port = 0;
  config.metrics.port = 0;
  config.listen.tls = {
    ...config.listen.tls,
    certFile: `${PKI}/server.crt`,
    keyFile: `${PKI}/server.key`,
    caFile: `${PKI}/ca.crt`,
  };
  config.spine.tls = { certFile: 'spine-client.crt', keyFile: 'spine-client.key', caFile: 'spine-ca-chain.pem' };
  // The identity providers' public keys, of the types the example's clients accept.
  const pub = (name: string, type: 'ec' | 'rsa') => {
    const { publicKey } =
      type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(ETC, name), publicKey.export({ type: 'spki', format: 'pem' }));
    return name;
  };
  for (const client of config.clients) {
    if (client.token)
      client.token.publicKeyFile = pub(
        `${client.id}-token.pub.pem`,
        client.token.algorithms[0].startsWith('ES') ? 'ec' : 'rsa',
      );
    if (client.systemToken) client.systemToken.publicKeyFile = pub(`${client.id}-system.pub.pem`, 'rsa');
  }
  config.audit = {
    ...config.audit,
    sqliteFile: `${VAR}/audit.sqlite`,
    anchorDir: `${VAR}/anchors`,
    hmacKeyFile: 'audit-hmac.key',
    anchorPublicKeyFile: 'audit-anchor.pub.pem',
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
}

/** GET `path` on the gateway over its TLS listener, trusting the sandbox's CA. */
async function get(url: string, path: string, method = 'GET'): Promise<number> {
  const req = request(new URL(path, url), { method, ca: readFileSync(`${PKI}/ca.crt`) });
  req.end();
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  res.resume();
  await once(res, 'end');
  return res.statusCode!;
}

/** Step 6: the gateway in the foreground until it says it listens; one audited request; then SIGTERM. */
async function checkItStarts(command: string, cwd: string) {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', `exec ${command}`], {
    cwd,
    env: hostEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = runLog('operating-checklist');
  let out = '';
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      out += chunk;
      const m = /fgm-status gateway listening on (https:\/\/\S+)/.exec(out);
      if (m) resolveUrl(m[1]!);
    });
    void exited.then(([code]) => reject(new Error(`the gateway exited (${code}) before listening: ${out}${stderr}`)));
  });
  try {
    assert.equal(await get(url, '/healthz'), 200);
    // Refused (no token), and on the record: step 8's anchor needs a trail that is not empty.
    assert.equal(await get(url, '/api/fgm-status', 'POST'), 401);
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = await exited;
  assert.equal(code, 0, `stopped cleanly on SIGTERM: ${stderr}`);
}

test(
  'the production checklist of docs/operating.md runs as written on this machine (issue 24)',
  { timeout: 180_000 },
  async (t) => {
    builtGateway('main.js');
    const steps = checklist();
    assert.deepEqual(
      steps.map((s) => s.step),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
      'one sh block per step',
    );
    db = await testDatabase();
    let cwd = sandbox;
    const ran: string[] = [];
    for (const { step, commands } of steps) {
      // Shell variables a block sets (step 8's as_gateway) hold for the rest of that block.
      const assignments: string[] = [];
      for (const written of commands) {
        const skip = SKIPPED.find(([pattern]) => pattern.test(written));
        if (skip) {
          t.diagnostic(`step ${step}: not run: ${written} (${skip[1]})`);
          continue;
        }
        let command = mapped(written);
        const script = () => [...assignments, command].join('\n');
        const [word] = command.split(' ');
        if (word === 'cd') {
          cwd = resolve(cwd, command.slice(3));
        } else if (/^\w+=/.test(command)) {
          assignments.push(command);
        } else if (/dist\/gateway\/main\.js$/.test(command)) {
          await checkItStarts(command, cwd);
        } else if (word === 'openssl' && / verify .*spine-client\.crt$/.test(command)) {
          answerCsr();
          assert.match(must(script(), cwd), /spine-client\.crt: OK/);
        } else if (word === 'systemd-analyze') {
          // It exits 0 even on a bad key or value, so its output about the unit must be empty.
          const out = must(script(), cwd);
          assert.equal(
            out
              .split('\n')
              .filter((l) => l.includes('fgm-gateway.service'))
              .join('\n'),
            '',
            'no warning about the unit',
          );
        } else if (/ migrate-postgres /.test(command)) {
          command = command
            .replace(/--owner-url \S+/, `--owner-url ${db.ownerUrl}`)
            .replace(/--grant \S+/, `--grant ${db.gatewayRole}`);
          assert.match(
            must(script(), cwd),
            new RegExp(`audit schema migrated: .*; ${db.gatewayRole} may INSERT and SELECT`),
          );
        } else if (['install', 'openssl', 'node', 'cp', 'chmod', '$as_gateway'].includes(word!)) {
          const out = must(script(), cwd);
          if (/cli\.js verify$/.test(command)) assert.match(out, /intact, \d+ records/);
          if (/cli\.js anchor --key /.test(command)) assert.match(out, /^anchored record \d+: /);
        } else {
          assert.fail(`step ${step}: "${written}" is neither run by this test nor on its skip list`);
        }
        ran.push(written);
        t.diagnostic(`step ${step}: ran: ${command}`);
        if (/config\.example\.json /.test(command)) fillConfig();
      }
    }
    // What the done-when of issue 24 names ran, not only what the skip list let through.
    for (const expected of [
      /^openssl req /,
      /anchor --generate-key/,
      /config\.example\.json/,
      /main\.js$/,
      /^systemd-analyze verify /,
      /cli\.js verify$/,
      /anchor --key - </,
      /retain --key/,
      /migrate-postgres/,
    ]) {
      assert.ok(
        ran.some((c) => expected.test(c)),
        `ran ${expected}`,
      );
    }
  },
);
