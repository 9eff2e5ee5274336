/**
 * @module demo/spine/answers
 * The simulator's answers, made from the spec's own example messages (copied into
 * `examples/`, as the profiles were copied into the gateway) with their values templated — never
 * with the gateway's builder, so the gateway meets answers written the way Spine writes them.
 * The variants rewrite an answer as a Spine might send it: harmless deviations the gateway must
 * still show (no meta.profile, xsi: attributes, extra elements, another order, whitespace and
 * comments) and unsafe ones it must never show (another patient, impossible dates, another code,
 * an indicator or error where no reader looks).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Spine's ASID, as the spec's examples write it. */
export const SPINE_ASID = '990101234567';

const example = (name: string) => readFileSync(new URL(`./examples/${name}.xml`, import.meta.url), 'utf8');
const FOUND = example('query-response-2-0-indicator-found');
const ERROR = example('query-response-2-0-invalid-nhs-number');

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Replaces the one occurrence of `from` in the template: a template that changed fails loudly, never silently. */
function put(xml: string, from: string, to: string): string {
  const at = xml.indexOf(from);
  if (at < 0 || xml.indexOf(from, at + 1) >= 0)
    throw new Error(`simulator template: ${from} is not in the example exactly once`);
  return xml.slice(0, at) + to + xml.slice(at + from.length);
}
const setValue = (xml: string, from: string, to: string) => put(xml, `value="${from}"`, `value="${escape(to)}"`);

export interface Addressing {
  /** The request's MessageHeader id. */
  respondsTo: string;
  destinationAsid: string;
  destinationName?: string | undefined;
  timestamp: Date;
}

/** The header values both examples share, set for this answer; FHIR namespace declared, as Spine's answers do. */
function address(xml: string, bundleId: string, headerId: string, a: Addressing): string {
  let out = put(xml, '<Bundle>', '<Bundle xmlns="http://hl7.org/fhir">');
  out = setValue(out, bundleId, randomUUID());
  out = setValue(out, headerId, randomUUID());
  out = setValue(out, '2015-07-04T10:10:15+00:00', a.timestamp.toISOString());
  out = setValue(out, '14daadee-26e1-4d6a-9e6a-7f4af9b58877', a.respondsTo);
  out = setValue(out, 'urn:nhs:addressing:asid:047192794544', `urn:nhs:addressing:asid:${a.destinationAsid}`);
  return a.destinationName
    ? setValue(out, 'FooBar NHS Trust', a.destinationName)
    : put(out, '<name value="FooBar NHS Trust"/>', '');
}

/** An indicator answer (spec example "indicator found"). */
export function indicatorAnswer(a: Addressing, nhsNumber: string, assessmentDate: string): string {
  let xml = address(FOUND, '13daadee-26e1-4d6a-9e6a-7f4af9b58878', '14daadee-26e1-4d6a-9e6a-7f4af9b58879', a);
  const [flagId, patientId] = [randomUUID(), randomUUID()];
  xml = setValue(xml, '8cb73a48-090d-469a-a2b2-04f1e6b11ea2', flagId);
  xml = setValue(xml, 'Flag/8cb73a48-090d-469a-a2b2-04f1e6b11ea2', `Flag/${flagId}`);
  xml = setValue(xml, '20daadee-26e1-4d6a-9e6a-7f4af9b58877', patientId);
  xml = setValue(xml, '#20daadee-26e1-4d6a-9e6a-7f4af9b58877', `#${patientId}`);
  xml = setValue(xml, '1234567890', nhsNumber);
  return setValue(xml, '2015-02-04', assessmentDate);
}

export interface ErrorRow {
  code: string;
  display: string;
  severity: string;
  issueType: string;
}

/** An error answer (spec example "invalid NHS number"); `response.code` is `ok` for a not-found outcome, as Spine writes it. */
export function errorAnswer(a: Addressing, row: ErrorRow): string {
  let xml = address(ERROR, '22daadee-26e1-4d6a-9e6a-7f4af9b58892', '14daadee-26e1-4d6a-9e6a-7f4af9b58879', a);
  const fatal = row.severity === 'fatal' || (row.severity === 'error' && row.issueType !== 'not-found');
  xml = setValue(xml, 'fatal-error', fatal ? 'fatal-error' : 'ok');
  xml = setValue(xml, '22daadee-26e1-4d6a-9e6a-7f4af9b58877', randomUUID());
  xml = put(xml, '<severity value="error"/>', `<severity value="${escape(row.severity)}"/>`);
  xml = put(xml, '<code value="invalid"/>', `<code value="${escape(row.issueType)}"/>`);
  xml = setValue(xml, 'INVALID_NHS_NUMBER', row.code);
  return setValue(xml, 'Invalid NHS Number', row.display);
}

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/** The Flag of an indicator answer, with its contained Patient. */
const flagOf = (indicator: string) => /<Flag>.*?<\/Flag>/s.exec(indicator)![0];
/** Another test patient's NHS number than the one asked about. */
const other = (asked: string) => (asked === '9990000026' ? '9990000042' : '9990000026');
/** An OperationOutcome of one issue carrying Spine's `code` at `severity` (under `system`, Spine's 2-0 value set unless named). */
const outcome = (severity: string, code: string, system = 'http://fhir.nhs.net/ValueSet/spine-response-code-2-0') =>
  `<OperationOutcome><id value="${randomUUID()}"/><issue><severity value="${severity}"/><code value="not-found"/><details><coding><system value="${system}"/><code value="${code}"/></coding></details></issue></OperationOutcome>`;
/** An entry holding a Parameters resource in the request's shape, naming `nhsNumber` as NHSNumber (a valueIdentifier under the DSTU2 system). */
const parametersEntry = (nhsNumber: string) =>
  `<entry><resource><Parameters><id value="${randomUUID()}"/><parameter><name value="RiskIndicator"/><valueString value="FGM"/></parameter><parameter><name value="NHSNumber"/><valueIdentifier><system value="http://fhir.nhs.net/Id/nhs-number"/><value value="${nhsNumber}"/></valueIdentifier></parameter></Parameters></resource></entry>`;
/** A modifier extension the gateway cannot know the meaning of. */
const ENTERED_IN_ERROR =
  '<modifierExtension url="https://example.org/StructureDefinition/entered-in-error"><valueBoolean value="true"/></modifierExtension>';
/** The NHS number's OID (Spine-RIS-Patient's comments name it): the same number as under either NHS-number URL. */
const NHS_NUMBER_OID = 'urn:oid:2.16.840.1.113883.2.1.4.1';

/** The DSTU2 host of Spine's systems, and NHS England's name for the same systems (fgm-query-v2.md links the value sets there). */
const DSTU2_HOST = 'http://fhir.nhs.net/';
const NHS_ENGLAND_HOST = 'https://fhir.nhs.uk/';
/** The spec's error table (fgm-query-v2.md): each 2-0 response code's original code under spine-response-code-1-0. */
const ORIGINAL_CODE: Record<string, string> = {
  NO_RECORD_FOUND: 'FGM-0001',
  INVALID_NHS_NUMBER: 'FGM-0002',
  PATIENT_OVER_18: 'FGM-0003',
  INVALID_PARAMETER: 'FGM-0004',
  FLAG_ALREADY_SET: 'FGM-0005',
  MESSAGE_NOT_WELL_FORMED: 'FGM-9999',
};
/** An entry holding a Parameters resource whose `query` parameter nests the echo in parts: `inner` at depth 2 (Parameters.parameter.part.part). */
const nestedParametersEntry = (inner: string) =>
  `<entry><resource><Parameters><id value="${randomUUID()}"/><parameter><name value="query"/><part><name value="criteria"/>${inner}</part></parameter></Parameters></resource></entry>`;
const part = (name: string, value: string) => `<part><name value="${name}"/><valueString value="${value}"/></part>`;
/**
 * The Flag's contained Patient moved to a Bundle entry (no fullUrl: the messaging form), the
 * subject naming it version-specifically (`Patient/<id>/_history/<ref>`), the Patient's
 * meta.versionId `<meta>` (DSTU2 bundle.html#references).
 */
function versionedSubject(xml: string, ref: string, meta: string): string {
  const contained = /<contained>(<Patient><id value="([^"]*)"\/>.*?<\/Patient>)<\/contained>/s.exec(xml);
  if (!contained) return xml;
  const [whole, patient, id] = contained;
  const versioned = patient!.replace(
    /^(<Patient><id value="[^"]*"\/>)(?:<meta>(.*?)<\/meta>)?/s,
    (_m, open: string, inMeta = '') => `${open}<meta><versionId value="${meta}"/>${inMeta}</meta>`,
  );
  return put(
    put(xml, whole, ''),
    `<reference value="#${id}"/>`,
    `<reference value="Patient/${id}/_history/${ref}"/>`,
  ).replace('</Bundle>', `<entry><resource>${versioned}</resource></entry></Bundle>`);
}

/** Harmless: what the profiles would flag but FHIR allows, and the meaning is unchanged. */
export const HARMLESS_VARIANTS = {
  /** Every `meta` left out (the profiles have it min 0). */
  'no-meta-profile': (xml: string) => xml.replace(/<meta><profile value="[^"]*"\/><\/meta>/g, ''),
  /** XML Schema instance attributes, as schema-generated writers add them. */
  'xsi-attributes': (xml: string) =>
    xml
      .replace(
        '<Bundle xmlns="http://hl7.org/fhir">',
        `<Bundle xmlns="http://hl7.org/fhir" xmlns:xsi="${XSI}" xsi:schemaLocation="http://hl7.org/fhir fhir-all.xsd">`,
      )
      .replace(/<timestamp value="([^"]*)"\/>/, '<timestamp value="$1" xsi:type="instant"/>'),
  /** Elements DSTU2 allows that the profiles leave out or set to max 0: language, narrative, extension, category, reason, fullUrl. */
  'extra-elements': (xml: string) =>
    xml
      .replace(/<entry><resource>/g, () => `<entry><fullUrl value="urn:uuid:${randomUUID()}"/><resource>`)
      .replace(/(<MessageHeader>(?:<id value="[^"]*"\/>)(?:<meta>.*?<\/meta>)?)/, '$1<language value="en-GB"/>')
      .replace(/(<\/source><destination>.*?<\/destination>)/, '$1<reason><text value="FGM-IS query"/></reason>')
      .replace(
        /(<Flag><id value="[^"]*"\/>(?:<meta>.*?<\/meta>)?)/,
        '$1<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">FGM risk indicator</div></text>',
      )
      .replace(
        '<status value="active"/>',
        '<extension url="https://fgm-status.example/StructureDefinition/note"><valueString value="simulated"/></extension><category><text value="Safeguarding"/></category><status value="active"/>',
      ),
  /** Another element order, indentation and comments: same elements, same values. */
  reordered: (xml: string) =>
    xml
      .replace(/(<event>.*?<\/event>)(<response>.*?<\/response>)/, '$2$1')
      .replace(
        /(<status value="active"\/>)(<period>.*?<\/period>)(<subject>.*?<\/subject>)(<code>.*?<\/code>)/,
        '$4$3$2$1',
      )
      .replace(/></g, '>\n  <')
      .replace('<MessageHeader>', '<!-- the answer header --><MessageHeader>')
      .replace(/<\/Bundle>$/, '<!-- end of answer --></Bundle>'),
  /** Whitespace inside and around values: the NHS number spaced as people write it, our request id upper-cased and padded, the status padded. */
  whitespace: (xml: string) =>
    xml
      .replace(/(<value value=")(\d{3})(\d{3})(\d{4})"/, '$1 $2 $3 $4 "')
      .replace(
        /(<response><identifier value=")([^"]*)"/,
        (_m, open: string, id: string) => `${open} ${id.toUpperCase()} "`,
      )
      .replace('<status value="active"/>', '<status value=" active "/>'),
  /** A SNOMED CT coding beside the FGM risk indicator coding. */
  'snomed-coding': (xml: string) =>
    xml.replace(
      '</coding></code>',
      '</coding><coding><system value="http://snomed.info/sct"/><code value="95041000119101"/></coding></code>',
    ),
  /** The NHS number under the NHS England system instead of the DSTU2 one. */
  'nhs-number-new-system': (xml: string) =>
    xml.replace('http://fhir.nhs.net/Id/nhs-number', 'https://fhir.nhs.uk/Id/nhs-number'),
  /**
   * Spine's timestamp on a leap second, as FHIR's instant allows: 23:59:60 UTC at the end of the
   * day before the answer's own UTC day, so at most a day and a second behind the simulator's clock.
   */
  'leap-second-timestamp': (xml: string) =>
    xml.replace(
      /<timestamp value="([^"]*)"/,
      (_m, ts: string) =>
        `<timestamp value="${new Date(Date.parse(ts) - 86_400_000).toISOString().slice(0, 10)}T23:59:60Z"`,
    ),
  /** The assessment date as a dateTime (10:00 UTC that day). */
  'datetime-assessment': (xml: string) =>
    xml.replace(/(<period><start value=")(\d{4}-\d{2}-\d{2})"/, '$1$2T10:00:00+00:00"'),
  /** The assessment date to the month only (a valid DSTU2 dateTime). */
  'partial-date': (xml: string) => xml.replace(/(<period><start value=")(\d{4}-\d{2})-\d{2}"/, '$1$2"'),
  /** The assessment date as a dateTime without seconds (10:00Z), which FHIR's instant forms read but a DSTU2 dateTime does not allow. */
  'minute-assessment': (xml: string) => xml.replace(/(<period><start value=")(\d{4}-\d{2}-\d{2})"/, '$1$2T10:00Z"'),
  /** The assessment date as a dateTime on a leap second (23:59:60Z): the next day in the UK only in summer, the same day in December. */
  'leap-second-assessment': (xml: string) =>
    xml.replace(/(<period><start value=")(\d{4}-\d{2}-\d{2})"/, '$1$2T23:59:60Z"'),
  /** An informational OperationOutcome entry beside the Flag. */
  'info-outcome': (xml: string) =>
    put(
      xml,
      '</Bundle>',
      '<entry><resource><OperationOutcome><id value="information-1"/><issue><severity value="information"/><code value="informational"/><diagnostics value="served from the secondary"/></issue></OperationOutcome></resource></entry></Bundle>',
    ),
  /** MessageHeader.data naming a Flag id other than the one in the Bundle. */
  'data-other-flag': (xml: string) =>
    xml.replace(/(<data><reference value=")Flag\/[^"]*"/, '$1Flag/not-the-flag-in-this-bundle"'),
  /** Both ASIDs under the URN system written in capitals. */
  /** MessageHeader.response without its code (the profile requires one): the Flag and HTTP 200 still say it all. */
  'no-response-code': (xml: string) =>
    xml.replace(/(<response>\s*<identifier value="[^"]*"\/>)\s*<code value="ok"\/>/, '$1'),
  'asid-upper-case': (xml: string) => xml.replace(/urn:nhs:addressing:asid:/g, 'URN:NHS:ADDRESSING:ASID:'),
  /** The NHS-number system with its scheme and host in capitals and a trailing slash (RFC 3986: the same system). */
  'nhs-number-system-case': (xml: string) =>
    xml.replace('http://fhir.nhs.net/Id/nhs-number', 'HTTP://FHIR.NHS.NET/Id/nhs-number/'),
  /** Spine's timestamp and a dateTime assessment with ten fraction digits (DSTU2 bounds none: `(\.[0-9]+)?`). */
  'long-fraction': (xml: string) =>
    xml
      .replace(/(<timestamp value="[^"]*\.\d{3})Z"/, '$10000000Z"')
      .replace(/(<period><start value=")(\d{4}-\d{2}-\d{2})"/, '$1$2T10:00:00.1234567891Z"'),
  /** The NHS number under its OID instead of the DSTU2 system. */
  'nhs-number-oid': (xml: string) => xml.replace('http://fhir.nhs.net/Id/nhs-number', NHS_NUMBER_OID),
  /** The Flag's Patient as a Bundle entry with a urn:uuid fullUrl, the subject naming it by that URN (DSTU2 Bundle reference resolution). */
  'subject-patient-entry': (xml: string) => {
    const contained = /<contained>(<Patient><id value="([^"]*)"\/>.*?<\/Patient>)<\/contained>/s.exec(xml);
    if (!contained) return xml;
    const [whole, patient, id] = contained;
    return put(put(xml, whole, ''), `<reference value="#${id}"/>`, `<reference value="urn:uuid:${id}"/>`).replace(
      '</Bundle>',
      `<entry><fullUrl value="urn:uuid:${id}"/><resource>${patient}</resource></entry></Bundle>`,
    );
  },
  /** Spine's response code under the value set's fhir.nhs.uk URL (fgm-query-v2.md links that form); an indicator answer carries none. */
  'spine-code-nhs-uk': (xml: string) =>
    xml.replace(
      'http://fhir.nhs.net/ValueSet/spine-response-code-2-0',
      'https://fhir.nhs.uk/ValueSet/spine-response-code-2-0',
    ),
  /** A Parameters entry echoing the question: the NHS number asked about, nobody else. */
  'own-parameters': (xml: string, asked: string) => put(xml, '</Bundle>', `${parametersEntry(asked)}</Bundle>`),
  /** A comment quoting a DOCTYPE, and a narrative's CDATA quoting one: text, not markup, so nothing is declared. */
  'doctype-in-comment': (xml: string) =>
    xml.replace(
      /(<Flag><id value="[^"]*"\/>(?:<meta>.*?<\/meta>)?)/,
      '<!-- <!DOCTYPE Bundle> -->$1<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><![CDATA[ <!DOCTYPE html> ]]></div></text>',
    ),
  /** A 100 KB narrative on the Flag: larger than the gateway's own 64 KB cap on client messages. */
  'large-narrative': (xml: string) =>
    xml.replace(
      /(<Flag><id value="[^"]*"\/>(?:<meta>.*?<\/meta>)?)/,
      `$1<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">${'<p>FGM risk indicator narrative.</p>'.repeat(2900)}</div></text>`,
    ),
  /** The indicator's Patient with the modifier elements at the value that changes nothing: active true (the snapshot's default), deceasedBoolean false. */
  'patient-active-default': (xml: string) =>
    xml.replace(
      '</identifier></Patient>',
      '</identifier><active value="true"/><deceasedBoolean value="false"/></Patient>',
    ),
  /** The NHS-number, risk-indicator and response-code systems under NHS England's https://fhir.nhs.uk host instead of DSTU2's. */
  'risk-system-nhs-uk': (xml: string) =>
    ['Id/nhs-number', 'ValueSet/risk-indicator-type-1-0', 'ValueSet/spine-response-code-2-0'].reduce(
      (out, path) => out.replaceAll(DSTU2_HOST + path, NHS_ENGLAND_HOST + path),
      xml,
    ),
  /** The Flag's subject version-specific (`Patient/<id>/_history/1`), naming a Patient entry whose meta.versionId is 1. */
  'subject-versioned': (xml: string) => versionedSubject(xml, '1', '1'),
  /** Spine's 2-0 response code beside its original 1-0 code (fgm-query-v2.md's table): one outcome written twice; an indicator answer carries none. */
  'original-code-beside': (xml: string) =>
    xml.replace(
      /<coding><system value="http:\/\/fhir\.nhs\.net\/ValueSet\/spine-response-code-2-0"\/><code value="([A-Z_0-9]+)"\/>.*?<\/coding>/s,
      (coding, code: string) =>
        ORIGINAL_CODE[code]
          ? `${coding}<coding><system value="http://fhir.nhs.net/ValueSet/spine-response-code-1-0"/><code value="${ORIGINAL_CODE[code]}"/></coding>`
          : coding,
    ),
  /** Spine's timestamp to the minute, without seconds (DSTU2's instant requires them; the meaning is one instant). */
  'minute-timestamp': (xml: string) =>
    xml.replace(/<timestamp value="(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}):\d{2}(?:\.\d+)?Z"/, '<timestamp value="$1Z"'),
  /** A JAXB-style root: a dozen namespace prefixes declared on the Bundle, none of them used. */
  'jaxb-prefixes': (xml: string) =>
    put(
      xml,
      '<Bundle xmlns="http://hl7.org/fhir"',
      `<Bundle xmlns="http://hl7.org/fhir" xmlns:xsi="${XSI}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xhtml="http://www.w3.org/1999/xhtml" xmlns:xlink="http://www.w3.org/1999/xlink"${Array.from({ length: 8 }, (_, i) => ` xmlns:ns${i + 2}="urn:example:jaxb:ns${i + 2}"`).join('')}`,
    ),
  /** FHIR's namespace with a trailing slash on the Bundle (issue 18 review F5): a writer's misspelling of one namespace. */
  'fhir-ns-trailing-slash': (xml: string) =>
    put(xml, '<Bundle xmlns="http://hl7.org/fhir">', '<Bundle xmlns="http://hl7.org/fhir/">'),
  /** FHIR's namespace under https on the Bundle. */
  'fhir-ns-https': (xml: string) =>
    put(xml, '<Bundle xmlns="http://hl7.org/fhir">', '<Bundle xmlns="https://hl7.org/fhir">'),
  /** The NHS number asked about written with hyphens, 999-000-0018: the same digits. */
  'nhs-number-hyphens': (xml: string) => xml.replace(/(<value value=")(\d{3})(\d{3})(\d{4})"/, '$1$2-$3-$4"'),
  /** The NHS number asked about under http://fhir.nhs.uk/Id/nhs-number (NHS England's name under http). */
  'nhs-number-http-nhs-uk': (xml: string) =>
    xml.replace('http://fhir.nhs.net/Id/nhs-number', 'http://fhir.nhs.uk/Id/nhs-number'),
  /** The assessment date as a dateTime at midnight an hour east of the UK (a date written as a date-time): its UK instant is the evening before. */
  'midnight-offset-assessment': (xml: string) =>
    xml.replace(/(<period><start value=")(\d{4}-\d{2}-\d{2})"/, '$1$2T00:00:00+01:00"'),
  /** The assessment date as a dateTime without a zone (no DSTU2 dateTime; the date is the one written). */
  'zoneless-assessment': (xml: string) => xml.replace(/(<period><start value=")(\d{4}-\d{2}-\d{2})"/, '$1$2T10:00:00"'),
  /** MessageHeader.response.code `OK`: the code `ok` in capitals. */
  'response-code-upper': (xml: string) =>
    xml.replace(/(<response><identifier value="[^"]*"\/><code value=")ok"/, '$1OK"'),
  /** The FHIR default namespace and the xsi prefix redeclared, to the same URIs, on every element, as writers that declare where they write do. */
  'default-ns-every-element': (xml: string) =>
    xml
      .replace('<Bundle xmlns="http://hl7.org/fhir"', `<Bundle xmlns="http://hl7.org/fhir" xmlns:xsi="${XSI}"`)
      .replace(/<(?!Bundle\b)([A-Za-z]+)(?=[\s/>])/g, `<$1 xmlns="http://hl7.org/fhir" xmlns:xsi="${XSI}"`),
  /** Two entries holding nothing (`<entry/>`, `<entry><resource/></entry>`) beside the answer (issue 18 review 18f F6): read past beside an indicator. */
  'empty-entry': (xml: string) => xml.replace('</Bundle>', '<entry/><entry><resource/></entry></Bundle>'),
  /** A second MessageHeader.destination, another system's, before ours (review 18f F6). */
  'extra-destination': (xml: string) =>
    xml.replace(
      '<destination>',
      '<destination><name value="Another system"/><endpoint value="urn:nhs:addressing:asid:111111111111"/></destination><destination>',
    ),
  /** Another child's NHS number on an identifier of the indicator's Patient whose period ended in 2015: her old number (review 18f F8). */
  'old-number-ended': (xml: string, asked: string) =>
    xml.replace(
      '</identifier></Patient>',
      `</identifier><identifier><system value="http://fhir.nhs.net/Id/nhs-number"/><value value="${other(asked)}"/><period><end value="2015-01-01"/></period></identifier></Patient>`,
    ),
} as const;

/** Unsafe: each changes what the answer says about a child; the gateway must never show it. */
export const UNSAFE_VARIANTS = {
  'other-patient': (xml: string, asked: string) =>
    setValue(xml, asked, asked === '9990000026' ? '9990000042' : '9990000026'),
  'impossible-date': (xml: string) => xml.replace(/(<period><start value=")[^"]*"/, '$12023-02-30"'),
  'date-after-timestamp': (xml: string) =>
    xml.replace(/(<period><start value=")[^"]*"/, () => {
      const ts = /<timestamp value="([^"]*)"/.exec(xml)![1]!;
      return `<period><start value="${new Date(Date.parse(ts) + 2 * 86_400_000).toISOString().slice(0, 10)}"`;
    }),
  'timestamp-ahead': (xml: string) =>
    xml.replace(
      /<timestamp value="([^"]*)"/,
      (_m, ts: string) => `<timestamp value="${new Date(Date.parse(ts) + 86_400_000).toISOString()}"`,
    ),
  'timestamp-behind': (xml: string) =>
    xml.replace(
      /<timestamp value="([^"]*)"/,
      (_m, ts: string) => `<timestamp value="${new Date(Date.parse(ts) - 3 * 86_400_000).toISOString()}"`,
    ),
  'other-risk-code': (xml: string) => put(xml, '<code value="FGM"/>', '<code value="CPIS"/>'),
  'invalid-flag': (xml: string) => put(xml, '<status value="active"/>', '<status value="inactive"/>'),
  'not-our-request': (xml: string) => xml.replace(/(<response><identifier value=")[^"]*"/, `$1${randomUUID()}"`),
  'wrong-event': (xml: string) => put(xml, 'clinicals-sync:FGMQueryResponse_2_0', 'clinicals-sync:FGMQuery_2_0'),
  /** A modifier extension on the Flag: FHIR forbids reading past it. */
  'modifier-extension': (xml: string) =>
    put(
      xml,
      '<status value="active"/>',
      '<modifierExtension url="https://example.org/StructureDefinition/entered-in-error"><valueBoolean value="true"/></modifierExtension><status value="active"/>',
    ),
  /** The indicator's period ended the day after the assessment. */
  'ended-period': (xml: string) =>
    xml.replace(
      /<period><start value="([^"]*)"\/>/,
      (_m, start: string) =>
        `<period><start value="${start}"/><end value="${new Date(Date.parse(start) + 86_400_000).toISOString().slice(0, 10)}"/>`,
    ),
  /** Spine's own birth date for the child in the future: an impossible answer. */
  'born-after-timestamp': (xml: string) =>
    xml.replace(/(<\/identifier>)(\s*<\/Patient>)/, '$1<birthDate value="2099-01-01"/>$2'),
  /** An assessment in 1999: before any test patient was born, and before FGM-IS could have recorded it (refused whatever birth date the client gives). */
  'assessment-before-birth': (xml: string) => xml.replace(/(<period><start value=")[^"]*"/, '$11999-06-01"'),
  /** A second NHS number, of another child, under the DSTU2 system written in capitals with a trailing slash. */
  'other-patient-system-case': (xml: string, asked: string) =>
    put(
      xml,
      '</identifier></Patient>',
      `</identifier><identifier><system value="HTTP://FHIR.NHS.NET/Id/nhs-number/"/><value value="${asked === '9990000026' ? '9990000042' : '9990000026'}"/></identifier></Patient>`,
    ),
  /** A modifier extension on the MessageHeader: we cannot know what it changes. */
  'header-modifier': (xml: string) =>
    put(
      xml,
      '<timestamp ',
      '<modifierExtension url="https://example.org/StructureDefinition/replayed"><valueBoolean value="true"/></modifierExtension><timestamp ',
    ),
  /** Bundle.implicitRules: the whole message read under rules we do not know. */
  'bundle-implicit-rules': (xml: string) =>
    put(xml, '<type value="message"/>', '<implicitRules value="https://example.org/rules"/><type value="message"/>'),
  /** A second NHS number, of another child, under the NHS England system. */
  'other-patient-new-system': (xml: string, asked: string) =>
    put(
      xml,
      '</identifier></Patient>',
      `</identifier><identifier><system value="https://fhir.nhs.uk/Id/nhs-number"/><value value="${asked === '9990000026' ? '9990000042' : '9990000026'}"/></identifier></Patient>`,
    ),
  /** Beside the indicator for the child asked about, an unreferenced Patient entry of another child (DSTU2 NHS-number system). */
  'other-patient-entry': (xml: string, asked: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource><Patient><id value="${randomUUID()}"/><identifier><system value="http://fhir.nhs.net/Id/nhs-number"/><value value="${asked === '9990000026' ? '9990000042' : '9990000026'}"/></identifier></Patient></resource></entry></Bundle>`,
    ),
  /** Beside the indicator, a second contained Patient of another child, which the Flag's subject does not reference. */
  'other-patient-contained': (xml: string, asked: string) =>
    put(
      xml,
      '</contained>',
      `</contained><contained><Patient><id value="${randomUUID()}"/><identifier><system value="http://fhir.nhs.net/Id/nhs-number"/><value value="${other(asked)}"/></identifier></Patient></contained>`,
    ),
  /** Beside the indicator, an entry whose resource holds Spine's NO_RECORD_FOUND error and a Basic. */
  'error-outcome-entry': (xml: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource>${outcome('error', 'NO_RECORD_FOUND')}<Basic/></resource></entry></Bundle>`,
    ),
  /** Beside the indicator, an entry whose resource holds a second MessageHeader and a Basic. */
  'second-header-entry': (xml: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource><MessageHeader><id value="${randomUUID()}"/><event><system value="http://fhir.nhs.net/ValueSet/message-event-2-0"/><code value="urn:nhs:names:services:clinicals-sync:FGMQueryResponse_2_0"/></event></MessageHeader><Basic/></resource></entry></Bundle>`,
    ),
  /** Beside the indicator, a warning that carries Spine's own NO_RECORD_FOUND: Spine contradicting itself. */
  'note-with-spine-code': (xml: string) =>
    put(xml, '</Bundle>', `<entry><resource>${outcome('warning', 'NO_RECORD_FOUND')}</resource></entry></Bundle>`),
  /** The same, the code FGM-0001 of Spine's older value set spine-response-code-1-0. */
  'note-with-spine-code-1-0': (xml: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource>${outcome('warning', 'FGM-0001', 'http://fhir.nhs.net/ValueSet/spine-response-code-1-0')}</resource></entry></Bundle>`,
    ),
  /** The same, NO_RECORD_FOUND under the value set's fhir.nhs.uk URL (fgm-query-v2.md links that form). */
  'note-with-spine-code-nhs-uk': (xml: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource>${outcome('warning', 'NO_RECORD_FOUND', 'https://fhir.nhs.uk/ValueSet/spine-response-code-2-0')}</resource></entry></Bundle>`,
    ),
  /** Beside the indicator, a Parameters entry in the request's shape naming another child. */
  'other-patient-parameters': (xml: string, asked: string) =>
    put(xml, '</Bundle>', `${parametersEntry(other(asked))}</Bundle>`),
  /** A second NHS number, of another child, under the NHS number's OID. */
  'other-patient-oid': (xml: string, asked: string) =>
    put(
      xml,
      '</identifier></Patient>',
      `</identifier><identifier><system value="${NHS_NUMBER_OID}"/><value value="${other(asked)}"/></identifier></Patient>`,
    ),
  /** Beside the indicator, a Patient entry named by the NHS number asked about and by another child's, whose system is written twice. */
  'other-patient-system-twice': (xml: string, asked: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource><Patient><id value="${randomUUID()}"/>${[asked, other(asked)].map((n, i) => `<identifier>${'<system value="http://fhir.nhs.net/Id/nhs-number"/>'.repeat(i + 1)}<value value="${n}"/></identifier>`).join('')}</Patient></resource></entry></Bundle>`,
    ),
  /** Beside the indicator, a Parameters NHSNumber written both as valueString (the number asked about) and valueIdentifier (another child's, no system). */
  'parameters-value-twice': (xml: string, asked: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource><Parameters><id value="${randomUUID()}"/><parameter><name value="NHSNumber"/><valueString value="${asked}"/><valueIdentifier><value value="${other(asked)}"/></valueIdentifier></parameter></Parameters></resource></entry></Bundle>`,
    ),
  /** Beside the indicator, an informational note carrying a modifier extension. */
  'note-modifier': (xml: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource><OperationOutcome><id value="${randomUUID()}"/>${ENTERED_IN_ERROR}<issue><severity value="information"/><code value="informational"/></issue></OperationOutcome></resource></entry></Bundle>`,
    ),
  /** Beside the indicator, a Patient entry named by the NHS number asked about, carrying a modifier extension. */
  'patient-entry-modifier': (xml: string, asked: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource><Patient><id value="${randomUUID()}"/>${ENTERED_IN_ERROR}<identifier><system value="http://fhir.nhs.net/Id/nhs-number"/><value value="${asked}"/></identifier></Patient></resource></entry></Bundle>`,
    ),
  /** The indicator's Patient marked inactive: a modifier element (Spine-RIS-Patient-1-0 isModifier) the core does not read past. */
  'patient-inactive': (xml: string) =>
    put(xml, '</identifier></Patient>', '</identifier><active value="false"/></Patient>'),
  /** The indicator's Patient replaced by another record (link type replace). */
  'patient-replaced': (xml: string) =>
    put(
      xml,
      '</identifier></Patient>',
      `</identifier><link><other><reference value="Patient/${randomUUID()}"/></other><type value="replace"/></link></Patient>`,
    ),
  /** The NHS number asked about marked as no longer in use. */
  'nhs-number-old': (xml: string) => put(xml, '<identifier><system', '<identifier><use value="old"/><system'),
  /** The Flag's modifier extension inside a wrapper of another namespace: still FHIR's, still a modifier. */
  'wrapped-modifier': (xml: string) =>
    put(
      xml,
      '<status value="active"/>',
      `<x:wrap xmlns:x="urn:example:wrapper">${ENTERED_IN_ERROR.replace('<modifierExtension ', '<modifierExtension xmlns="http://hl7.org/fhir" ')}</x:wrap><status value="active"/>`,
    ),
  /** The assessment dateTime with a leap second at 10:00 UTC, where none is ever inserted (only 23:59:60 UTC). */
  'leap-second-off-minute': (xml: string) =>
    xml.replace(/(<period><start value=")(\d{4}-\d{2}-\d{2})"/, '$1$2T10:00:60Z"'),
  /** The Bundle declaring 4,000 namespace prefixes: far over the XML reader's cap, once quadratic to read. */
  'namespace-flood': (xml: string) =>
    put(
      xml,
      '<Bundle xmlns="http://hl7.org/fhir"',
      `<Bundle xmlns="http://hl7.org/fhir"${Array.from({ length: 4000 }, (_, i) => ` xmlns:p${i.toString(36)}="u"`).join('')}`,
    ),
  /**
   * The indicator padded to about 240 KB with 60,000 empty XHTML elements in the Flag's narrative:
   * under spine.maxResponseBytes, far over the XML reader's element cap; parsing it once held the
   * gateway's event loop for a second or more.
   */
  padded: (xml: string) =>
    xml.replace(
      /(<Flag><id value="[^"]*"\/>(?:<meta>.*?<\/meta>)?)/,
      `$1<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">${'<p/>'.repeat(60_000)}</div></text>`,
    ),
  /** note-with-spine-code, its coding's code written twice. */
  'note-code-twice': (xml: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource>${outcome('warning', 'NO_RECORD_FOUND').replace('<code value="NO_RECORD_FOUND"/>', '<code value="NO_RECORD_FOUND"/>'.repeat(2))}</resource></entry></Bundle>`,
    ),
  /** note-with-spine-code, the issue's details written twice. */
  'note-details-twice': (xml: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource>${outcome('warning', 'NO_RECORD_FOUND').replace(/<details>.*<\/details>/, (d) => d + d)}</resource></entry></Bundle>`,
    ),
  /** ended-period, its end written twice. */
  'ended-period-twice': (xml: string) =>
    xml.replace(
      /<period><start value="([^"]*)"\/>/,
      (_m, start: string) =>
        `<period><start value="${start}"/>${`<end value="${new Date(Date.parse(start) + 86_400_000).toISOString().slice(0, 10)}"/>`.repeat(2)}`,
    ),
  /** Beside the FGM coding (DSTU2 host), a CPIS coding under NHS England's name of the same risk-indicator system. */
  'risk-system-mixed': (xml: string) =>
    put(
      xml,
      '<code value="FGM"/></coding>',
      `<code value="FGM"/></coding><coding><system value="${NHS_ENGLAND_HOST}ValueSet/risk-indicator-type-1-0"/><code value="CPIS"/></coding>`,
    ),
  /** Beside the indicator, a Parameters entry naming another child as NHSNumber in a part nested two deep. */
  'parameters-part-other-patient': (xml: string, asked: string) =>
    put(xml, '</Bundle>', `${nestedParametersEntry(part('NHSNumber', other(asked)))}</Bundle>`),
  /** Beside the indicator, a RelatedPerson entry holding another child's NHS number under http://fhir.nhs.uk/Id/nhs-number. */
  'other-patient-related-person-http': (xml: string, asked: string) =>
    put(
      xml,
      '</Bundle>',
      `<entry><resource><RelatedPerson><id value="${randomUUID()}"/><identifier><system value="http://fhir.nhs.uk/Id/nhs-number"/><value value="${other(asked)}"/></identifier></RelatedPerson></resource></entry></Bundle>`,
    ),
  /** The Flag's subject version-specific (`Patient/<id>/_history/1`), naming a Patient entry whose meta.versionId is 2: another version of the record. */
  'subject-version-mismatch': (xml: string) => versionedSubject(xml, '1', '2'),
  /** The NHS number asked about only on an identifier whose period ended in 2015 (review 18f F8): which child holds it now Spine does not say. */
  'nhs-number-ended': (xml: string, asked: string) =>
    put(
      xml,
      `<value value="${asked}"/></identifier>`,
      `<value value="${asked}"/><period><end value="2015-01-01"/></period></identifier>`,
    ),
} as const;

/**
 * Spine's NO_RECORD_FOUND answer (HTTP 404) hiding the FGM Flag for the child asked about where a
 * reader of one resource per entry does not look: the gateway must refuse it, never say "no record".
 */
export const HIDING_VARIANTS = {
  /** The Flag contained in the OperationOutcome. */
  'no-record-contained-flag': (noRecord: string, indicator: string) =>
    put(noRecord, '<issue>', `<contained>${flagOf(indicator)}</contained><issue>`),
  /** The Flag in one more entry, whose resource also holds a Basic. */
  'no-record-flag-entry': (noRecord: string, indicator: string) =>
    put(noRecord, '</Bundle>', `<entry><resource>${flagOf(indicator)}<Basic/></resource></entry></Bundle>`),
  /** A Parameters entry in the request's shape naming another child: the not-found may be about that child. */
  'no-record-other-parameters': (noRecord: string, _indicator: string, asked: string) =>
    put(noRecord, '</Bundle>', `${parametersEntry(other(asked))}</Bundle>`),
  /** A Parameters entry echoing our child under another risk indicator (CPIS): the not-found may be about that one. */
  'no-record-other-risk-indicator': (noRecord: string, _indicator: string, asked: string) =>
    put(noRecord, '</Bundle>', `${parametersEntry(asked).replace('value="FGM"', 'value="CPIS"')}</Bundle>`),
  /** Another child's Patient in a foreign wrapper inside the outcome: the not-found may be about that child. */
  'no-record-wrapped-patient': (noRecord: string, _indicator: string, asked: string) =>
    put(
      noRecord,
      '<issue>',
      `<x:wrap xmlns:x="urn:example:wrapper"><Patient xmlns="http://hl7.org/fhir"><id value="${randomUUID()}"/><identifier><system value="http://fhir.nhs.net/Id/nhs-number"/><value value="${other(asked)}"/></identifier></Patient></x:wrap><issue>`,
    ),
  /** The NO_RECORD_FOUND OperationOutcome carrying a modifier extension. */
  'no-record-outcome-modifier': (noRecord: string) => put(noRecord, '<issue>', `${ENTERED_IN_ERROR}<issue>`),
  /** The Flag in the OperationOutcome's narrative, inside its XHTML div. */
  'no-record-narrative-flag': (noRecord: string, indicator: string) =>
    put(
      noRecord,
      '<issue>',
      `<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>No record</p>${flagOf(indicator).replace('<Flag>', '<Flag xmlns="http://hl7.org/fhir">')}</div></text><issue>`,
    ),
  /** One more entry holding the Flag, wrapped in an element of another namespace under the Bundle. */
  'no-record-wrapped-flag': (noRecord: string, indicator: string) =>
    put(
      noRecord,
      '</Bundle>',
      `<x:wrap xmlns:x="urn:example:wrapper"><entry><resource>${flagOf(indicator)}</resource></entry></x:wrap></Bundle>`,
    ),
  /** One more entry holding the Flag, the entry in another namespace, so no FHIR element is left in it: still our child's indicator. */
  'no-record-foreign-entry-flag': (noRecord: string, indicator: string) =>
    put(
      noRecord,
      '</Bundle>',
      `<entry xmlns="urn:example:other"><resource>${flagOf(indicator)}</resource></entry></Bundle>`,
    ),
  /** The FGM risk code on a Basic entry rather than a Flag. */
  'no-record-risk-basic': (noRecord: string) =>
    put(
      noRecord,
      '</Bundle>',
      `<entry><resource><Basic><id value="${randomUUID()}"/><code><coding><system value="http://fhir.nhs.net/ValueSet/risk-indicator-type-1-0"/><code value="FGM"/></coding></code></Basic></resource></entry></Bundle>`,
    ),
  /** The FGM risk code on a Basic entry, its system under NHS England's https://fhir.nhs.uk host. */
  'no-record-risk-nhs-uk': (noRecord: string) =>
    put(
      noRecord,
      '</Bundle>',
      `<entry><resource><Basic><id value="${randomUUID()}"/><code><coding><system value="${NHS_ENGLAND_HOST}ValueSet/risk-indicator-type-1-0"/><code value="FGM"/></coding></code></Basic></resource></entry></Bundle>`,
    ),
  /** A Parameters entry echoing our child with another risk indicator (CPIS) in a part nested two deep. */
  'no-record-parameters-part-risk': (noRecord: string, _indicator: string, asked: string) =>
    put(
      noRecord,
      '</Bundle>',
      `${nestedParametersEntry(part('NHSNumber', asked) + part('RiskIndicator', 'CPIS'))}</Bundle>`,
    ),
  /** One more entry holding the Flag, the entry in FHIR's namespace with a trailing slash (issue 18 review F5). */
  'no-record-near-fhir-flag': (noRecord: string, indicator: string) =>
    put(
      noRecord,
      '</Bundle>',
      `<entry xmlns="http://hl7.org/fhir/"><resource>${flagOf(indicator)}</resource></entry></Bundle>`,
    ),
  /** MessageHeader.response.code `transient-error` (review 18f F1): something failed, "no record" cannot be believed. */
  'no-record-transient-error': (noRecord: string) =>
    put(noRecord, '<code value="ok"/>', '<code value="transient-error"/>'),
  /** The not-found issue typed `exception` (review 18f F1): something failed. */
  'no-record-exception-issue': (noRecord: string) =>
    put(noRecord, '<code value="not-found"/>', '<code value="exception"/>'),
  /** The not-found issue's diagnostics naming another child's NHS number, written 3-3-4 (atk18c F1): the not-found may be about that child. */
  'no-record-other-number-text': (noRecord: string, _indicator: string, asked: string) =>
    put(
      noRecord,
      '</details>',
      `</details><diagnostics value="No record found for NHS number ${other(asked).replace(/^(\d{3})(\d{3})/, '$1 $2 ')}"/>`,
    ),
  /** The not-found issue's location naming another child's Patient (atk18d F1): Spine's OperationOutcome profile allows it. */
  'no-record-other-number-location': (noRecord: string, _indicator: string, asked: string) =>
    put(noRecord, '</details>', `</details><location value="/Patient/${other(asked)}"/>`),
  /** A Parameters entry naming another child under `nhsNumber`, the request's parameter name in another case (atk18c F1). */
  'no-record-parameters-lowercase': (noRecord: string, _indicator: string, asked: string) =>
    put(noRecord, '</Bundle>', `${nestedParametersEntry(part('nhsNumber', other(asked)))}</Bundle>`),
  /** MessageHeader.data naming the indicator's Flag, which the message does not carry. */
  'no-record-data-absent': (noRecord: string, indicator: string) =>
    put(
      noRecord,
      '</destination></MessageHeader>',
      `</destination><data><reference value="Flag/${/<Flag><id value="([^"]*)"/.exec(indicator)![1]}"/></data></MessageHeader>`,
    ),
} as const;

export type HarmlessVariant = keyof typeof HARMLESS_VARIANTS;
export type UnsafeVariant = keyof typeof UNSAFE_VARIANTS;
export type HidingVariant = keyof typeof HIDING_VARIANTS;
