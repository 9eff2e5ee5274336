// Part of `npm run build`, after Vite: keeps the built module also as fgm-status-<version>.js (the
// URL pages pin, served immutable) and prints its Subresource Integrity hash for their
// <script integrity>. The version is the widget package's. A pinned file is never rewritten: pages
// hold its SRI hash, so changed bytes under the same name would stop the element loading there
// (the alert silently missing). Vite leaves the pinned files in place (emptyOutDir is off).
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('../dist/widget/', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const code = readFileSync(new URL('fgm-status.js', dir));
if (!new RegExp(`version\\s*=\\s*[\`'"]${version.replaceAll('.', '\\.')}[\`'"]`).test(code.toString()))
  throw new Error(
    `dist/widget/fgm-status.js does not say version ${version}: set FgmStatus.version to the package's version`,
  );
const file = `fgm-status-${version}.js`;
const pinned = new URL(file, dir);
// lstat, not stat: a symlink in the pinned file's place (even a dangling one) would have the
// build write wherever it points.
const found = lstatSync(pinned, { throwIfNoEntry: false });
if (found && !found.isFile()) {
  console.error(
    `widget: dist/widget/${file} is not a plain file (a symlink?); the build writes pinned files only as new plain files. Remove it and build again.`,
  );
  process.exit(1);
}
if (found && !readFileSync(pinned).equals(code)) {
  console.error(
    `widget: dist/widget/${file} already exists with different content, and pages pin it by its integrity hash.\n` +
      `  The widget changed but its version did not: bump "version" in widget/package.json (and FgmStatus.version).\n` +
      `  Only if ${version} was never published may you delete dist/widget/${file} instead.`,
  );
  process.exit(1);
}
const integrity = `sha384-${createHash('sha384').update(code).digest('base64')}`;
// 'wx': created new or not at all, so nothing in its place between the check and here is followed.
if (!found) writeFileSync(pinned, code, { flag: 'wx' });
writeFileSync(new URL('integrity.json', dir), `${JSON.stringify({ [file]: integrity }, null, 2)}\n`);
console.log(`widget: /widget/${file}\n  integrity="${integrity}"`);
