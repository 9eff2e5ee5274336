import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { unitApp } from '../../test/helpers/hono-unit.ts';
import { VERSIONED_WIDGET_ROUTE, versionedWidgetModule, widgetModule } from './widget-module.ts';

const dir = mkdtempSync(join(tmpdir(), 'widget-module-'));
writeFileSync(join(dir, 'fgm-status.js'), 'export const build = "current";');
writeFileSync(join(dir, 'fgm-status-1.2.3.js'), 'export const build = "1.2.3";');
writeFileSync(join(dir, 'secret.js'), 'not for you');

function served(file = join(dir, 'fgm-status.js')) {
  const app = unitApp();
  app.get('/widget/fgm-status.js', widgetModule({ file }));
  app.get(VERSIONED_WIDGET_ROUTE, versionedWidgetModule({ file }));
  return app;
}

describe('GET /widget/*', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the current build, as a JavaScript module, no-cache so pages always get a rebuild', async () => {
    const res = await served().request('/widget/fgm-status.js');
    assert.deepEqual(
      [res.status, res.headers.get('Content-Type'), res.headers.get('Cache-Control'), await res.text()],
      [200, 'text/javascript; charset=utf-8', 'no-cache', 'export const build = "current";'],
    );
  });

  it('a pinned version is immutable for a year, so Subresource Integrity can pin it', async () => {
    const res = await served().request('/widget/fgm-status-1.2.3.js');
    assert.deepEqual(
      [res.status, res.headers.get('Cache-Control'), await res.text()],
      [200, 'public, max-age=31536000, immutable', 'export const build = "1.2.3";'],
    );
  });

  it('a build that is not there: 404 with a clear message, never cached', async () => {
    for (const res of [
      await served(join(dir, 'missing', 'fgm-status.js')).request('/widget/fgm-status.js'),
      await served().request('/widget/fgm-status-9.9.9.js'),
    ]) {
      assert.deepEqual([res.status, res.headers.get('Cache-Control')], [404, 'no-store']);
      assert.match(await res.text(), /widget/i);
    }
  });

  it('a release the build recorded is served only with the bytes of its hash: a file cut short on disk is 404 no-store, never kept a year', async () => {
    const whole = 'export const build = "2.0.0"; // the released bytes';
    const sri = `sha384-${createHash('sha384').update(whole).digest('base64')}`;
    const releases = mkdtempSync(join(tmpdir(), 'widget-releases-'));
    try {
      writeFileSync(join(releases, 'integrity.json'), JSON.stringify({ 'fgm-status-2.0.0.js': sri }));
      writeFileSync(join(releases, 'fgm-status-2.0.0.js'), whole);
      const app = served(join(releases, 'fgm-status.js'));
      const good = await app.request('/widget/fgm-status-2.0.0.js');
      assert.deepEqual([good.status, await good.text()], [200, whole]);
      writeFileSync(join(releases, 'fgm-status-2.0.0.js'), whole.slice(0, 20));
      const cut = await app.request('/widget/fgm-status-2.0.0.js');
      assert.deepEqual([cut.status, cut.headers.get('Cache-Control')], [404, 'no-store']);
    } finally {
      rmSync(releases, { recursive: true, force: true });
    }
  });

  it('the versioned route names digits and dots only: no other file of the directory is served', async () => {
    for (const path of [
      '/widget/secret.js',
      '/widget/fgm-status-1.2.js',
      '/widget/fgm-status-1.2.3.js.map',
      '/widget/fgm-status-..%2Fsecret.js',
    ]) {
      assert.equal((await served().request(path)).status, 404, path);
    }
  });
});
