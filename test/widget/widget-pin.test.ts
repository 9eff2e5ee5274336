/**
 * The pinned widget file is immutable (issue 21): pages load /widget/fgm-status-<version>.js with
 * its SRI hash, so a rebuild with changed code under the same version must fail the build and
 * leave the pinned file as it was. Runs the real widget/pin-build.mjs, copied beside a package.json
 * and a dist/widget/ of its own (the script finds both relative to itself).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';

function project() {
  const root = mkdtempSync(join(tmpdir(), 'fgm-pin-'));
  mkdirSync(join(root, 'widget'));
  mkdirSync(join(root, 'dist', 'widget'), { recursive: true });
  copyFileSync(new URL('../../widget/pin-build.mjs', import.meta.url), join(root, 'widget', 'pin-build.mjs'));
  writeFileSync(join(root, 'widget', 'package.json'), JSON.stringify({ version: '0.1.0' }));
  const build = (code: string) => {
    writeFileSync(join(root, 'dist', 'widget', 'fgm-status.js'), code);
    return spawnSync(process.execPath, [join(root, 'widget', 'pin-build.mjs')], { encoding: 'utf8' });
  };
  return { root, build, pinned: join(root, 'dist', 'widget', 'fgm-status-0.1.0.js') };
}

test('a changed widget with an unchanged version fails the build and leaves the pinned file untouched', () => {
  const p = project();
  try {
    const first = 'class F{static version="0.1.0"}customElements.define(`fgm-status`,F);';
    assert.equal(p.build(first).status, 0);
    assert.equal(readFileSync(p.pinned, 'utf8'), first);
    // The same bytes again (a plain rebuild) are fine.
    assert.equal(p.build(first).status, 0);

    const changed = 'class F{static version="0.1.0";x=1}customElements.define(`fgm-status`,F);';
    const refused = p.build(changed);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /fgm-status-0\.1\.0\.js already exists with different content/);
    assert.match(refused.stderr, /bump "version" in widget\/package\.json/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /, 'a clear message, not a stack trace');
    assert.equal(readFileSync(p.pinned, 'utf8'), first, 'the pinned file keeps its bytes');
    const integrity = JSON.parse(readFileSync(join(p.root, 'dist', 'widget', 'integrity.json'), 'utf8')) as Record<
      string,
      string
    >;
    assert.deepEqual(Object.keys(integrity), ['fgm-status-0.1.0.js']);
    assert.equal(
      integrity['fgm-status-0.1.0.js'],
      `sha384-${sha384(first)}`,
      'integrity.json still names the pinned bytes',
    );
  } finally {
    rmSync(p.root, { recursive: true, force: true });
  }
});

test("a symlink in the pinned file's place (even a dangling one) fails the build, and nothing is written where it points", () => {
  const p = project();
  try {
    const outside = join(p.root, 'elsewhere.js');
    symlinkSync(outside, p.pinned);
    const refused = p.build('class F{static version="0.1.0"}customElements.define(`fgm-status`,F);');
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /fgm-status-0\.1\.0\.js is not a plain file/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /, 'a clear message, not a stack trace');
    assert.equal(existsSync(outside), false, 'nothing written through the symlink');
  } finally {
    rmSync(p.root, { recursive: true, force: true });
  }
});

test("the project's Vite build keeps an existing pinned file in its output folder", async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'fgm-pin-vite-'));
  try {
    writeFileSync(join(outDir, 'fgm-status-0.0.9.js'), 'pinned');
    await build({
      configFile: new URL('../../vite.config.ts', import.meta.url).pathname,
      logLevel: 'silent',
      build: { outDir },
    });
    assert.equal(readFileSync(join(outDir, 'fgm-status-0.0.9.js'), 'utf8'), 'pinned');
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

function sha384(s: string): string {
  return createHash('sha384').update(s).digest('base64');
}
