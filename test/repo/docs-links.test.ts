/**
 * @module test/repo/docs-links
 * Every reference a reader or a code comment follows resolves inside the repository: each relative
 * markdown link and `#anchor` in README.md, docs/ and widget/README.md names a file that exists and
 * a heading it has (GitHub's slug rules), and every README or docs/ path a source file cites exists,
 * with the heading it names when it names one. Code may not cite "the README" by section: the
 * README is the front door, and its old sections live in docs/.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';

const root = process.cwd();

/** Markdown outside fenced code blocks, inline code spans blanked (their brackets are not links). */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line.replace(/`[^`]*`/g, (m) => ' '.repeat(m.length));
  });
}

/** The anchor GitHub gives a heading's text: markup dropped, lower case, punctuation removed, spaces to hyphens. */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-');
}

/** Every anchor a markdown file offers, duplicates numbered as GitHub numbers them. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const slug = githubSlug(m[1]!);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Heading texts of a markdown file, markup dropped, for citations by heading. */
function headingsOf(markdown: string): string[] {
  return [...markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)].map((m) => m[1]!.replace(/[`*]/g, '').trim());
}

function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    );
  return ['README.md', 'widget/README.md', ...walk('docs')];
}

/** The broken links of one markdown file, as `file: target (why)`. */
export function brokenLinks(
  file: string,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
  exists: (path: string) => boolean = existsSync,
): string[] {
  const broken: string[] = [];
  const lines = prose(read(file));
  for (const line of lines) {
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: — not the repository's
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const resolved = path ? normalize(join(dirname(file), decodeURIComponent(path))) : file;
      if (relative(root, join(root, resolved)).startsWith('..')) {
        broken.push(`${file}: ${target} (outside the repository)`);
        continue;
      }
      if (!exists(resolved)) {
        broken.push(`${file}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined) {
        if (!resolved.endsWith('.md')) broken.push(`${file}: ${target} (an anchor in a file that is not markdown)`);
        else if (!anchorsOf(read(resolved)).has(decodeURIComponent(anchor).toLowerCase()))
          broken.push(`${file}: ${target} (no heading with that anchor)`);
      }
    }
  }
  return broken;
}

/** Source files whose comments cite docs: the product, the demo, the tests, the deploy files. */
function sourceFiles(): string[] {
  const skip = new Set(['node_modules', 'dist', 'spec', '.data']);
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return skip.has(e.name) ? [] : walk(p);
      return /\.(ts|mts|mjs|js|cjs|json|service)$/.test(e.name) || p === join('.ci', 'run') ? [p] : [];
    });
  const rootFiles = readdirSync('.').filter((f) => /\.(ts|mjs|cjs)$/.test(f) && statSync(f).isFile());
  // traceability.json quotes test names and notes verbatim: it is generated, not written.
  // This file's own fixtures cite missing files on purpose.
  return [...rootFiles, ...['gateway', 'demo', 'widget', 'test', 'deploy', '.ci'].flatMap(walk)].filter(
    (f) => !f.endsWith('traceability.json') && f !== join('test', 'repo', 'docs-links.test.ts'),
  );
}

/** What one source file cites that does not exist, as `file: citation (why)`. */
export function brokenCitations(
  file: string,
  text: string,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
  exists: (path: string) => boolean = existsSync,
): string[] {
  const broken: string[] = [];
  const cite =
    /\b((?:[\w-]+\/)*README\.md|docs\/(?:[\w-]+\/)*[\w-]+\.md|docs\/(?:[\w-]+\/)+)(?:,\s*|\s+\(|\s*\()?(?:"([^"\n]+)"|\*([^*\n]+)\*)?/g;
  for (const m of text.matchAll(cite)) {
    const path = m[1]!;
    if (!exists(path)) {
      broken.push(`${file}: ${path} (no such file)`);
      continue;
    }
    const heading = m[2] ?? m[3];
    if (heading && path.endsWith('.md')) {
      const wanted = heading.replace(/[`*]/g, '').trim().toLowerCase();
      if (!headingsOf(read(path)).some((h) => h.toLowerCase().startsWith(wanted)))
        broken.push(`${file}: ${path}, "${heading}" (no such heading)`);
    }
  }
  // "README, "Audit"" and the like: a section of the front door that no longer exists.
  for (const m of text.matchAll(/(?<![\w/.-])README(?!\.md|[\w-])\s*(?:,\s*|\s)?["*][^"*\n]+["*]/g))
    broken.push(`${file}: ${m[0]} (cites the README by section; cite the docs/ page)`);
  for (const m of text.matchAll(/(?<![\w/.-])DESIGN\.md/g))
    broken.push(`${file}: ${m[0]} (not in the repository; cite docs/development/design.md)`);
  return broken;
}

describe('docs links (issue 24)', () => {
  it('githubSlug gives the anchors GitHub gives (hand-written from headings GitHub renders)', () => {
    assert.equal(githubSlug('Tests, fuzzing and benchmarks'), 'tests-fuzzing-and-benchmarks');
    assert.equal(githubSlug('`POST /api/fgm-status` (the widget API)'), 'post-apifgm-status-the-widget-api');
    assert.equal(
      githubSlug('Smartcard (CIS2) users: confirmed with NHS CIS2, not issued by the portal'),
      'smartcard-cis2-users-confirmed-with-nhs-cis2-not-issued-by-the-portal',
    );
    assert.equal(githubSlug('An interrupted `retain`'), 'an-interrupted-retain');
    assert.equal(githubSlug('Score (2 December 2026): the safety core'), 'score-2-december-2026-the-safety-core');
    assert.equal(githubSlug('React 19'), 'react-19');
  });

  it('a broken link, a missing anchor and a link out of the repository are each found', () => {
    const files: Record<string, string> = {
      'docs/a.md':
        '# Page A\n\n## Known heading\n\n[ok](b.md#other) [ok](#known-heading) [gone](missing.md) [gone](b.md#nope) [out](../../x.md)\n\n```\n[in a fence](missing.md)\n```\n`[in code](missing.md)`\n',
      'docs/b.md': '# Other\n',
    };
    const found = brokenLinks(
      'docs/a.md',
      (p) => files[p]!,
      (p) => p in files,
    );
    assert.deepEqual(found, [
      'docs/a.md: missing.md (no such file)',
      'docs/a.md: b.md#nope (no heading with that anchor)',
      'docs/a.md: ../../x.md (outside the repository)',
    ]);
  });

  it('a cited file, a cited heading and a README section cited by name are each checked', () => {
    const files: Record<string, string> = { 'docs/a.md': '# A\n\n## Erasure of outcomes\n' };
    const text =
      '// docs/a.md, "Erasure of outcomes" ok; docs/a.md ("Erasure") ok; docs/gone.md; docs/a.md, "Retention"; (README, "Audit"); DESIGN.md';
    assert.deepEqual(
      brokenCitations(
        'x.ts',
        text,
        (p) => files[p]!,
        (p) => p in files,
      ),
      [
        'x.ts: docs/gone.md (no such file)',
        'x.ts: docs/a.md, "Retention" (no such heading)',
        'x.ts: README, "Audit" (cites the README by section; cite the docs/ page)',
        'x.ts: DESIGN.md (not in the repository; cite docs/development/design.md)',
      ],
    );
  });

  it('every relative link and anchor in README.md, docs/ and widget/README.md resolves', () => {
    const files = markdownFiles();
    assert.ok(
      files.includes(join('docs', 'operating.md')) && files.includes(join('docs', 'development', 'design.md')),
      files.join(', '),
    );
    assert.deepEqual(
      files.flatMap((f) => brokenLinks(f)),
      [],
    );
  });

  it('README.md stays the front door: at most 150 lines, the two commands on its first screen, a link to every docs page', () => {
    const readme = readFileSync('README.md', 'utf8');
    const lines = readme.split('\n');
    assert.ok(lines.length <= 150, `${lines.length} lines`);
    const firstScreen = lines.slice(0, 25).join('\n');
    assert.match(firstScreen, /npm ci && npm start/);
    assert.match(firstScreen, /npm test/);
    const pages = markdownFiles().filter((f) => f.startsWith('docs') && !f.startsWith(join('docs', 'assurance')));
    for (const page of pages) assert.ok(readme.includes(`](${page.split('\\').join('/')})`), `README links ${page}`);
  });

  it('every README and docs/ path cited in the code exists, with the heading it names', () => {
    const files = sourceFiles();
    assert.ok(
      files.includes(join('gateway', 'audit', 'postgres-store.ts')) &&
        files.includes(join('deploy', 'fgm-gateway.service')),
      'the scan reaches the code',
    );
    assert.deepEqual(
      files.flatMap((f) => brokenCitations(f, readFileSync(f, 'utf8'))),
      [],
    );
  });
});
