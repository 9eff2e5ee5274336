/**
 * @module gateway/fhir/attack22b-xml.test
 * Hostile review 22b of issue 22's one-pass reader (parseXml, readTree) against a namespace-aware
 * conformant parser (expat 2.5, python3's xml.parsers.expat with a namespace separator, run on
 * the same strings when this was written). Each test failed on main at 761c75e. All low: the
 * reader accepted messages a conformant parser refuses; none of them hid an indicator. (X3, literal
 * whitespace in attribute values kept rather than read as spaces by XML 1.0 §3.3.3, is kept on
 * purpose: the safety core was reviewed on values as written, and reads them trimmed and by \s.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FHIR_NS } from './constants.ts';
import { parseXml } from './xml.ts';

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

describe('parseXml against XML 1.0 and Namespaces in XML 1.0 (hostile review 22b)', () => {
  // Namespaces in XML 1.0 §3 (reserved prefixes and namespace names): "The prefix xml … MUST NOT
  // be bound to any other namespace name", "The prefix xmlns … MUST NOT be declared", and "Other
  // prefixes MUST NOT be bound to these namespace names". expat refuses each; the reader reads a
  // FHIR Flag out of the first two.
  it('MESSAGE_NOT_WELL_FORMED X1 the prefix xml bound to FHIR is refused (not read as a FHIR Flag)', () => {
    const r = parseXml(`<Bundle xmlns="${FHIR_NS}"><xml:Flag xmlns:xml="${FHIR_NS}"/></Bundle>`);
    assert.equal(r.ok, false, r.ok ? `read as ${JSON.stringify(r.value.children[0])}` : '');
  });

  it('MESSAGE_NOT_WELL_FORMED X1 the prefix xmlns declared is refused', () => {
    const r = parseXml(`<Bundle xmlns="${FHIR_NS}"><xmlns:Flag xmlns:xmlns="${FHIR_NS}"/></Bundle>`);
    assert.equal(r.ok, false, r.ok ? `read as ${JSON.stringify(r.value.children[0])}` : '');
  });

  it('MESSAGE_NOT_WELL_FORMED X1 a prefix, or the default namespace, bound to a reserved namespace name is refused', () => {
    assert.equal(parseXml(`<Bundle xmlns="${FHIR_NS}" xmlns:f="${XML_NS}"/>`).ok, false);
    assert.equal(parseXml(`<Bundle xmlns="${XMLNS_NS}"/>`).ok, false);
  });

  // §6.3: no element may have two attributes with the same expanded name. The attack-22 F4 fix
  // refuses it for XML Schema's instance namespace only (attributes keyed xsi:…); any other
  // namespace keeps both under their prefixed names.
  it('MESSAGE_NOT_WELL_FORMED X2 one expanded attribute name under two prefixes of any namespace is refused', () => {
    const r = parseXml(`<Bundle xmlns="${FHIR_NS}" xmlns:a="urn:x" xmlns:b="urn:x" a:v="1" b:v="2"/>`);
    assert.equal(r.ok, false, r.ok ? `read as ${JSON.stringify(r.value.attrs)}` : '');
  });

  // XML 1.0 §2.2: a surrogate code point is no Char. decodeXml's UTF-16 reading keeps a lone one
  // (utf16le does not replace it), the reader refuses it in a name and as &#xD800;, but not
  // written literally in a value or in text: one message, two verdicts by spelling.
  it('MESSAGE_NOT_WELL_FORMED X4 a lone surrogate in an attribute value or in text is refused, as its character reference is', () => {
    assert.equal(parseXml(`<Bundle xmlns="${FHIR_NS}"><code value="&#xD800;"/></Bundle>`).ok, false, 'control');
    assert.equal(parseXml(`<Bundle xmlns="${FHIR_NS}"><code value="FGM\uD800"/></Bundle>`).ok, false);
    assert.equal(parseXml(`<Bundle xmlns="${FHIR_NS}"><code>\uDC00</code></Bundle>`).ok, false);
  });
});
