/**
 * @module fhir/xml
 * The one place XML is parsed and written. Parsing is defensive: a size cap, an element cap and any
 * DOCTYPE (as markup: quoted in a comment or CDATA it is text) refused before the reader runs (no
 * entity expansion can happen, no parse runs long), values kept exactly as
 * written (strings, never numbers), namespaces resolved so `<Bundle>`, `<Bundle xmlns=FHIR>`
 * and `<f:Bundle xmlns:f=FHIR>` read the same. The reader is one pass from text to the tree
 * (readTree): fast-xml-parser's validator, parser and a conversion of its tree took five times as
 * long and allocated a third of a request's memory (issue 22); xml-reader-oracle.test.ts holds the
 * reader to that parser's verdicts and trees. Writing escapes every value.
 */
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
/** Namespaces in XML 1.0 §3: the two reserved namespace names. */
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

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
/** Namespaces in XML's QName: no colon, or one with a name on each side (`<:a>`, `<a:b:c>` and `xmlns:` are not). */
const isQName = (name: string) => {
  const colon = name.indexOf(':');
  return colon < 0 || (colon > 0 && colon < name.length - 1 && name.indexOf(':', colon + 1) < 0);
};

/** The element one start tag opens, its namespaces resolved, and the scope its children read prefixes in. */
function openElement(
  qname: string,
  names: readonly string[],
  values: readonly string[],
  scope: Scope,
  budget: Budget,
): { element: XmlElement; inner: Scope } {
  let declaring = 0;
  for (const k of names) {
    if (!isQName(k)) throw new Error(`attribute ${k} is not a namespace-qualified name`);
    if (isDeclaration(k)) declaring++;
  }
  if (!isQName(qname)) throw new Error(`element ${qname} is not a namespace-qualified name`);
  if (declaring > MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT)
    throw new Error(`more than ${MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT} namespace declarations on one element`);
  if (names.length - declaring > MAX_ATTRIBUTES_PER_ELEMENT)
    throw new Error(`more than ${MAX_ATTRIBUTES_PER_ELEMENT} attributes on one element`);
  const decoded = values.map(decodeAttribute);
  // Only a binding that changes what a prefix means opens a scope and counts toward the message's cap.
  // Copying the scope per declaration made N declarations cost O(N²); a prototype chain costs O(N).
  let inner = scope;
  for (let i = 0; i < names.length && declaring > 0; i++) {
    const k = names[i]!;
    if (!isDeclaration(k)) continue;
    const prefix = k === 'xmlns' ? '' : k.slice(6);
    let v = decoded[i]!;
    // Namespaces in XML 1.0 §3: xmlns is never declared, xml only as its own namespace, and no
    // other prefix names either reserved namespace (review atk22b X1: `<xml:Flag xmlns:xml=FHIR>`).
    if (prefix === 'xmlns') throw new Error('the prefix xmlns declared');
    if ((prefix === 'xml') !== (v === XML_NS) || v === XMLNS_NS)
      throw new Error(`a reserved namespace prefix or name bound otherwise in ${k}`);
    if (budget.nearFhir && isNearFhir(v)) {
      budget.nearFhir.seen = true;
      v = FHIR_NS;
    }
    if (scope[prefix] === v) continue;
    if (++budget.declarations > MAX_NAMESPACE_DECLARATIONS)
      throw new Error(`more than ${MAX_NAMESPACE_DECLARATIONS} namespace declarations in the message`);
    // Namespaces in XML 1.0 forbids undeclaring a prefix.
    if (prefix !== '' && v === '') throw new Error(`namespace prefix ${prefix} bound to no namespace`);
    if (inner === scope) inner = Object.create(scope) as Scope;
    inner[prefix] = v;
  }
  // The root scope has no prototype, so `in` sees only declared prefixes (never `constructor` and the like).
  const attrs: Record<string, string> = {};
  // Expanded names of the prefixed attributes, made only for an element that has one.
  let expanded: Set<string> | undefined;
  for (let i = 0; i < names.length; i++) {
    const k = names[i]!;
    if (isDeclaration(k)) continue;
    const p = k.indexOf(':');
    const prefix = p >= 0 ? k.slice(0, p) : '';
    if (p >= 0 && prefix !== 'xml' && !(prefix in inner)) throw new Error(`undeclared namespace prefix in ${k}`);
    // A prefixed attribute is in a namespace, so never FHIR's unqualified `value`: it keeps its
    // qualified name, except that XML Schema's instance attributes are named `xsi:` whatever the
    // prefix (and another namespace's `xsi:` is not), so the validator can tell them by name.
    const ns = p >= 0 && prefix !== 'xml' ? inner[prefix] : undefined;
    const local = k.slice(p + 1);
    const key = ns === XSI ? `xsi:${local}` : k.startsWith('xsi:') ? `{${ns}}${local}` : k;
    // Two prefixes of one namespace name one attribute twice (Namespaces in XML §6.3); `__proto__`
    // cannot be held in a plain object (it would be dropped): neither is in a FHIR message.
    if (Object.hasOwn(attrs, key)) throw new Error(`attribute ${local} in one namespace written twice`);
    if (p >= 0) {
      const name = `{${ns ?? XML_NS}}${local}`;
      if (expanded?.has(name)) throw new Error(`attribute ${local} in one namespace written twice`);
      (expanded ??= new Set()).add(name);
    }
    if (key === '__proto__') throw new Error('an attribute named __proto__');
    attrs[key] = decoded[i]!;
  }
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  if (prefix && !(prefix in inner)) throw new Error(`undeclared namespace prefix ${prefix}`);
  const element: XmlElement = {
    name: colon < 0 ? qname : qname.slice(colon + 1),
    ns: inner[prefix] ?? '',
    attrs,
    children: [],
  };
  return { element, inner };
}

/** XML 1.0's Name production (start character, then name characters; U+10000 to U+EFFFF as surrogate pairs, never one alone), matched in place. */
const NAME =
  // eslint-disable-next-line no-misleading-character-class -- the production's ranges by code point (ZWNJ, ZWJ, combining marks), not characters joined
  /(?:[:A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD]|[\uD800-\uDB7F][\uDC00-\uDFFF])(?:[:A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD.0-9\u00B7\u0300-\u036F\u203F\u2040-]|[\uD800-\uDB7F][\uDC00-\uDFFF])*/y;
const SPACE = /[ \t\r\n]*/y;
/** Character data other than whitespace, as the reader it replaced flagged it (JavaScript's \s: a no-break space is none). */
const NOT_SPACE = /\S/g;
/** Outside the root only XML's whitespace may stand (a no-break space there is text, so not XML). */
const NOT_XML_SPACE = /[^ \t\r\n]/g;
/**
 * In character data `&` starts a reference, then `;`. Text is only flagged, never decoded, so the
 * rule is the reader's it replaced (fast-xml-parser's validator), never stricter: a word of up to 20
 * characters, or `#` and digits (`x` and hex digits), none at all included.
 */
const TEXT_REFERENCE = /&(?:\w{1,20}|#[0-9]*|#x[0-9a-fA-F]*);/y;
/**
 * Deeper than any FHIR message (about 10 levels; an XHTML narrative a few more): everything that
 * reads the tree after this walks it recursively.
 */
export const MAX_DEPTH = 256;

class NotWellFormed extends Error {}
function bad(message: string): never {
  throw new NotWellFormed(message);
}
const ONE_ROOT = 'expected exactly one root element';

/**
 * One pass from text to the element tree: well-formedness (names, quoted and unrepeated
 * attributes, matched end tags, one root, references in text), namespaces and the caps as the tree
 * is built. refusedUnparsed has already refused DOCTYPE and counted the elements. Comments and
 * processing instructions are dropped, character data only flagged. As lenient as the reader it
 * replaced (fast-xml-parser's validator and parser): text after the root element is ignored.
 */
function readTree(s: string, root: Scope, budget: Budget): XmlElement {
  const nameAt = (i: number): number => {
    NAME.lastIndex = i;
    return NAME.test(s) ? NAME.lastIndex : i;
  };
  const spaceAt = (i: number): number => {
    SPACE.lastIndex = i;
    SPACE.test(s);
    return SPACE.lastIndex;
  };
  type Open = { qname: string; element: XmlElement; scope: Scope };
  const open: Open[] = [];
  let top: XmlElement | undefined;
  const names: string[] = [];
  const values: string[] = [];
  // Where the next `&` is (none left: 2³² − 1, indexOf's −1 as unsigned).
  let amp = -1;
  // A string that starts with a BOM is read past it (decodeXml takes it off bytes; a caller's own string may keep it).
  let pos = s.charCodeAt(0) === 0xfeff ? 1 : 0;
  // The declaration, only at the very start (decodeXml took off leading whitespace).
  if (/^<\?xml[ \t\r\n?]/.test(pos ? s.slice(1, 7) : s.slice(0, 6))) {
    // Its content is decodeXml's business (the encoding): read past, however its pseudo-attributes are written.
    const end = s.indexOf('?>', pos + 5);
    if (end < 0) bad('an XML declaration never closed');
    pos = end + 2;
  }
  while (pos < s.length) {
    const lt = s.indexOf('<', pos);
    const textEnd = lt < 0 ? s.length : lt;
    if (textEnd > pos && open.length > 0) {
      NOT_SPACE.lastIndex = pos;
      if (NOT_SPACE.test(s) && NOT_SPACE.lastIndex <= textEnd) open[open.length - 1]!.element.text = true;
      // The next `&` is looked for once and kept past this stretch of text: looked for from every
      // stretch, it made the reader quadratic in the document.
      if (amp < pos) amp = s.indexOf('&', pos) >>> 0;
      for (; amp < textEnd; amp = s.indexOf('&', amp + 1) >>> 0) {
        TEXT_REFERENCE.lastIndex = amp;
        if (!TEXT_REFERENCE.test(s)) bad("a bare '&' in text");
      }
    } else if (textEnd > pos && !top) {
      NOT_XML_SPACE.lastIndex = pos;
      if (NOT_XML_SPACE.test(s) && NOT_XML_SPACE.lastIndex <= textEnd) bad('text before the root element');
    }
    if (lt < 0) break;
    const parent = open[open.length - 1];
    if (s.startsWith('<!--', lt)) {
      const end = s.indexOf('-->', lt + 4);
      if (end < 0) bad('a comment never closed');
      pos = end + 3;
    } else if (s.startsWith('<![CDATA[', lt)) {
      const end = s.indexOf(']]>', lt + 9);
      if (end < 0) bad('a CDATA section never closed');
      NOT_SPACE.lastIndex = lt + 9;
      if (parent && NOT_SPACE.test(s) && NOT_SPACE.lastIndex <= end) parent.element.text = true;
      pos = end + 3;
    } else if (s.startsWith('<?', lt)) {
      const end = s.indexOf('?>', lt + 2);
      if (end < 0) bad('a processing instruction never closed');
      // Read past whatever it holds (a target is XML's rule, not the old reader's), but a second declaration.
      if (!parent && s.slice(lt + 2, nameAt(lt + 2)) === 'xml') bad('an XML declaration not at the start');
      pos = end + 2;
    } else if (s[lt + 1] === '!') {
      bad("'<!' that opens no comment or CDATA section");
    } else if (s[lt + 1] === '/') {
      const end = nameAt(lt + 2);
      const qname = s.slice(lt + 2, end);
      const close = spaceAt(end);
      if (s[close] !== '>') bad(`end tag ${qname || '(no name)'} not closed by '>'`);
      if (!parent) bad(`end tag ${qname} with no element open`);
      if (parent.qname !== qname) bad(`end tag ${qname} where ${parent.qname} is open`);
      open.pop();
      pos = close + 1;
    } else {
      const nameEnd = nameAt(lt + 1);
      if (nameEnd === lt + 1) bad("'<' that opens no element");
      const qname = s.slice(lt + 1, nameEnd);
      names.length = 0;
      values.length = 0;
      let i = nameEnd;
      let selfClosing = false;
      for (;;) {
        const gap = spaceAt(i);
        const c = s[gap];
        if (c === '>') {
          i = gap + 1;
          break;
        }
        if (c === '/' && s[gap + 1] === '>') {
          selfClosing = true;
          i = gap + 2;
          break;
        }
        if (gap === i) bad(`start tag ${qname}: an attribute without space before it, or no end`);
        const attrEnd = nameAt(gap);
        if (attrEnd === gap) bad(`start tag ${qname}: not an attribute name`);
        const attr = s.slice(gap, attrEnd);
        const eq = spaceAt(attrEnd);
        if (s[eq] !== '=') bad(`attribute ${attr} without a value`);
        const q = spaceAt(eq + 1);
        const quote = s[q];
        if (quote !== '"' && quote !== "'") bad(`attribute ${attr} value not quoted`);
        const close = s.indexOf(quote!, q + 1);
        if (close < 0) bad(`attribute ${attr} value never closed`);
        if (names.includes(attr)) bad(`attribute ${attr} repeated`);
        names.push(attr);
        values.push(s.slice(q + 1, close));
        i = close + 1;
        // Past both caps, one is broken whatever follows: openElement names which, and the repeat
        // check above stays bounded (thousands of attributes in one tag made it quadratic).
        if (names.length > MAX_ATTRIBUTES_PER_ELEMENT + MAX_NAMESPACE_DECLARATIONS_PER_ELEMENT) break;
      }
      if (!parent && top) throw new Error(ONE_ROOT);
      const { element, inner } = openElement(qname, names, values, parent?.scope ?? root, budget);
      if (parent) parent.element.children.push(element);
      else top = element;
      if (!selfClosing) {
        if (open.length >= MAX_DEPTH) bad(`elements nested more than ${MAX_DEPTH} deep`);
        open.push({ qname, element, scope: inner });
      }
      pos = i;
    }
  }
  if (open.length > 0) bad(`element ${open[open.length - 1]!.qname} never closed`);
  if (!top) bad('no root element');
  return top!;
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
    // Only `<!` and `<?` can open what is not markup (the test, and its slice, once per element was a tenth of this scan's cost).
    const next = text[i + 1];
    const skipped = next === '!' || next === '?' ? NOT_MARKUP.find(([open]) => text.startsWith(open, i)) : undefined;
    if (skipped) {
      // Counted too: 40,000 `x<?a?>` are as many nodes for the parser as elements (issue 18 review F2).
      if (++elements > maxElements) return `more than ${maxElements} elements`;
      const end = text.indexOf(skipped[1], i + skipped[0].length);
      if (end < 0) return undefined;
      i = end + skipped[1].length - 1;
    } else if (next === '!' && /^<!(?:DOCTYPE|ENTITY)/i.test(text.slice(i, i + 9)))
      return 'DOCTYPE and entity declarations are not accepted';
    // Anything else but `</` and `<!` opens an element.
    else if (next !== '/' && next !== '!') {
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
  // A lone surrogate is no XML Char either (§2.2), however it came: refused written as itself as
  // its reference is (review atk22b X4).
  if (ILLEGAL_CHAR.test(text) || !(text as string & { isWellFormed(): boolean }).isWellFormed())
    return fail('a character XML does not allow');
  try {
    const budget: Budget = { declarations: 0, ...(nearFhir && { nearFhir: { seen: false } }) };
    // XML 1.0 §2.11: a line ends in LF, whatever the writer wrote (CR LF, CR), as the reader it
    // replaced read it: a CR LF kept in a value put three characters between an NHS number's digit
    // groups, where the safety core looks for two (issue 22 review).
    const lines = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
    const value = readTree(lines, Object.create(null) as Scope, budget);
    return { ok: true, value, ...(budget.nearFhir?.seen && { nearFhir: true as const }) };
  } catch (e) {
    const message = (e as Error).message;
    return fail(message === ONE_ROOT ? message : `not well-formed XML: ${message}`);
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
  if (attrs)
    for (const k in attrs) {
      if (k === 'xmlns' || !Object.hasOwn(attrs, k)) continue;
      // Assigned, `__proto__` would set the prototype and vanish from what the validator checks (review atk22 F2).
      if (k === '__proto__') Object.defineProperty(rest, k, { value: attrs[k], enumerable: true, writable: true });
      else rest[k] = attrs[k]!;
    }
  const nodes = node[2] ?? NO_NODES;
  let count = 0;
  for (const c of nodes) if (c !== undefined) count++;
  const children = new Array<XmlElement>(count);
  count = 0;
  for (const c of nodes) if (c !== undefined) children[count++] = nodeToElement(c, own);
  return { name: node[0], ns: own, attrs: rest, children };
}
