// Part of `npm run build`, after Vite: keeps the built module also as fgm-status-<version>.js (the
// URL pages pin, served immutable) and prints its Subresource Integrity hash for their
// <script integrity>. The version is the widget package's.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('../dist/widget/', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const code = readFileSync(new URL('fgm-status.js', dir));
if (!new RegExp(`version\\s*=\\s*[\`'"]${version.replaceAll('.', '\\.')}[\`'"]`).test(code.toString())) throw new Error(`dist/widget/fgm-status.js does not say version ${version}: set FgmStatus.version to the package's version`);
const file = `fgm-status-${version}.js`;
const integrity = `sha384-${createHash('sha384').update(code).digest('base64')}`;
writeFileSync(new URL(file, dir), code);
writeFileSync(new URL('integrity.json', dir), `${JSON.stringify({ [file]: integrity }, null, 2)}\n`);
console.log(`widget: /widget/${file}\n  integrity="${integrity}"`);
