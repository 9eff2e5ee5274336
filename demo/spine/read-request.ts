/**
 * @module demo/spine/read-request
 * The simulator's own small reading of an FGMQuery_2_0 request, with fast-xml-parser: the few
 * values Spine needs to answer (message id, ASIDs, NHS number, who asked). It shares no code with
 * the gateway's parser, so the gateway never meets only readings of its own making; whether the
 * request keeps the profiles is the profile validator's call, made before this runs.
 */
import { XMLParser } from 'fast-xml-parser';

export interface SimRequest {
  messageId: string;
  sourceAsid: string;
  destinationAsid: string;
  sourceName?: string;
  nhsNumber: string;
  author: { kind: 'sds'; userId: string; roleProfileId: string } | { kind: 'local'; localId: string } | null;
  organization?: { odsCode: string; name?: string };
}

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: true,
  parseAttributeValue: false,
  parseTagValue: false,
  processEntities: true,
  isArray: (name) => ['entry', 'parameter', 'identifier'].includes(name),
});

const ASID = /^urn:nhs:addressing:asid:(\d{1,12})$/;
const SYSTEMS = {
  sdsUser: 'http://fhir.nhs.net/Id/sds-user-id',
  sdsRole: 'http://fhir.nhs.net/Id/sds-role-profile-id',
  local: 'http://fhir.nhs.net/Id/local-identifier',
  ods: 'http://fhir.nhs.net/Id/ods-organization-code',
};

const node = (v: unknown): Node | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : undefined;
/** `<name value="…"/>` under `n`. */
const val = (n: Node | undefined, name: string): string | undefined => {
  const v = node(n?.[name])?.value;
  return typeof v === 'string' ? v : undefined;
};
const list = (v: unknown): Node[] =>
  Array.isArray(v)
    ? v.flatMap((x: unknown) => {
        const n = node(x);
        return n ? [n] : [];
      })
    : [];
const idFor = (ids: Node[], system: string) =>
  val(
    ids.find((i) => val(i, 'system') === system),
    'value',
  );

/**
 * Reads what Spine needs from a request the profiles accept; undefined when even that is missing.
 * @example readRequest(xml)?.nhsNumber // '9990000018'
 */
export function readRequest(xml: string): SimRequest | undefined {
  let doc: Node;
  try {
    doc = parser.parse(xml) as Node;
  } catch {
    return undefined;
  }
  const resources = list(node(doc.Bundle)?.entry).flatMap((e) => {
    const r = node(e.resource);
    return r ? [r] : [];
  });
  const of = (type: string) => resources.map((r) => node(r[type])).find((r) => r !== undefined);
  const header = of('MessageHeader');
  const params = list(of('Parameters')?.parameter);
  const messageId = val(header, 'id');
  const source = ASID.exec(val(node(header?.source), 'endpoint') ?? '')?.[1];
  const destination = ASID.exec(val(node(header?.destination), 'endpoint') ?? '')?.[1];
  const nhsNumber = val(
    params.find((p) => val(p, 'name') === 'NHSNumber'),
    'valueString',
  );
  if (!messageId || !source || !destination || nhsNumber === undefined) return undefined;
  const ids = list(of('Practitioner')?.identifier);
  const [userId, roleProfileId, localId] = [
    idFor(ids, SYSTEMS.sdsUser),
    idFor(ids, SYSTEMS.sdsRole),
    idFor(ids, SYSTEMS.local),
  ];
  const org = of('Organization');
  const odsCode = idFor(list(org?.identifier), SYSTEMS.ods);
  const sourceName = val(node(header?.source), 'name');
  const orgName = val(org, 'name');
  return {
    messageId,
    sourceAsid: source,
    destinationAsid: destination,
    ...(sourceName !== undefined && { sourceName }),
    nhsNumber,
    author:
      userId && roleProfileId ? { kind: 'sds', userId, roleProfileId } : localId ? { kind: 'local', localId } : null,
    ...(odsCode && { organization: { odsCode, ...(orgName !== undefined && { name: orgName }) } }),
  };
}
