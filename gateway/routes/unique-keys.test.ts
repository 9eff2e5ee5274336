/**
 * Duplicate keys in a JSON text (RFC 8259 §4: names within an object SHOULD be unique). Oracles
 * hand-written: which texts name a key twice in one object, keys compared as JSON reads them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasDuplicateKey } from './unique-keys.ts';

describe('hasDuplicateKey', () => {
  test('SMSP-VAL-001 SMSP-ERR-006 a key twice in one object, at any depth and however escaped, is found', () => {
    for (const text of [
      '{"nhsNumber":"9990000042","birthDate":"2016-01-02","nhsNumber":"9990000026"}',
      '{"a":1,"a":1}',
      '{"x":{"a":1,"b":2,"a":3}}',
      '[{"a":1},{"b":[{"c":1,"c":2}]}]',
      '{"\\u006ehsNumber":"9990000042","nhsNumber":"9990000026"}',
      '{"a\\"b":1,"a\\u0022b":2}',
      '{"a":{},"a":[]}',
      '{ "a" : 1 ,\n "a" : 2 }',
    ])
      assert.equal(hasDuplicateKey(text), true, text);
  });
  test('SMSP-VAL-001 distinct keys, the same key in sibling objects, and keys written as values are no duplicate', () => {
    for (const text of [
      '{"nhsNumber":"9990000042","birthDate":"2016-01-02"}',
      '{"a":{"a":{"a":1}}}',
      '[{"a":1},{"a":2}]',
      '{"a":"a","b":"a"}',
      '["a","a"]',
      '{"a":["b","b"],"b":{}}',
      '{"a":{},"b":[{}],"c":1}',
      '{"a\\\\":1,"a":2}',
      '{"key with , and : and { inside":1,"key":2}',
      '"a"',
      '{}',
    ])
      assert.equal(hasDuplicateKey(text), false, text);
  });
});
