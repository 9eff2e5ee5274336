/**
 * @module test/widget/widget-package
 * The element as a portal developer gets it: `npm pack` of the widget workspace, installed from
 * the tarball into a fresh React 19 + TypeScript + Vite project made here (packages from the
 * registry, npm's cache preferred), where the TSX snippet of the package's README must pass
 * `tsc` — strict, declaration files checked too, without `lit` installed — build with Vite, and
 * run in Chromium.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { launchChromium } from '../helpers/browser.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** What `npm create vite` (react-ts) would pick today, at their current majors. */
const HOST_PACKAGES = [
  'react@^19',
  'react-dom@^19',
  '@types/react@^19',
  '@types/react-dom@^19',
  'typescript@^7',
  'vite@^8',
];

/** The gateway the README's example names. */
const GATEWAY = 'https://fgm-gateway.example.nhs.uk';
/** The gateway's answer, stamped as Spine stamps it when asked: the element shows nothing 24 h after that. */
const indicator = () => ({
  status: 'indicator',
  nhsNumber: '9990000018',
  assessmentDate: '2019-12-10',
  checkedAt: new Date().toISOString(),
  messageId: 'm1',
  code: 'SUCCESS',
  smspCode: 'SMSP-0000',
  display: 'Success',
});

let dir: string;
let tarball: string;

/** The README's first ```tsx block: what a developer copies. */
function readmeTsx(): string {
  const m = /```tsx\n([\s\S]*?)```/.exec(readFileSync(join(root, 'widget/README.md'), 'utf8'));
  assert.ok(m, 'widget/README.md has a tsx example');
  return m[1]!;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fgm-widget-package-'));
  const packed = join(dir, 'packed');
  await mkdir(packed);
  await run(npm, ['pack', '--workspace', 'widget', '--pack-destination', packed, '--silent'], { cwd: root });
  tarball = join(
    packed,
    readdirSync(packed).find((f) => f.endsWith('.tgz'))!,
  );
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the packed element has what its package.json promises, and its version is the element's", async () => {
  const { stdout } = await run('tar', ['-tzf', tarball]);
  const files = stdout
    .trim()
    .split('\n')
    .map((f) => f.replace(/^package\//, ''))
    .sort();
  assert.deepEqual(files, [
    'README.md',
    'dist/custom-elements.json',
    'dist/fgm-status.js',
    'package.json',
    'types/element.d.ts',
    'types/index.d.ts',
    'types/react.d.ts',
  ]);
  const pkg = JSON.parse(readFileSync(join(root, 'widget/package.json'), 'utf8'));
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.version, rootPkg.version, 'the element is versioned with the project');
  assert.equal(pkg.private, undefined);
  assert.deepEqual(pkg.dependencies, undefined, 'self-contained: Lit is inside the module');
  assert.match(
    readFileSync(join(root, 'widget/fgm-status.ts'), 'utf8'),
    new RegExp(`static version = '${pkg.version.replaceAll('.', '\\.')}'`),
  );
});

test(
  "a fresh React 19 + TypeScript + Vite project installs the tarball, type-checks the README's TSX, builds and runs it",
  { timeout: 300_000 },
  async () => {
    const app = join(dir, 'app');
    await mkdir(join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'portal', private: true, type: 'module' }));
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'bundler',
          jsx: 'react-jsx',
          lib: ['ES2022', 'DOM', 'DOM.Iterable'],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
          isolatedModules: true,
        },
        include: ['src'],
      }),
    );
    writeFileSync(
      join(app, 'index.html'),
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Portal</title></head><body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>',
    );
    writeFileSync(join(app, 'src/FgmBanner.tsx'), readmeTsx());
    writeFileSync(
      join(app, 'src/main.tsx'),
      `import { createRoot } from 'react-dom/client';
import { FgmBanner } from './FgmBanner';
createRoot(document.getElementById('root')!).render(
  <FgmBanner patient={{ nhsNumber: '9990000018', nhsNumberVerified: true, birthDate: '2014-03-02' }} getToken={async () => 'token'} reportToIT={(d) => console.log(d.code)} />,
);
`,
    );
    await run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--silent', ...HOST_PACKAGES, tarball], {
      cwd: app,
      timeout: 240_000,
    });
    assert.equal(existsSync(join(app, 'node_modules/lit')), false, 'lit is not installed: the types stand alone');

    const tsc = await run(join(app, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: app }).catch(
      (e: { stdout: string }) => e,
    );
    assert.equal(tsc.stdout, '', `tsc found errors:\n${tsc.stdout}`);

    await run(join(app, 'node_modules/.bin/vite'), ['build', '--logLevel', 'error'], { cwd: app });
    const assets = join(app, 'dist/assets');
    const bundle = readdirSync(assets)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(assets, f), 'utf8'))
      .join('\n');
    assert.match(bundle, /customElements\.define\(`fgm-status`/, "the element is in the portal's bundle");

    // And it works: in Chromium, React 19 hands the element its tokenProvider as a property, and
    // the element asks the gateway with that token and shows the alert. The page and the gateway
    // (the README's URL) are answered by request interception, on one origin.
    const chromium = await launchChromium();
    try {
      const page = await chromium.browser.newPage();
      const asked: { authorization?: string; body: unknown }[] = [];
      await page.setRequestInterception(true);
      page.on('request', (req) => {
        const url = new URL(req.url());
        if (url.origin !== GATEWAY) return void req.abort();
        if (url.pathname === '/api/fgm-status') {
          asked.push({ authorization: req.headers().authorization, body: JSON.parse(req.postData() ?? 'null') });
          return void req.respond({ status: 200, contentType: 'application/json', body: JSON.stringify(indicator()) });
        }
        const file = join(app, 'dist', url.pathname === '/' ? 'index.html' : url.pathname);
        if (!existsSync(file)) return void req.respond({ status: 404, body: '' });
        return void req.respond({
          status: 200,
          contentType: file.endsWith('.js') ? 'text/javascript' : 'text/html',
          body: readFileSync(file),
        });
      });
      await page.goto(`${GATEWAY}/`);
      await page.waitForSelector('fgm-status >>> [role="alert"]', { timeout: 15_000 });
      assert.deepEqual(asked, [
        { authorization: 'Bearer token', body: { nhsNumber: '9990000018', birthDate: '2014-03-02' } },
      ]);
    } finally {
      await chromium.close();
    }
  },
);
