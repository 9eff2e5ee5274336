import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { PROFILE } from './constants.ts';
import { loadProfiles } from './profile-snapshots.ts';
import { compileProfiles, SCHEMA_HINT, validateMessage, type Violation } from './profile-validator.ts';
import { parseXml, type XmlNode } from './xml.ts';
import { example, has, movedLast, variants, withChild, without, withValue } from '../../test/helpers/fhir-fixtures.ts';

// The oracle: the snapshot files themselves, read flat here (path, min, max, fixed value), without
// the validator's loader.
const PROFILES_DIR = new URL('./profiles/', import.meta.url);
interface RawElement {
  path: string;
  min: number;
  max: string;
  fixed?: string;
  types: string[];
}
const snapshot = (file: string): { url: string; elements: RawElement[] } => {
  const r = parseXml(readFileSync(new URL(file, PROFILES_DIR), 'utf8'), { maxBytes: 4 << 20, maxElements: 50_000 });
  assert.ok(r.ok);
  const v = (el: { children: { name: string; attrs: Record<string, string> }[] }, n: string) =>
    el.children.find((c) => c.name === n)?.attrs.value;
  const elements = r.value.children
    .find((c) => c.name === 'snapshot')!
    .children.map((e) => ({
      path: v(e, 'path')!,
      min: Number(v(e, 'min')),
      max: v(e, 'max')!,
      types: e.children.filter((c) => c.name === 'type').map((t) => v(t, 'code')!),
      ...(e.children.find((c) => c.name.startsWith('fixed')) && {
        fixed: e.children.find((c) => c.name.startsWith('fixed'))!.attrs.value!,
      }),
    }));
  return { url: v(r.value, 'url')!, elements };
};
const FILES = readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.xml'));

const REQUEST = example('query-request-2-0');
/** The spec's request made to follow its profile (docs/simulator.md, "Profiles over examples"): without the forbidden author.display. */
const VALID_REQUEST = without(REQUEST, 'MessageHeader.author.display');
const VALID = {
  request: VALID_REQUEST,
  'indicator response': example('query-response-2-0-indicator-found'),
  'error response': example('query-response-2-0-invalid-nhs-number'),
};

/** True when a violation names `path` or an ancestor of it (slice names in brackets aside). */
const names = (vs: Violation[], path: string) =>
  vs.some((v) => `${path}.`.startsWith(`${v.path.replace(/\[[^\]]*\]/g, '')}.`));

describe('profile validator: the spec examples', () => {
  test('SMSP-VAL-001 the spec example request is reported for its forbidden MessageHeader.author.display, and for nothing else', () => {
    assert.deepEqual(validateMessage(REQUEST), [
      { path: 'MessageHeader.author.display', message: 'is not allowed (max 0)' },
    ]);
  });

  for (const [what, xml] of Object.entries(VALID)) {
    for (const [form, text] of Object.entries(variants(xml))) {
      test(`SMSP-VAL-004 the spec ${what} conforms to its profiles (${form})`, () => {
        assert.deepEqual(validateMessage(text), []);
      });
    }
  }

  test('every profile the codec names is loaded from the snapshot files', () => {
    const loaded = loadProfiles();
    assert.equal(loaded.size, FILES.length);
    for (const url of Object.values(PROFILE)) assert.ok(loaded.has(url), url);
  });
});

describe('profile validator: rules read from the snapshots', () => {
  for (const file of FILES) {
    const { url, elements } = snapshot(file);
    for (const [what, xml] of Object.entries(VALID)) {
      if (!xml.includes(`<profile value="${url}"/>`)) continue;
      for (const el of elements.filter((e) => e.fixed !== undefined && has(xml, e.path))) {
        test(`${file}: a changed fixed ${el.path} in the ${what} is reported`, () => {
          const vs = validateMessage(withValue(xml, el.path, `${el.fixed}-changed`));
          assert.ok(names(vs, el.path), JSON.stringify(vs));
        });
      }
      for (const el of elements.filter((e) => e.min >= 1 && e.path.includes('.') && has(xml, e.path))) {
        test(`${file}: a missing min-${el.min} ${el.path} in the ${what} is reported`, () => {
          const vs = validateMessage(without(xml, el.path));
          assert.ok(names(vs, el.path), JSON.stringify(vs));
        });
      }
      const max0 = elements.filter(
        (e) => e.max === '0' && !e.path.endsWith('[x]') && has(xml, e.path.slice(0, e.path.lastIndexOf('.'))),
      );
      for (const el of new Map(max0.map((e) => [e.path, e])).values()) {
        test(`${file}: a max-0 ${el.path} added to the ${what} is reported`, () => {
          const name = el.path.slice(el.path.lastIndexOf('.') + 1);
          const node: XmlNode = /^[a-z]/.test(el.types[0] ?? '')
            ? [name, { value: 'x' }]
            : [name, {}, [['extension', { url: 'http://example.org/x' }]]];
          const vs = validateMessage(withChild(xml, el.path.slice(0, el.path.lastIndexOf('.')), node));
          assert.ok(
            vs.some((v) => v.path.replace(/\[[^\]]*\]/g, '') === el.path && v.message === 'is not allowed (max 0)'),
            JSON.stringify(vs),
          );
        });
      }
    }
  }
});

describe('profile validator: order, unknown elements, slicing', () => {
  test('spine-practitioner-2-0 Practitioner.name is refused (max 0)', () => {
    const vs = validateMessage(
      withChild(VALID_REQUEST, 'Practitioner', ['name', {}, [['text', { value: 'Dr Town Wood' }]]]),
    );
    assert.ok(
      vs.some((v) => v.path === 'Practitioner.name' && v.message === 'is not allowed (max 0)'),
      JSON.stringify(vs),
    );
  });

  test('elements out of DSTU2 order are reported', () => {
    assert.deepEqual(validateMessage(movedLast(VALID_REQUEST, 'MessageHeader.timestamp')), [
      { path: 'MessageHeader.timestamp', message: 'is out of order (DSTU2 element order)' },
    ]);
    assert.deepEqual(validateMessage(movedLast(VALID_REQUEST, 'Organization.identifier')), [
      { path: 'Organization.identifier', message: 'is out of order (DSTU2 element order)' },
    ]);
  });

  test('an element no profile defines is reported without its name or content', () => {
    const vs = validateMessage(withChild(VALID_REQUEST, 'Practitioner', ['nhs9990000018', { value: '9990000018' }]));
    assert.deepEqual(vs, [{ path: 'Practitioner', message: 'contains an element the profile does not define' }]);
  });

  test('spine-practitioner-2-0: the SDS User ID and Role Profile ID slices conform, in order only', () => {
    const userId = 'http://fhir.nhs.net/Id/sds-user-id';
    const roleId = 'http://fhir.nhs.net/Id/sds-role-profile-id';
    // The identifiers must stay before practitionerRole: insert the second one by moving practitionerRole last.
    const ordered = (xml: string) => movedLast(xml, 'Practitioner.practitionerRole');
    const base = without(VALID_REQUEST, 'Practitioner.identifier');
    const one = withChild(base, 'Practitioner', [
      'identifier',
      {},
      [
        ['system', { value: userId }],
        ['value', { value: '1' }],
      ],
    ]);
    const pair = ordered(
      withChild(ordered(one), 'Practitioner', [
        'identifier',
        {},
        [
          ['system', { value: roleId }],
          ['value', { value: '2' }],
        ],
      ]),
    );
    assert.deepEqual(validateMessage(pair), []);
    const swapped = ordered(
      withChild(
        ordered(
          withChild(base, 'Practitioner', [
            'identifier',
            {},
            [
              ['system', { value: roleId }],
              ['value', { value: '2' }],
            ],
          ]),
        ),
        'Practitioner',
        [
          'identifier',
          {},
          [
            ['system', { value: userId }],
            ['value', { value: '1' }],
          ],
        ],
      ),
    );
    assert.deepEqual(validateMessage(swapped), [
      { path: 'Practitioner.identifier[SDS User ID]', message: 'is out of order (the slicing is ordered)' },
    ]);
  });

  test('an identifier system no slice defines is refused (closed slicing)', () => {
    assert.deepEqual(validateMessage(withValue(VALID_REQUEST, 'Practitioner.identifier.system', 'urn:9990000018')), [
      { path: 'Practitioner.identifier', message: "matches none of the profile's slices" },
    ]);
  });

  test('a narrative (DSTU2 base DomainResource.text, XHTML) is allowed where the snapshots leave it out', () => {
    const text = '<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div></text>';
    const xml = VALID_REQUEST.replace('</meta><identifier>', `</meta>${text}<identifier>`);
    assert.ok(xml.includes(text));
    assert.deepEqual(validateMessage(xml), []);
  });

  test('a resource that declares no FGM-IS profile is refused', () => {
    const vs = validateMessage(without(VALID_REQUEST, 'Practitioner.meta'));
    assert.deepEqual(vs, [{ path: 'Bundle.entry.resource', message: 'declares no FGM-IS profile' }]);
  });

  test('violations never carry a value or an element name from the message', () => {
    const nhs = '9990000018';
    const hostile = [
      withValue(VALID_REQUEST, 'MessageHeader.event.system', nhs),
      withValue(VALID_REQUEST, 'MessageHeader.timestamp', nhs),
      withValue(VALID_REQUEST, 'Practitioner.identifier.system', nhs),
      withChild(VALID_REQUEST, 'MessageHeader', [`x${nhs}`, { value: nhs }]),
      withChild(VALID_REQUEST, 'Parameters', [
        'parameter',
        {},
        [
          ['name', { value: nhs }],
          ['valueString', { value: nhs }],
        ],
      ]),
      VALID_REQUEST.replace('<Practitioner>', `<Practitioner><meta><profile value="${nhs}"/></meta>`),
      `<${nhs}/>`,
      `<Bundle><${nhs}`,
    ];
    for (const xml of hostile) {
      const vs = validateMessage(xml);
      assert.ok(vs.length > 0, xml);
      assert.doesNotMatch(JSON.stringify(vs), /999\s?000\s?0018/);
    }
  });
});

describe('profile validator: inferring a missing profile (what others send)', () => {
  const FOUND = example('query-response-2-0-indicator-found');
  const INFERRED = 'declares no profile: read by the profile its type has in this message';
  const bare = (xml: string, paths: string[]) => paths.reduce((x, p) => without(x, p), xml);

  test('SMSP-VAL-004 an answer without any meta is read by the profiles its resources have in an answer: only the inferences are noted', () => {
    const xml = bare(FOUND, ['Bundle.meta', 'MessageHeader.meta', 'Flag.meta', 'Patient.meta']);
    assert.deepEqual(
      validateMessage(xml, { inferProfiles: 'response' }),
      ['Bundle', 'MessageHeader', 'Flag', 'Patient'].map((t) => ({ path: `${t}.meta.profile`, message: INFERRED })),
    );
    assert.deepEqual(
      validateMessage(xml).map((v) => v.message),
      ['must declare the profile http://fhir.nhs.net/StructureDefinition/spine-message-bundle-1-0'],
      'strict unless asked',
    );
  });
  test('SMSP-VAL-001 a request without meta is read by the request profiles (MessageHeader as the request header)', () => {
    const xml = bare(VALID_REQUEST, [
      'Bundle.meta',
      'MessageHeader.meta',
      'Parameters.meta',
      'Practitioner.meta',
      'Organization.meta',
    ]);
    assert.deepEqual(
      validateMessage(xml, { inferProfiles: 'request' }),
      ['Bundle', 'MessageHeader', 'Parameters', 'Practitioner', 'Organization'].map((t) => ({
        path: `${t}.meta.profile`,
        message: INFERRED,
      })),
    );
    // Read as an answer, the request header breaks the response header profile (no response element).
    assert.ok(
      validateMessage(xml, { inferProfiles: 'response' }).some(
        (v) => v.path === 'MessageHeader.response' && v.message === 'is required',
      ),
    );
    assert.ok(
      validateMessage(xml, { inferProfiles: 'response' }).some((v) => v.message === 'declares no FGM-IS profile'),
      'Parameters has no profile in an answer',
    );
  });
  test('the inferred profile is applied in full: a deviation under it is still reported', () => {
    const xml = withValue(without(FOUND, 'Flag.meta'), 'Flag.status', 'inactive');
    assert.deepEqual(validateMessage(xml, { inferProfiles: 'response' }), [
      { path: 'Flag.meta.profile', message: INFERRED },
      { path: 'Flag.status', message: 'must be active' },
    ]);
  });
  test('a resource naming another profile is not inferred: it is reported as before', () => {
    const xml = FOUND.replace('spine-ris-flag-1-0', 'spine-ris-patient-1-0');
    assert.deepEqual(validateMessage(xml, { inferProfiles: 'response' }), [
      { path: 'Patient', message: 'is not the resource type its declared profile constrains' },
    ]);
    const other = FOUND.replace('spine-ris-flag-1-0', 'some-other-profile');
    assert.deepEqual(validateMessage(other, { inferProfiles: 'response' }), [
      { path: 'Bundle.entry.resource', message: 'declares no FGM-IS profile' },
    ]);
  });
  test('a resource type with no profile in that kind of message is not inferred', () => {
    const xml = FOUND.replace(
      '</Bundle>',
      '<entry><resource><Basic><id value="b"/></Basic></resource></entry></Bundle>',
    );
    assert.deepEqual(validateMessage(xml, { inferProfiles: 'response' }), [
      { path: 'Bundle.entry.resource', message: 'declares no FGM-IS profile' },
    ]);
  });
  test('SMSP-VAL-001 parseQueryBundle reads a client request without meta, and still refuses one that names a wrong profile', async () => {
    const { parseQueryBundle } = await import('./query-bundle.ts');
    assert.equal(parseQueryBundle(without(VALID_REQUEST, 'Practitioner.meta')).ok, true);
    const wrong = parseQueryBundle(VALID_REQUEST.replace('spine-practitioner-2-0', 'spine-organization-1-0'));
    assert.deepEqual(!wrong.ok && [wrong.error.element, wrong.error.message], [
      'Organization',
      'is not the resource type its declared profile constrains',
    ]);
  });
});

describe('profile validator: the DSTU2 formats of the primitives FGM-IS messages can carry', () => {
  const FOUND = example('query-response-2-0-indicator-found');
  const META = '<meta><profile value="http://fhir.nhs.net/StructureDefinition/spine-message-bundle-1-0"/>';
  /** Where each type can appear in a conforming message (the others — date, integer, decimal, oid… — are max 0 or sliced out). */
  const AT: Record<string, { path: string; put: (v: string) => string }> = {
    instant: {
      path: 'Bundle.meta.lastUpdated',
      put: (v) => VALID_REQUEST.replace(META, `<meta><lastUpdated value="${v}"/>${META.slice(6)}`),
    },
    id: {
      path: 'Bundle.meta.versionId',
      put: (v) => VALID_REQUEST.replace(META, `<meta><versionId value="${v}"/>${META.slice(6)}`),
    },
    boolean: {
      path: 'Bundle.meta.tag.userSelected',
      put: (v) => VALID_REQUEST.replace(META, `${META}<tag><code value="x"/><userSelected value="${v}"/></tag>`),
    },
    code: {
      path: 'Bundle.language',
      put: (v) => VALID_REQUEST.replace(`${META}</meta>`, `${META}</meta><language value="${v}"/>`),
    },
    dateTime: { path: 'Flag.period.start', put: (v) => withValue(FOUND, 'Flag.period.start', v) },
  };
  // Hand-written from hl7.org/fhir/DSTU2/datatypes.html.
  const CASES: Record<string, { good: string[]; bad: string[] }> = {
    instant: {
      good: [
        '2015-02-07T13:28:17.239+02:00',
        '2017-01-01T00:00:00Z',
        '2015-02-07T13:28:17+14:00',
        '2015-02-07T13:28:17-13:59',
        '2015-12-31T23:59:59.5Z',
        '2015-10-01T00:00:00Z',
        '2015-09-30T19:00:00Z',
      ],
      bad: [
        '2015-02-07T13:28:17',
        '2015-02-07',
        '2015-13-07T13:28:17Z',
        '2015-00-07T13:28:17Z',
        '2015-02-00T13:28:17Z',
        '2015-02-32T13:28:17Z',
        '2015-02-07T24:00:00Z',
        '2015-02-07T13:60:00Z',
        '2015-02-07T13:28:60Z',
        '2015-02-07T13:28:17+14:01',
        '2015-02-07T13:28:17+15:00',
        '2015-02-07T13:28:17+1:00',
        '2015-02-07T13:28:17.Z',
        '15-02-07T13:28:17Z',
        '2015-02-07T13:28Z',
        ' 2015-02-07T13:28:17Z',
        '2015-02-07T13:28:17Zx',
      ],
    },
    dateTime: {
      good: [
        '2015',
        '2015-02',
        '2015-02-07',
        '2015-02-07T13:28:17-05:00',
        '2015-02-07T13:28:17.5Z',
        '2015-10-31',
        '2015-12-19',
        '2015-02-28T23:59:59+14:00',
      ],
      bad: [
        '2015-2',
        '2015-02-7',
        '2015-00',
        '2015-13',
        '2015-02-32',
        '2015-02-00',
        '2015-02-07T13:28',
        '2015-02-07T13:28:17',
        '2015-02-07T25:00:00Z',
        '2015-02-07T13:28:17+15:00',
        '15',
        '2015-02-07x',
        'x2015',
      ],
    },
    id: { good: ['a-b.C9', 'A'.repeat(64), '0'], bad: ['A'.repeat(65), 'a_b', 'a b', 'é', 'a/b'] },
    boolean: { good: ['true', 'false'], bad: ['TRUE', '1', 'yes', 'true ', 'falsey', 'xtrue'] },
    code: { good: ['a b', 'en-GB', 'x', 'a bc de'], bad: ['a  b', ' a', 'a ', 'a\tb'] },
  };
  for (const [type, { good, bad }] of Object.entries(CASES)) {
    test(`SMSP-VAL-001 ${type}: DSTU2's valid forms pass and others are reported (${AT[type]!.path})`, () => {
      for (const v of good) assert.deepEqual(validateMessage(AT[type]!.put(v)), [], `${type} ${v}`);
      for (const v of bad)
        assert.deepEqual(
          validateMessage(AT[type]!.put(v)),
          [{ path: AT[type]!.path, message: `is not a valid ${type}` }],
          `${type} ${JSON.stringify(v)}`,
        );
    });
  }
});

describe('profile validator: each kind of violation, exactly', () => {
  const FOUND = example('query-response-2-0-indicator-found');
  const ERROR = example('query-response-2-0-invalid-nhs-number');
  const one = (xml: string) => validateMessage(xml);
  const cases: [string, string, Violation[]][] = [
    [
      'a required element missing',
      without(VALID_REQUEST, 'MessageHeader.timestamp'),
      [{ path: 'MessageHeader.timestamp', message: 'is required' }],
    ],
    [
      'an element repeated beyond its max',
      FOUND.replace('<status value="active"/>', '<status value="active"/><status value="active"/>'),
      [{ path: 'Flag.status', message: 'appears more than 1 times' }],
    ],
    [
      'a fixed value changed',
      withValue(FOUND, 'Flag.status', 'inactive'),
      [{ path: 'Flag.status', message: 'must be active' }],
    ],
    ['an empty value', withValue(FOUND, 'Flag.status', ' '), [{ path: 'Flag.status', message: 'has an empty value' }]],
    [
      'a primitive without a value',
      FOUND.replace('<status value="active"/>', '<status/>'),
      [{ path: 'Flag.status', message: 'has no value' }],
    ],
    [
      'a primitive with only an extension',
      FOUND.replace(
        '<start value="2015-02-04"/>',
        '<start><extension url="http://example.org/x"><valueString value="y"/></extension></start>',
      ),
      [],
    ],
    [
      'a primitive holding an element',
      FOUND.replace('<start value="2015-02-04"/>', '<start value="2015-02-04"><x/></start>'),
      [{ path: 'Flag.period.start', message: 'is a primitive and cannot hold elements' }],
    ],
    [
      'a complex element with a value',
      FOUND.replace('<period>', '<period value="x">'),
      [{ path: 'Flag.period', message: 'is not a primitive and cannot have a value' }],
    ],
    [
      'text inside an element',
      FOUND.replace('<period>', '<period>text'),
      [{ path: 'Flag.period', message: 'holds text, which FHIR XML allows only in the narrative div' }],
    ],
    [
      'an attribute FHIR does not use',
      FOUND.replace('<period>', '<period foo="x">'),
      [{ path: 'Flag.period', message: 'has an attribute FHIR XML does not allow' }],
    ],
    [
      'an extension with a value attribute',
      FOUND.replace(
        '<status value="active"/>',
        '<extension url="http://example.org/x" value="y"/><status value="active"/>',
      ),
      [{ path: 'Flag.extension', message: 'has an attribute FHIR XML does not allow' }],
    ],
    [
      'an extension without a url',
      FOUND.replace(
        '<status value="active"/>',
        '<extension><valueString value="y"/></extension><status value="active"/>',
      ),
      [{ path: 'Flag.extension', message: 'has no url' }],
    ],
    [
      'a modifier extension',
      FOUND.replace(
        '<status value="active"/>',
        '<modifierExtension url="http://example.org/x"><valueString value="y"/></modifierExtension><status value="active"/>',
      ),
      [{ path: 'Flag.modifierExtension', message: 'is a modifier extension no FGM-IS profile defines' }],
    ],
    [
      'an element in a foreign namespace',
      FOUND.replace('<period>', '<x:y xmlns:x="urn:x"/><period>'),
      [{ path: 'Flag', message: 'contains an element the profile does not define' }],
    ],
    [
      'an entry resource holding two resources',
      ERROR.replace('<resource><OperationOutcome>', '<resource><Basic/><OperationOutcome>'),
      [{ path: 'Bundle.entry.resource', message: 'must hold exactly one resource' }],
    ],
    [
      'a declared profile of another type',
      FOUND.replace('spine-ris-flag-1-0', 'spine-ris-patient-1-0'),
      [{ path: 'Patient', message: 'is not the resource type its declared profile constrains' }],
    ],
    [
      'a first entry that is not the MessageHeader',
      ERROR.replace(/(<entry><resource><MessageHeader>.*?<\/entry>)(<entry>.*?<\/entry>)/, '$2$1'),
      [{ path: 'Bundle.entry', message: 'the first entry must be a MessageHeader' }],
    ],
    [
      'a root that is not a FHIR Bundle',
      '<Flag xmlns="http://hl7.org/fhir"/>',
      [{ path: 'Bundle', message: 'the root element must be a FHIR Bundle' }],
    ],
    [
      'a root Bundle in another namespace',
      '<Bundle xmlns="urn:x"/>',
      [{ path: 'Bundle', message: 'the root element must be a FHIR Bundle' }],
    ],
    ['a message that is not XML', '<Bundle', [{ path: 'Bundle', message: 'is not a well-formed FHIR XML message' }]],
    [
      'a Bundle that does not declare its profile',
      without(FOUND, 'Bundle.meta'),
      [
        {
          path: 'Bundle',
          message: 'must declare the profile http://fhir.nhs.net/StructureDefinition/spine-message-bundle-1-0',
        },
      ],
    ],
  ];
  for (const [what, xml, expected] of cases) {
    test(`SMSP-VAL-001 ${what} is reported as such`, () => assert.deepEqual(one(xml), expected));
  }
  test('the parsed tree and the text give the same report', () => {
    const r = parseXml(withValue(FOUND, 'Flag.status', 'inactive'));
    assert.ok(r.ok);
    assert.deepEqual(validateMessage(r.value), [{ path: 'Flag.status', message: 'must be active' }]);
  });
});

describe('profile validator: reading meta and the first entry', () => {
  const FOUND = example('query-response-2-0-indicator-found');
  const ERROR = example('query-response-2-0-invalid-nhs-number');
  const BUNDLE =
    '<Bundle><id value="b"/><meta><profile value="http://fhir.nhs.net/StructureDefinition/spine-message-bundle-1-0"/></meta><type value="message"/>';
  test('SMSP-VAL-004 a meta without a profile (only lastUpdated) is read by the inferred profile', () => {
    const xml = FOUND.replace(
      '<meta><profile value="http://fhir.nhs.net/StructureDefinition/spine-ris-flag-1-0"/></meta>',
      '<meta><lastUpdated value="2015-07-04T10:10:15+00:00"/></meta>',
    );
    assert.deepEqual(validateMessage(xml, { inferProfiles: 'response' }), [
      { path: 'Flag.meta.profile', message: 'declares no profile: read by the profile its type has in this message' },
    ]);
  });
  test('a Bundle without entries, or with an empty one, is read without failing', () => {
    assert.deepEqual(validateMessage(`${BUNDLE}</Bundle>`), []);
    assert.deepEqual(validateMessage(`${BUNDLE}<entry/></Bundle>`), []);
  });
  test('the first entry is judged by its resource, whatever comes before it (fullUrl)', () => {
    const swapped = ERROR.replace(
      /(<entry>)(<resource><MessageHeader>.*?<\/entry>)(<entry>)(.*?<\/entry>)/,
      '$3<fullUrl value="urn:uuid:x"/>$4$1$2',
    );
    assert.deepEqual(validateMessage(swapped), [
      { path: 'Bundle.entry', message: 'the first entry must be a MessageHeader' },
    ]);
  });
});

describe('profile validator: the compiled plan (issue 22)', () => {
  test('compileProfiles compiles every snapshot file once, by its canonical URL', () => {
    const plans = compileProfiles();
    assert.deepEqual([...plans.keys()].sort(), FILES.map((f) => snapshot(f).url).sort());
    for (const f of FILES) assert.equal(plans.get(snapshot(f).url)!.type, snapshot(f).elements[0]!.path, f);
    assert.equal(compileProfiles(), plans, 'the second call (every message) reuses the compiled plan');
  });
});

describe('profile validator: choice elements and sliced maxima in the compiled plan (issue 22)', () => {
  // Hand-read from the snapshots: spine-ris-patient-1-0 has Patient.deceased[x] (boolean|dateTime)
  // and Patient.multipleBirth[x] (boolean|integer), both max 0; spine-ris-parameters-1-0 has
  // Parameters.parameter max 1, sliced (closed, by name) into Risk Indicator 1..1 and NHS Number 1..1.
  const FOUND = example('query-response-2-0-indicator-found');
  const afterIdentifier = (xml: string, el: string) =>
    xml.replace('<value value="1234567890"/></identifier>', `<value value="1234567890"/></identifier>${el}`);
  const cases: [string, string, Violation[]][] = [
    [
      "deceasedBoolean is the profile's deceased[x]",
      afterIdentifier(FOUND, '<deceasedBoolean value="false"/>'),
      [{ path: 'Patient.deceased[x]', message: 'is not allowed (max 0)' }],
    ],
    [
      "deceasedDateTime is the profile's deceased[x]",
      afterIdentifier(FOUND, '<deceasedDateTime value="2015-02-04"/>'),
      [{ path: 'Patient.deceased[x]', message: 'is not allowed (max 0)' }],
    ],
    [
      "multipleBirthInteger is the profile's multipleBirth[x]",
      afterIdentifier(FOUND, '<multipleBirthInteger value="2"/>'),
      [{ path: 'Patient.multipleBirth[x]', message: 'is not allowed (max 0)' }],
    ],
    [
      'deceasedString names a type deceased[x] does not have',
      afterIdentifier(FOUND, '<deceasedString value="no"/>'),
      [{ path: 'Patient', message: 'contains an element the profile does not define' }],
    ],
    [
      'deceasedboolean (the type not capitalised) is no element of the profile',
      afterIdentifier(FOUND, '<deceasedboolean value="false"/>'),
      [{ path: 'Patient', message: 'contains an element the profile does not define' }],
    ],
  ];
  for (const [what, xml, expected] of cases)
    test(`SMSP-VAL-001 ${what}`, () => assert.deepEqual(validateMessage(xml), expected));

  test('SMSP-VAL-001 a sliced element is counted against what its slices allow together (3 parameters, slices allow 2)', () => {
    const nhs = '<parameter><name value="NHSNumber"/><valueString value="9999999999"/></parameter>';
    assert.ok(VALID_REQUEST.includes(nhs), 'control: the request has the NHS Number parameter');
    assert.deepEqual(validateMessage(VALID_REQUEST.replace(nhs, nhs + nhs)), [
      { path: 'Parameters.parameter', message: 'appears more than 2 times' },
      { path: 'Parameters.parameter[NHS Number]', message: 'appears more than 1 times' },
    ]);
  });
});

describe('each violation once (issue 18 review F2)', () => {
  test('SMSP-VAL-004 2,400 extensions out of order are one violation, as 2 are: the list does not grow with the message', () => {
    const lists = [2, 2400].map((n) => {
      const xml = example('query-response-2-0-indicator-found').replace(
        '</Flag>',
        `${'<extension url="https://example.org/x"><valueString value="x"/></extension>'.repeat(n)}</Flag>`,
      );
      const r = parseXml(xml, { maxBytes: Number.POSITIVE_INFINITY });
      assert.ok(r.ok);
      return validateMessage(r.value, { inferProfiles: 'response' });
    });
    assert.deepEqual(lists[1], lists[0]);
    assert.deepEqual(
      lists[1]!.filter((v) => v.path === 'Flag.extension'),
      [{ path: 'Flag.extension', message: 'is out of order (DSTU2 element order)' }],
    );
  });
});

describe('profile validator: XML Schema location hints (what the mutation run of 4 December found untested)', () => {
  const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
  test('SMSP-VAL-001 a schema location hint, with or without a namespace, is reported as one: never an attribute FHIR XML does not allow', () => {
    const root = VALID_REQUEST.replace('<Bundle', `<Bundle ${XSI} xsi:schemaLocation="http://hl7.org/fhir bundle.xsd"`);
    assert.deepEqual(validateMessage(root), [{ path: 'Bundle', message: SCHEMA_HINT }]);
    const inner = VALID_REQUEST.replace('<Bundle', `<Bundle ${XSI}`).replace(
      '<type value="message"/>',
      '<type xsi:noNamespaceSchemaLocation="bundle.xsd" value="message"/>',
    );
    assert.deepEqual(validateMessage(inner), [{ path: 'Bundle.type', message: SCHEMA_HINT }]);
    assert.equal(SCHEMA_HINT, 'has an XML Schema location hint, which FHIR XML does not use');
  });
  test('SMSP-VAL-001 another XML Schema attribute (xsi:type) is one FHIR XML does not allow', () => {
    const typed = VALID_REQUEST.replace('<Bundle', `<Bundle ${XSI} xsi:type="Bundle"`);
    assert.deepEqual(validateMessage(typed), [{ path: 'Bundle', message: 'has an attribute FHIR XML does not allow' }]);
  });
});
