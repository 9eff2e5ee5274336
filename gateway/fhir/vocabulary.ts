/**
 * @module fhir/vocabulary
 * The SMSP error vocabulary as data (SMSP-CONF-001): one row per Details.Code, with the
 * HTTP status, OperationOutcome severity and issue type, display text and original code.
 * The shipped table is `vocabulary.json`; an operator may point the gateway at their own.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SYSTEM } from './constants.ts';

/**
 * The codes of Spine's value set `spine-response-code-2-0` (test/spec/valuesets; the product cannot read
 * the tests' copy at run time). Only these are sent under Spine's system; test/spec keeps the value set
 * itself, and a test checks this list against it.
 */
export const SPINE_RESPONSE_CODES: ReadonlySet<string> = new Set([
  'PATIENT_OVER_18',
  'NO_RECORD_FOUND',
  'INVALID_NHS_NUMBER',
  'INVALID_PARAMETER',
  'MESSAGE_NOT_WELL_FORMED',
  'FLAG_ALREADY_SET',
  'ASID_CHECK_FAILED',
  'INPUT_MESSAGE_VALIDATION_ERROR',
  'RESPONSE_MESSAGE_VALIDATION_ERROR',
  'DATA_RETURNED_FROM_LOCAL_STORE_SPINE_UNAVAILABLE',
  'COULD_NOT_CONNECT_TO_SPINE',
  'AUTHOR_CREDENTIALS_ERROR',
  'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE',
]);

/**
 * The codes Spine itself answers with (the FGM-xxxx and ASID rows of the spec's table): the rest
 * of its value set are the SMSP's own codes, which Spine never sends, so one from Spine is not an
 * answer we can pass on.
 */
export const SPINE_ANSWER_CODES: ReadonlySet<string> = new Set([
  'PATIENT_OVER_18',
  'NO_RECORD_FOUND',
  'INVALID_NHS_NUMBER',
  'INVALID_PARAMETER',
  'MESSAGE_NOT_WELL_FORMED',
  'FLAG_ALREADY_SET',
  'ASID_CHECK_FAILED',
]);

/** This product's own code system for its local codes (SPINE_BUSY, ACCESS_DENIED, …): never passed off as Spine's. */
export const LOCAL_CODE_SYSTEM = 'https://fgm-status.example/CodeSystem/smsp-local-code';

/**
 * The system a Details.Code is sent under on the FHIR interface: Spine's for codes in its value
 * set, ours for every other row, so a new local row needs no flag to be labelled honestly.
 * @example codeSystemFor('SPINE_BUSY') // LOCAL_CODE_SYSTEM
 */
export function codeSystemFor(code: string): string {
  return SPINE_RESPONSE_CODES.has(code) ? SYSTEM.spineResponseCode : LOCAL_CODE_SYSTEM;
}

export const VocabularyRowSchema = z.strictObject({
  httpStatus: z.number().int().min(200).max(599),
  severity: z.enum(['fatal', 'error', 'warning', 'information']),
  issueType: z.string().min(1),
  code: z.string().regex(/^[A-Z0-9_]+$/),
  display: z.string().min(1),
  // The form the element accepts in an error answer (widget/gateway-client.ts): an operator's row
  // it would refuse must stop the gateway at start, not turn every such error into GATEWAY_BAD_RESPONSE.
  smspCode: z
    .string()
    .regex(
      /^[A-Z0-9]+(-[A-Z0-9]+)*$/,
      'upper-case letters and digits in hyphenated parts (SMSP-0001, FGM-0002, 300), the form the element accepts',
    ),
});
export type VocabularyRow = z.infer<typeof VocabularyRowSchema>;

/**
 * The system events the gateway can raise (SMSP-CONF-001): which Details.Code each produces is
 * the vocabulary file's `events` map, not code, so an operator can remap one without a release.
 */
export const SYSTEM_EVENTS = [
  'request-line-invalid',
  'request-too-large',
  'request-body-invalid',
  'fhir-request-invalid',
  'birth-date-invalid',
  'nhs-number-fails-modulus-11',
  'patient-18-or-over',
  'no-credentials',
  'token-rejected',
  'wrong-token-kind',
  'origin-not-allowed',
  'token-has-no-identity',
  'author-unidentified',
  'cis2-token-refused',
  'cis2-role-not-held',
  'cis2-user-mismatch',
  'cis2-unavailable',
  'cis2-answer-invalid',
  'client-disabled',
  'organisation-not-permitted',
  'user-lacks-activity',
  'not-an-auditor',
  'audit-query-invalid',
  'cds-request-invalid',
  'patient-data-unavailable',
  'outgoing-message-invalid',
  'spine-busy',
  'spine-unreachable',
  'spine-answer-invalid',
  'spine-refused-our-message',
  'client-went-away',
  'no-such-path',
  'unexpected-error',
] as const;
export type SystemEvent = (typeof SYSTEM_EVENTS)[number];

const VocabularyFileSchema = z.object({
  $comment: z.string().optional(),
  rows: z.array(VocabularyRowSchema).min(1),
  events: z.record(z.string(), z.string()).optional(),
});

/** Details.Codes the product itself emits; an override file must keep every one of them. */
export const REQUIRED_CODES = [
  'SUCCESS',
  'NO_RECORD_FOUND',
  'INVALID_NHS_NUMBER',
  'PATIENT_OVER_18',
  'INVALID_PARAMETER',
  'MESSAGE_NOT_WELL_FORMED',
  'ASID_CHECK_FAILED',
  'INPUT_MESSAGE_VALIDATION_ERROR',
  'RESPONSE_MESSAGE_VALIDATION_ERROR',
  'COULD_NOT_CONNECT_TO_SPINE',
  'AUTHOR_CREDENTIALS_ERROR',
  'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE',
  'SPINE_BUSY',
  'CLIENT_DISABLED',
  'CLIENT_CLOSED_REQUEST',
  'ACCESS_DENIED',
  'REQUEST_TOO_LARGE',
  'NOT_FOUND',
  'PATIENT_DATA_UNAVAILABLE',
  'CIS2_UNAVAILABLE',
] as const;

export class Vocabulary {
  readonly rows: readonly VocabularyRow[];
  readonly #byCode: Map<string, VocabularyRow>;
  readonly #events: ReadonlyMap<string, string>;

  constructor(rows: readonly VocabularyRow[], events: Readonly<Record<string, string>>) {
    this.rows = rows;
    this.#byCode = new Map(rows.map((r) => [r.code, r]));
    if (this.#byCode.size !== rows.length) throw new Error('vocabulary: a Details.Code appears twice');
    const missing = REQUIRED_CODES.filter((c) => !this.#byCode.has(c));
    if (missing.length) throw new Error(`vocabulary: missing rows for ${missing.join(', ')}`);
    const known = new Set<string>(SYSTEM_EVENTS);
    const unknown = Object.keys(events).filter((e) => !known.has(e));
    if (unknown.length) throw new Error(`vocabulary: events: unknown event ${unknown.join(', ')}`);
    const unmapped = SYSTEM_EVENTS.filter((e) => !Object.hasOwn(events, e));
    if (unmapped.length) throw new Error(`vocabulary: events: no code for ${unmapped.join(', ')}`);
    const bad = Object.entries(events).filter(([, code]) => !this.#byCode.has(code));
    if (bad.length)
      throw new Error(
        `vocabulary: events: ${bad.map(([e, code]) => `${e} maps to ${code}, which is not a row`).join('; ')}`,
      );
    // A failure answered 2xx reads as an answer to every client (a CDS client takes 200 as its cards,
    // the element as a status): what the gateway refuses with must be an error status, and SUCCESS 200.
    if (this.#byCode.get('SUCCESS')!.httpStatus !== 200) throw new Error('vocabulary: SUCCESS must be HTTP 200');
    const refusals = new Set<string>([...REQUIRED_CODES.filter((c) => c !== 'SUCCESS'), ...Object.values(events)]);
    const answered = [...refusals].filter((c) => this.#byCode.get(c)!.httpStatus < 400);
    if (answered.length)
      throw new Error(
        `vocabulary: ${answered.map((c) => `${c} is HTTP ${this.#byCode.get(c)!.httpStatus}`).join('; ')}: a code the gateway refuses or fails with needs a 4xx or 5xx status`,
      );
    this.#events = new Map(Object.entries(events));
  }

  /** The Details.Code the configured mapping gives a system event (SMSP-CONF-001). */
  codeFor(event: SystemEvent): string {
    return this.#events.get(event)!;
  }

  /** The row for a Details.Code; unknown codes are a programming error, so this throws. */
  get(code: string): VocabularyRow {
    const row = this.#byCode.get(code);
    if (!row) throw new Error(`vocabulary: no row for ${code}`);
    return row;
  }

  /** The row for a code Spine sent, or undefined when the code is not in the table. */
  find(code: string): VocabularyRow | undefined {
    return this.#byCode.get(code);
  }
}

const DEFAULT_FILE = new URL('./vocabulary.json', import.meta.url);
/** The built-in vocabulary file, for the start-up audit's hash of it (SMSP-AUDIT-008). */
export const DEFAULT_VOCABULARY_FILE = DEFAULT_FILE;

/**
 * Loads and validates a vocabulary file; throws an Error naming the file and the problem.
 * @example const vocabulary = loadVocabulary(); vocabulary.get('NO_RECORD_FOUND').httpStatus // 404
 */
export function loadVocabulary(file: string | URL = DEFAULT_FILE): Vocabulary {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`vocabulary file ${String(file)}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = VocabularyFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`vocabulary file ${String(file)}: ${issue.path.join('.')}: ${issue.message}`);
  }
  try {
    return new Vocabulary(parsed.data.rows, parsed.data.events ?? {});
  } catch (e) {
    throw new Error(`vocabulary file ${String(file)}: ${(e as Error).message}`, { cause: e });
  }
}
