import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_XML_BYTES, parseXml, writeXml } from './xml.ts';
import { parseQueryBundle } from './query-bundle.ts';
import { example, without } from '../../test/helpers/fhir-fixtures.ts';

const BOMB = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<Bundle><id value="&lol9;"/></Bundle>`;
const XXE = `<?xml version="1.0"?><!DOCTYPE b [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Bundle><id value="&xxe;"/></Bundle>`;

for (const [name, xml] of [
  ['an entity bomb', BOMB],
  ['an external entity (XXE)', XXE],
  ['a lower-case doctype', '<!doctype x><Bundle/>'],
] as const) {
  test(`refuses ${name} before parsing, and the process carries on`, () => {
    const started = performance.now();
    const r = parseXml(xml);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.kind, 'not-well-formed');
    assert.match(!r.ok ? r.error.message : '', /DOCTYPE/);
    assert.ok(performance.now() - started < 1000);
    assert.equal(parseQueryBundle(without(example('query-request-2-0'), 'MessageHeader.author.display')).ok, true);
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
  assert.equal(parseQueryBundle(without(example('query-request-2-0'), 'MessageHeader.author.display')).ok, true);
});

test('a smaller cap can be passed in', () => {
  assert.equal(parseXml('<a v="12345"/>', { maxBytes: 10 }).ok, false);
  assert.equal(parseXml('<a v="1"/>', { maxBytes: 10 }).ok, true);
});

for (const [name, text] of [
  ['unclosed tags', '<Bundle><id value="x"></Bundle>'],
  ['two roots', '<Bundle/><Bundle/>'],
  ['plain text', 'hello'],
  ['an empty body', ''],
  ['JSON', '{"resourceType":"Bundle"}'],
  ['an undefined entity', '<a v="&nbsp;"/>'],
  ['a bare ampersand', '<a v="R&D"/>'],
  ["a '<' in an attribute value", '<a v="a<b"/>'],
  ['a reference to U+0000', '<a v="&#0;"/>'],
  ['a raw control character', '<a v="\u0001"/>'],
  ['an undeclared element prefix', '<f:Bundle/>'],
  ['an undeclared attribute prefix', '<a x:v="1"/>'],
  ['a prefix bound to no namespace', '<f:a xmlns:f=""/>'],
  ['nesting deeper than any FHIR message', `${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}`],
] as const) {
  test(`MESSAGE_NOT_WELL_FORMED: ${name} is not-well-formed, never a throw`, () => {
    const r = parseXml(text);
    assert.equal(!r.ok && r.error.kind, 'not-well-formed');
  });
}

test('parser messages stay short enough to log', () => {
  const r = parseXml(`<Bundle>${'<entry>'.repeat(3000)}`);
  assert.equal(!r.ok && r.error.kind, 'not-well-formed');
  assert.ok(!r.ok && r.error.message.length <= 200);
});

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

test('a prefixed attribute is not the FHIR value attribute, whatever the order', () => {
  for (const xml of [
    '<id value="a" x:value="b" xmlns:x="urn:other"/>',
    '<id x:value="b" xmlns:x="urn:other" value="a"/>',
  ]) {
    const r = parseXml(xml);
    assert.ok(r.ok);
    assert.equal(r.value.attrs.value, 'a');
  }
});

test('values are kept exactly as written: no number parsing, no trimming', () => {
  const r = parseXml('<a n="0012" s="  x " e="1e3" b="true"/>');
  assert.ok(r.ok);
  assert.deepEqual(r.value.attrs, { n: '0012', s: '  x ', e: '1e3', b: 'true' });
});

const declaring = (n: number) => Array.from({ length: n }, (_, i) => ` xmlns:p${i}="urn:p${i}"`).join('');
for (const [name, xml, cause] of [
  [
    'too many namespace declarations on one element',
    `<Bundle${declaring(9)}/>`,
    /namespace declarations on one element/,
  ],
  [
    'too many namespace declarations in one message',
    `<Bundle>${Array.from({ length: 9 }, () => `<entry${declaring(8)}/>`).join('')}</Bundle>`,
    /namespace declarations in the message/,
  ],
  [
    'too many attributes on one element',
    `<Bundle${Array.from({ length: 17 }, (_, i) => ` a${i}="u"`).join('')}/>`,
    /attributes on one element/,
  ],
] as const) {
  test(`MESSAGE_NOT_WELL_FORMED: ${name} is refused, so declarations cannot make parsing quadratic`, () => {
    const r = parseXml(xml);
    assert.equal(!r.ok && r.error.kind, 'not-well-formed');
    assert.match(!r.ok ? r.error.message : '', cause);
  });
}

test('declarations up to the caps are read, and an inherited prefix resolves through nested scopes', () => {
  const r = parseXml(`<f:a xmlns:f="urn:x"${declaring(7)}><p0:b xmlns="urn:y"${declaring(7)}><f:c/><d/></p0:b></f:a>`);
  assert.ok(r.ok);
  const b = r.value.children[0]!;
  assert.deepEqual([r.value.ns, b.ns, b.children[0]!.ns, b.children[1]!.ns], ['urn:x', 'urn:p0', 'urn:x', 'urn:y']);
});

test('MESSAGE_NOT_WELL_FORMED: a prefix named like an Object property is undeclared unless declared', () => {
  for (const xml of ['<constructor:a/>', '<a toString:v="1"/>', '<__proto__:a/>']) {
    const r = parseXml(xml);
    assert.equal(!r.ok && r.error.kind, 'not-well-formed', xml);
  }
});

test('MESSAGE_NOT_WELL_FORMED: DOCTYPE or ENTITY quoted in a comment, CDATA or processing instruction is text, and the message is read', () => {
  for (const xml of [
    '<Bundle><!-- <!DOCTYPE x> --><id value="a"/></Bundle>',
    '<!-- <!ENTITY e "x"> --><Bundle/>',
    '<Bundle><div><![CDATA[ <!DOCTYPE html> ]]></div></Bundle>',
    '<?note <!DOCTYPE x> ?><Bundle/>',
  ])
    assert.equal(parseXml(xml).ok, true, xml);
});

for (const [name, xml] of [
  ['a DOCTYPE after a closed comment', '<!-- c --><!DOCTYPE b [<!ENTITY e "x">]><Bundle><id value="&e;"/></Bundle>'],
  ['a DOCTYPE after a CDATA-looking comment', '<!-- <![CDATA[ --><!DOCTYPE b><Bundle/>'],
  ['a DOCTYPE inside a comment never closed', '<!-- <!DOCTYPE b [<!ENTITY e "x">]><Bundle/>'],
  ['a DOCTYPE after a comment opened in an attribute value', '<Bundle v="<!--"/><!DOCTYPE b>-->'],
] as const) {
  test(`MESSAGE_NOT_WELL_FORMED: ${name} is refused`, () => {
    const r = parseXml(xml);
    assert.equal(!r.ok && r.error.kind, 'not-well-formed');
  });
}

test('MESSAGE_NOT_WELL_FORMED: thousands of unclosed comment and CDATA openings are refused, not scanned once each', () => {
  for (const open of ['<!--', '<![CDATA[', '<?', '<'])
    assert.equal(parseXml(`<Bundle>${open.repeat(MAX_XML_BYTES / open.length / 2)}`).ok, false, open);
});
