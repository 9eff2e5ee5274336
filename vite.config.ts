/**
 * Builds the widget as ONE self-contained, minified ES module (Lit inside) that the gateway
 * serves at /widget/fgm-status.js: dist/widget/fgm-status.js. Budget: test/widget/widget-size.test.ts.
 */
import { defineConfig, type Plugin } from 'vite';

/**
 * Collapses the line breaks and indentation inside the widget's css`` template: the minifier leaves
 * template text alone. No space around punctuation, no last semicolon in a block, no leading zero;
 * spaces inside a value are kept, so every declaration means the same.
 */
function collapseTemplateWhitespace(): Plugin {
  return {
    name: 'collapse-template-whitespace',
    transform(code, id) {
      if (!/\/widget\/[^/]+\.ts$/.test(id)) return null;
      return code.replace(/\bcss`[\s\S]*?`/g, (t) =>
        t
          .replace(/\s*\n\s*/g, ' ')
          .replace(/\s*([{};:,])\s*/g, '$1')
          .replace(/;}/g, '}')
          .replace(/([\s:(,-])0\.(\d)/g, '$1.$2'),
      );
    },
  };
}

export default defineConfig({
  plugins: [collapseTemplateWhitespace()],
  build: {
    outDir: 'dist/widget',
    // Kept: a pinned fgm-status-<version>.js must survive a rebuild (one from before widget/releases/ too: pages may pin it).
    emptyOutDir: false,
    target: 'es2022',
    minify: 'oxc',
    sourcemap: false,
    // Vite leaves whitespace and comments in ES library builds; this module goes straight to browsers.
    rolldownOptions: { output: { minify: true, comments: false } },
    lib: {
      entry: 'widget/define.ts',
      formats: ['es'],
      fileName: () => 'fgm-status.js',
    },
  },
});
