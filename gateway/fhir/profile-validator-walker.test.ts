/**
 * The profile validator's walk over a message, on what the first whole-file mutation run (issue 18,
 * 2 December) found untested: several declared profiles, the narrative's XHTML div, elements of
 * another namespace that share a profile element's name, content under a max-0 element, the `id`
 * attribute, an entry resource beside foreign elements, and a slice discriminator read past an
 * extension. Oracles: the spec's example messages (test/spec), the snapshot files as read by hand
 * (the element names, cardinalities and slices named below), and DSTU2's XML rules
 * (hl7.org/fhir/DSTU2/xml.html: `id` is an attribute, the div is XHTML, resources are FHIR's).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { example, without } from '../../test/helpers/fhir-fixtures.ts';
import { validateMessage } from './profile-validator.ts';

const FOUND = example('query-response-2-0-indicator-found');
const ERROR = example('query-response-2-0-invalid-nhs-number');
/** The spec's request without the author.display its own profile forbids. */
const REQUEST = without(example('query-request-2-0'), 'MessageHeader.author.display');
const XHTML = 'http://www.w3.org/1999/xhtml';
const FLAG_META = '<meta><profile value="http://fhir.nhs.net/StructureDefinition/spine-ris-flag-1-0"/></meta>';
/** The indicator with a narrative (DomainResource.text, after meta) on its Flag. */
const flagText = (text: string) => {
  assert.ok(FOUND.includes(FLAG_META), 'control: the Flag declares its profile');
  return FOUND.replace(FLAG_META, `${FLAG_META}<text>${text}</text>`);
};

describe('profile validator: the walk, where the mutation run found it untested', () => {
  test('SMSP-VAL-004 a resource declaring an unknown profile before its FGM-IS one is read by the FGM-IS one (Meta.profile 0..*)', () => {
    const two = FOUND.replace(
      FLAG_META,
      '<meta><profile value="http://example.org/StructureDefinition/local"/><profile value="http://fhir.nhs.net/StructureDefinition/spine-ris-flag-1-0"/></meta>',
    );
    assert.deepEqual(validateMessage(two), []);
    // Read by it in full: its fixed status still holds.
    assert.deepEqual(validateMessage(two.replace('<status value="active"/>', '<status value="inactive"/>')), [
      { path: 'Flag.status', message: 'must be active' },
    ]);
  });

  test('SMSP-VAL-004 the narrative div is XHTML: its attributes and text are no FHIR markup', () => {
    assert.deepEqual(
      validateMessage(
        flagText(`<status value="generated"/><div xmlns="${XHTML}" class="risk">FGM <b>risk</b> indicator</div>`),
      ),
      [],
    );
  });

  test("SMSP-VAL-001 only an XHTML element named div is the narrative's div: another XHTML element, or a div of another namespace, is not", () => {
    assert.deepEqual(
      validateMessage(
        flagText(
          `<h:status xmlns:h="${XHTML}" value="generated"/><status value="generated"/><div xmlns="${XHTML}">x</div>`,
        ),
      ),
      [{ path: 'Flag.text', message: 'contains an element the profile does not define' }],
    );
    // Narrative.div is 1..1 in DSTU2: a div of another namespace leaves it missing.
    assert.deepEqual(validateMessage(flagText('<status value="generated"/><div xmlns="urn:x">x</div>')), [
      { path: 'Flag.text', message: 'contains an element the profile does not define' },
      { path: 'Flag.text.div', message: 'is required' },
    ]);
  });

  test('SMSP-VAL-001 an element of another namespace is never the profile element of the same name (Flag.status is 1..1)', () => {
    for (const ns of ['urn:x', XHTML]) {
      const xml = FOUND.replace(
        '<status value="active"/>',
        `<status value="active"/><x:status xmlns:x="${ns}" value="inactive"/>`,
      );
      assert.deepEqual(
        validateMessage(xml),
        [{ path: 'Flag', message: 'contains an element the profile does not define' }],
        ns,
      );
    }
  });

  test('SMSP-VAL-001 an element the profile forbids (max 0) is reported once, as forbidden: its content is not read', () => {
    // spine-ris-patient-1-0: Patient.deceased[x] is max 0; "maybe" is no boolean either.
    const xml = FOUND.replace(
      '<value value="1234567890"/></identifier>',
      '<value value="1234567890"/></identifier><deceasedBoolean value="maybe"/>',
    );
    assert.deepEqual(validateMessage(xml), [{ path: 'Patient.deceased[x]', message: 'is not allowed (max 0)' }]);
  });

  test('SMSP-VAL-004 DSTU2 XML writes Element.id as an attribute: allowed on an element and on an extension', () => {
    const xml = FOUND.replace('<period>', '<period id="p1">').replace(
      '<status value="active"/>',
      '<extension id="e1" url="http://example.org/x"><valueString value="y"/></extension><status value="active"/>',
    );
    assert.deepEqual(validateMessage(xml), []);
  });

  test('SMSP-VAL-001 an entry resource holds exactly one FHIR resource: not a foreign element alone, nor one beside the resource', () => {
    const expected = [{ path: 'Bundle.entry.resource', message: 'must hold exactly one resource' }];
    assert.deepEqual(
      validateMessage(
        ERROR.replace(
          /<resource><OperationOutcome>.*<\/OperationOutcome><\/resource>/,
          '<resource><x:OperationOutcome xmlns:x="urn:x"/></resource>',
        ),
      ),
      expected,
    );
    assert.deepEqual(
      validateMessage(
        ERROR.replace('<resource><OperationOutcome>', '<resource><x:note xmlns:x="urn:x"/><OperationOutcome>'),
      ),
      expected,
    );
  });

  test('SMSP-VAL-001 a slice is chosen by its discriminator element itself (spine-organization-1-0 identifier by system), whatever comes before it', () => {
    const ods = '<identifier><system value="http://fhir.nhs.net/Id/ods-organization-code"/>';
    assert.ok(REQUEST.includes(ods), 'control: the request names its organisation by ODS code');
    // Element.extension comes first in DSTU2 order: still the ODS Organisation Code slice.
    assert.deepEqual(
      validateMessage(
        REQUEST.replace(
          ods,
          `<identifier><extension url="http://example.org/x"><valueString value="y"/></extension>${ods.slice(12)}`,
        ),
      ),
      [],
    );
    // A system of another namespace is not the discriminator: the slice is still ODS, with an element it does not define.
    assert.deepEqual(
      validateMessage(
        REQUEST.replace(ods, `<identifier><x:system xmlns:x="urn:x" value="urn:other"/>${ods.slice(12)}`),
      ),
      [
        {
          path: 'Organization.identifier[ODS Organisation Code]',
          message: 'contains an element the profile does not define',
        },
      ],
    );
  });
});
