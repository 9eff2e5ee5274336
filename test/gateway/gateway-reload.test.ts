/**
 * @module test/gateway/gateway-reload
 * SIGHUP on a running gateway process (the built one, as operators run it): a new origin and a
 * new client apply from the next request, and a change only a restart can apply is named.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { builtGateway, listeningUrl } from '../helpers/built-gateway.ts';
import { signJwt } from '../helpers/jwt.ts';
import { startTestStack, TEST_AUDIENCE, type TestStack } from '../helpers/stack.ts';

const NEW_ORIGIN = 'https://new-portal.test';
const NEW_ISSUER = 'https://new-portal.test/idp';
const BORN = `${new Date().getUTCFullYear() - 10}-01-01`;
const newKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let stack: TestStack;
let child: ChildProcess;
let url: string;
let output = '';
let configFile: string;
let raw: Record<string, any>;

/** Resolves once the process has printed a line matching `re` (after what is already there). */
function printed(re: RegExp): Promise<string> {
  const from = output.length;
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(output.slice(from));
      if (m) {
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        resolve(m[0]);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', () => reject(new Error(`gateway exited: ${output.slice(-500)}`)));
  });
}

before(async () => {
  stack = await startTestStack();
  // Its own audit file: two gateways never share one SQLite chain.
  raw = JSON.parse(readFileSync(stack.configFile, 'utf8'));
  raw.audit.sqliteFile = 'reload-audit.sqlite';
  configFile = join(stack.dir, 'reload.config.json');
  writeFileSync(configFile, JSON.stringify(raw));
  writeFileSync(
    join(stack.dir, 'new-portal.pub.pem'),
    newKey.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  );
  child = spawn(process.execPath, builtGateway('main.js'), {
    env: { ...process.env, FGM_GATEWAY_CONFIG: configFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (c: Buffer) => (output += c);
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  url = await listeningUrl(child, 'gateway-reload');
});
after(async () => {
  if (child && child.exitCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  await stack?.close();
});

const tokenFor = (aud: string, sub: string) =>
  signJwt(
    { iss: NEW_ISSUER, aud, iat: now(), exp: now() + 300, sub, roles: ['midwife'], org: 'RX1' },
    { alg: 'ES256', key: newKey.privateKey },
  );
const askWith = (token: string) =>
  fetch(`${url}/api/fgm-status`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', origin: NEW_ORIGIN },
    body: JSON.stringify({ nhsNumber: '9990000018', birthDate: BORN }),
  });
/** Rewrites the config file, sends SIGHUP and waits for the reload to be logged. */
async function reloadWith(change: () => void): Promise<string> {
  change();
  writeFileSync(configFile, JSON.stringify(raw));
  const reloaded = printed(/^config reloaded;[^\n]*\n/m);
  child.kill('SIGHUP');
  return reloaded;
}
const preflight = (origin: string) =>
  fetch(`${url}/api/fgm-status`, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type',
    },
  });
const now = () => Math.floor(Date.now() / 1000);
const ask = () =>
  fetch(`${url}/api/fgm-status`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${signJwt({ iss: NEW_ISSUER, aud: TEST_AUDIENCE, iat: now(), exp: now() + 300, sub: 'nportal', roles: ['midwife'], org: 'RX1' }, { alg: 'ES256', key: newKey.privateKey })}`,
      'content-type': 'application/json',
      origin: NEW_ORIGIN,
    },
    body: JSON.stringify({ nhsNumber: '9990000018', birthDate: BORN }),
  });

describe('SIGHUP reload (SMSP-SEC-001)', () => {
  it(
    'a new origin and a new client apply without a restart; a new listen port is named as needing one',
    { timeout: 30_000 },
    async () => {
      assert.equal(
        (await preflight(NEW_ORIGIN)).headers.get('access-control-allow-origin'),
        null,
        'control: the origin is not allowed yet',
      );
      const before = await ask();
      assert.equal(before.status, 401, 'control: the new client is unknown yet');
      assert.equal((await before.json()).code, 'AUTHOR_CREDENTIALS_ERROR');

      raw.clients.push({
        id: 'new-portal',
        name: 'New Portal',
        odsCode: 'RX1',
        origins: [NEW_ORIGIN],
        token: {
          issuer: NEW_ISSUER,
          audience: TEST_AUDIENCE,
          publicKeyFile: 'new-portal.pub.pem',
          algorithms: ['ES256'],
          maxLifetimeSeconds: 900,
        },
        claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
        roleActivities: { midwife: ['B0370'] },
        auditorRoles: [],
        priority: 'interactive',
      });
      raw.listen.port = 1;
      writeFileSync(configFile, JSON.stringify(raw));
      const reloaded = printed(/^config reloaded;[^\n]*\n/m);
      child.kill('SIGHUP');
      const line = await reloaded;
      assert.match(line, /restart to apply: listen\.port \(still running with the previous values\)/);

      assert.equal((await preflight(NEW_ORIGIN)).headers.get('access-control-allow-origin'), NEW_ORIGIN);
      const res = await ask();
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.status, 'indicator', 'answered from Spine (the simulator holds an indicator for this child)');
      assert.equal(res.headers.get('access-control-allow-origin'), NEW_ORIGIN);
    },
  );

  it(
    'listener keys are never ignored silently: headersTimeoutMs is named, maxConnections and keepAliveTimeoutMs apply (issue 21)',
    { timeout: 30_000 },
    async () => {
      Object.assign(raw.listen, {
        maxConnections: 64,
        headersTimeoutMs: 4000,
        keepAliveTimeoutMs: 3000,
        bodyTimeoutMs: 3000,
        maxInFlightPerUser: 4,
      });
      writeFileSync(configFile, JSON.stringify(raw));
      const reloaded = printed(/^config reloaded;[^\n]*\n/m);
      child.kill('SIGHUP');
      const line = await reloaded;
      assert.match(line, /restart to apply: listen\.port, listen\.headersTimeoutMs \(still running/);
      assert.doesNotMatch(line, /maxConnections|keepAliveTimeoutMs|bodyTimeoutMs|maxInFlightPerUser/);
      // An answer's keep-alive header says the new idle timeout (Node announces keepAliveTimeout in seconds).
      const res = await ask();
      assert.equal(res.status, 200);
      assert.match(String(res.headers.get('keep-alive')), /timeout=3\b/);
    },
  );

  it(
    'a reload naming an unreadable key file is refused whole; the running config stays',
    { timeout: 30_000 },
    async () => {
      raw.clients.at(-1).token.publicKeyFile = 'missing.pub.pem';
      writeFileSync(configFile, JSON.stringify(raw));
      const refused = printed(/config reload refused[^\n]*\n/);
      child.kill('SIGHUP');
      assert.match(await refused, /clients\.\d+\.token\.publicKeyFile/);
      assert.equal((await ask()).status, 200, 'the new client is still served with its previous key');
    },
  );

  // The verified-token cache (issue 22) belongs to the verifier a reload replaces: nothing verified
  // under the old keys or audience is accepted under the new ones.
  it(
    'SMSP-IG-002 a token accepted (and cached) before a SIGHUP is refused once its key is removed',
    { timeout: 30_000 },
    async () => {
      await reloadWith(() => (raw.clients.at(-1).token.publicKeyFile = 'new-portal.pub.pem'));
      const token = tokenFor(TEST_AUDIENCE, 'cached-key');
      assert.equal((await askWith(token)).status, 200, 'control: accepted under the key it is signed by');
      assert.equal((await askWith(token)).status, 200, 'control: accepted again (from the cache)');
      const rotated = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      writeFileSync(
        join(stack.dir, 'rotated.pub.pem'),
        rotated.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      );
      await reloadWith(() => (raw.clients.at(-1).token.publicKeyFile = 'rotated.pub.pem'));
      const res = await askWith(token);
      assert.equal(res.status, 401);
      assert.equal((await res.json()).code, 'AUTHOR_CREDENTIALS_ERROR');
    },
  );

  it(
    'SMSP-IG-002 a token accepted (and cached) before a SIGHUP is refused once its audience is no longer configured',
    { timeout: 30_000 },
    async () => {
      await reloadWith(() => (raw.clients.at(-1).token.publicKeyFile = 'new-portal.pub.pem'));
      const token = tokenFor(TEST_AUDIENCE, 'cached-aud');
      assert.equal((await askWith(token)).status, 200, 'control: accepted for the configured audience');
      await reloadWith(() => (raw.clients.at(-1).token.audience = 'https://gateway.test/another-audience'));
      const res = await askWith(token);
      assert.equal(res.status, 401);
      assert.equal((await res.json()).code, 'AUTHOR_CREDENTIALS_ERROR');
      const moved = await askWith(tokenFor('https://gateway.test/another-audience', 'cached-aud'));
      assert.equal(moved.status, 200, 'control: the new audience is served');
    },
  );
});
