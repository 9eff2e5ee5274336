// Browser tests for the widget: Debian's Chromium (never a downloaded browser), TypeScript via
// esbuild, and the gateway double as dev-server middleware.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { defaultReporter } from '@web/test-runner';
import { chromeLauncher } from '@web/test-runner-chrome';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayDouble } from './widget-double/gateway-double.mjs';
import { browserStorage } from './widget-double/browser-storage.mjs';
import { browserResultsReporter } from './assurance/browser-results-reporter.mjs';

export default {
  rootDir: '.',
  files: ['widget/**/*.browser.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  testFramework: { config: { timeout: 10000 } },
  plugins: [esbuildPlugin({ ts: true, target: 'es2022' }), browserStorage()],
  middleware: [gatewayDouble()],
  // The names feed the requirement trace (test/assurance/trace.ts).
  reporters: [defaultReporter(), browserResultsReporter('.data/test-results/browser.json')],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
          '--disable-sync',
          '--disable-quic',
          `--user-data-dir=${mkdtempSync(join(tmpdir(), 'fgm-wtr-'))}`,
        ],
      },
    }),
  ],
};
