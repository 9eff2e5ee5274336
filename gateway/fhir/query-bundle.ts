/**
 * @module fhir/query-bundle
 * The FGMQuery_2_0 request: built from typed input, and parsed + validated against
 * spine-message-bundle-1-0, spine-request-messageheader-2-0, spine-ris-parameters-1-0,
 * spine-practitioner-2-0 and spine-organization-1-0.
 */
import { randomUUID } from 'node:crypto';
import { ASID_PREFIX, EVENT_SYSTEM, FGM, FHIR_NS, PROFILE, QUERY_EVENT, SYSTEM } from './constants.ts';
import { INFERRED_PROFILE, SCHEMA_HINT } from './profile-validator.ts';
import {
  all,
  conforming,
  guard,
  one,
  only,
  ProfileViolation,
  readHeader,
  readMessageBundle,
  resolve,
  value,
  type MessageBundle,
} from './read.ts';
import {
  QueryInputSchema,
  QueryRequestSchema,
  type Author,
  type CodecResult,
  type Organization,
  type QueryInput,
  type QueryRequest,
} from './types.ts';
import { nodeToElement, parseXml, prim, writeXml, type XmlElement, type XmlNode } from './xml.ts';

const meta = (profile: string): XmlNode => ['meta', {}, [prim('profile', profile)]];
const entry = (resource: XmlNode): XmlNode => ['entry', {}, [['resource', {}, [resource]]]];
const identifier = (system: string, v: string): XmlNode => [
  'identifier',
  {},
  [prim('system', system), prim('value', v)],
];

/**
 * Builds an FGMQuery_2_0 request bundle (FHIR DSTU2 XML) with fresh IDs; `tree` is the same
 * message as elements, to check against the profiles without parsing it back.
 * @example const { xml, messageId } = buildQueryBundle({ nhsNumber, sourceAsid, destinationAsid, author, organization });
 */
export function buildQueryBundle(input: QueryInput): {
  xml: string;
  tree: XmlElement;
  messageId: string;
  bundleId: string;
} {
  const q = QueryInputSchema.parse(input);
  const bundleId = randomUUID();
  const messageId = q.messageId ?? randomUUID();
  const [parametersId, practitionerId, organizationId] = [randomUUID(), randomUUID(), randomUUID()];
  const author: XmlNode[] =
    q.author.kind === 'sds'
      ? [identifier(SYSTEM.sdsUserId, q.author.userId), identifier(SYSTEM.sdsRoleProfileId, q.author.roleProfileId)]
      : [identifier(SYSTEM.localIdentifier, q.author.localId)];

  const message: XmlNode = [
    'Bundle',
    { xmlns: FHIR_NS },
    [
      prim('id', bundleId),
      meta(PROFILE.bundle),
      prim('type', 'message'),
      entry([
        'MessageHeader',
        {},
        [
          prim('id', messageId),
          meta(PROFILE.requestHeader),
          prim('timestamp', (q.timestamp ?? new Date()).toISOString()),
          ['event', {}, [prim('system', EVENT_SYSTEM), prim('code', QUERY_EVENT)]],
          [
            'source',
            {},
            [
              q.sourceName ? prim('name', q.sourceName) : undefined,
              q.software ? prim('software', q.software) : undefined,
              prim('endpoint', ASID_PREFIX + q.sourceAsid),
            ],
          ],
          ['destination', {}, [prim('name', 'SPINE'), prim('endpoint', ASID_PREFIX + q.destinationAsid)]],
          // No author.display and no Practitioner.name: both are max 0 in the 2-0 profiles.
          ['author', {}, [prim('reference', `Practitioner/${practitionerId}`)]],
          ['data', {}, [prim('reference', `Parameters/${parametersId}`)]],
        ],
      ]),
      entry([
        'Parameters',
        {},
        [
          prim('id', parametersId),
          meta(PROFILE.parameters),
          ['parameter', {}, [prim('name', 'RiskIndicator'), prim('valueString', FGM)]],
          ['parameter', {}, [prim('name', 'NHSNumber'), prim('valueString', q.nhsNumber)]],
        ],
      ]),
      entry([
        'Practitioner',
        {},
        [
          prim('id', practitionerId),
          meta(PROFILE.practitioner),
          ...author,
          [
            'practitionerRole',
            {},
            [['managingOrganization', {}, [prim('reference', `Organization/${organizationId}`)]]],
          ],
        ],
      ]),
      entry([
        'Organization',
        {},
        [
          prim('id', organizationId),
          meta(PROFILE.organization),
          identifier(SYSTEM.odsOrganizationCode, q.organization.odsCode),
          prim('name', q.organization.name),
        ],
      ]),
    ],
  ];
  return { xml: writeXml(message), tree: nodeToElement(message), messageId, bundleId };
}

/**
 * Parses and validates an FGMQuery_2_0 request, against the codec's reading and the profile snapshots. `author` is null when the Practitioner has no
 * complete SDS pair and no local identifier (the SMSP answers AUTHOR_CREDENTIALS_ERROR).
 */
export function parseQueryBundle(xml: string | XmlElement): CodecResult<QueryRequest> {
  const parsed: CodecResult<XmlElement> = typeof xml === 'string' ? parseXml(xml) : { ok: true, value: xml };
  if (!parsed.ok) return parsed;
  // `meta` is optional in the profiles (min 0), so a request without it is read by the profile its
  // place implies (SMSP-VAL-001); one that names another profile is still refused. A schema
  // location hint (xsi:schemaLocation) is one a schema validator accepts anywhere, so it is too.
  return conforming(
    parsed.value,
    guard(() => QueryRequestSchema.parse(readQuery(parsed.value))),
    (v) => v.message === INFERRED_PROFILE || v.message === SCHEMA_HINT,
    { inferProfiles: 'request' },
  );
}

function readQuery(root: XmlElement): QueryRequest {
  const bundle = readMessageBundle(root);
  const mh = bundle.header;
  const { messageId, timestamp, sourceAsid, sourceName, destinationAsid } = readHeader(mh, QUERY_EVENT);
  const author = one(mh, 'author', 'MessageHeader.author', true);
  const practitioner = resolve(
    bundle,
    value(author, 'reference', 'MessageHeader.author.reference', { required: true }),
    'MessageHeader.author.reference',
    'Practitioner',
  );
  const data = one(mh, 'data', 'MessageHeader.data');
  const dataRef = data && value(data, 'reference', 'MessageHeader.data.reference');
  const parameters = dataRef
    ? resolve(bundle, dataRef, 'MessageHeader.data.reference', 'Parameters')
    : only(bundle, 'Parameters', 'Parameters');
  const { riskIndicator, nhsNumber } = readParameters(parameters);
  const who = readPractitioner(bundle, practitioner);
  return {
    bundleId: bundle.id,
    messageId,
    timestamp,
    sourceAsid,
    destinationAsid,
    ...(sourceName !== undefined && { sourceName }),
    riskIndicator,
    nhsNumber,
    author: who.author,
    ...(who.organization && { organization: who.organization }),
  };
}

function readParameters(p: XmlElement): { riskIndicator: string; nhsNumber: string } {
  const byName = new Map<string, string>();
  for (const parameter of all(p, 'parameter')) {
    const name = value(parameter, 'name', 'Parameters.parameter.name', { required: true });
    if (name !== 'RiskIndicator' && name !== 'NHSNumber')
      throw new ProfileViolation('Parameters.parameter.name', 'is not a parameter of spine-ris-parameters-1-0');
    if (byName.has(name)) throw new ProfileViolation(`Parameters.parameter[${name}]`, 'appears more than once (max 1)');
    byName.set(
      name,
      value(parameter, 'valueString', `Parameters.parameter[${name}].valueString`, {
        required: true,
        identifier: true,
      }),
    );
  }
  const riskIndicator = byName.get('RiskIndicator');
  const nhsNumber = byName.get('NHSNumber');
  if (riskIndicator === undefined) throw new ProfileViolation('Parameters.parameter[RiskIndicator]', 'is required');
  if (riskIndicator !== FGM)
    throw new ProfileViolation('Parameters.parameter[RiskIndicator].valueString', `must be ${FGM}`);
  if (nhsNumber === undefined) throw new ProfileViolation('Parameters.parameter[NHSNumber]', 'is required');
  return { riskIndicator, nhsNumber };
}

function readPractitioner(
  bundle: MessageBundle,
  pr: XmlElement,
): { author: Author | null; organization?: Organization } {
  const ids = new Map<string, string>();
  for (const id of all(pr, 'identifier')) {
    const system = value(id, 'system', 'Practitioner.identifier.system', { required: true });
    const v = value(id, 'value', 'Practitioner.identifier.value', { required: true, identifier: true });
    if (ids.has(system))
      throw new ProfileViolation('Practitioner.identifier', 'an identifier system appears more than once (max 1)');
    ids.set(system, v);
  }
  const userId = ids.get(SYSTEM.sdsUserId);
  const roleProfileId = ids.get(SYSTEM.sdsRoleProfileId);
  const localId = ids.get(SYSTEM.localIdentifier);
  const author: Author | null =
    userId && roleProfileId ? { kind: 'sds', userId, roleProfileId } : localId ? { kind: 'local', localId } : null;

  const role = one(pr, 'practitionerRole', 'Practitioner.practitionerRole');
  let organization: XmlElement | undefined;
  if (role) {
    const managing = one(role, 'managingOrganization', 'Practitioner.practitionerRole.managingOrganization', true);
    const ref = value(managing, 'reference', 'Practitioner.practitionerRole.managingOrganization.reference', {
      required: true,
    });
    organization = resolve(bundle, ref, 'Practitioner.practitionerRole.managingOrganization.reference', 'Organization');
    const jobRole = one(role, 'role', 'Practitioner.practitionerRole.role');
    if (jobRole) {
      const coding = one(jobRole, 'coding', 'Practitioner.practitionerRole.role.coding', true);
      value(coding, 'system', 'Practitioner.practitionerRole.role.coding.system', {
        required: true,
        fixed: SYSTEM.sdsJobRoleName,
      });
    }
  } else {
    organization = [...bundle.resources.values()].find((r) => r.name === 'Organization');
  }
  return organization ? { author, organization: readOrganization(organization) } : { author };
}

/** spine-organization-1-0: exactly one ODS organisation code, and a name. */
export function readOrganization(org: XmlElement): Organization {
  let odsCode: string | undefined;
  for (const id of all(org, 'identifier')) {
    const system = value(id, 'system', 'Organization.identifier.system', { required: true });
    const v = value(id, 'value', 'Organization.identifier.value', { required: true, identifier: true });
    if (system !== SYSTEM.odsOrganizationCode) continue;
    if (odsCode !== undefined)
      throw new ProfileViolation('Organization.identifier', 'the ODS organisation code appears more than once (max 1)');
    odsCode = v;
  }
  if (odsCode === undefined)
    throw new ProfileViolation('Organization.identifier', 'an ODS organisation code is required');
  const name = value(org, 'name', 'Organization.name', { required: true });
  return { odsCode, name };
}
