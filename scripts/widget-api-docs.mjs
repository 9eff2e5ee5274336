// Writes the element's API tables (attributes and properties, events, CSS parts and custom
// properties) from its custom-elements.json into the docs, between the markers below, so the
// text lives once, in the element's JSDoc. `--check` only reports a stale page (exit 1).
// Usage: node scripts/widget-api-docs.mjs [--check] [--manifest dist/widget/custom-elements.json]
import { readFileSync, writeFileSync } from 'node:fs';

export const PAGES = ['widget/README.md'];
const START =
  '<!-- widget-api: generated from custom-elements.json by `npm run docs`; edit the JSDoc in widget/fgm-status.ts -->';
const END = '<!-- /widget-api -->';

const cell = (s = '') =>
  s
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
const table = (head, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');

/** The markdown for the element declared in the manifest. */
export function render(manifest) {
  const el = manifest.modules.flatMap((m) => m.declarations ?? []).find((d) => d.customElement);
  if (!el) throw new Error('custom-elements.json declares no custom element');
  const pub = (m) => (m.privacy ?? 'public') === 'public' && !m.name.startsWith('_') && !m.name.startsWith('#');
  const members = (el.members ?? []).filter(pub);
  const rows = [
    ...(el.attributes ?? [])
      .filter((a) => !a.name.startsWith('_'))
      .map((a) => [
        a.fieldName && a.fieldName !== a.name ? `\`${a.name}\` / \`${a.fieldName}\`` : `\`${a.name}\``,
        a.description,
      ]),
    ...members
      .filter((m) => m.kind === 'field' && !m.static && !m.attribute)
      .map((m) => [`\`${m.name}\` (property only)`, m.description]),
    ...members.filter((m) => m.kind === 'method' && !m.static).map((m) => [`\`${m.name}()\``, m.description]),
    ...members.filter((m) => m.static).map((m) => [`\`${el.name}.${m.name}\``, m.description]),
  ];
  const undocumented = rows.filter(([, d]) => !d).map(([n]) => n);
  if (undocumented.length) throw new Error(`no JSDoc for ${undocumented.join(', ')} in widget/fgm-status.ts`);
  return [
    START,
    table(['attribute / property', ''], rows),
    '',
    table(
      ['event (bubbles, composed)', '`detail`'],
      (el.events ?? []).map((e) => [`\`${e.name}\``, e.description]),
    ),
    '',
    table(
      ['CSS part / custom property', ''],
      [
        ...(el.cssParts ?? []).map((p) => [`\`::part(${p.name})\``, p.description]),
        ...(el.cssProperties ?? []).map((p) => [`\`${p.name}\``, p.description]),
      ],
    ),
    END,
  ].join('\n');
}

/** The page with its generated block replaced; throws when the markers are missing. */
export function update(page, block, file) {
  const a = page.indexOf(START);
  const b = page.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file} has no ${START} … ${END} block`);
  return page.slice(0, a) + block + page.slice(b + END.length);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  const at = process.argv.indexOf('--manifest');
  const manifest = JSON.parse(readFileSync(at > 0 ? process.argv[at + 1] : 'dist/widget/custom-elements.json', 'utf8'));
  const block = render(manifest);
  let stale = 0;
  for (const file of PAGES) {
    const page = readFileSync(file, 'utf8');
    const next = update(page, block, file);
    if (next === page) continue;
    if (check) {
      stale++;
      console.error(`${file}: the element's API tables are stale; run npm run docs`);
    } else writeFileSync(file, next);
  }
  process.exitCode = stale ? 1 : 0;
}
