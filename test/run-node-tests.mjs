// Runs every node-side test file (*.test.ts outside node_modules, except *.browser.test.ts,
// which @web/test-runner runs in Chromium). Node 20's --test has no glob support, so we list them.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['gateway', 'demo', 'test'];
const skip = new Set(['node_modules', 'dist', '.data']);

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return skip.has(e.name) ? [] : find(p);
    return e.name.endsWith('.test.ts') && !e.name.endsWith('.browser.test.ts') ? [p] : [];
  });
}

const only = process.argv.slice(2);
const files = roots.flatMap(find).filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
