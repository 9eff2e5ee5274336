/**
 * @module fhir/xml
 * The one place XML is parsed and written. Parsing is defensive: a size cap and any DOCTYPE
 * refused before the parser runs (no entity expansion can happen), values kept exactly as
 * written (strings, never numbers), namespaces resolved so `<Bundle>`, `<Bundle xmlns=FHIR>`
 * and `<f:Bundle xmlns:f=FHIR>` read the same. Writing escapes every value.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { CodecResult } from './types.ts';
import { FHIR_NS } from './constants.ts';

/** FGM-IS messages are about 3 KB; anything far larger is not one. */
export const MAX_XML_BYTES = 64 * 1024;

/** A parsed element: local name, resolved namespace ('' when none), attributes and child elements. */
export interface XmlElement {
  name: string;
  ns: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Entities are decoded by decodeEntities below in one pass: the parser's own decoding skips
  // numeric references, and a second pass would decode `&amp;#65;` twice.
  processEntities: false,
});

const ENTITY = /&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]{1,6}|#[0-9]{1,7});/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (_, e: string) => {
    if (e[0] !== '#') return NAMED[e]!;
    const code = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : '\uFFFD';
  });
}

type Ordered = Record<string, unknown> & { ':@'?: Record<string, string> };

function toElement(node: Ordered, scope: Record<string, string>): XmlElement | undefined {
  const qname = Object.keys(node).find((k) => k !== ':@');
  if (!qname || qname === '#text' || qname.startsWith('?') || qname === '#comment') return undefined;
  const raw = node[':@'] ?? {};
  const attrs: Record<string, string> = {};
  let inner = scope;
  for (const [k, v] of Object.entries(raw)) {
    const value = decodeEntities(String(v));
    if (k === 'xmlns') inner = { ...inner, '': value };
    else if (k.startsWith('xmlns:')) inner = { ...inner, [k.slice(6)]: value };
    else attrs[k.includes(':') ? k.slice(k.indexOf(':') + 1) : k] = value;
  }
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const children = ((node[qname] as Ordered[]) ?? []).flatMap((c) => toElement(c, inner) ?? []);
  return { name: colon < 0 ? qname : qname.slice(colon + 1), ns: inner[prefix] ?? '', attrs, children };
}

/**
 * Parses `text` into an element tree. Never throws: over-size, a DOCTYPE or malformed XML is
 * `{ ok: false, error: { kind: 'not-well-formed' } }`.
 */
export function parseXml(text: string, { maxBytes = MAX_XML_BYTES }: { maxBytes?: number } = {}): CodecResult<XmlElement> {
  const fail = (message: string) => ({ ok: false as const, error: { kind: 'not-well-formed' as const, element: 'Bundle', message } });
  if (typeof text !== 'string') return fail('no XML text');
  // Bytes are at least the UTF-16 length / 2; check cheaply before counting exactly.
  if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) return fail(`message larger than ${maxBytes} bytes`);
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return fail('DOCTYPE and entity declarations are not accepted');
  try {
    const valid = XMLValidator.validate(text);
    if (valid !== true) return fail(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
    const roots = (parser.parse(text) as Ordered[]).flatMap((n) => toElement(n, {}) ?? []);
    if (roots.length !== 1) return fail('expected exactly one root element');
    return { ok: true, value: roots[0]! };
  } catch (e) {
    return fail(`not well-formed XML: ${(e as Error).message}`);
  }
}

/** True when the element is in the FHIR namespace or in none (the spec's examples use both). */
export function isFhir(el: XmlElement): boolean {
  return el.ns === '' || el.ns === FHIR_NS;
}

// ---- writing ----

const escapeValue = (s: string) =>
  s.replace(/[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : c === "'" ? '&apos;' : '',
  );

/** A node to write: `[name, attrs, children]`; `undefined` children are skipped. */
export type XmlNode = [name: string, attrs?: Record<string, string>, children?: (XmlNode | undefined)[]];

/** Serialises a node tree; every attribute value is escaped and XML-illegal control characters dropped. */
export function writeXml(node: XmlNode): string {
  const [name, attrs = {}, children = []] = node;
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${escapeValue(v)}"`)
    .join('');
  const inner = children.filter((c): c is XmlNode => c !== undefined).map(writeXml).join('');
  return inner ? `<${name}${a}>${inner}</${name}>` : `<${name}${a}/>`;
}

/** A FHIR primitive: `<name value="…"/>`. */
export const prim = (name: string, value: string): XmlNode => [name, { value }];
