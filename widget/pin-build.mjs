// Part of `npm run build`, after Vite: serves the built module also as fgm-status-<version>.js (the
// URL pages pin, served immutable) and prints its Subresource Integrity hash for their
// <script integrity>. The version is the widget package's. Bytes under a released name never
// change: pages hold their SRI hash, so other bytes under the same name would stop the element
// loading there (the alert silently missing).
//
// What was released lives in the repository, not in dist/ (gitignored, so empty in a clean clone):
// widget/releases/fgm-status-<version>.js, the exact bytes, and widget/releases/integrity.json, their
// hashes. The bytes, not only the hashes, so that every build, from any clone, serves every released
// version to the pages still pinning it; the hashes, so a portal developer takes the integrity from
// the repository rather than from whatever their own build printed, and a released file edited in
// place is caught. The Vite build is byte-for-byte reproducible (test/widget/widget-release.test.ts
// holds the committed bytes to it), so a build whose element differs from its version's release
// means the code changed without a version bump, and fails here.
//
// `node widget/pin-build.mjs --release` (npm run widget:release) records the current build as its
// version's release: only a version never released and newer than every release (a version is
// never reused). Without --release nothing under widget/releases/ is written.
import { createHash } from 'node:crypto';
import { existsSync, linkSync, lstatSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';

const widget = new URL('./', import.meta.url);
const releases = new URL('releases/', widget);
const dir = new URL('../dist/widget/', import.meta.url);
const record = new URL('integrity.json', releases);
const release = process.argv.includes('--release');

function fail(message) {
  console.error(`widget: ${message}`);
  process.exit(1);
}
const sri = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
/**
 * Writes a pinned file whole or not at all, and never over anything: the bytes go to a new temporary
 * file first, and a hard link gives them the pinned name only if nothing has it (a build cut off
 * mid-write leaves no half file for the gateway to serve as immutable, and browsers to keep a year).
 */
function createWhole(target, bytes) {
  const tmp = new URL(`.${target.pathname.split('/').pop()}.${process.pid}.tmp`, target);
  writeFileSync(tmp, bytes, { flag: 'wx' });
  try {
    linkSync(tmp, target);
  } finally {
    unlinkSync(tmp);
  }
}
const versionOf = (f) => f.slice('fgm-status-'.length, -'.js'.length);
/** Whether major.minor.patch a comes after b. */
const newer = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  const i = x.findIndex((n, k) => n !== y[k]);
  return i >= 0 && x[i] > y[i];
};

const { version } = JSON.parse(readFileSync(new URL('package.json', widget), 'utf8'));
// The gateway serves only fgm-status-<digits>.<digits>.<digits>.js.
if (!/^\d+\.\d+\.\d+$/.test(version))
  fail(`widget/package.json's version "${version}" is not major.minor.patch, the only form the gateway serves`);
const code = readFileSync(new URL('fgm-status.js', dir));
if (!new RegExp(`version\\s*=\\s*[\`'"]${version.replaceAll('.', '\\.')}[\`'"]`).test(code.toString()))
  fail(`dist/widget/fgm-status.js does not say version ${version}: set FgmStatus.version to the package's version`);

// The record and the files must agree, so a released file edited in place, or one without its
// hash, stops the build before anything is served.
if (!existsSync(record)) fail('widget/releases/integrity.json is missing: it records every released version');
const released = JSON.parse(readFileSync(record, 'utf8'));
const files = readdirSync(releases).filter((f) => f !== 'integrity.json');
for (const f of files)
  if (!(f in released)) fail(`widget/releases/${f} is not in widget/releases/integrity.json: a release has both`);
for (const [f, integrity] of Object.entries(released)) {
  if (!/^fgm-status-\d+\.\d+\.\d+\.js$/.test(f)) fail(`widget/releases/integrity.json names ${f}, not a release file`);
  if (!files.includes(f)) fail(`widget/releases/${f} is missing: a released file is never removed`);
  if (sri(readFileSync(new URL(f, releases))) !== integrity)
    fail(
      `widget/releases/${f} does not match its integrity ${integrity} in widget/releases/integrity.json: ` +
        `a released file is never changed (pages pin that hash); restore it from git`,
    );
}

const file = `fgm-status-${version}.js`;
const integrity = sri(code);
const bump = `bump "version" in widget/package.json (and in package.json, kept equal, and FgmStatus.version in widget/fgm-status.ts), then run npm run widget:release and commit widget/releases/`;
if (file in released) {
  if (released[file] !== integrity)
    fail(
      `widget code changed but version ${version} is already released with integrity ${released[file]} ` +
        `(widget/releases/${file}); this build's is ${integrity}.\n` +
        `  Pages pin that hash, so these bytes cannot go out under that name: ${bump}.`,
    );
} else if (!release) {
  fail(`widget version ${version} is not released: run npm run widget:release and commit widget/releases/`);
} else {
  const newest = Object.keys(released)
    .map(versionOf)
    .reduce((a, v) => (a === undefined || newer(v, a) ? v : a), undefined);
  if (newest && !newer(version, newest))
    fail(`version ${version} is not newer than the newest release, ${newest}: a version is never reused; ${bump}`);
  createWhole(new URL(file, releases), code);
  released[file] = integrity;
  const sorted = Object.entries(released).sort(([a], [b]) => (newer(versionOf(a), versionOf(b)) ? 1 : -1));
  writeFileSync(record, `${JSON.stringify(Object.fromEntries(sorted), null, 2)}\n`);
  console.log(`widget: released ${version} in widget/releases/${file}; commit widget/releases/`);
}

// Every release goes to dist/widget/, so a gateway built from any clone serves every pinned
// version. A file there under another name (a build from before releases were recorded) is left
// alone: pages may pin it.
for (const f of Object.keys(released)) {
  const target = new URL(f, dir);
  const bytes = readFileSync(new URL(f, releases));
  // lstat, not stat: a symlink in the pinned file's place (even a dangling one) would have the
  // build write wherever it points.
  const found = lstatSync(target, { throwIfNoEntry: false });
  if (found && !found.isFile())
    fail(
      `dist/widget/${f} is not a plain file (a symlink?); the build writes pinned files only as new plain files. Remove it and build again.`,
    );
  if (found && !readFileSync(target).equals(bytes))
    fail(
      `dist/widget/${f} differs from the release in widget/releases/${f}, whose integrity pages pin; ` +
        `the build does not overwrite it. Remove it and build again.`,
    );
  // Created new or not at all, so nothing in its place between the check and here is followed.
  if (!found) createWhole(target, bytes);
}
// Every release's hash beside the files: the gateway serves a pinned name only with these bytes.
writeFileSync(new URL('integrity.json', dir), `${JSON.stringify(released, null, 2)}\n`);
console.log(`widget: /widget/${file}\n  integrity="${integrity}"`);
