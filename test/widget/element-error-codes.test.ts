/**
 * @module test/widget/element-error-codes
 * The `fgm-status-error` codes the element itself emits (as opposed to the gateway's vocabulary,
 * which it passes on) are listed in full in the package README (generated from the element's JSDoc,
 * the one list the docs link to): a portal developer wires IT reporting
 * from that list, so a code missing there (NHS_NUMBER_NOT_VERIFIED once, INVALID_URID) is a code
 * nobody handles. The codes are read from the element's source, every `code: '…'` it can emit.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const BACKTICKED_CODE = /`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`/g;

/** Every code literal in the element's own (non-test) source. */
function elementCodes(): string[] {
  const sources = readdirSync('widget').filter(
    (f) => f.endsWith('.ts') && !f.includes('.test.') && !f.endsWith('.check.ts'),
  );
  const codes = sources.flatMap((f) =>
    [...readFileSync(`widget/${f}`, 'utf8').matchAll(/\bcode: '([A-Z_]+)'/g)].map((m) => m[1]!),
  );
  return [...new Set(codes)].sort();
}

/** The backticked codes of the `fgm-status-error` row of a README's event table, from `from` up to `to`. */
function listed(readme: string, from: string, to?: string): string[] {
  const row = readFileSync(readme, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('| `fgm-status-error` |'));
  assert.ok(row, `${readme} has an fgm-status-error row`);
  const start = row.indexOf(from);
  assert.ok(start >= 0, `${readme}: "${from}" in the fgm-status-error row`);
  const part = row.slice(start, to && row.indexOf(to, start) >= 0 ? row.indexOf(to, start) : undefined);
  return [...new Set([...part.matchAll(BACKTICKED_CODE)].map((m) => m[1]!))].sort();
}

test('MSCA-FGMRISQR-04 the element emits the codes its source names (the oracle below is not empty)', () => {
  assert.ok(
    elementCodes().includes('NHS_NUMBER_NOT_VERIFIED') && elementCodes().includes('NO_SESSION_TOKEN'),
    elementCodes().join(', '),
  );
});

test("MSCA-FGMRISQR-04 the widget package README lists exactly the element's own fgm-status-error codes", () => {
  assert.deepEqual(listed('widget/README.md', '`{code', "the gateway's codes"), elementCodes());
});

test('docs/embedding.md explains the 404 of a no-record answer and the console line browsers print for it', () => {
  const text = readFileSync('docs/embedding.md', 'utf8');
  assert.match(text, /\*\*"No record" is a 404, and the browser says so\.\*\*/);
  assert.match(text, /Failed to load resource: the server responded with a status of 404/);
});
