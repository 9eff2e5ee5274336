/**
 * The element's API tables in its README are generated from custom-elements.json (the JSDoc in
 * widget/fgm-status.ts), so they cannot drift from the element: this fails when they are stale.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
// @ts-expect-error a plain ES module script without types
import { PAGES, render, update } from '../../scripts/widget-api-docs.mjs';

test('the widget README lists every attribute, property, event and part as the element declares them (npm run docs)', () => {
  // The analyser joins --outdir to the working directory, so it must be relative.
  mkdirSync('.data', { recursive: true });
  const out = relative(process.cwd(), mkdtempSync(join('.data', 'cem-')));
  try {
    // The manifest analysed afresh from the source, not the build's copy, which may be older.
    execFileSync(
      process.execPath,
      [
        'node_modules/@custom-elements-manifest/analyzer/cem.js',
        'analyze',
        '--litelement',
        '--globs',
        'widget/fgm-status.ts',
        'widget/define.ts',
        '--outdir',
        out,
      ],
      { stdio: 'pipe' },
    );
    const manifest = JSON.parse(readFileSync(join(out, 'custom-elements.json'), 'utf8'));
    const block = (render as (m: unknown) => string)(manifest);
    for (const file of PAGES as string[]) {
      const page = readFileSync(file, 'utf8');
      assert.equal(
        (update as (p: string, b: string, f: string) => string)(page, block, file),
        page,
        `${file} is stale: run npm run docs`,
      );
    }
    for (const name of [
      'nhs-number',
      'birth-date',
      'nhs-number-verified',
      'allow-unverified',
      'gateway',
      'urid',
      'heading-level',
      '`token` (property only)',
      '`tokenProvider` (property only)',
      'refresh()',
      'FgmStatus.maxAnswerAge',
      'fgm-status-change',
      'fgm-status-error',
      '::part(base)',
      '--fgm-background',
    ]) {
      assert.ok(block.includes(name), `${name} is in the generated tables`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
