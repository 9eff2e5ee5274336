/**
 * @module test/assurance/report
 * Writes docs/assurance/traceability.md and .json from the last full run's results
 * (.data/test-results/, left by test/run-node-tests.mjs and npm run test:browser).
 * `npm run assurance` runs the tests first (test/assurance/run.mjs).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRequirements } from './requirements.ts';
import {
  browserJson,
  loadBrowserOutcomes,
  loadOrganisational,
  mustGaps,
  nodeTap,
  parseTap,
  renderMarkdown,
  root,
  trace,
} from './trace.ts';

for (const f of [nodeTap, browserJson]) {
  if (!existsSync(f)) {
    console.error(`${f} is missing: run the whole suite first (npm run assurance does)`);
    process.exit(1);
  }
}
const node = parseTap(readFileSync(nodeTap, 'utf8'));
const browser = loadBrowserOutcomes();
const rows = trace(parseRequirements(), [...node, ...browser], loadOrganisational());
const out = join(root, 'docs', 'assurance');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'traceability.md'), renderMarkdown(rows, { node: node.length, browser: browser.length }));
writeFileSync(join(out, 'traceability.json'), `${JSON.stringify(rows, null, 2)}\n`);
const gaps = mustGaps(rows);
console.log(`wrote docs/assurance/traceability.{md,json}: ${rows.length} requirements, ${gaps.length} MUST gaps`);
for (const g of gaps) console.error(`MUST gap: ${g}`);
process.exitCode = gaps.length > 0 ? 1 : 0;
