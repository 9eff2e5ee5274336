// Runs every node-side test file (*.test.ts outside node_modules, except *.browser.test.ts,
// which @web/test-runner runs in Chromium). Node 20's --test has no glob support, so we list them.
// Then one last check scans everything the run's gateways logged (test/whole-run-logs.check.ts),
// and a full run checks every MUST is traced (test/assurance/trace.check.ts) and keeps its TAP
// in .data/test-results/ for `npm run assurance`.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const roots = ['gateway', 'widget', 'demo', 'test'];
const skip = new Set(['node_modules', 'dist', '.data']);

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return skip.has(e.name) ? [] : find(p);
    return e.name.endsWith('.test.ts') && !e.name.endsWith('.browser.test.ts') ? [p] : [];
  });
}

const only = process.argv.slice(2);
const files = roots
  .flatMap(find)
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const logDir = mkdtempSync(join(tmpdir(), 'fgm-test-logs-'));
const env = { ...process.env, FGM_TEST_LOG_DIR: logDir };
const totals = { pass: 0, fail: 0 };
// Spec output for people; a TAP copy whose summary gives the counts for the closing line.
const node = (name, args) => {
  const tap = join(logDir, `${name}.tap`);
  const reporters = [
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
  ];
  // A test that hangs (a store left open after a failed assertion, say) fails at 5 minutes instead
  // of holding the run until CI's own limit.
  const status =
    spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-timeout=300000', ...reporters, ...args], {
      stdio: 'inherit',
      env,
    }).status ?? 1;
  const summary = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  for (const k of ['pass', 'fail']) totals[k] += Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(summary)?.[1] ?? 0);
  return status;
};
try {
  const tests = node('tests', files);
  // A subset that started no gateway has no logs to scan; the whole suite always must.
  const scan = only.length === 0 || readdirSync(logDir).some((f) => f.endsWith('.log'));
  const logs = scan ? node('logs', ['test/whole-run-logs.check.ts']) : 0;
  let traced = 0;
  if (only.length === 0) {
    mkdirSync('.data/test-results', { recursive: true });
    copyFileSync(join(logDir, 'tests.tap'), '.data/test-results/node.tap');
    env.FGM_TEST_TAP = join(logDir, 'tests.tap');
    traced = node('trace', ['test/assurance/trace.check.ts']);
  }
  console.log(
    `\nnode tests, the whole-run log scan and the requirement trace:\n${totals.pass} passed, ${totals.fail} failed`,
  );
  process.exitCode = tests || logs || traced;
} finally {
  rmSync(logDir, { recursive: true, force: true });
}
