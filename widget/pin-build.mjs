// Part of `npm run build`, after Vite: keeps the built module also as fgm-status-<version>.js (the
// URL pages pin, served immutable) and prints its Subresource Integrity hash for their
// <script integrity>. The version is the widget package's. A pinned file is never rewritten: pages
// hold its SRI hash, so changed bytes under the same name would stop the element loading there
// (the alert silently missing). Vite leaves the pinned files in place (emptyOutDir is off).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('../dist/widget/', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const code = readFileSync(new URL('fgm-status.js', dir));
if (!new RegExp(`version\\s*=\\s*[\`'"]${version.replaceAll('.', '\\.')}[\`'"]`).test(code.toString())) throw new Error(`dist/widget/fgm-status.js does not say version ${version}: set FgmStatus.version to the package's version`);
const file = `fgm-status-${version}.js`;
const pinned = new URL(file, dir);
if (existsSync(pinned) && !readFileSync(pinned).equals(code)) {
  console.error(
    `widget: dist/widget/${file} already exists with different content, and pages pin it by its integrity hash.\n` +
      `  The widget changed but its version did not: bump "version" in widget/package.json (and FgmStatus.version).\n` +
      `  Only if ${version} was never published may you delete dist/widget/${file} instead.`,
  );
  process.exit(1);
}
const integrity = `sha384-${createHash('sha384').update(code).digest('base64')}`;
writeFileSync(pinned, code);
writeFileSync(new URL('integrity.json', dir), `${JSON.stringify({ [file]: integrity }, null, 2)}\n`);
console.log(`widget: /widget/${file}\n  integrity="${integrity}"`);
