// npm run assurance: build, run the browser and node suites (each keeps its results in
// .data/test-results/), then write docs/assurance/traceability.{md,json}. The report is written
// even when a test fails (it shows the failing tests); the exit status says whether all passed.
import { spawnSync } from 'node:child_process';

const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', shell: false }).status ?? 1;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
if (run(npm, ['run', 'build']) !== 0) process.exit(1);
const browser = run(npm, ['run', 'test:browser']);
const node = run(process.execPath, ['test/run-node-tests.mjs']);
const report = run(process.execPath, ['--import', 'tsx', 'test/assurance/report.ts']);
process.exitCode = browser || node || report;
