/**
 * Pinned widget files are immutable (issue 21): pages load /widget/fgm-status-<version>.js with its
 * SRI hash, so a build whose element changed under a released version must fail and write nothing
 * under that name, even from a clean clone (dist/ is gitignored: only widget/releases/ knows what
 * was released). Runs the real widget/pin-build.mjs, copied beside a package.json, a
 * widget/releases/ and a dist/widget/ of its own (the script finds them relative to itself).
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
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';

const element = (version: string, extra = '') =>
  `class F{static version="${version}"${extra}}customElements.define(\`fgm-status\`,F);`;
const sri = (s: string) => `sha384-${createHash('sha384').update(s).digest('base64')}`;

/** A project whose widget/releases/ holds `releases` (version → bytes), each with its hash. */
function project(releases: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'fgm-pin-'));
  const releaseDir = join(root, 'widget', 'releases');
  const dist = join(root, 'dist', 'widget');
  mkdirSync(releaseDir, { recursive: true });
  mkdirSync(dist, { recursive: true });
  copyFileSync(new URL('../../widget/pin-build.mjs', import.meta.url), join(root, 'widget', 'pin-build.mjs'));
  const record: Record<string, string> = {};
  for (const [version, code] of Object.entries(releases)) {
    writeFileSync(join(releaseDir, `fgm-status-${version}.js`), code);
    record[`fgm-status-${version}.js`] = sri(code);
  }
  writeFileSync(join(releaseDir, 'integrity.json'), JSON.stringify(record));
  const run = (version: string, code: string, ...args: string[]) => {
    writeFileSync(join(root, 'widget', 'package.json'), JSON.stringify({ version }));
    writeFileSync(join(dist, 'fgm-status.js'), code);
    return spawnSync(process.execPath, [join(root, 'widget', 'pin-build.mjs'), ...args], { encoding: 'utf8' });
  };
  const read = (...path: string[]) => readFileSync(join(root, ...path), 'utf8');
  const json = (...path: string[]) => JSON.parse(read(...path)) as Record<string, string>;
  return { root, releaseDir, dist, run, read, json };
}

/** Runs `body` in a fresh project, removed afterwards. */
function inProject(releases: Record<string, string>, body: (p: ReturnType<typeof project>) => void) {
  const p = project(releases);
  try {
    body(p);
  } finally {
    rmSync(p.root, { recursive: true, force: true });
  }
}

test('a changed element under a released version fails a clean build, naming the release and the bump, and nothing is written under its name', () => {
  const released = element('0.1.0');
  inProject({ '0.1.0': released }, (p) => {
    const changed = element('0.1.0', ';x=1');
    const refused = p.run('0.1.0', changed);
    assert.notEqual(refused.status, 0);
    assert.match(
      refused.stderr,
      new RegExp(
        `widget code changed but version 0\\.1\\.0 is already released with integrity ${escape(sri(released))}`,
      ),
    );
    assert.match(
      refused.stderr,
      /bump "version" in widget\/package\.json \(and in package\.json, kept equal, and FgmStatus\.version/,
    );
    assert.doesNotMatch(refused.stderr, /\n\s+at /, 'a clear message, not a stack trace');
    assert.equal(p.read('widget', 'releases', 'fgm-status-0.1.0.js'), released, 'the released file keeps its bytes');
    assert.deepEqual(p.json('widget', 'releases', 'integrity.json'), { 'fgm-status-0.1.0.js': sri(released) });
    assert.equal(existsSync(join(p.dist, 'fgm-status-0.1.0.js')), false, 'no file under the released name');
    assert.equal(existsSync(join(p.dist, 'integrity.json')), false, 'no integrity for the changed bytes');

    // The released bytes again (a plain rebuild, as from a clean clone) go out under the name.
    const built = p.run('0.1.0', released);
    assert.equal(built.status, 0, built.stderr);
    assert.equal(p.read('dist', 'widget', 'fgm-status-0.1.0.js'), released);
    assert.deepEqual(p.json('dist', 'widget', 'integrity.json'), { 'fgm-status-0.1.0.js': sri(released) });
    assert.match(built.stdout, new RegExp(`integrity="${escape(sri(released))}"`));
    // And a changed element is still refused with the released file already in dist.
    assert.notEqual(p.run('0.1.0', changed).status, 0);
    assert.equal(p.read('dist', 'widget', 'fgm-status-0.1.0.js'), released);
  });
});

test('--release records a new version once; a version never released, or not newer than the newest release, is refused', () => {
  const first = element('0.1.0');
  inProject({ '0.1.0': first }, (p) => {
    const unreleased = p.run('0.2.0', element('0.2.0'));
    assert.notEqual(unreleased.status, 0);
    assert.match(unreleased.stderr, /widget version 0\.2\.0 is not released: run npm run widget:release/);
    assert.deepEqual(readdirSync(p.releaseDir).sort(), ['fgm-status-0.1.0.js', 'integrity.json']);

    const second = element('0.2.0');
    const recorded = p.run('0.2.0', second, '--release');
    assert.equal(recorded.status, 0, recorded.stderr);
    assert.equal(p.read('widget', 'releases', 'fgm-status-0.2.0.js'), second);
    assert.deepEqual(p.json('widget', 'releases', 'integrity.json'), {
      'fgm-status-0.1.0.js': sri(first),
      'fgm-status-0.2.0.js': sri(second),
    });
    // Every release is served from every build, the older one included, with every release's hash
    // beside them (the gateway serves a release only with those bytes), and no temporary file left.
    assert.equal(p.read('dist', 'widget', 'fgm-status-0.1.0.js'), first);
    assert.equal(p.read('dist', 'widget', 'fgm-status-0.2.0.js'), second);
    assert.deepEqual(p.json('dist', 'widget', 'integrity.json'), {
      'fgm-status-0.1.0.js': sri(first),
      'fgm-status-0.2.0.js': sri(second),
    });
    assert.deepEqual(
      [...readdirSync(p.dist), ...readdirSync(p.releaseDir)].filter((f) => f.endsWith('.tmp')),
      [],
    );
    assert.equal(p.run('0.2.0', second).status, 0, 'recorded, it builds without --release');

    // Releasing again with other bytes is the same refusal as a build.
    const again = p.run('0.2.0', element('0.2.0', ';x=1'), '--release');
    assert.match(again.stderr, /widget code changed but version 0\.2\.0 is already released/);
    assert.equal(p.read('widget', 'releases', 'fgm-status-0.2.0.js'), second);

    for (const version of ['0.1.1', '0.1.10', '0.2.0-rc.1']) {
      const old = p.run(version, element(version), '--release');
      assert.notEqual(old.status, 0, version);
      assert.doesNotMatch(old.stderr, /\n\s+at /, 'a clear message, not a stack trace');
      assert.equal(existsSync(join(p.releaseDir, `fgm-status-${version}.js`)), false, version);
    }
    assert.match(p.run('0.1.10', element('0.1.10'), '--release').stderr, /not newer than the newest release, 0\.2\.0/);
    assert.match(p.run('0.2.0-rc.1', element('0.2.0-rc.1'), '--release').stderr, /is not major\.minor\.patch/);
    assert.equal(p.run('0.10.0', element('0.10.0'), '--release').status, 0, '0.10.0 is after 0.2.0');
  });
});

test('a released file edited in place, or one without its hash, fails the build', () => {
  const released = element('0.1.0');
  inProject({ '0.1.0': released }, (p) => {
    writeFileSync(join(p.releaseDir, 'fgm-status-0.1.0.js'), element('0.1.0', ';x=1'));
    const edited = p.run('0.1.0', element('0.1.0', ';x=1'));
    assert.notEqual(edited.status, 0);
    assert.match(edited.stderr, /widget\/releases\/fgm-status-0\.1\.0\.js does not match its integrity/);
    assert.equal(existsSync(join(p.dist, 'fgm-status-0.1.0.js')), false);

    writeFileSync(join(p.releaseDir, 'fgm-status-0.1.0.js'), released);
    writeFileSync(join(p.releaseDir, 'fgm-status-0.0.9.js'), element('0.0.9'));
    assert.match(p.run('0.1.0', released).stderr, /fgm-status-0\.0\.9\.js is not in widget\/releases\/integrity\.json/);
  });
});

test('a file in dist under a released name with other bytes is not overwritten; a file under a name never released is left alone', () => {
  const released = element('0.1.0');
  inProject({ '0.1.0': released }, (p) => {
    writeFileSync(join(p.dist, 'fgm-status-0.1.0.js'), 'other');
    writeFileSync(join(p.dist, 'fgm-status-0.0.9.js'), 'pinned before releases were recorded');
    const refused = p.run('0.1.0', released);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /dist\/widget\/fgm-status-0\.1\.0\.js differs from the release/);
    assert.equal(p.read('dist', 'widget', 'fgm-status-0.1.0.js'), 'other');

    rmSync(join(p.dist, 'fgm-status-0.1.0.js'));
    assert.equal(p.run('0.1.0', released).status, 0);
    assert.equal(p.read('dist', 'widget', 'fgm-status-0.0.9.js'), 'pinned before releases were recorded');
  });
});

test("a symlink in the pinned file's place (even a dangling one) fails the build, and nothing is written where it points", () => {
  const released = element('0.1.0');
  inProject({ '0.1.0': released }, (p) => {
    const outside = join(p.root, 'elsewhere.js');
    symlinkSync(outside, join(p.dist, 'fgm-status-0.1.0.js'));
    const refused = p.run('0.1.0', released);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /fgm-status-0\.1\.0\.js is not a plain file/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /, 'a clear message, not a stack trace');
    assert.equal(existsSync(outside), false, 'nothing written through the symlink');
  });
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

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
