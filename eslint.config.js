// ESLint with typescript-eslint's type-checked rules where they catch real defects here:
// promises nobody awaits (a lost audit write, an unhandled rejection that ends the process),
// `any` leaking from untyped input, dead variables. Layout is Prettier's job, not ESLint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** node:test's test()/describe() return promises the runner itself awaits. */
const nodeTest = {
  from: 'package',
  package: 'node:test',
  name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
};

export default tseslint.config(
  {
    ignores: [
      'dist/',
      '.data/',
      '**/node_modules/',
      'widget/types/',
      'widget/dist/',
      'widget/releases/',
      'test/bench/out/',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [nodeTest] }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // An async function without await is how a synchronous step meets an async interface here.
      '@typescript-eslint/require-await': 'off',
      // The XML, log and audit code matches control characters on purpose (XML 1.0 Char, log injection).
      'no-control-regex': 'off',
      // A variable a closure reads before its one assignment cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      // The code passes closures, not class methods, so a detached method cannot lose its `this`.
      '@typescript-eslint/unbound-method': 'off',
      // tsc is the authority on types: where the two disagree (DOM lib, node:child_process stdio)
      // this rule's fix breaks the build.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // Tests read JSON answers and hostile bodies on purpose; typing each probe would hide nothing.
    files: ['test/**', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/restrict-plus-operands': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/await-thenable': 'off',
    },
  },
  {
    // Chai's property assertions (`.to.exist`) are expressions, and chai-as-promised types every
    // assertion as thenable, so these two rules only flag the assertion style there.
    files: ['**/*.browser.test.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    // The element's source is written for its gzip budget (test/widget/widget-size.test.ts): comma
    // sequences and `[…] + ''` keys are deliberate there.
    files: ['widget/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off', '@typescript-eslint/restrict-plus-operands': 'off' },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['gateway/routes/admin-page/**', 'demo/epr/public/**', 'widget/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
