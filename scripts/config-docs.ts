// Writes the configuration reference (docs/configuration.md, between the markers below) from the
// config's JSON Schema (each key's `.describe()` in gateway/config/config.ts) and the reload rules
// (KEY_APPLIES in gateway/server/config-reload.ts), so a key's meaning is written once.
// `--check` only reports a stale page (exit 1).
// Usage: npx tsx scripts/config-docs.ts [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { configJsonSchema } from '../gateway/config/config-schema.ts';
import { KEY_APPLIES } from '../gateway/server/config-reload.ts';

export const PAGE = 'docs/configuration.md';
const START =
  '<!-- config-reference: generated from the config schema by `npm run docs`; edit the .describe() texts in gateway/config/config.ts -->';
const END = '<!-- /config-reference -->';

/** The part of a JSON Schema node this page reads. */
interface Node {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  description?: string;
  pattern?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node;
  anyOf?: Node[];
  additionalProperties?: Node | boolean;
}

interface Row {
  key: string;
  node: Node;
  required: boolean;
}

/** Every property at every level, as KEY_APPLIES names it (`[]` for an array's elements), parents first. */
function rows(node: Node, prefix = ''): Row[] {
  const objects = [node, ...(node.anyOf ?? [])].filter((n) => n.properties);
  return objects.flatMap((o) =>
    Object.entries(o.properties!).flatMap(([name, child]) => {
      const key = prefix + name;
      const inner = child.type === 'array' && child.items ? child.items : child;
      const below = inner.properties || inner.anyOf ? rows(inner, `${key}${inner === child ? '' : '[]'}.`) : [];
      return [{ key, node: child, required: (o.required ?? []).includes(name) }, ...below];
    }),
  );
}

/** The type as a reader writes it: `integer ≥ 0, ≤ 65535`, `"warn" | "refuse"`, `string[]`, `object (key → string[])`. */
function typeOf(n: Node): string {
  if (n.const !== undefined) return JSON.stringify(n.const);
  // A URL key's scheme rule (config.ts urlOf) as a reader writes it: `^(?:https?):` is `http(s) URL`.
  const schemes = /^\^\(\?:(.+)\):$/.exec(n.pattern ?? '')?.[1];
  if (schemes) return `${schemes.replace(/\(\?:(\w+)\)\?/g, '($1)').replace(/(\w)\?/g, '($1)')} URL`;
  if (n.enum) return n.enum.map((e) => JSON.stringify(e)).join(' | ');
  if (n.anyOf) return n.anyOf.map(typeOf).join(' | ');
  if (n.type === 'array') {
    const item = n.items ? typeOf(n.items) : 'any';
    return item.includes(' ') ? `(${item})[]` : `${item}[]`;
  }
  if (n.type === 'object' && !n.properties && typeof n.additionalProperties === 'object')
    return `object (key → ${typeOf(n.additionalProperties)})`;
  const bounds = [
    n.exclusiveMinimum !== undefined
      ? `> ${n.exclusiveMinimum}`
      : n.minimum !== undefined && n.minimum > Number.MIN_SAFE_INTEGER
        ? `≥ ${n.minimum}`
        : '',
    // zod bounds every integer by the safe range: only a bound the schema chose is worth printing.
    n.maximum !== undefined && n.maximum < Number.MAX_SAFE_INTEGER ? `≤ ${n.maximum}` : '',
  ].filter(Boolean);
  return `${n.type ?? 'any'}${bounds.length ? ` ${bounds.join(', ')}` : ''}`;
}

/** When a key takes effect: its KEY_APPLIES row, or for an object, what the rows of its keys have in common. */
function appliesOf(key: string, all: string[]): string {
  const text = (k: string) => {
    const rule = KEY_APPLIES[k];
    if (typeof rule === 'function') return rule.doc;
    return rule && (rule === 'reload' ? 'applies on reload' : 'restart to apply');
  };
  const own = text(key);
  if (own) return own;
  const below = new Set(
    all.filter((k) => k.startsWith(`${key}.`) || k.startsWith(`${key}[].`)).flatMap((k) => text(k) ?? []),
  );
  if (below.size === 0) throw new Error(`${key} has no row in KEY_APPLIES (gateway/server/config-reload.ts)`);
  return below.size === 1 ? [...below][0]! : 'per key below';
}

const cell = (s: string) =>
  s
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();

/** The markdown table for a config JSON Schema; throws naming every property without a description. */
export function render(schema: Node): string {
  const all = rows(schema);
  const undescribed = all.filter((r) => !r.node.description).map((r) => r.key);
  if (undescribed.length) throw new Error(`no .describe() for ${undescribed.join(', ')} in gateway/config/config.ts`);
  const keys = all.map((r) => r.key);
  return [
    START,
    '| key | type | default | required | on reload | meaning |',
    '|---|---|---|---|---|---|',
    ...all
      .map((r) =>
        [
          `\`${r.key}\``,
          cell(typeOf(r.node)),
          r.node.default === undefined ? '' : `\`${cell(JSON.stringify(r.node.default))}\``,
          r.required ? 'yes' : 'no',
          appliesOf(r.key, keys),
          cell(r.node.description!),
        ].join(' | '),
      )
      .map((line) => `| ${line} |`),
    END,
  ].join('\n');
}

/** The page with its generated block replaced; throws when the markers are missing. */
export function update(page: string, block: string): string {
  const a = page.indexOf(START);
  const b = page.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${PAGE} has no ${START} … ${END} block`);
  return page.slice(0, a) + block + page.slice(b + END.length);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const page = readFileSync(PAGE, 'utf8');
  const next = update(page, render(configJsonSchema() as Node));
  if (next !== page && process.argv.includes('--check')) {
    console.error(`${PAGE} is stale; run npm run docs`);
    process.exitCode = 1;
  } else if (next !== page) writeFileSync(PAGE, next);
}
