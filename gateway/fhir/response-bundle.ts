/**
 * @module fhir/response-bundle
 * The FGMQueryResponse_2_0 answer: a Flag with a contained Patient when an indicator exists,
 * or an OperationOutcome (no record, or an error). Built by the SMSP FHIR interface for its client
 * systems; `parseQueryResponse` reads one strictly, as a client system reads this SMSP's answers.
 * Spine's answers are not read here: the safety core (spine/answer-safety.ts) decides on those.
 */
import { randomUUID } from 'node:crypto';
import { ASID_PREFIX, EVENT_SYSTEM, FGM, FHIR_NS, PROFILE, RESPONSE_EVENT, SYSTEM } from './constants.ts';
import {
  all,
  conforming,
  DATE_TIME,
  guard,
  one,
  ProfileViolation,
  readHeader,
  readMessageBundle,
  resolve,
  value,
  type MessageBundle,
} from './read.ts';
import {
  QueryResponseSchema,
  ResponseInputSchema,
  type CodecResult,
  type Outcome,
  type QueryResponse,
  type ResponseInput,
} from './types.ts';
import { parseXml, prim, writeXml, type XmlElement, type XmlNode } from './xml.ts';
import { codeSystemFor } from './vocabulary.ts';

const meta = (profile: string): XmlNode => ['meta', {}, [prim('profile', profile)]];
const entry = (resource: XmlNode): XmlNode => ['entry', {}, [['resource', {}, [resource]]]];
const SEVERITIES = ['fatal', 'error', 'warning', 'information'] as const;
const RESPONSE_CODES = ['ok', 'transient-error', 'fatal-error'] as const;

/** `ok` for an indicator and for anything not an error (the spec calls no-record a successful interaction). */
function responseCode(outcome: Outcome): QueryResponse['responseCode'] {
  if (outcome.kind === 'indicator') return 'ok';
  return outcome.severity === 'fatal' || (outcome.severity === 'error' && outcome.issueType !== 'not-found')
    ? 'fatal-error'
    : 'ok';
}

/** Builds an FGMQueryResponse_2_0 bundle answering the request whose MessageHeader id is `respondsTo`. */
export function buildQueryResponse(input: ResponseInput): { xml: string; messageId: string } {
  const r = ResponseInputSchema.parse(input);
  const messageId = r.messageId ?? randomUUID();
  const resourceId = randomUUID();
  const isFlag = r.outcome.kind === 'indicator';
  let resource: XmlNode;
  if (r.outcome.kind === 'indicator') {
    const patientId = randomUUID();
    resource = [
      'Flag',
      {},
      [
        prim('id', resourceId),
        meta(PROFILE.flag),
        [
          'contained',
          {},
          [
            [
              'Patient',
              {},
              [
                prim('id', patientId),
                meta(PROFILE.patient),
                ['identifier', {}, [prim('system', SYSTEM.nhsNumber), prim('value', r.outcome.nhsNumber)]],
              ],
            ],
          ],
        ],
        prim('status', 'active'),
        ['period', {}, [prim('start', r.outcome.assessmentDate)]],
        ['subject', {}, [prim('reference', `#${patientId}`)]],
        ['code', {}, [['coding', {}, [prim('system', SYSTEM.riskIndicatorType), prim('code', FGM)]]]],
      ],
    ];
  } else {
    const o = r.outcome;
    resource = [
      'OperationOutcome',
      {},
      [
        prim('id', resourceId),
        meta(PROFILE.operationOutcome),
        [
          'issue',
          {},
          [
            prim('severity', o.severity),
            prim('code', o.issueType),
            [
              'details',
              {},
              [
                [
                  'coding',
                  {},
                  [
                    prim('system', codeSystemFor(o.code)),
                    prim('code', o.code),
                    o.display ? prim('display', o.display) : undefined,
                  ],
                ],
              ],
            ],
          ],
        ],
      ],
    ];
  }
  const xml = writeXml([
    'Bundle',
    { xmlns: FHIR_NS },
    [
      prim('id', randomUUID()),
      meta(PROFILE.bundle),
      prim('type', 'message'),
      entry([
        'MessageHeader',
        {},
        [
          prim('id', messageId),
          meta(PROFILE.responseHeader),
          prim('timestamp', (r.timestamp ?? new Date()).toISOString()),
          ['event', {}, [prim('system', EVENT_SYSTEM), prim('code', RESPONSE_EVENT)]],
          [
            'response',
            {},
            [
              prim('identifier', r.respondsTo),
              prim('code', responseCode(r.outcome)),
              isFlag ? undefined : ['details', {}, [prim('reference', `OperationOutcome/${resourceId}`)]],
            ],
          ],
          ['source', {}, [prim('name', r.sourceName ?? 'SPINE'), prim('endpoint', ASID_PREFIX + r.sourceAsid)]],
          [
            'destination',
            {},
            [
              r.destinationName ? prim('name', r.destinationName) : undefined,
              prim('endpoint', ASID_PREFIX + r.destinationAsid),
            ],
          ],
          isFlag ? ['data', {}, [prim('reference', `Flag/${resourceId}`)]] : undefined,
        ],
      ]),
      entry(resource),
    ],
  ]);
  return { xml, messageId };
}

/** Parses and validates an FGMQueryResponse_2_0 strictly against the profiles, or with `localCodes` as a client system reads this SMSP's answers. */
export function parseQueryResponse(
  xml: string,
  { localCodes = false }: { localCodes?: boolean } = {},
): CodecResult<QueryResponse> {
  const parsed = parseXml(xml);
  if (!parsed.ok) return parsed;
  // The reader has already paired each code with its system, so with `localCodes` the only profile
  // violation let through is our own code system where the profile fixes Spine's (docs/api.md, "Codes").
  const allow = localCodes
    ? (v: { path: string }) => v.path === 'OperationOutcome.issue.details.coding.system'
    : undefined;
  return conforming(
    parsed.value,
    guard(() => QueryResponseSchema.parse(readResponse(parsed.value))),
    allow,
  );
}

function readResponse(root: XmlElement): QueryResponse {
  const bundle = readMessageBundle(root);
  const mh = bundle.header;
  const { messageId, timestamp, sourceAsid, destinationAsid } = readHeader(mh, RESPONSE_EVENT);
  const response = one(mh, 'response', 'MessageHeader.response', true);
  const respondsTo = value(response, 'identifier', 'MessageHeader.response.identifier', { required: true });
  const code = value(response, 'code', 'MessageHeader.response.code', { required: true });
  if (!(RESPONSE_CODES as readonly string[]).includes(code))
    throw new ProfileViolation('MessageHeader.response.code', 'is not a response code');
  const details = one(response, 'details', 'MessageHeader.response.details');
  const detailsRef =
    details && value(details, 'reference', 'MessageHeader.response.details.reference', { required: true });
  if (detailsRef) resolve(bundle, detailsRef, 'MessageHeader.response.details.reference', 'OperationOutcome');
  const data = one(mh, 'data', 'MessageHeader.data');
  const dataRef = data && value(data, 'reference', 'MessageHeader.data.reference');
  const outcome = readOutcome(bundle, dataRef, detailsRef);
  return {
    bundleId: bundle.id,
    messageId,
    respondsTo,
    responseCode: code as QueryResponse['responseCode'],
    timestamp,
    sourceAsid,
    destinationAsid,
    outcome,
  };
}

/** The answer's payload: the referenced resource, or else the bundle's only Flag or OperationOutcome. */
function readOutcome(bundle: MessageBundle, dataRef: string | undefined, detailsRef: string | undefined): Outcome {
  const payload = [...bundle.resources.values()].filter((r) => r.name === 'Flag' || r.name === 'OperationOutcome');
  if (payload.length !== 1) {
    throw new ProfileViolation(
      'Bundle.entry',
      payload.length ? 'more than one Flag or OperationOutcome' : 'a Flag or an OperationOutcome is required',
    );
  }
  const target = payload[0]!;
  if (dataRef) resolve(bundle, dataRef, 'MessageHeader.data.reference', target.name);
  if (target.name === 'OperationOutcome') return readOperationOutcome(target);
  if (detailsRef) throw new ProfileViolation('MessageHeader.response.details', 'must not be sent with a Flag');
  return readFlag(target);
}

function readFlag(flag: XmlElement): Outcome {
  value(flag, 'status', 'Flag.status', { required: true, fixed: 'active' });
  const period = one(flag, 'period', 'Flag.period', true);
  const assessmentDate = value(period, 'start', 'Flag.period.start', { required: true, pattern: DATE_TIME });
  const code = one(flag, 'code', 'Flag.code', true);
  const coding = one(code, 'coding', 'Flag.code.coding', true);
  value(coding, 'system', 'Flag.code.coding.system', { required: true, fixed: SYSTEM.riskIndicatorType });
  value(coding, 'code', 'Flag.code.coding.code', { required: true, fixed: FGM });
  const subject = one(flag, 'subject', 'Flag.subject', true);
  const ref = value(subject, 'reference', 'Flag.subject.reference', { required: true });
  const patient = all(flag, 'contained')
    .flatMap((c) => all(c, 'Patient'))
    .find((r) => `#${all(r, 'id')[0]?.attrs.value}` === ref);
  if (!patient) throw new ProfileViolation('Flag.subject.reference', 'does not resolve to a contained Patient');
  const identifier = one(patient, 'identifier', 'Patient.identifier', true);
  value(identifier, 'system', 'Patient.identifier.system', { required: true, fixed: SYSTEM.nhsNumber });
  const nhsNumber = value(identifier, 'value', 'Patient.identifier.value', { required: true });
  return { kind: 'indicator', nhsNumber, assessmentDate };
}

function readOperationOutcome(oo: XmlElement): Outcome {
  const issues = all(oo, 'issue');
  if (issues.length === 0) throw new ProfileViolation('OperationOutcome.issue', 'is required');
  const read = issues.map((issue) => {
    const severity = value(issue, 'severity', 'OperationOutcome.issue.severity', { required: true });
    if (!(SEVERITIES as readonly string[]).includes(severity))
      throw new ProfileViolation('OperationOutcome.issue.severity', 'is not an issue severity');
    const issueType = value(issue, 'code', 'OperationOutcome.issue.code', { required: true });
    const details = one(issue, 'details', 'OperationOutcome.issue.details', true);
    const coding = one(details, 'coding', 'OperationOutcome.issue.details.coding', true);
    const system = value(coding, 'system', 'OperationOutcome.issue.details.coding.system', { required: true });
    const code = value(coding, 'code', 'OperationOutcome.issue.details.coding.code', { required: true });
    // Spine's codes only under Spine's system, local codes only under ours (SMSP-ERR-002).
    if (system !== codeSystemFor(code))
      throw new ProfileViolation('OperationOutcome.issue.details.coding.system', `must be ${codeSystemFor(code)}`);
    const display = value(coding, 'display', 'OperationOutcome.issue.details.coding.display');
    return {
      kind: 'operation-outcome' as const,
      severity: severity as (typeof SEVERITIES)[number],
      issueType,
      code,
      ...(display !== undefined && { display }),
    };
  });
  return read[0]!;
}
