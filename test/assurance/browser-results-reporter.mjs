// A @web/test-runner reporter that keeps each browser test's name (with its suites, " › ") and
// whether it passed, for the traceability report and the whole-run requirement check.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function browserResultsReporter(path) {
  return {
    onTestRunFinished({ sessions }) {
      const out = [];
      const walk = (suite, names) => {
        for (const t of suite.tests) out.push({ name: [...names, t.name].join(' › '), passed: t.passed && !t.skipped });
        for (const s of suite.suites) walk(s, [...names, s.name]);
      };
      for (const s of sessions) if (s.testResults) walk(s.testResults, []);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, JSON.stringify(out, null, 1));
    },
  };
}
