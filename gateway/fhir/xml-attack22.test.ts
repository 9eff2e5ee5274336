/**
 * Hostile review of issue 22's writeXml/nodeToElement rewrite: the tree checked before sending
 * must hold every attribute writeXml writes (it failed before nodeToElement copied as e7d1a08 did).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeToElement, writeXml, type XmlNode } from './xml.ts';

describe('nodeToElement against writeXml (attack 22)', () => {
  it('an own "__proto__" attribute (attrs from JSON.parse, say) is in the checked tree as in the XML sent', () => {
    const node: XmlNode = ['code', JSON.parse('{"value":"FGM","__proto__":"x"}') as Record<string, string>];
    assert.equal(writeXml(node), '<code value="FGM" __proto__="x"/>');
    // e7d1a08's rest spread defined the key; rest[k] = v calls Object.prototype's __proto__ setter instead.
    assert.deepEqual(Object.keys(nodeToElement(node).attrs), ['value', '__proto__']);
  });
});
