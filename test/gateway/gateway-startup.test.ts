/**
 * @module test/gateway/gateway-startup
 * Start-up refuses a bad configuration with ONE line naming the key or file — both through
 * startGateway and through the built gateway run as a child process, as `npm run gateway` runs it
 * (exit 1, no stack trace).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../gateway/config/config.ts';
import { startGateway } from '../../gateway/server/server.ts';
import { builtGateway, listeningUrl } from '../helpers/built-gateway.ts';
import { runLog } from '../helpers/run-log.ts';
import { testPki } from '../helpers/pki.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-startup-'));
let pkiDir = '';
after(() => rmSync(dir, { recursive: true, force: true }));
before(async () => {
  pkiDir = (await testPki()).dir;
  writeFileSync(join(dir, 'hmac.key'), 'k'.repeat(64));
});

/** A complete config (Spine never called: these tests stop at start-up or only start and stop). */
function raw(): Record<string, any> {
  return {
    metrics: { host: '127.0.0.1', port: 0 }, // not the default 9464: gateways run side by side
    listen: { host: '127.0.0.1', port: 0 },
    smsp: { asid: '200000000111', odsCode: 'RX1' },
    spine: {
      endpoint: 'https://127.0.0.1:9/fhir/fgm/query',
      asid: '990101234567',
      tls: {
        certFile: join(pkiDir, 'gateway-client.crt'),
        keyFile: join(pkiDir, 'gateway-client.key'),
        caFile: join(pkiDir, 'ca.crt'),
      },
      timeoutMs: 1000,
      rateLimit: { perSecond: 1, burst: 1 },
    },
    clients: [
      {
        id: 'epr',
        name: 'EPR',
        odsCode: 'RX1',
        origins: [],
        token: {
          issuer: 'epr',
          audience: 'gw',
          jwksUrl: 'http://127.0.0.1:9/jwks.json',
          algorithms: ['ES256'],
          maxLifetimeSeconds: 60,
        },
        claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
        roleActivities: {},
        auditorRoles: [],
        priority: 'interactive',
      },
    ],
    audit: { sqliteFile: 'audit.sqlite', hmacKeyFile: 'hmac.key' },
  };
}

let n = 0;
function writeConfig(r: unknown): string {
  const file = join(dir, `config-${n++}.json`);
  writeFileSync(file, typeof r === 'string' ? r : JSON.stringify(r));
  return file;
}

async function startFails(r: Record<string, any>, message: RegExp) {
  await assert.rejects(
    (async () => startGateway(loadConfig(writeConfig(r)), { log: () => {} }))(),
    (e: Error) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('\n'),
  );
}

/** Runs the built gateway/main.ts with FGM_GATEWAY_CONFIG = file; resolves when it exits. */
async function runMain(file: string) {
  const child = spawn(process.execPath, builtGateway('main.js'), {
    env: { ...process.env, FGM_GATEWAY_CONFIG: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const keep = runLog('startup-child');
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    keep(d);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
    keep(d);
  });
  return { child, done: once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr })) };
}

describe('the built gateway (dist/gateway/main.js) start-up', () => {
  it('an unknown key: exit 1, one line naming it, no stack trace', async () => {
    const r = raw();
    r.spine.retries = 2;
    const { done } = await runMain(writeConfig(r));
    const { code, stderr } = await done;
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(stderr, /^config: spine\.retries: /);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
  it("MSCA-FGMRISQR-08 spine.answerTimestamp.maxBehindSeconds over 24 h (the element's longest keep): exit 1, one line naming the key and the limit", async () => {
    const r = raw();
    r.spine.answerTimestamp = { maxBehindSeconds: 172_800 };
    const { done } = await runMain(writeConfig(r));
    const { code, stderr } = await done;
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(stderr, /^config: spine\.answerTimestamp\.maxBehindSeconds: at most 86400 \(24 hours\)/);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
  it('a key that does not match its certificate: exit 1, naming the file', async () => {
    const r = raw();
    r.spine.tls.keyFile = join(pkiDir, 'spine.key');
    const { done } = await runMain(writeConfig(r));
    const { code, stderr } = await done;
    assert.equal(code, 1);
    assert.match(
      stderr,
      /^config: spine\.tls\.keyFile: .*spine\.key does not match the certificate .*gateway-client\.crt\n$/,
    );
  });
  it('a good config starts, prints its URL, and SIGTERM shuts it down cleanly', async () => {
    const { child, done } = await runMain(writeConfig(raw()));
    const [first] = (await once(child.stdout, 'data')) as [Buffer];
    assert.match(first.toString(), /^fgm-status gateway listening on http:\/\/127\.0\.0\.1:\d+\n/);
    child.kill('SIGTERM');
    const { code } = await done;
    assert.equal(code, 0);
  });
});

describe('the start-up race', () => {
  it('a SIGTERM while the gateway is still starting shuts it down cleanly (exit 0), not by the default signal action', async () => {
    // The audit file is created inside startGateway: the signal lands mid start-up.
    const r = raw();
    r.audit.sqliteFile = 'race-audit.sqlite';
    const watcher = watch(dir);
    const created = new Promise<void>((resolve) =>
      watcher.on('change', (_type, name) => name === 'race-audit.sqlite' && resolve()),
    );
    const { child, done } = await runMain(writeConfig(r));
    try {
      await created;
    } finally {
      watcher.close();
    }
    child.kill('SIGTERM');
    const { code } = await done;
    assert.equal(code, 0, `exit code ${code} (null: killed by the signal before its handler was installed)`);
  });
});

describe('npm run gateway', () => {
  it('SIGTERM to npm stops the gateway itself, cleanly: no gateway is left running behind it', async () => {
    // --ignore-scripts skips only the pregateway build; npm test has built already. Its own
    // process group lets the test remove a gateway left behind, so a failure cannot hang the run.
    const npm = spawn('npm', ['run', '--silent', '--ignore-scripts', 'gateway'], {
      env: { ...process.env, FGM_GATEWAY_CONFIG: writeConfig(raw()) },
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    try {
      const url = await listeningUrl(npm, 'npm-gateway');
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      const exited = once(npm, 'exit');
      npm.kill('SIGTERM'); // to npm alone, as a service manager would
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, 'the gateway shut down gracefully and npm reports it');
      await assert.rejects(fetch(`${url}/healthz`), 'nothing listens any more');
    } finally {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // the group is gone already: nothing was left behind
      }
      npm.stdout.destroy();
    }
  });
});

describe('startGateway refuses bad files', () => {
  it('a missing key', async () => {
    const r = raw();
    delete r.clients[0].token.issuer;
    await startFails(r, /^config: clients\.0\.token\.issuer: /);
  });
  it('a wrong type', async () => {
    const r = raw();
    r.listen.port = 'eighty';
    await startFails(r, /^config: listen\.port: /);
  });
  it('a config file that is not JSON', () => {
    assert.throws(
      () => loadConfig(writeConfig('{ "listen": ')),
      (e: Error) => e instanceof ConfigError && /^config: cannot read .*config-\d+\.json/.test(e.message),
    );
  });
  it('an unreadable certificate', async () => {
    const r = raw();
    r.spine.tls.certFile = join(dir, 'no-such.crt');
    await startFails(r, /^config: spine\.tls\.certFile: cannot read .*no-such\.crt: ENOENT/);
  });
  it('a certificate file that is not PEM', async () => {
    const r = raw();
    writeFileSync(join(dir, 'junk.crt'), 'not a certificate');
    r.spine.tls.certFile = join(dir, 'junk.crt');
    await startFails(r, /^config: spine\.tls\.certFile: .*junk\.crt is not a PEM certificate/);
  });
  it('a key that does not match its certificate (listener TLS)', async () => {
    const r = raw();
    r.listen.tls = {
      certFile: join(pkiDir, 'gateway.crt'),
      keyFile: join(pkiDir, 'client-system.key'),
      caFile: join(pkiDir, 'ca.crt'),
      requestClientCert: true,
    };
    await startFails(r, /^config: listen\.tls\.keyFile: .*client-system\.key does not match the certificate/);
  });
  it('a token public key file that is not a key', async () => {
    const r = raw();
    delete r.clients[0].token.jwksUrl;
    writeFileSync(join(dir, 'not-a-key.pem'), 'hello');
    r.clients[0].token.publicKeyFile = join(dir, 'not-a-key.pem');
    await startFails(r, /^config: clients\.0\.token\.publicKeyFile: .*not-a-key\.pem is not a PEM public key/);
  });
  it('an audit HMAC key that is too short', async () => {
    const r = raw();
    writeFileSync(join(dir, 'short.key'), 'abc');
    r.audit.hmacKeyFile = 'short.key';
    await startFails(r, /^config: audit\.hmacKeyFile: .*short\.key holds fewer than 32 bytes/);
  });
});

/** A port free a moment ago, to start on and then bind again. */
async function freePort(): Promise<number> {
  const probe = createNetServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

describe('startGateway closes what it opened when a later step fails', () => {
  it('SMSP-AUDIT-008 the start-up record cannot be written: the start fails and both listeners are closed again', async () => {
    const r = raw();
    r.listen.port = await freePort();
    r.metrics.port = await freePort();
    const refusing = { record: async () => Promise.reject(new Error('disk full')) };
    await assert.rejects(startGateway(loadConfig(writeConfig(r)), { log: () => {}, audit: refusing }), /disk full/);
    // Each port binds again only if the failed start let go of it.
    for (const port of [r.listen.port, r.metrics.port]) {
      const again = createNetServer().listen(port, '127.0.0.1');
      await once(again, 'listening');
      again.close();
      await once(again, 'close');
    }
  });
});
