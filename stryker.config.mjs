// `npm run mutate`: StrykerJS mutation testing of the modules that decide what a clinician is
// told (docs/testing.md has the score and every surviving mutant). Not part of `npm test`: it
// runs the unit tests once per mutant, which takes minutes on a small machine.
//
// To add a module (e.g. an audit module later): put it in `mutate` and its unit tests in
// `tap.testFiles`. Keep to unit tests: a test that starts servers makes every mutant slow.

/** The modules under mutation. A `file:from-to` entry mutates only those lines. */
const mutate = [
  // The safety core: whether Spine's answer may be used at all.
  'gateway/spine/answer-safety.ts',
  // The XML reader under it: what Spine's answer is read as (DOCTYPE refused, namespaces resolved, values as written).
  'gateway/fhir/xml.ts',
  // The profile validator: strict on what we send, the deviation report on what Spine sends.
  'gateway/fhir/profile-validator.ts',
  // The answer mapping in the core (from Spine's answer to the vocabulary code, and the deviation report).
  // From the Spine call to the end of reportDeviations (test/repo/stryker-ranges.test.ts holds the range to it).
  'gateway/spine/ask-spine.ts:115-233',
  // The audit chain: the canonical form hashed and stored, the chain formula and its start, verify.
  'gateway/audit/canonical.ts',
  'gateway/audit/chain.ts',
  'gateway/audit/chain-start.ts',
  'gateway/audit/verify.ts',
  'gateway/audit/erasure-date.ts',
  // Which cleared outcomes an erasure record covers (verify), and what that record names.
  'gateway/audit/erasure-coverage.ts',
  'gateway/audit/erasure-record.ts',
  // What Spine's answer looked like, sealed with the outcome's salt (erased with it).
  'gateway/audit/sealed-detail.ts',
  // The stores' own part of the hashing: SQLite's appender reads the head and chains from it
  // (chain.ts chainRecords does the rest for both stores). chainAppender, held to it by test/repo/stryker-ranges.test.ts.
  'gateway/audit/sqlite-store.ts:241-250',
];

/** The unit tests of those modules (node:test files, run with tsx by the TAP runner). */
const testFiles = [
  'gateway/audit/chain-start.test.ts',
  'gateway/spine/answer-safety.test.ts',
  'gateway/spine/answer-safety-patients.test.ts',
  'gateway/spine/answer-safety-ambiguous.test.ts',
  'gateway/spine/answer-safety-review-18f.test.ts',
  'gateway/spine/answer-safety-birth.test.ts',
  'gateway/fhir/xml.test.ts',
  'gateway/fhir/xml-reader-oracle.test.ts',
  'gateway/fhir/xml-reader-attack.test.ts',
  'gateway/fhir/xml-attack22.test.ts',
  'gateway/fhir/attack22b-xml.test.ts',
  'gateway/fhir/attack-today-xml.test.ts',
  'gateway/spine/attack-today-risk-code.test.ts',
  'gateway/fhir/profile-validator.test.ts',
  'gateway/fhir/profile-validator-formats.test.ts',
  'gateway/fhir/profile-validator-walker.test.ts',
  'gateway/spine/ask-spine.test.ts',
  'gateway/audit/chain.test.ts',
  'gateway/audit/verify.test.ts',
  'gateway/audit/verify-findings.test.ts',
  'gateway/audit/erasure-coverage.test.ts',
  'gateway/audit/sealed-detail.test.ts',
  'gateway/audit/archive-bytes.test.ts',
  'gateway/audit/retention.test.ts',
  'gateway/audit/sqlite-store.test.ts',
  'gateway/audit/uk-day.test.ts',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  tap: {
    testFiles,
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
    forceBail: true,
  },
  mutate,
  coverageAnalysis: 'perTest',
  // The machine is shared: one or two test processes at a time.
  concurrency: 2,
  timeoutMS: 30_000,
  ignorePatterns: ['dist', '.data', 'reports', 'widget/node_modules', 'demo/epr', 'deploy'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: '.data/mutation/report.html' },
  jsonReporter: { fileName: '.data/mutation/report.json' },
  thresholds: { high: 90, low: 85, break: 85 },
  tempDirName: '.data/stryker-tmp',
  cleanTempDir: true,
};
