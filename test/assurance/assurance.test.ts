/**
 * @module test/assurance/assurance.test
 * The requirement extraction against the documents' own text, the organisational data file against
 * the extraction, and the trace's reading of a test run.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { citedIds, documents, parseRequirements, specDir } from './requirements.ts';
import { loadOrganisational, mustGaps, parseTap, root, trace, type Trace } from './trace.ts';

const requirements = parseRequirements();
const ids = new Set(requirements.map((r) => r.id));

describe('requirement extraction', () => {
  it('finds every requirement ID the documents mention, and defines each once', () => {
    // Oracle: every ID-shaped token anywhere in the texts, with the documents' broken forms
    // ("SMSP-AUDIT-" / "001" over two lines, "MSCA- AUD-04") mended by hand here.
    const mentioned = new Set<string>();
    for (const d of documents) {
      const text = readFileSync(join(specDir, d), 'utf8')
        .replace(/(SMSP-[A-Z]+-)\s+(?:\S.*)?\n(\d{3})\b/g, '$1$2 ')
        .replace(/(SMSP-[A-Z]+-) (\d{3})/g, '$1$2')
        .replace(/MSCA- /g, 'MSCA-');
      for (const m of text.matchAll(/\b(?:SMSP-[A-Z]+-\d{3}|MSCA-[A-Z]+-\d{2}|FGMISQR?\d{3,4})\b/g))
        mentioned.add(m[0]);
    }
    assert.deepEqual([...ids].sort(), [...mentioned].sort());
    assert.equal(requirements.length, ids.size);
  });
  it('reads the force each document gives: the few SHOULDs and MAYs, everything else MUST', () => {
    // Read off the documents by a person, not by the parser.
    const should = ['SMSP-PERF-007', 'SMSP-SEC-007', 'MSCA-FGMRISG-03', 'MSCA-IG-04'];
    const may = ['SMSP-FGMRI-002', 'SMSP-FGMRI-007', 'SMSP-CACHE-001', 'MSCA-FGMRISQR-08', 'FGMISQ005', 'FGMISQR008'];
    const by = (f: string) =>
      requirements
        .filter((r) => r.force === f)
        .map((r) => r.id)
        .sort();
    assert.deepEqual(by('SHOULD'), [...should].sort());
    assert.deepEqual(by('MAY'), [...may].sort());
  });
  it("agrees with the local integration document's priority column", () => {
    const lines = readFileSync(join(specDir, 'fgm-is-local-system-integration-requirements-2.2.txt'), 'utf8').split(
      '\n',
    );
    const local = requirements.filter((r) => r.document.startsWith('fgm-is-local'));
    assert.equal(local.length, 19);
    for (const r of local) {
      const i = lines.findIndex((l) => l.startsWith(r.id));
      // The column entry sits on the ID's line or starts its paragraph one or two lines above.
      const column = [i, i - 1, i - 2]
        .map((k) => /\s{3,}(MUST|SHOULD|MAY)(?: NOT)?\s*$/.exec(lines[k] ?? ''))
        .find(Boolean);
      assert.equal(r.force, column?.[1], r.id);
    }
  });
  it("the copies are the project's specification documents, unchanged", (t) => {
    const shared = join(root, '..', 'shared', 'spec', 'requirements');
    // CI and the project checkout have shared/ beside the repository; a bare clone has only the copies.
    if (!existsSync(shared)) return t.diagnostic('no ../shared/spec beside this clone: copies not compared');
    for (const d of documents)
      assert.equal(readFileSync(join(specDir, d), 'utf8'), readFileSync(join(shared, d), 'utf8'), d);
  });
});

describe('organisational data file', () => {
  it('names only requirements the documents define, each with a reason, a note, a how or a same-rule link', () => {
    for (const [id, entry] of Object.entries(loadOrganisational())) {
      assert.ok(ids.has(id), `${id} is not a requirement of the five documents`);
      assert.ok(entry.organisational || entry.note || entry.how || entry.sameAs?.length, id);
      for (const s of entry.sameAs ?? []) assert.ok(ids.has(s), `${id} sameAs ${s}`);
    }
  });
});

/**
 * Every test and suite title written in the test files (node and browser), read from the source so
 * that a new test citing a requirement is seen before any run has been recorded.
 */
function testTitlesInSource(): string[] {
  const skip = new Set(['node_modules', 'dist', '.data']);
  const find = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return skip.has(e.name) ? [] : find(p);
      return e.name.endsWith('.test.ts') ? [p] : [];
    });
  const call = /\b(?:it|test|describe)(?:\.only|\.skip)?\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g;
  return ['gateway', 'widget', 'demo', 'test']
    .flatMap((r) => find(join(root, r)))
    .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(call)].map((m) => m[2]!));
}

describe('how the tests prove each requirement (issue 18, point 6)', () => {
  const data = loadOrganisational();
  const tested = (rows: Pick<Trace, 'id' | 'status'>[]) => rows.filter((r) => r.status === 'tested').map((r) => r.id);
  // The requirements a test name cites (itself or through sameAs), as the trace of a run would
  // find them, and those the generated trace found in the last recorded run.
  const cited = tested(
    trace(
      requirements,
      testTitlesInSource().map((name) => ({ name, passed: true })),
      data,
    ),
  );
  const generated = tested(
    JSON.parse(readFileSync(join(root, 'docs', 'assurance', 'traceability.json'), 'utf8')) as Trace[],
  );
  it('the test files are read: the titles cite at least the requirements the last recorded run proved', () => {
    assert.deepEqual(
      generated.filter((id) => !cited.includes(id)),
      [],
      'a requirement the last run proved is not found in any test title (a title built at run time?)',
    );
  });
  it('every requirement a test cites has a one-line `how` in test/assurance/requirements.json', () => {
    const without = [...new Set([...cited, ...generated])].filter((id) => !data[id]?.how?.trim());
    assert.deepEqual(without, [], 'write how the citing tests prove these (requirements.json, "how")');
    for (const [id, entry] of Object.entries(data)) {
      if (entry.how === undefined) continue;
      assert.ok(!/\n/.test(entry.how) && entry.how.length <= 340, `${id}: one line of at most 340 characters`);
    }
  });
});

describe('trace of a test run', () => {
  const tap = [
    'TAP version 13',
    '# Subtest: audit',
    '    # Subtest: SMSP-AUDIT-007 search works',
    '    ok 1 - SMSP-AUDIT-007 search works',
    '    # Subtest: SMSP-VAL-002 skipped one',
    '    ok 2 - SMSP-VAL-002 skipped one # SKIP not here',
    '    # Subtest: SMSP-VAL-003 broken one',
    '    not ok 3 - SMSP-VAL-003 broken one',
    '    1..3',
    'not ok 1 - audit',
    '# Subtest: SMSP-PERF-001 a \\# in a name',
    'ok 2 - SMSP-PERF-001 a \\# in a name',
  ].join('\n');
  it('reads nested names with their suites, and only a run that passed as passing', () => {
    assert.deepEqual(parseTap(tap), [
      { name: 'audit › SMSP-AUDIT-007 search works', passed: true },
      { name: 'audit › SMSP-VAL-002 skipped one', passed: false },
      { name: 'audit › SMSP-VAL-003 broken one', passed: false },
      { name: 'audit', passed: false },
      { name: 'SMSP-PERF-001 a # in a name', passed: true },
    ]);
  });
  it('a MUST whose only citing test is removed, skipped or failing is a gap named by ID', () => {
    const rows = trace(requirements, parseTap(tap), {});
    const gaps = mustGaps(rows);
    assert.ok(!gaps.some((g) => g.startsWith('SMSP-AUDIT-007 ')));
    assert.ok(gaps.some((g) => g.startsWith('SMSP-VAL-002 (smsp-common-provider-requirements-1.0.txt)')));
    assert.ok(gaps.some((g) => g.startsWith('SMSP-VAL-003 ')));
    const without = trace(
      requirements,
      parseTap(tap).filter((t) => !t.name.includes('SMSP-AUDIT-007')),
      {},
    );
    assert.ok(mustGaps(without).some((g) => g.startsWith('SMSP-AUDIT-007 ')));
    // An organisational reason, or the same rule proven elsewhere, closes it.
    const data = { 'SMSP-VAL-002': { organisational: 'the trust' }, 'SMSP-VAL-003': { sameAs: ['SMSP-PERF-001'] } };
    assert.ok(!mustGaps(trace(requirements, parseTap(tap), data)).some((g) => /^SMSP-VAL-00[23] /.test(g)));
  });
  it('a name citing "SMSP-AUDIT-004/006" or "MSCA-AUD-01/02" cites each of them', () => {
    assert.deepEqual(citedIds('audit (SMSP-AUDIT-004/006) › SMSP-VAL-002 x'), [
      'SMSP-AUDIT-004',
      'SMSP-VAL-002',
      'SMSP-AUDIT-006',
    ]);
    assert.deepEqual(citedIds('MSCA-AUD-01/02/03 logs'), ['MSCA-AUD-01', 'MSCA-AUD-02', 'MSCA-AUD-03']);
    const rows = trace(requirements, [{ name: 'SMSP-AUDIT-004/006 both recorded', passed: true }], {});
    for (const id of ['SMSP-AUDIT-004', 'SMSP-AUDIT-006'])
      assert.equal(rows.find((r) => r.id === id)?.status, 'tested', id);
  });
});

it('SMSP-CACHE-002 the caching design document weighs staleness against protecting Spine', () => {
  const doc = readFileSync(join(root, 'docs', 'assurance', 'caching.md'), 'utf8');
  for (const topic of [
    'SMSP-FGMRI-003',
    'Staleness',
    'Protecting Spine',
    'maxAnswerAge',
    'MSCA-FGMRISQR-08',
    'FGMISQ0011',
  ])
    assert.ok(doc.includes(topic), topic);
});
