/**
 * The committed release of the widget's current version is what the build makes now (issue 21):
 * CI fails when the element changes without a version bump, before any build could serve other
 * bytes under a name pages pin by their SRI hash. The element is built here with the project's
 * Vite config, and held to the bytes in widget/releases/ and to the hash in its integrity.json,
 * which this test computes itself. Run in any clone, it also holds the build to being
 * byte-for-byte reproducible: the committed bytes were built in another.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import widgetPackage from '@fgm-status/element/package.json' with { type: 'json' };

test("the widget's current version is released, and its committed bytes and integrity are what the build makes now", async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'fgm-release-'));
  try {
    await build({
      configFile: new URL('../../vite.config.ts', import.meta.url).pathname,
      logLevel: 'silent',
      build: { outDir },
    });
    const built = readFileSync(join(outDir, 'fgm-status.js'));
    const file = `fgm-status-${widgetPackage.version}.js`;
    const releases = new URL('../../widget/releases/', import.meta.url);
    const record = JSON.parse(readFileSync(new URL('integrity.json', releases), 'utf8')) as Record<string, string>;
    assert.ok(file in record, `${file} is in widget/releases/integrity.json: run npm run widget:release`);
    assert.ok(
      built.equals(readFileSync(new URL(file, releases))),
      `the element changed but ${widgetPackage.version} is released: bump the version and run npm run widget:release`,
    );
    assert.equal(record[file], `sha384-${createHash('sha384').update(built).digest('base64')}`);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
