/**
 * Builds the widget as ONE self-contained, minified ES module (Lit inside) that the gateway
 * serves at /widget/fgm-status.js: dist/widget/fgm-status.js. Budget: 8.5 KB gzip (a test checks).
 */
import { defineConfig, type Plugin } from 'vite';

/**
 * Collapses the line breaks and indentation inside the widget's html`` and css`` templates:
 * the minifier leaves template text alone, and it is a tenth of the module. A line break next to a
 * tag goes, one between words becomes a space; spaces inside a line are kept, so text and
 * attribute values are unchanged (one-word attribute values lose their quotes).
 */
function collapseTemplateWhitespace(): Plugin {
  return {
    name: 'collapse-template-whitespace',
    transform(code, id) {
      if (!/\/widget\/[^/]+\.ts$/.test(id)) return null;
      return code.replace(/\b(html|css)`[\s\S]*?`/g, (t) => {
        const collapsed = t.replace(/>\s*\n\s*/g, '>').replace(/\s*\n\s*</g, '<').replace(/\s*\n\s*/g, ' ').replace(/>\s+</g, '><');
        // In CSS also: no space around punctuation, no last semicolon in a block, no leading zero.
        if (t.startsWith('css')) return collapsed.replace(/\s*([{};:,])\s*/g, '$1').replace(/;}/g, '}').replace(/([\s:(,-])0\.(\d)/g, '$1.$2');
        // In HTML, a one-word attribute value needs no quotes (the HTML parser reads part=base as part="base").
        return collapsed.replace(/="([\w-]+)"/g, '=$1');
      });
    },
  };
}

export default defineConfig({
  plugins: [collapseTemplateWhitespace()],
  build: {
    outDir: 'dist/widget',
    // Kept: widget/pin-build.mjs refuses to rewrite a pinned fgm-status-<version>.js, so it must survive a rebuild.
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
