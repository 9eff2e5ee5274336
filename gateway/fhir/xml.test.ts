import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_XML_BYTES, parseXml, writeXml } from './xml.ts';
import { parseQueryBundle } from './query-bundle.ts';
import { example } from '../../test/helpers/fhir-fixtures.ts';

const BOMB = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<Bundle><id value="&lol9;"/></Bundle>`;
const XXE = `<?xml version="1.0"?><!DOCTYPE b [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Bundle><id value="&xxe;"/></Bundle>`;

for (const [name, xml] of [['an entity bomb', BOMB], ['an external entity (XXE)', XXE], ['a lower-case doctype', '<!doctype x><Bundle/>']] as const) {
  test(`refuses ${name} before parsing, and the process carries on`, () => {
    const started = performance.now();
    const r = parseXml(xml);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.kind, 'not-well-formed');
    assert.match(!r.ok ? r.error.message : '', /DOCTYPE/);
    assert.ok(performance.now() - started < 1000);
    assert.equal(parseQueryBundle(example('query-request-2-0')).ok, true);
  });
}

test('refuses a message over the size cap without parsing it', () => {
  const huge = `<Bundle><id value="${'x'.repeat(MAX_XML_BYTES)}"/></Bundle>`;
  const r = parseXml(huge);
  assert.equal(!r.ok && r.error.kind, 'not-well-formed');
  assert.match(!r.ok ? r.error.message : '', /larger than/);
  // multi-byte characters count as bytes, not UTF-16 units
  const wide = `<Bundle><id value="${'é'.repeat(MAX_XML_BYTES / 2)}"/></Bundle>`;
  assert.equal(parseXml(wide).ok, false);
});

for (const [name, text] of [
  ['unclosed tags', '<Bundle><id value="x"></Bundle>'],
  ['two roots', '<Bundle/><Bundle/>'],
  ['plain text', 'hello'],
  ['an empty body', ''],
  ['JSON', '{"resourceType":"Bundle"}'],
] as const) {
  test(`MESSAGE_NOT_WELL_FORMED: ${name} is not-well-formed, never a throw`, () => {
    const r = parseXml(text);
    assert.equal(!r.ok && r.error.kind, 'not-well-formed');
  });
}

test('decodes the predefined and numeric character references exactly once', () => {
  const r = parseXml('<a v="&lt;&amp;&gt;&quot;&apos;&#65;&#x42;&amp;#67;"/>');
  assert.ok(r.ok);
  assert.equal(r.value.attrs.v, `<&>"'AB&#67;`);
});

test('resolves default and prefixed namespaces', () => {
  const r = parseXml('<f:a xmlns:f="urn:x"><b/><f:c xmlns="urn:y"><d/></f:c></f:a>');
  assert.ok(r.ok);
  const [b, c] = r.value.children;
  assert.deepEqual([r.value.ns, b!.ns, c!.ns, c!.children[0]!.ns], ['urn:x', '', 'urn:x', 'urn:y']);
});

test('the writer escapes every attribute value', () => {
  const xml = writeXml(['a', { v: `"<&'>` }]);
  assert.equal(xml, '<a v="&quot;&lt;&amp;&apos;&gt;"/>');
  const r = parseXml(xml);
  assert.ok(r.ok);
  assert.equal(r.value.attrs.v, `"<&'>`);
});
