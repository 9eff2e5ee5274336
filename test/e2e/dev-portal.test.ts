/**
 * @module test/e2e/dev-portal
 * `npm run dev:portal` as a portal developer runs it, from the built tree: the command for a random
 * origin, a tiny page on that origin made from the snippet it prints and a token from
 * `npm run dev:token`, driven in headless Chromium to the alert; the same page on another origin
 * is refused by CORS. Real processes and sockets; every wait is for an event or a printed line.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_WIDGET_FILE } from '../../gateway/config/config.ts';
import { launchChromium } from '../helpers/browser.ts';
import { runLog } from '../helpers/run-log.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(REPO, 'demo/portal/main.ts');
const TOKEN = join(REPO, 'demo/portal/token.ts');
const TSX = fileURLToPath(import.meta.resolve('tsx'));
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

const dataDir = mkdtempSync(join(tmpdir(), 'fgm-dev-portal-'));
let portal: ChildProcess | undefined;
let portalExit: Promise<unknown[]> | undefined;
let printed = '';
let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
/** The page each origin serves, set once the portal has printed its snippet. */
let pageHtml = '<!doctype html><title>not yet</title>';
const servers: Server[] = [];

async function pageServer(): Promise<string> {
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pageHtml),
  );
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Runs a command to its end: exit code and both streams. */
async function run(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, file, ...args], {
    cwd: REPO,
    env: { ...process.env, GATEWAY_PORT: '0', SPINE_SIM_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stdout, stderr };
}

let portalOrigin: string;
let otherOrigin: string;
let gatewayUrl: string;

before(async () => {
  assert.ok(existsSync(DEFAULT_WIDGET_FILE), `build first (npm run build): ${DEFAULT_WIDGET_FILE} is missing`);
  portalOrigin = await pageServer();
  otherOrigin = await pageServer();
  portal = spawn(process.execPath, ['--import', TSX, MAIN, '--origin', portalOrigin, '--data-dir', dataDir], {
    cwd: REPO,
    env: { ...process.env, GATEWAY_PORT: '0', SPINE_SIM_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  portalExit = once(portal, 'exit');
  const keep = runLog('dev-portal');
  let stderr = '';
  portal.stderr!.on('data', (c) => (stderr += c));
  await new Promise<void>((resolve, reject) => {
    portal!.stdout!.on('data', (c: Buffer) => {
      // The gateway's JSON log lines go to the run's patient-data scan; the instructions name the
      // fictional test patients on purpose, and are no log.
      const from = printed.lastIndexOf('\n') + 1;
      printed += c;
      const whole = printed.slice(from, printed.lastIndexOf('\n') + 1);
      for (const line of whole.split('\n')) if (line.startsWith('{')) keep(`${line}\n`);
      if (printed.includes('Ctrl-C stops.')) resolve();
    });
    void portalExit!.then(([code]) => reject(new Error(`dev:portal exited (${code}): ${printed}${stderr}`)));
  });
  gatewayUrl = /^ {2}Gateway +(http:\/\/127\.0\.0\.1:\d+) /m.exec(printed)![1]!;
  chromium = await launchChromium();
});

after(async () => {
  await chromium?.close();
  if (portal && portal.exitCode === null) {
    portal.kill('SIGTERM');
    await portalExit;
  }
  for (const s of servers) s.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The element snippet exactly as dev:portal printed it, with a real token in place of the placeholder. */
function snippetWith(token: string): string {
  const start = printed.indexOf('<script type="module" src=');
  const end = printed.indexOf('</script>', printed.indexOf('<script type="module">', start)) + '</script>'.length;
  assert.ok(start >= 0 && end > start, `dev:portal printed the snippet: ${printed}`);
  const snippet = printed.slice(start, end);
  assert.match(snippet, /PASTE THE OUTPUT OF npm run -s dev:token -- midwife/);
  return snippet.replace(/'PASTE THE OUTPUT OF [^']*'/, `'${token}'`);
}

describe('npm run dev:portal: a gateway for your own origin', () => {
  it('prints the gateway, the origin it accepts and the token command', () => {
    assert.match(printed, new RegExp(`Accepts +pages from ${portalOrigin.replace(/[.:/]/g, '\\$&')} only \\(CORS\\)`));
    assert.match(printed, /npm run -s dev:token -- midwife --data-dir /);
    assert.match(
      printed,
      new RegExp(
        `<fgm-status gateway="${gatewayUrl}" nhs-number="9990000018" birth-date="2014-03-02" nhs-number-verified>`,
      ),
    );
  });

  it(
    'MSCA-FGMRISQR-06 a page on that origin, with a dev:token midwife token, shows the alert for 9990000018',
    { timeout: 60_000 },
    async () => {
      const token = await run(TOKEN, ['midwife', '--data-dir', dataDir]);
      assert.equal(token.code, 0, token.stderr);
      assert.match(token.stdout.trim(), JWT, 'the token is all that is on stdout');
      pageHtml = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>My portal</title></head><body>${snippetWith(token.stdout.trim())}</body></html>`;
      const context = await chromium!.browser.createBrowserContext();
      try {
        const page = await context.newPage();
        await page.goto(portalOrigin);
        const alert = await page.waitForSelector('fgm-status >>> [role="alert"]', { timeout: 30_000 });
        const text = await alert!.evaluate(
          (el) => (el.closest('[part~="base"]') ?? el).textContent?.replace(/\s+/g, ' ').trim() ?? '',
        );
        assert.match(text, /999 000 0018/);
        assert.match(text, /10\/12\/2019/);
        assert.match(text, /NHS Spine FGM-IS/);
      } finally {
        await context.close();
      }
    },
  );

  it(
    'the same page on another origin is refused: no widget module, and the API call is blocked by CORS',
    { timeout: 60_000 },
    async () => {
      const token = (await run(TOKEN, ['midwife', '--data-dir', dataDir])).stdout.trim();
      pageHtml = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not my portal</title></head><body>${snippetWith(token)}</body></html>`;
      const context = await chromium!.browser.createBrowserContext();
      try {
        const page = await context.newPage();
        // The load event comes after every module script has loaded or failed.
        await page.goto(otherOrigin, { waitUntil: 'load' });
        assert.equal(
          await page.evaluate(() => customElements.get('fgm-status') === undefined),
          true,
          'the widget module is refused cross-origin',
        );
        const outcome = await page.evaluate(
          async ([gw, t]) => {
            try {
              const res = await fetch(`${gw}/api/fgm-status`, {
                method: 'POST',
                headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' },
                body: JSON.stringify({ nhsNumber: '9990000018', birthDate: '2014-03-02' }),
              });
              return `answered ${res.status}`;
            } catch (e) {
              return (e as Error).name;
            }
          },
          [gatewayUrl, token] as const,
        );
        assert.equal(outcome, 'TypeError', 'the browser blocks the answer (CORS)');
      } finally {
        await context.close();
      }
      // And on the wire: the gateway names only the portal's origin.
      for (const [origin, allowed] of [
        [portalOrigin, portalOrigin],
        [otherOrigin, null],
      ] as const) {
        const res = await fetch(`${gatewayUrl}/api/fgm-status`, {
          method: 'OPTIONS',
          headers: {
            Origin: origin,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'authorization,content-type',
          },
        });
        assert.equal(res.headers.get('access-control-allow-origin'), allowed, origin);
      }
    },
  );

  it(
    'dev:token refuses where dev:portal did not mark the folder development, and names the users',
    { timeout: 60_000 },
    async () => {
      const empty = join(dataDir, 'no-portal');
      const notDev = join(dataDir, 'not-dev');
      mkdirSync(join(notDev, 'portal'), { recursive: true });
      writeFileSync(
        join(notDev, 'portal', 'dev-portal.json'),
        JSON.stringify({
          development: false,
          origin: portalOrigin,
          gatewayUrl,
          issuer: 'x',
          audience: 'y',
          keyFile: join(dataDir, 'pki', 'demo-idp.key'),
        }),
      );
      const cases: [string[], RegExp][] = [
        [['midwife', '--data-dir', empty], /no development portal in .*npm run dev:portal -- --origin/],
        [['midwife', '--data-dir', notDev], /does not say "development": true/],
        [['nurse', '--data-dir', dataDir], /no test user "nurse"; the test users are midwife, receptionist, auditor/],
        [['--data-dir', dataDir], /name one test user/],
      ];
      for (const [args, message] of cases) {
        const r = await run(TOKEN, args);
        assert.equal(r.code, 1, args.join(' '));
        assert.equal(r.stdout, '', 'no token');
        assert.match(r.stderr, /^npm run dev:token: /);
        assert.match(r.stderr, message);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
      }
    },
  );

  it('--origin must be an origin: each mistake is one clear line, nothing starts', { timeout: 60_000 }, async () => {
    const cases: [string | undefined, RegExp][] = [
      [undefined, /--origin is required/],
      ['localhost:5173', /--origin "localhost:5173" lacks its scheme: .* e\.g\. http:\/\/localhost:5173/],
      ['not a url', /--origin "not a url" is not a URL/],
      ['ftp://127.0.0.1:21', /must be http: or https:/],
      ['http://localhost:5173/app', /has a path, query or fragment; .*: http:\/\/localhost:5173$/m],
      ['http://user:pw@localhost:5173', /may not carry a user name or password/],
    ];
    for (const [origin, message] of cases) {
      const r = await run(MAIN, [
        ...(origin === undefined ? [] : ['--origin', origin]),
        '--data-dir',
        join(dataDir, 'bad'),
      ]);
      assert.equal(r.code, 1, String(origin));
      assert.match(r.stderr, /^npm run dev:portal: /);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      assert.equal(existsSync(join(dataDir, 'bad')), false, 'nothing written');
    }
  });
});
