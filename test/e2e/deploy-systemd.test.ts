/**
 * @module test/e2e/deploy-systemd
 * deploy/fgm-gateway.service: `systemd-analyze verify` accepts it with no warning (it exits 0 even
 * on unknown keys or bad values, so its output must be empty), and the sandboxing docs/operating.md
 * promises is there. Without systemd-analyze the verify step is reported as not run, never passed
 * silently; the sandbox keys are checked either way. Its comments are checked too: the README
 * section it points to exists, and its install steps build with the devDependencies and then run
 * with the production ones only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { builtGateway } from '../helpers/built-gateway.ts';
import { gatewayHeapFlags } from '../helpers/heap-flags.ts';

const UNIT = 'deploy/fgm-gateway.service';

/** Key → values of the [Service] section (a key may repeat). */
function serviceSection(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = '';
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) section = header[1]!;
    else if (section === 'Service') {
      const [key, ...value] = line.split('=');
      keys.set(key!, [...(keys.get(key!) ?? []), value.join('=')]);
    }
  }
  return keys;
}

test('systemd-analyze verify accepts the unit without a warning', (t) => {
  const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    t.diagnostic('systemd-analyze is not installed here: the unit was NOT verified by systemd (only its keys below)');
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => l.includes('fgm-gateway.service'))
      .join('\n'),
    '',
    'no warning about the unit',
  );
});

test('the unit runs the built gateway sandboxed, writing only its audit directory', () => {
  const s = serviceSection(readFileSync(UNIT, 'utf8'));
  const one = (k: string) => s.get(k)?.at(-1);
  assert.match(one('ExecStart') ?? '', /\/dist\/gateway\/main\.js$/);
  assert.match(one('Environment') ? s.get('Environment')!.join(' ') : '', /FGM_GATEWAY_CONFIG=\/etc\/fgm-gateway\//);
  assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID', 'systemctl reload is the SIGHUP reload');
  for (const [k, v] of Object.entries({
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    CapabilityBoundingSet: '',
    RestrictSUIDSGID: 'yes',
    ProtectKernelTunables: 'yes',
  })) {
    assert.equal(one(k), v, k);
  }
  assert.equal(one('ReadWritePaths'), '/var/lib/fgm-gateway');
  assert.ok(one('User') && one('User') !== 'root', 'not root');
});

test('the unit starts Node with the heap limits npm run gateway uses (issue 22)', () => {
  const flags = gatewayHeapFlags();
  // Hand-written expectation: both limits, so a heap grown under load does not pass the memory aim.
  assert.deepEqual(flags.map((f) => f.split('=')[0]).sort(), ['--max-old-space-size', '--max-semi-space-size']);
  const exec = serviceSection(readFileSync(UNIT, 'utf8')).get('ExecStart')!.at(-1)!;
  assert.equal(exec, `/usr/bin/node ${flags.join(' ')} /opt/fgm-gateway/dist/gateway/main.js`);
});

/** The `#   ` command lines of the unit's leading comment, in order. */
const installCommands = () =>
  readFileSync(UNIT, 'utf8')
    .split('\n')
    .filter((l) => /^#\s{3}\S/.test(l))
    .map((l) => l.slice(1).trim());

test('the docs section the unit points to is a heading there', () => {
  const [, file, section] = /See (docs\/[\w/-]+\.md), "([^"]+)"/.exec(readFileSync(UNIT, 'utf8')) ?? [];
  assert.ok(file && section, 'the unit names a docs page and section');
  const headings = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^#{1,6} /.test(l))
    .map((l) => l.replace(/^#+ /, ''));
  assert.ok(headings.includes(section), `${file} has no heading "${section}"`);
});

test('the install steps build with the devDependencies, then prune them (npm ci --omit=dev cannot build)', () => {
  const steps = installCommands().flatMap((c) => c.replace(/^cd \S+ && /, '').split(' && '));
  const at = (cmd: string) => steps.indexOf(cmd);
  assert.ok(
    at('npm ci') >= 0 && at('npm ci') < at('npm run build') && at('npm run build') < at('npm prune --omit=dev'),
    steps.join(' | '),
  );
  assert.ok(!steps.some((c) => /npm ci .*--omit=dev/.test(c)), 'no npm ci --omit=dev before the build');
  // What the build script runs must be there after plain npm ci, which is why --omit=dev comes after it.
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  for (const tool of ['vite', 'typescript']) assert.ok(pkg.devDependencies[tool], `${tool} is a devDependency`);
});

test('the built gateway and audit CLI start with the production dependencies only, as npm prune --omit=dev leaves them', () => {
  builtGateway('main.js');
  const root = mkdtempSync(join(tmpdir(), 'fgm-pruned-'));
  try {
    // npm prune --omit=dev keeps exactly the lockfile's packages not marked dev (hard links: nothing is copied or written back).
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
    const kept = Object.entries(lock.packages as Record<string, { dev?: boolean }>)
      .filter(([path, p]) => path.startsWith('node_modules/') && !p.dev)
      .map(([path]) => path);
    for (const path of kept.filter((p) => !kept.some((o) => p.startsWith(`${o}/`)))) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      const r = spawnSync('cp', ['-al', path, join(root, path)], { encoding: 'utf8' });
      if (r.status !== 0 && !/No such file/.test(r.stderr)) assert.fail(r.stderr); // an optional package not installed here
    }
    spawnSync('cp', ['-al', 'dist', join(root, 'dist')]);
    spawnSync('cp', ['package.json', join(root, 'package.json')]);
    const { FGM_GATEWAY_CONFIG: _, ...env } = process.env;
    const run = (args: string[]) =>
      spawnSync(process.execPath, args, { cwd: root, env: { ...env, NODE_PATH: '' }, encoding: 'utf8' });
    // Reaching the config read means every static import resolved.
    const gateway = run(['dist/gateway/main.js']);
    assert.match(gateway.stderr, /config: cannot read .*fgm-gateway\.config\.json: ENOENT/, gateway.stderr);
    const cli = run(['dist/gateway/audit/cli.js', 'verify']);
    assert.match(cli.stderr, /^audit: config: cannot read /, cli.stderr);
    // What is imported only when a config asks for it (PostgreSQL, Redis, CDS Hooks): every
    // dynamic import() in the build, by name, from where it is written.
    const lazy = (readdirSync(join(root, 'dist/gateway'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.js'))
      .flatMap((f) =>
        [...readFileSync(join(root, 'dist/gateway', f), 'utf8').matchAll(/\bimport\((['"])([^'"]+)\1\)/g)].map((m) =>
          m[2]!.startsWith('.') ? `./${relative(root, join(root, 'dist/gateway', dirname(f), m[2]!))}` : m[2]!,
        ),
      );
    assert.ok(lazy.some((m) => m.endsWith('postgres-store.js')) && lazy.includes('ioredis'), lazy.join(', '));
    const modules = [...new Set(lazy)];
    const all = run(['--input-type=module', '-e', `for (const m of ${JSON.stringify(modules)}) await import(m);`]);
    assert.equal(all.status, 0, all.stderr);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
