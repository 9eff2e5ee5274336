/**
 * @module fhir/xml
 * The one place XML is parsed and written. Parsing is defensive: a size cap, an element cap and any
 * DOCTYPE (as markup: quoted in a comment or CDATA it is text) refused before the parser runs (no
 * entity expansion can happen, no parse runs long), values kept exactly as
 * written (strings, never numbers), namespaces resolved so `<Bundle>`, `<Bundle xmlns=FHIR>`
 * and `<f:Bundle xmlns:f=FHIR>` read the same. Writing escapes every value.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { CodecResult } from './types.ts';
import { FHIR_NS } from './constants.ts';

/** FGM-IS messages are about 3 KB; anything far larger is not one. */
export const MAX_XML_BYTES = 64 * 1024;

/**
 * Elements one message may open. An FGM-IS message has about 100; the largest harmless answer the
 * simulator sends (a 100 KB narrative, `large-narrative`) about 2,950. Under the byte cap alone,
 * 60,000 empty elements fit in 240 KB and held the event loop for a second or more while parsed:
 * 5,000 keeps that headroom over a narrative and bounds the parse to a few tens of milliseconds.
 */
export const MAX_ELEMENTS = 5000;

/** XML Schema's instance namespace (xsi:schemaLocation, xsi:type). */
export const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/** A parsed element: local name, resolved namespace ('' when none), attributes and child elements. */
export interface XmlElement {
  name: string;
  ns: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** True when the element holds character data other than whitespace (text or CDATA) beside its children. */
  text?: boolean;
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
  // Entities are decoded by decodeAttribute below in one pass: the parser's own decoding skips
  // numeric references, and a second pass would decode `&amp;#65;` twice.
  processEntities: false,
});

// XML allows any number of leading zeros; past them, 6 hex or 7 decimal digits hold every code
// point, and one more digit would be a number no character has: then it is not a reference at all.
const REFERENCE = /&(?:(lt|gt|amp|quot|apos)|#x0*([0-9a-fA-F]{1,6})|#0*([0-9]{1,7}));/y;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
// XML 1.0 Char: tab, LF, CR, and everything from U+0020 except surrogates, U+FFFE and U+FFFF.
const isXmlChar = (c: number) =>
  c === 0x9 ||
  c === 0xa ||
  c === 0xd ||
  (c >= 0x20 && c <= 0x10ffff && !(c >= 0xd800 && c <= 0xdfff) && c !== 0xfffe && c !== 0xffff);
const ILLEGAL_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

/** Decodes the five predefined and the numeric references once; anything else after `&`, or `<`, is not XML. */
function decodeAttribute(s: string): string {
  if (s.includes('<')) throw new Error("'<' in an attribute value");
  if (!s.includes('&')) return s;
  let out = '';
  for (let i = 0; i < s.length;) {
    const amp = s.indexOf('&', i);
    if (amp < 0) return out + s.slice(i);
    REFERENCE.lastIndex = amp;
    const m = REFERENCE.exec(s);
    if (!m) throw new Error('an undefined entity or a bare & in an attribute value');
    // `&#x0;` leaves no digit past the zeros but the last: the pattern backs off one zero, so it is read as 0.
    const code = m[1] ? -1 : parseInt(m[2] ?? m[3]!, m[2] ? 16 : 10);
    if (code >= 0 && !isXmlChar(code)) throw new Error('a character reference to a character XML does not allow');
    out += s.slice(i, amp) + (m[1] ? NAMED[m[1]] : String.fromCodePoint(code));
    i = REFERENCE.lastIndex;
  }
  return out;
}

type Ordered = Record<string, unknown> & { ':@'?: Record<string, string> };

/**
 * Caps on what one message may declare. An FGM-IS message declares one or two namespaces and an
 * element carries at most a few attributes; the caps only refuse what no real message is. Real
 * writers do more: JAXB-style ones put every prefix they know (a dozen or so) on the root, and some
 * redeclare the default namespace on every element. A redeclaration binding a prefix to the
 * namespace it already has changes nothing, so it costs no scope and does not count toward the
 * message's cap; the per-element cap counts every declaration (namespace declarations are not
 * counted among the element's attributes).
 */
export const MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT = 20;
export const MAX_NAMESPACE_DECLARATIONS = 64;
export const MAX_ATTRIBUTES_PER_ELEMENT = 16;

/** Prefix → namespace; an element with declarations gets one new object whose prototype is its parent's scope. */
type Scope = Record<string, string>;
/** Declarations seen so far in the document being parsed, and whether a namespace near FHIR's was read as FHIR's. */
interface Budget {
  declarations: number;
  /** Set when the caller reads near-FHIR namespaces as FHIR (parseXml's `nearFhir`). */
  nearFhir?: { seen: boolean };
}

/**
 * FHIR's namespace as writers misspell it: a trailing slash, https, another case (compared without
 * them). Spine's reader must not miss a Flag written so (issue 18 review F5): an indicator there is
 * shown, and beside NO_RECORD_FOUND it makes the answer ambiguous. Compared once per declaration.
 */
const NEAR_FHIR = new Set(['http://hl7.org/fhir', 'https://hl7.org/fhir']);
const isNearFhir = (ns: string) => {
  let end = ns.length;
  while (end > 0 && ns.charCodeAt(end - 1) === 0x2f) end--;
  return ns !== FHIR_NS && NEAR_FHIR.has(ns.slice(0, end).trim().toLowerCase());
};

const isDeclaration = (k: string) => k === 'xmlns' || k.startsWith('xmlns:');

function toElement(node: Ordered, scope: Scope, budget: Budget): XmlElement | undefined {
  const qname = Object.keys(node).find((k) => k !== ':@');
  if (!qname || qname === '#text' || qname.startsWith('?') || qname === '#comment') return undefined;
  const raw = Object.entries(node[':@'] ?? {});
  let declaring = 0;
  for (const [k] of raw) if (isDeclaration(k)) declaring++;
  if (declaring > MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT)
    throw new Error(`more than ${MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT} namespace declarations on one element`);
  if (raw.length - declaring > MAX_ATTRIBUTES_PER_ELEMENT)
    throw new Error(`more than ${MAX_ATTRIBUTES_PER_ELEMENT} attributes on one element`);
  const decoded = raw.map(([k, v]) => [k, decodeAttribute(String(v))] as const);
  // Only a binding that changes what a prefix means opens a scope and counts toward the message's cap.
  // Most elements declare nothing: no arrays built for them (this runs for every element of every answer).
  const declarations =
    declaring === 0
      ? []
      : decoded
          .filter(([k]) => isDeclaration(k))
          .map(([k, v]) => {
            if (!budget.nearFhir || !isNearFhir(v)) return [k === 'xmlns' ? '' : k.slice(6), v] as const;
            budget.nearFhir.seen = true;
            return [k === 'xmlns' ? '' : k.slice(6), FHIR_NS] as const;
          })
          .filter(([prefix, v]) => scope[prefix] !== v);
  budget.declarations += declarations.length;
  if (budget.declarations > MAX_NAMESPACE_DECLARATIONS)
    throw new Error(`more than ${MAX_NAMESPACE_DECLARATIONS} namespace declarations in the message`);
  // Copying the scope per declaration made N declarations cost O(N²); a prototype chain costs O(N).
  let inner = scope;
  if (declarations.length > 0) {
    inner = Object.create(scope) as Scope;
    for (const [prefix, v] of declarations) {
      // Namespaces in XML 1.0 forbids undeclaring a prefix.
      if (prefix !== '' && v === '') throw new Error(`namespace prefix ${prefix} bound to no namespace`);
      inner[prefix] = v;
    }
  }
  // The root scope has no prototype, so `in` sees only declared prefixes (never `constructor` and the like).
  const declared = (prefix: string) => prefix in inner;
  const attrs: Record<string, string> = {};
  for (const [k, v] of decoded) {
    if (isDeclaration(k)) continue;
    const p = k.indexOf(':');
    if (p >= 0 && k.slice(0, p) !== 'xml' && !declared(k.slice(0, p)))
      throw new Error(`undeclared namespace prefix in ${k}`);
    // A prefixed attribute is in a namespace, so never FHIR's unqualified `value`: it keeps its
    // qualified name, except that XML Schema's instance attributes are named `xsi:` whatever the
    // prefix (and another namespace's `xsi:` is not), so the validator can tell them by name.
    const ns = p >= 0 && k.slice(0, p) !== 'xml' ? inner[k.slice(0, p)] : undefined;
    const local = k.slice(p + 1);
    attrs[ns === XSI ? `xsi:${local}` : k.startsWith('xsi:') ? `{${ns}}${local}` : k] = v;
  }
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  if (prefix && !declared(prefix)) throw new Error(`undeclared namespace prefix ${prefix}`);
  const content = (node[qname] as Ordered[]) ?? [];
  const children = content.flatMap((c) => toElement(c, inner, budget) ?? []);
  const element: XmlElement = {
    name: colon < 0 ? qname : qname.slice(colon + 1),
    ns: inner[prefix] ?? '',
    attrs,
    children,
  };
  // Kept as a flag only: FHIR XML carries values in attributes, so text is for the validator to refuse.
  if (content.some((c) => '#text' in c && /\S/.test(String(c['#text'])))) element.text = true;
  return element;
}

/** Where each construct whose content is not markup ends: a comment, a CDATA section, a processing instruction. */
const NOT_MARKUP: [open: string, close: string][] = [
  ['<!--', '-->'],
  ['<![CDATA[', ']]>'],
  ['<?', '?>'],
];

/**
 * What refuses the message before any parser runs: `<!DOCTYPE` or `<!ENTITY` as markup (outside
 * comments, CDATA sections and processing instructions, whose text may quote them), or more than
 * `maxElements` element openings, comments, CDATA sections and processing instructions together, or a `<` in an attribute value. One forward scan (each construct
 * is skipped with one indexOf from where it opens, each tag to its end), so no input makes it quadratic. An unclosed construct ends the scan; the parser
 * then refuses the message as not well-formed.
 */
function refusedUnparsed(text: string, maxElements: number): string | undefined {
  let elements = 0;
  for (let i = text.indexOf('<'); i >= 0; i = text.indexOf('<', i + 1)) {
    const skipped = NOT_MARKUP.find(([open]) => text.startsWith(open, i));
    if (skipped) {
      // Counted too: 40,000 `x<?a?>` are as many nodes for the parser as elements (issue 18 review F2).
      if (++elements > maxElements) return `more than ${maxElements} elements`;
      const end = text.indexOf(skipped[1], i + skipped[0].length);
      if (end < 0) return undefined;
      i = end + skipped[1].length - 1;
    } else if (/^<!(?:DOCTYPE|ENTITY)/i.test(text.slice(i, i + 9)))
      return 'DOCTYPE and entity declarations are not accepted';
    // Anything else but `</` and `<!` opens an element.
    else if (text[i + 1] !== '/' && text[i + 1] !== '!') {
      if (++elements > maxElements) return `more than ${maxElements} elements`;
      // The tag is skipped to its `>` through its quoted values, each character once: a `<!--` in a
      // value opens no comment, so it cannot hide the elements after it from this count.
      let quote = '';
      let j = i + 1;
      for (; j < text.length; j++) {
        const c = text[j];
        if (quote) {
          if (c === quote) quote = '';
          else if (c === '<') return "'<' in an attribute value";
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>' || c === '<') break;
      }
      // At a `<` outside quotes the tag is malformed (the parser says so): the scan goes on from there.
      i = text[j] === '<' ? j - 1 : j;
    }
  }
  return undefined;
}

/** A parse's result; `nearFhir` when a namespace near FHIR's was read as FHIR's (only when asked to). */
export type ParsedXml = CodecResult<XmlElement> & { nearFhir?: true };

/**
 * Parses `text` into an element tree. Never throws: over-size, a DOCTYPE, too many elements or malformed XML is
 * `{ ok: false, error: { kind: 'not-well-formed' } }`. With `nearFhir`, a namespace that is FHIR's
 * but for a trailing slash, https or case is read as FHIR's, and the result says so (for what
 * Spine sends; a client's request is read by the exact namespace).
 */
export function parseXml(
  text: string,
  {
    maxBytes = MAX_XML_BYTES,
    maxElements = MAX_ELEMENTS,
    nearFhir = false,
  }: { maxBytes?: number; maxElements?: number; nearFhir?: boolean } = {},
): ParsedXml {
  // Parser messages can quote the whole open-tag stack; keep them short enough to log.
  const fail = (message: string) => ({
    ok: false as const,
    error: { kind: 'not-well-formed' as const, element: 'Bundle', message: message.slice(0, 200) },
  });
  if (typeof text !== 'string') return fail('no XML text');
  // UTF-8 never takes fewer bytes than UTF-16 code units, so the length is a cheap first check.
  if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes)
    return fail(`message larger than ${maxBytes} bytes`);
  const refused = refusedUnparsed(text, maxElements);
  if (refused) return fail(refused);
  if (ILLEGAL_CHAR.test(text)) return fail('a character XML does not allow');
  try {
    const valid = XMLValidator.validate(text);
    if (valid !== true) return fail(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
    const budget: Budget = { declarations: 0, ...(nearFhir && { nearFhir: { seen: false } }) };
    const root = Object.create(null) as Scope;
    const roots = (parser.parse(text) as Ordered[]).flatMap((n) => toElement(n, root, budget) ?? []);
    if (roots.length !== 1) return fail('expected exactly one root element');
    return { ok: true, value: roots[0]!, ...(budget.nearFhir?.seen && { nearFhir: true as const }) };
  } catch (e) {
    return fail(`not well-formed XML: ${(e as Error).message}`);
  }
}

// ---- decoding bytes ----

/** The encodings an answer is decoded from, each exactly. */
type Encoding = 'UTF-8' | 'UTF-16LE' | 'UTF-16BE' | 'ISO-8859-1' | 'windows-1252' | 'ISO-8859-15';
/** Labels (lower case) of the encodings read; `utf-16` takes its byte order from the BOM or the first bytes (big-endian by default, RFC 2781). */
const LABELS: Record<string, Encoding | 'UTF-16'> = {
  'utf-8': 'UTF-8',
  utf8: 'UTF-8',
  'utf-16': 'UTF-16',
  'utf-16le': 'UTF-16LE',
  'utf-16be': 'UTF-16BE',
  'iso-8859-1': 'ISO-8859-1',
  latin1: 'ISO-8859-1',
  // ASCII is ISO-8859-1's first half: read byte for byte.
  'us-ascii': 'ISO-8859-1',
  ascii: 'ISO-8859-1',
  // Western European 8-bit sets a Windows or Java writer (or a proxy) may use (issue 18 review
  // F3). The labels are the WHATWG Encoding Standard's and Java's.
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
  'x-cp1252': 'windows-1252',
  'iso-8859-15': 'ISO-8859-15',
  iso8859_15: 'ISO-8859-15',
  'iso8859-15': 'ISO-8859-15',
  iso885915: 'ISO-8859-15',
  'iso_8859-15': 'ISO-8859-15',
  'latin-9': 'ISO-8859-15',
  latin9: 'ISO-8859-15',
  l9: 'ISO-8859-15',
  csisolatin9: 'ISO-8859-15',
};
/**
 * Where windows-1252 and ISO-8859-15 differ from ISO-8859-1, from their code charts. Not
 * TextDecoder: Node 20's decodes `windows-1252` as ISO-8859-1 (0x80 stays U+0080, not €).
 * windows-1252's five unassigned bytes (0x81, 0x8D, 0x8F, 0x90, 0x9D) stay their C1 code points, as WHATWG decodes them.
 */
const WINDOWS_1252_80_9F = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];
const ISO_8859_15: Record<number, number> = {
  0xa4: 0x20ac,
  0xa6: 0x160,
  0xa8: 0x161,
  0xb4: 0x17d,
  0xb8: 0x17e,
  0xbc: 0x152,
  0xbd: 0x153,
  0xbe: 0x178,
};
/** The byte at a time, through `map` for the bytes it names; linear in the body. */
function decodeTable(bytes: Buffer, map: (b: number) => number): string {
  const units = new Uint16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) units[i] = map(bytes[i]!);
  let out = '';
  // fromCharCode over chunks: one call per 8 K units keeps within the engine's argument limit.
  for (let i = 0; i < units.length; i += 8192) out += String.fromCharCode(...units.subarray(i, i + 8192));
  return out;
}
const DECLARED_ENCODING = /^<\?xml\s+version\s*=\s*(["'])[^"']*\1\s+encoding\s*=\s*(["'])([A-Za-z][A-Za-z0-9._-]*)\2/;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

function decodeAs(bytes: Buffer, encoding: Encoding): string {
  if (encoding === 'UTF-8') return bytes.toString('utf8');
  if (encoding === 'ISO-8859-1') return bytes.toString('latin1');
  if (encoding === 'UTF-16LE') return bytes.toString('utf16le');
  if (encoding === 'windows-1252')
    return decodeTable(bytes, (b) => (b >= 0x80 && b <= 0x9f ? WINDOWS_1252_80_9F[b - 0x80]! : b));
  if (encoding === 'ISO-8859-15') return decodeTable(bytes, (b) => ISO_8859_15[b] ?? b);
  // swap16 throws on an odd length: a last lone byte is no UTF-16 unit (decodeXml refuses a body of one).
  return Buffer.from(bytes.subarray(0, bytes.length & ~1))
    .swap16()
    .toString('utf16le');
}

export type Decoded =
  { ok: true; text: string; encoding: Encoding; deviations: string[] } | { ok: false; message: string };

/**
 * The text of an XML document received as bytes with a Content-Type, as XML 1.0 Appendix F and
 * RFC 7303 read it: a byte order mark first, then the Content-Type's charset, then the XML
 * declaration's encoding (read in the byte order the first bytes show), UTF-8 when none says.
 * An encoding we cannot decode is refused, and so is a declaration that reads the bytes otherwise
 * than their BOM does (which one the writer meant would be a guess); a charset overriding a
 * declaration is RFC 7303's rule (a proxy re-encoding keeps the declaration), reported, and a label
 * that the first bytes (`<` in one byte or two) contradict is ignored, reported. `deviations` are
 * fixed phrases, never a value from the document.
 */
export function decodeXml(bytes: Buffer, contentType = ''): Decoded {
  const starts = (...b: number[]) => b.every((x, i) => bytes[i] === x);
  const refuse = (message: string) => ({ ok: false as const, message });
  // UTF-32 (a BOM or `<` in four bytes) is XML too, but nothing here decodes it.
  if (starts(0, 0, 0xfe, 0xff) || starts(0xff, 0xfe, 0, 0) || starts(0, 0, 0, 0x3c) || starts(0x3c, 0, 0, 0))
    return refuse('an encoding the gateway cannot decode');
  const bom: Encoding | undefined = starts(0xef, 0xbb, 0xbf)
    ? 'UTF-8'
    : starts(0xff, 0xfe)
      ? 'UTF-16LE'
      : starts(0xfe, 0xff)
        ? 'UTF-16BE'
        : undefined;
  const body = bom ? bytes.subarray(bom === 'UTF-8' ? 3 : 2) : bytes;
  // Without a BOM, the first character `<` shows whether the bytes are UTF-16, and in which byte
  // order, or an encoding of 8-bit units such as UTF-8 (Appendix F).
  const sniffed: Encoding | '8-bit' | undefined =
    bom ?? (starts(0x3c, 0) ? 'UTF-16LE' : starts(0, 0x3c) ? 'UTF-16BE' : bytes[0] === 0x3c ? '8-bit' : undefined);
  const order = sniffed === '8-bit' ? undefined : sniffed;
  const resolve = (label: string | undefined): Encoding | undefined | null => {
    if (label === undefined) return undefined;
    // An own property only: a label such as `__proto__` or `constructor` must find nothing (review 18f F2).
    const key = label.toLowerCase();
    const known = Object.hasOwn(LABELS, key) ? LABELS[key] : undefined;
    if (!known) return null;
    if (known !== 'UTF-16') return known;
    return order === 'UTF-16LE' ? 'UTF-16LE' : 'UTF-16BE';
  };
  const charset = resolve(CHARSET.exec(contentType)?.[1]);
  const head = decodeAs(body.subarray(0, 400), order ?? 'ISO-8859-1');
  const declared = resolve(DECLARED_ENCODING.exec(head)?.[3]);
  const deviations: string[] = [];
  // `null` (a label we cannot decode) must stop the search, where `??` would pass over it.
  let chosen = bom ?? (charset !== undefined ? charset : declared !== undefined ? declared : (order ?? 'UTF-8'));
  // A label the first bytes contradict (a proxy that re-encoded and kept the old label): only the
  // bytes' own reading can be XML, so it is no guess.
  const fits = (e: Encoding | null | undefined): e is Encoding =>
    !!e && (sniffed === undefined || (sniffed === '8-bit' ? !e.startsWith('UTF-16') : e === sniffed));
  if (!bom && chosen !== null && !fits(chosen)) {
    chosen = fits(declared) ? declared : sniffed === '8-bit' ? 'UTF-8' : sniffed!;
    deviations.push('an encoding label the first bytes contradict, ignored');
  }
  if (chosen === null) return refuse('an encoding the gateway cannot decode');
  if (chosen.startsWith('UTF-16') && body.length % 2 !== 0) return refuse('UTF-16 of an odd number of bytes');
  let text = decodeAs(body, chosen);
  // A BOM fixes the reading: a declaration naming another (a .NET writer's encoding="utf-16" over
  // UTF-8) cannot be read as XML once the BOM is read, so it is ignored and reported, not refused.
  if (bom && declared !== undefined && (declared === null || (declared !== bom && decodeAs(body, declared) !== text)))
    deviations.push('encoding declaration contradicted by the byte order mark, ignored');
  // Whitespace before the XML declaration (a writer's leading newline) is not well-formed, but means nothing.
  const lead = /^[ \t\r\n]+(?=<\?xml[ \t\r\n?])/.exec(text);
  if (lead) {
    text = text.slice(lead[0].length);
    deviations.push('whitespace before the XML declaration, removed');
  }
  if (bom && charset !== undefined && charset !== bom)
    deviations.push('Content-Type charset overridden by the byte order mark');
  else if (!bom && charset && chosen === charset && declared !== undefined && declared !== charset)
    deviations.push('encoding declaration overridden by the Content-Type charset');
  if (chosen !== 'UTF-8') deviations.push(`an answer in ${chosen.startsWith('UTF-16') ? 'UTF-16' : chosen}, decoded`);
  return { ok: true, text, encoding: chosen, deviations };
}

/** True when the element is in the FHIR namespace or in none (the spec's examples use both). */
export function isFhir(el: XmlElement): boolean {
  return el.ns === '' || el.ns === FHIR_NS;
}

// ---- writing ----

// Characters XML cannot carry at all: controls, U+FFFE/U+FFFF and unpaired surrogates.
const NOT_XML =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `s` as a message carries it: the characters XML 1.0 cannot hold dropped. */
export const xmlText = (s: string): string => s.replace(NOT_XML, '');
// Module constants: a regular expression literal or an arrow in the function would be a new object per value written.
const SPECIAL = /[&<>"']/g;
const escapeChar = (c: string) =>
  c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;';
const escapeValue = (s: string) => xmlText(s).replace(SPECIAL, escapeChar);

/** A node to write: `[name, attrs, children]`; `undefined` children are skipped. */
export type XmlNode = [name: string, attrs?: Record<string, string>, children?: (XmlNode | undefined)[]];

/** Serialises a node tree; every attribute value is escaped and XML-illegal control characters dropped. */
export const writeXml = (node: XmlNode): string => write(node, '');

/** `out` followed by `node`: one string grown through the tree, no arrays per node (issue 22). */
function write(node: XmlNode, out: string): string {
  const name = node[0];
  const attrs = node[1];
  const children = node[2];
  out += '<' + name;
  // The own attributes in Object.entries order.
  if (attrs) for (const k in attrs) if (Object.hasOwn(attrs, k)) out += ' ' + k + '="' + escapeValue(attrs[k]!) + '"';
  let open = false;
  if (children)
    for (const c of children) {
      if (c === undefined) continue;
      if (!open) out += '>';
      open = true;
      out = write(c, out);
    }
  return open ? out + '</' + name + '>' : out + '/>';
}

/** A FHIR primitive: `<name value="…"/>`, holding only what XML can carry (so the tree says what is sent). */
export const prim = (name: string, value: string): XmlNode => [name, { value: xmlText(value) }];

const NO_NODES: readonly (XmlNode | undefined)[] = [];
/** The element tree a node writes, namespaces resolved as `parseXml` would: to check a message before sending it. */
export function nodeToElement(node: XmlNode, ns = ''): XmlElement {
  const attrs = node[1];
  const own = attrs?.xmlns ?? ns;
  // A copy of the attributes but xmlns, and the children but the skipped ones, built by plain loops
  // (issue 22: a copy and two arrays per node otherwise).
  const rest: Record<string, string> = {};
  if (attrs) for (const k in attrs) if (k !== 'xmlns' && Object.hasOwn(attrs, k)) rest[k] = attrs[k]!;
  const nodes = node[2] ?? NO_NODES;
  let count = 0;
  for (const c of nodes) if (c !== undefined) count++;
  const children = new Array<XmlElement>(count);
  count = 0;
  for (const c of nodes) if (c !== undefined) children[count++] = nodeToElement(c, own);
  return { name: node[0], ns: own, attrs: rest, children };
}
