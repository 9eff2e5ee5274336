/** RFC 3986 equivalence of system URIs (hand-written: scheme and host case-insensitive, path case-sensitive). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { normalUri, sameUri, withoutTrailingSlashes } from './uri.ts';

test('SMSP-VAL-004 system URIs: scheme, host and URN namespace in any case, a trailing slash ignored; the path keeps its case', () => {
  assert.ok(sameUri('HTTP://FHIR.NHS.NET/Id/nhs-number/', 'http://fhir.nhs.net/Id/nhs-number'));
  assert.ok(sameUri('https://fhir.nhs.uk/Id/nhs-number', 'https://fhir.nhs.uk/Id/nhs-number'));
  assert.ok(sameUri('URN:ietf:rfc:3986', 'urn:ietf:rfc:3986'));
  assert.ok(!sameUri('http://fhir.nhs.net/id/NHS-NUMBER', 'http://fhir.nhs.net/Id/nhs-number'));
  assert.ok(!sameUri('https://fhir.nhs.net/Id/nhs-number', 'http://fhir.nhs.net/Id/nhs-number'), 'another scheme');
  assert.ok(!sameUri(undefined, 'http://fhir.nhs.net/Id/nhs-number'));
  assert.ok(!sameUri('http://fhir.nhs.net.example/Id/nhs-number', 'http://fhir.nhs.net/Id/nhs-number'));
});

test('SMSP-VAL-004 trailing slashes go and nothing else does, on a run of slashes not at the end too (issue 21)', () => {
  assert.equal(withoutTrailingSlashes('https://a.example/x///'), 'https://a.example/x');
  assert.equal(withoutTrailingSlashes('///'), '');
  const hostile = `${'/'.repeat(1_000_000)}a`;
  assert.equal(normalUri(hostile), hostile);
  assert.equal(normalUri(`HTTPS://A.EXAMPLE/x${'/'.repeat(1000)}`), 'https://a.example/x');
});

/**
 * Linearity proven by shape, not by a clock: a regex that does not start with `^` and ends with an
 * unbounded quantifier before `$` is retried from every position of a long run, quadratic (as
 * `/\/+$/` was on 60k slashes from a CDS client). None may be in the gateway's code.
 */
test('no regex literal in gateway/ ends in an unbounded quantifier before $ without a ^ anchor (issue 21)', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const files = (readdirSync(root, { recursive: true }) as string[]).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('node_modules'),
  );
  assert.ok(files.length > 50, 'the gateway sources were found');
  const found = files.flatMap((f) =>
    readFileSync(join(root, f), 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\*|\/\/)/.test(line))
      // A literal starts where an expression may: after ( , = : [ ! & | ? { } ; or return.
      .flatMap((line) => [...line.matchAll(/(?:[(,=:[!&|?{};]|return)\s*\/((?:\\.|\[(?:\\.|[^\]\\])*\]|[^/\\[])+)\//g)])
      .map((m) => m[1]!)
      .filter((body) => !body.startsWith('^') && /(?:[+*]|\{\d+,\})\)*\$$/.test(body))
      .map((body) => `${f}: /${body}/`),
  );
  assert.deepEqual(found, []);
});

test('SMSP-VAL-004 RFC 3986 §6.2.2–6.2.3: a default port, percent-encoded unreserved characters and dot-segments change nothing', () => {
  const nhs = 'http://fhir.nhs.net/Id/nhs-number';
  // The forms a hostile review used to name another child's number without being seen (issue 18).
  for (const same of [
    'http://fhir.nhs.net:80/Id/nhs-number',
    'http://fhir.nhs.net:/Id/nhs-number',
    'http://fhir.nhs.net/Id/nhs%2Dnumber',
    'http://fhir.nhs.net/Id/nhs%2dnumber',
    'http://fhir.nhs.net/%49d/nhs-number',
    'http://fhir.nhs.net/Id/./nhs-number',
    'http://fhir.nhs.net/x/../Id/nhs-number',
    'HTTP://FHIR.NHS.NET:80/Id/./nhs%2Dnumber/',
  ])
    assert.ok(sameUri(same, nhs), same);
  assert.ok(sameUri('https://fhir.nhs.uk:443/Id/nhs-number', 'https://fhir.nhs.uk/Id/nhs-number'));
  // Not the same: another port, an encoded reserved character, another path.
  assert.ok(!sameUri('http://fhir.nhs.net:8080/Id/nhs-number', nhs));
  assert.ok(
    !sameUri('https://fhir.nhs.net:80/Id/nhs-number', 'https://fhir.nhs.net/Id/nhs-number'),
    "80 is not https's port",
  );
  assert.ok(!sameUri('http://fhir.nhs.net/Id%2Fnhs-number', nhs), '%2F is not a path separator');
  assert.ok(!sameUri('http://fhir.nhs.net/Id/../nhs-number', nhs));
  // RFC 3986 §6.2.2's own example.
  assert.equal(normalUri('eXAMPLE://a/./b/../b/%63/%7bfoo%7d'), 'example://a/b/c/%7Bfoo%7D');
});
