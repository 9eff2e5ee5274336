/**
 * @module test/repo/widget-releases
 * A committed widget release is never changed, moved or removed (issue 21): pages pin
 * /widget/fgm-status-<version>.js by the hash in widget/releases/integrity.json, so rewriting
 * both to make a failing build pass would break every page pinning that version. The build only
 * sees that the two agree; git knows what was committed. Checked in the working tree against HEAD,
 * and through history as deep as this clone goes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const git = (...args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
const releases = ['--', 'widget/releases/*.js'];

test('a committed widget release is never changed, moved or removed, in the working tree or in history', (t) => {
  if (git('rev-parse', '--is-inside-work-tree').stdout.trim() !== 'true') return t.skip('not a git checkout');
  const now = git('diff', 'HEAD', '--name-status', '--diff-filter=DMRT', ...releases);
  assert.equal(now.status, 0, now.stderr);
  assert.equal(now.stdout, '', 'a released file changed since HEAD: restore it, and release a new version instead');
  const ever = git('log', '--format=%h %s', '--name-status', '--diff-filter=DMRT', ...releases);
  assert.equal(ever.status, 0, ever.stderr);
  assert.equal(ever.stdout, '', 'a commit changed a released file: pages pinning its hash no longer load it');
});
