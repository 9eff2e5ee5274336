/**
 * @module test/helpers/fhir-fixtures
 * Test helpers: the spec's example messages and ways to rewrite them (namespace forms, pretty
 * printing, removing or changing one element) without touching the codec under test.
 */
import { readFileSync } from 'node:fs';
import { parseXml, writeXml, type XmlElement, type XmlNode } from '../../gateway/fhir/xml.ts';

export const example = (
  name: 'query-request-2-0' | 'query-response-2-0-indicator-found' | 'query-response-2-0-invalid-nhs-number',
) => readFileSync(new URL(`../spec/${name}.xml`, import.meta.url), 'utf8');

const toNode = (el: XmlElement): XmlNode => [el.name, { ...el.attrs }, el.children.map(toNode)];

function tree(xml: string): XmlElement {
  const r = parseXml(xml);
  if (!r.ok) throw new Error(`fixture does not parse: ${r.error.message}`);
  return r.value;
}

/** Finds the elements at `path` (`Resource.child.child`, with `[n]` to pick the nth match of a step). */
function find(root: XmlElement, path: string): { parent: XmlElement; index: number }[] {
  const [resource, ...steps] = path.split('.');
  const starts: XmlElement[] = [];
  const walk = (el: XmlElement) => {
    if (el.name === resource) starts.push(el);
    el.children.forEach(walk);
  };
  walk(root);
  let current: { parent: XmlElement; index: number }[] = starts.map((el) => ({
    parent: { name: '', ns: '', attrs: {}, children: [el] },
    index: 0,
  }));
  for (const step of steps) {
    const m = /^(\w+)(?:\[(\d+)\])?$/.exec(step)!;
    current = current.flatMap(({ parent, index }) => {
      const el = parent.children[index]!;
      const hits = el.children.map((c, i) => ({ c, i })).filter(({ c }) => c.name === m[1]);
      const chosen = m[2] === undefined ? hits : hits.slice(Number(m[2]), Number(m[2]) + 1);
      return chosen.map(({ i }) => ({ parent: el, index: i }));
    });
  }
  return current;
}

/** True when the message has an element at `path`. */
export const has = (xml: string, path: string) => find(tree(xml), path).length > 0;

/** The message with the first element at `path` removed. */
export function without(xml: string, path: string): string {
  const root = tree(xml);
  const hit = find(root, path)[0];
  if (!hit) throw new Error(`fixture has no ${path}`);
  hit.parent.children.splice(hit.index, 1);
  return writeXml(toNode(root));
}

/** The message with the first element at `path` given another `value` attribute. */
export function withValue(xml: string, path: string, value: string): string {
  const root = tree(xml);
  const hit = find(root, path)[0];
  if (!hit) throw new Error(`fixture has no ${path}`);
  hit.parent.children[hit.index]!.attrs.value = value;
  return writeXml(toNode(root));
}

/** The message with the first element at `path` appearing twice. */
export function duplicated(xml: string, path: string): string {
  const root = tree(xml);
  const hit = find(root, path)[0];
  if (!hit) throw new Error(`fixture has no ${path}`);
  hit.parent.children.splice(hit.index, 0, structuredClone(hit.parent.children[hit.index]!));
  return writeXml(toNode(root));
}

const stripNs = (xml: string) => xml.replace(/\s+xmlns(:\w+)?="[^"]*"/g, '').replace(/^<\?xml[^>]*\?>\s*/, '');

/** The same message in each surface form a parser must accept. */
export function variants(xml: string): Record<string, string> {
  const bare = stripNs(xml);
  return {
    'as written': xml,
    'no namespace, no declaration': bare,
    'default namespace on the root': bare.replace(/^<Bundle/, '<Bundle xmlns="http://hl7.org/fhir"'),
    'prefixed namespace': bare
      .replace(/<(\/?)(\w+)/g, '<$1f:$2')
      .replace(/^<f:Bundle/, '<f:Bundle xmlns:f="http://hl7.org/fhir"'),
    'pretty-printed with a declaration': `<?xml version="1.0" encoding="UTF-8"?>\n${bare.replace(/></g, '>\n    <')}\n`,
    'attributes in another order': bare
      .replace(/^<Bundle/, '<Bundle xmlns="http://hl7.org/fhir"')
      .replace(/<(\w+) value="([^"]*)"\/>/g, '<$1 xmlns="http://hl7.org/fhir" value="$2"/>'),
    'single-quoted attributes': bare.replace(/value="([^"']*)"/g, "value='$1'"),
  };
}

/** The message with `node` added as the last child of the first element at `path`. */
export function withChild(xml: string, path: string, node: XmlNode): string {
  const root = tree(xml);
  const hit = find(root, path)[0];
  if (!hit) throw new Error(`fixture has no ${path}`);
  const el = hit.parent.children[hit.index]!;
  el.children.push(tree(writeXml(node)));
  return writeXml(toNode(root));
}

/** The message with the first element at `path` moved to the end of its parent. */
export function movedLast(xml: string, path: string): string {
  const root = tree(xml);
  const hit = find(root, path)[0];
  if (!hit) throw new Error(`fixture has no ${path}`);
  const [el] = hit.parent.children.splice(hit.index, 1);
  hit.parent.children.push(el!);
  return writeXml(toNode(root));
}
