import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  jsonStructureRefusal,
  MAX_JSON_CONTAINERS,
  MAX_JSON_DEPTH,
  MAX_JSON_VALUES,
  parseBoundedJson,
} from './bounded-json.ts';

describe('bounded JSON (issue 21: structure, not only bytes)', () => {
  it('counts objects and arrays: at the bound parsed, one more refused', () => {
    const objects = (n: number) => `[${Array.from({ length: n - 1 }, () => '{}').join(',')}]`;
    assert.equal(jsonStructureRefusal(objects(MAX_JSON_CONTAINERS)), undefined);
    assert.match(jsonStructureRefusal(objects(MAX_JSON_CONTAINERS + 1)) ?? '', /more than 2000 JSON objects/);
    assert.equal(parseBoundedJson(objects(MAX_JSON_CONTAINERS + 1)), undefined);
    assert.equal((parseBoundedJson(objects(MAX_JSON_CONTAINERS)) as unknown[]).length, MAX_JSON_CONTAINERS - 1);
  });
  it('bounds depth, and a closed container gives its depth back', () => {
    const nested = (d: number) => '['.repeat(d) + ']'.repeat(d);
    assert.equal(jsonStructureRefusal(nested(MAX_JSON_DEPTH)), undefined);
    assert.match(jsonStructureRefusal(nested(MAX_JSON_DEPTH + 1)) ?? '', /nested deeper than 64/);
    assert.equal(
      jsonStructureRefusal(
        Array.from({ length: 100 }, () => nested(10))
          .join(',')
          .replace(/^/, '[') + ']',
      ),
      undefined,
    );
  });
  it('brackets inside strings are text, escaped quotes included', () => {
    const s = JSON.stringify({ div: '{'.repeat(5000) + '\\"[' + '['.repeat(5000), note: 'a\\' });
    assert.equal(jsonStructureRefusal(s), undefined);
    assert.deepEqual(Object.keys(parseBoundedJson(s) as object), ['div', 'note']);
  });
  it('counts members and elements: one object of many keys or one long array is refused past the bound (review 21b H1)', () => {
    const keys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":1`).join(',')}}`;
    const elements = (n: number) => `[${Array.from({ length: n }, () => '1').join(',')}]`;
    assert.equal(jsonStructureRefusal(keys(MAX_JSON_VALUES)), undefined);
    assert.equal(jsonStructureRefusal(elements(MAX_JSON_VALUES)), undefined);
    assert.match(jsonStructureRefusal(keys(MAX_JSON_VALUES + 1)) ?? '', /more than 5000 JSON members and elements/);
    assert.equal(parseBoundedJson(elements(MAX_JSON_VALUES + 1)), undefined);
    // Commas inside strings are text.
    assert.equal(jsonStructureRefusal(JSON.stringify({ a: ','.repeat(3 * MAX_JSON_VALUES) })), undefined);
  });
  it('malformed JSON is undefined, never a throw', () => {
    for (const bad of ['', '{', '{"a":}', 'undefined', '[1,]']) assert.equal(parseBoundedJson(bad), undefined, bad);
  });
});
