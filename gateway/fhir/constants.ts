/**
 * @module fhir/constants
 * Fixed values from the FGM-IS profiles and value sets (test/spec/profiles-digest.txt, and the snapshots in gateway/fhir/profiles/).
 */
export const FHIR_NS = 'http://hl7.org/fhir';
export const ASID_PREFIX = 'urn:nhs:addressing:asid:';

export const EVENT_SYSTEM = 'http://fhir.nhs.net/ValueSet/message-event-2-0';
export const QUERY_EVENT = 'urn:nhs:names:services:clinicals-sync:FGMQuery_2_0';
export const RESPONSE_EVENT = 'urn:nhs:names:services:clinicals-sync:FGMQueryResponse_2_0';

export const SYSTEM = {
  sdsUserId: 'http://fhir.nhs.net/Id/sds-user-id',
  sdsRoleProfileId: 'http://fhir.nhs.net/Id/sds-role-profile-id',
  localIdentifier: 'http://fhir.nhs.net/Id/local-identifier',
  odsOrganizationCode: 'http://fhir.nhs.net/Id/ods-organization-code',
  odsSiteCode: 'http://fhir.nhs.net/Id/ods-site-code',
  nhsNumber: 'http://fhir.nhs.net/Id/nhs-number',
  riskIndicatorType: 'http://fhir.nhs.net/ValueSet/risk-indicator-type-1-0',
  spineResponseCode: 'http://fhir.nhs.net/ValueSet/spine-response-code-2-0',
  sdsJobRoleName: 'http://fhir.nhs.net/ValueSet/sds-job-role-name-1-0',
} as const;

const SD = 'http://fhir.nhs.net/StructureDefinition/';
export const PROFILE = {
  bundle: `${SD}spine-message-bundle-1-0`,
  requestHeader: `${SD}spine-request-messageheader-2-0`,
  responseHeader: `${SD}spine-response-messageheader-2-0`,
  parameters: `${SD}spine-ris-parameters-1-0`,
  practitioner: `${SD}spine-practitioner-2-0`,
  organization: `${SD}spine-organization-1-0`,
  flag: `${SD}spine-ris-flag-1-0`,
  patient: `${SD}spine-ris-patient-1-0`,
  operationOutcome: `${SD}spine-operationoutcome-1-0`,
} as const;

/** The risk indicator code the FGM query asks about (spine-ris-parameters-1-0, risk-indicator-type-1-0). */
export const FGM = 'FGM';

/** Spine's own ASID in the examples and the simulator. */
export const SPINE_ASID = '990101234567';

/**
 * Each Spine 2-0 response code's "original code" (fgm-query-v2.md's error table; spine-response-code-1-0):
 * the same outcome under the older value set, so both codings together say one thing.
 */
export const ORIGINAL_CODE: ReadonlyMap<string, string> = new Map([
  ['NO_RECORD_FOUND', 'FGM-0001'],
  ['INVALID_NHS_NUMBER', 'FGM-0002'],
  ['PATIENT_OVER_18', 'FGM-0003'],
  ['INVALID_PARAMETER', 'FGM-0004'],
  ['FLAG_ALREADY_SET', 'FGM-0005'],
  ['MESSAGE_NOT_WELL_FORMED', 'FGM-9999'],
  ['ASID_CHECK_FAILED', '300'],
]);
