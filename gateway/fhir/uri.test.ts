/** RFC 3986 equivalence of system URIs (hand-written: scheme and host case-insensitive, path case-sensitive). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sameUri } from './uri.ts';

test('SMSP-VAL-004 system URIs: scheme, host and URN namespace in any case, a trailing slash ignored; the path keeps its case', () => {
  assert.ok(sameUri('HTTP://FHIR.NHS.NET/Id/nhs-number/', 'http://fhir.nhs.net/Id/nhs-number'));
  assert.ok(sameUri('https://fhir.nhs.uk/Id/nhs-number', 'https://fhir.nhs.uk/Id/nhs-number'));
  assert.ok(sameUri('URN:ietf:rfc:3986', 'urn:ietf:rfc:3986'));
  assert.ok(!sameUri('http://fhir.nhs.net/id/NHS-NUMBER', 'http://fhir.nhs.net/Id/nhs-number'));
  assert.ok(!sameUri('https://fhir.nhs.net/Id/nhs-number', 'http://fhir.nhs.net/Id/nhs-number'), 'another scheme');
  assert.ok(!sameUri(undefined, 'http://fhir.nhs.net/Id/nhs-number'));
  assert.ok(!sameUri('http://fhir.nhs.net.example/Id/nhs-number', 'http://fhir.nhs.net/Id/nhs-number'));
});
