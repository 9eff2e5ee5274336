import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildQueryBundle, parseQueryBundle } from './query-bundle.ts';
import { example, variants, without, withValue, duplicated } from '../../test/helpers/fhir-fixtures.ts';
import type { QueryInput } from './types.ts';

const SPEC_REQUEST = example('query-request-2-0');
/** The spec's example request as its profile allows it: MessageHeader.author.display is max 0 (docs/simulator.md, "Profiles over examples"). */
const REQUEST = without(SPEC_REQUEST, 'MessageHeader.author.display');

const EXPECTED_EXAMPLE = {
  bundleId: '13daadee-26e1-4d6a-9e6a-7f4af9b58870',
  messageId: '14daadee-26e1-4d6a-9e6a-7f4af9b58870',
  timestamp: '2015-07-04T09:10:13+00:00',
  sourceAsid: '047192794540',
  destinationAsid: '990101234567',
  sourceName: 'Standon NHS Trust',
  riskIndicator: 'FGM',
  nhsNumber: '9999999999',
  author: { kind: 'local', localId: '12456' },
  organization: { odsCode: 'SDT', name: 'Standon NHS Trust ' },
};

describe('FGMQuery_2_0 request: the spec example', () => {
  test('SMSP-VAL-001 as published, it is refused for MessageHeader.author.display (max 0 in spine-request-messageheader-2-0)', () => {
    const r = parseQueryBundle(SPEC_REQUEST);
    assert.deepEqual(!r.ok && r.error, {
      kind: 'invalid',
      element: 'MessageHeader.author.display',
      message: 'is not allowed (max 0)',
    });
  });
  for (const [form, xml] of Object.entries(variants(REQUEST))) {
    test(`SMSP-VAL-001 parses and validates (${form})`, () => {
      assert.deepEqual(parseQueryBundle(xml), { ok: true, value: EXPECTED_EXAMPLE });
    });
  }
});

// Every min-1 element of the request profiles (profiles-digest.txt), removed one at a time.
// The left column is what we remove; the right is the element the error must name.
const REQUIRED: [remove: string, named: string][] = [
  ['Bundle.type', 'Bundle.type'],
  ['Bundle.entry', 'Bundle.entry'],
  ['MessageHeader.id', 'MessageHeader.id'],
  ['MessageHeader.timestamp', 'MessageHeader.timestamp'],
  ['MessageHeader.event', 'MessageHeader.event'],
  ['MessageHeader.event.system', 'MessageHeader.event.system'],
  ['MessageHeader.event.code', 'MessageHeader.event.code'],
  ['MessageHeader.source', 'MessageHeader.source'],
  ['MessageHeader.source.contact.system', 'MessageHeader.source.contact.system'],
  ['MessageHeader.source.endpoint', 'MessageHeader.source.endpoint'],
  ['MessageHeader.destination', 'MessageHeader.destination'],
  ['MessageHeader.destination.endpoint', 'MessageHeader.destination.endpoint'],
  ['MessageHeader.author', 'MessageHeader.author'],
  ['MessageHeader.author.reference', 'MessageHeader.author.reference'],
  ['Parameters.parameter[0]', 'Parameters.parameter[RiskIndicator]'],
  ['Parameters.parameter[1]', 'Parameters.parameter[NHSNumber]'],
  ['Parameters.parameter[0].name', 'Parameters.parameter.name'],
  ['Parameters.parameter[1].valueString', 'Parameters.parameter[NHSNumber].valueString'],
  ['Practitioner.identifier.system', 'Practitioner.identifier.system'],
  ['Practitioner.identifier.value', 'Practitioner.identifier.value'],
  ['Practitioner.practitionerRole.managingOrganization', 'Practitioner.practitionerRole.managingOrganization'],
  [
    'Practitioner.practitionerRole.managingOrganization.reference',
    'Practitioner.practitionerRole.managingOrganization.reference',
  ],
  ['Organization.identifier', 'Organization.identifier'],
  ['Organization.identifier.system', 'Organization.identifier.system'],
  ['Organization.identifier.value', 'Organization.identifier.value'],
  ['Organization.name', 'Organization.name'],
];

describe('FGMQuery_2_0 request: each required element', () => {
  for (const [remove, named] of REQUIRED) {
    test(`SMSP-VAL-003 a request without ${remove} is refused naming ${named}`, () => {
      const r = parseQueryBundle(without(REQUEST, remove));
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.error.kind, 'invalid');
      assert.equal(!r.ok && r.error.element, named, !r.ok ? r.error.message : '');
    });
  }

  test('the table covers every min-1 line of the request profiles in the digest', () => {
    const digest = readFileSync(new URL('../../test/spec/profiles-digest.txt', import.meta.url), 'utf8');
    const sections = digest
      .split('\n== ')
      .filter((s) =>
        /^Spine-(Request-MessageHeader-2-0|RIS-Parameters-1-0|Practitioner-2-0|Organization-1-0|Message-Bundle-1-0)\.xml/.test(
          s,
        ),
      );
    const required = sections.flatMap((s) =>
      s.split('\n').flatMap((l) => {
        const m = /^\s+([\w.[\]x]+)(?: \[[^\]]+\])?\s+1\.\./.exec(l);
        return m ? [m[1]!] : [];
      }),
    );
    // Whole resources and slices that are optional as a whole are checked through their children.
    const viaChildren = new Set([
      'Parameters',
      'Practitioner',
      'MessageHeader',
      'Bundle',
      'Parameters.parameter',
      'Practitioner.identifier',
      // Bundle.signature is not used in FGM-IS messages; who[x] is only required inside one.
      'Bundle.signature.who[x]',
      // role is optional; its coding rules are checked when present (see the fixed-value tests).
      'Practitioner.practitionerRole.role.coding',
      'Practitioner.practitionerRole.role.coding.system',
    ]);
    const covered = new Set(REQUIRED.map(([, named]) => named.replace(/\[\w+\]/g, '')));
    const missing = [...new Set(required)].filter((p) => !viaChildren.has(p) && !covered.has(p));
    assert.deepEqual(missing, []);
  });
});

describe('FGMQuery_2_0 request: fixed values, cardinality, references', () => {
  const cases: [string, string, string, string][] = [
    ['Bundle.type', 'batch', 'Bundle.type', 'fixed code message'],
    [
      'MessageHeader.event.code',
      'urn:nhs:names:services:clinicals-sync:FGMQueryResponse_2_0',
      'MessageHeader.event.code',
      'the query event',
    ],
    ['MessageHeader.event.system', 'http://example.org', 'MessageHeader.event.system', 'the event system'],
    [
      'Parameters.parameter[0].valueString',
      'XYZ',
      'Parameters.parameter[RiskIndicator].valueString',
      'risk indicator FGM',
    ],
    ['MessageHeader.timestamp', '2015-07-04T09:10:13', 'MessageHeader.timestamp', 'an instant needs a zone'],
    ['MessageHeader.source.endpoint', '047192794540', 'MessageHeader.source.endpoint', 'an ASID urn'],
    [
      'MessageHeader.author.reference',
      'Practitioner/nope',
      'MessageHeader.author.reference',
      'a reference inside the bundle',
    ],
    [
      'MessageHeader.data.reference',
      'Practitioner/41fe704c-18e5-11e5-b60b-1697f925ec7b',
      'MessageHeader.data.reference',
      'data pointing at the wrong type',
    ],
    [
      'Practitioner.practitionerRole.managingOrganization.reference',
      'Organization/x',
      'Practitioner.practitionerRole.managingOrganization.reference',
      'a dangling organisation',
    ],
  ];
  for (const [path, bad, named, what] of cases) {
    test(`SMSP-VAL-003 ${what}: a wrong ${path} is refused by name`, () => {
      const r = parseQueryBundle(withValue(REQUEST, path, bad));
      assert.equal(!r.ok && r.error.element, named);
    });
  }
  for (const path of [
    'MessageHeader.timestamp',
    'MessageHeader.event',
    'Bundle.type',
    'Organization.name',
    'MessageHeader.destination',
  ]) {
    test(`SMSP-VAL-003 a duplicated 1..1 ${path} is refused by name`, () => {
      const r = parseQueryBundle(duplicated(REQUEST, path));
      assert.equal(!r.ok && r.error.element, path);
    });
  }
  test('SMSP-VAL-003 a duplicated NHSNumber parameter is refused', () => {
    const r = parseQueryBundle(duplicated(REQUEST, 'Parameters.parameter[1]'));
    assert.equal(!r.ok && r.error.element, 'Parameters.parameter[NHSNumber]');
  });
  test('SMSP-VAL-001 an attribute in a foreign namespace cannot stand in for the NHS number: FHIR XML does not allow it, so the message is refused', () => {
    const spoofed = REQUEST.replace(
      '<valueString value="9999999999"/>',
      '<valueString value="9999999999" x:value="9990000018" xmlns:x="urn:other"/>',
    );
    assert.notEqual(spoofed, REQUEST);
    const r = parseQueryBundle(spoofed);
    assert.deepEqual(r.ok ? r.value.nhsNumber : r.error.kind, 'invalid');
  });
  test('MESSAGE_NOT_WELL_FORMED a prefix with no namespace declaration is refused, not read as FHIR', () => {
    const r = parseQueryBundle(REQUEST.replace(/<(\/?)Bundle>/g, '<$1f:Bundle>'));
    assert.equal(!r.ok && r.error.kind, 'not-well-formed');
  });
  test('an element in a foreign namespace is not a FHIR element', () => {
    const foreign = REQUEST.replace('<timestamp value=', '<timestamp xmlns="urn:other" value=');
    const r = parseQueryBundle(foreign);
    assert.equal(!r.ok && r.error.element, 'MessageHeader.timestamp');
  });
});

describe('FGMQuery_2_0 request: building', () => {
  const base = {
    nhsNumber: '9990000018',
    sourceAsid: '200000000111',
    destinationAsid: '990101234567',
    organization: { odsCode: 'RX1', name: 'Demo Maternity NHS Trust' },
  };
  const authors: QueryInput['author'][] = [
    { kind: 'sds', userId: '555021935107', roleProfileId: '555021936108' },
    { kind: 'local', localId: 'ajones', name: 'Alex Jones' },
  ];
  const unnamed = ({ name: _, ...rest }: QueryInput['author']) => rest;
  for (const author of authors) {
    test(`SMSP-FGMRI-00${author.kind === 'sds' ? 5 : 6} a ${author.kind} author's request validates and reads back as given, without the name`, () => {
      const timestamp = new Date('2026-11-24T10:11:12.345Z');
      const { xml, messageId, bundleId } = buildQueryBundle({ ...base, author, timestamp, messageId: 'msg-1' });
      assert.equal(messageId, 'msg-1');
      const r = parseQueryBundle(xml);
      assert.deepEqual(r, {
        ok: true,
        value: {
          bundleId,
          messageId: 'msg-1',
          timestamp: '2026-11-24T10:11:12.345Z',
          sourceAsid: base.sourceAsid,
          destinationAsid: base.destinationAsid,
          riskIndicator: 'FGM',
          nhsNumber: base.nhsNumber,
          author: unnamed(author),
          organization: base.organization,
        },
      });
      // Practitioner.name and MessageHeader.author.display are max 0 (spine-practitioner-2-0, spine-request-messageheader-2-0).
      assert.doesNotMatch(xml, /Alex Jones|<display|<name><text/);
      assert.match(xml, /^<Bundle xmlns="http:\/\/hl7.org\/fhir">/);
    });
  }

  test('fresh IDs for every message', () => {
    const a = buildQueryBundle({ ...base, author: authors[0]! });
    const b = buildQueryBundle({ ...base, author: authors[0]! });
    assert.notEqual(a.messageId, b.messageId);
    assert.notEqual(a.bundleId, b.bundleId);
  });

  test('hostile characters in names and IDs cannot break the XML', () => {
    const hostile = `"/><Bundle>&amp;<'x'>]]>&#0;\u0001`;
    const { xml } = buildQueryBundle({
      ...base,
      sourceName: hostile,
      organization: { odsCode: `R"<&'>`, name: hostile },
      author: { kind: 'local', localId: hostile },
    });
    const r = parseQueryBundle(xml);
    assert.equal(r.ok, true, !r.ok ? r.error.message : '');
    assert.ok(r.ok);
    assert.equal(r.value.sourceName, `"/><Bundle>&amp;<'x'>]]>&#0;`);
    assert.equal(r.value.organization?.odsCode, `R"<&'>`);
    assert.equal(r.value.organization?.name, `"/><Bundle>&amp;<'x'>]]>&#0;`); // XML cannot carry U+0001: dropped
    assert.deepEqual(r.value.author, { kind: 'local', localId: `"/><Bundle>&amp;<'x'>]]>&#0;` });
  });

  test('SMSP-VAL-001 a MessageHeader.id that is not a FHIR id is refused: the answer would echo it', () => {
    for (const id of [`m"<&'>`, 'a b', 'x'.repeat(65)]) {
      const r = parseQueryBundle(buildQueryBundle({ ...base, author: authors[0]!, messageId: id }).xml);
      assert.equal(!r.ok && r.error.element, 'MessageHeader.id', id);
    }
  });

  test('values are kept as strings, exactly as written', () => {
    const { xml } = buildQueryBundle({
      ...base,
      nhsNumber: '0012000000',
      author: authors[1]!,
      organization: { odsCode: '0012', name: ' 1e3 ' },
    });
    const r = parseQueryBundle(xml);
    assert.ok(r.ok);
    assert.equal(r.value.nhsNumber, '0012000000');
    assert.equal(r.value.organization?.odsCode, '0012');
    assert.equal(r.value.organization?.name, ' 1e3 ');
  });

  test('a Practitioner without a usable identifier gives author null, not an error', () => {
    const r = parseQueryBundle(without(REQUEST, 'Practitioner.identifier'));
    assert.ok(r.ok);
    assert.equal(r.value.author, null);
  });
});
