/**
 * @module smsp-error
 * The one way a request is refused: throw an SmspError carrying a Details.Code; the app's error
 * handler turns it into the vocabulary's HTTP status and body. Also the gateway's LOCAL codes —
 * refusals the SMSP vocabulary has no row for — defined here and nowhere else.
 */
import type { Vocabulary, VocabularyRow } from './fhir/vocabulary.ts';

/** Local codes (not sent by Spine; documented in gateway/README.md). */
export const LOCAL_ROWS: Readonly<Record<string, VocabularyRow>> = {
  ACCESS_DENIED: {
    httpStatus: 403, severity: 'error', issueType: 'forbidden', code: 'ACCESS_DENIED',
    display: 'The user does not hold RBAC activity B0370 (View Summary Health Records)', smspCode: 'SMSP-LOCAL-0403',
  },
  REQUEST_TOO_LARGE: {
    httpStatus: 413, severity: 'error', issueType: 'too-costly', code: 'REQUEST_TOO_LARGE',
    display: 'The request body is too large', smspCode: 'SMSP-LOCAL-0413',
  },
  PATIENT_DATA_UNAVAILABLE: {
    httpStatus: 412, severity: 'error', issueType: 'not-found', code: 'PATIENT_DATA_UNAVAILABLE',
    display: 'The patient\'s NHS number or birth date could not be obtained from the prefetch or the FHIR server', smspCode: 'SMSP-LOCAL-0412',
  },
  NOT_FOUND: {
    httpStatus: 404, severity: 'error', issueType: 'not-supported', code: 'NOT_FOUND',
    display: 'No such endpoint', smspCode: 'SMSP-LOCAL-0404',
  },
};

/** A refusal with a vocabulary (or local) Details.Code. `reason` is for logs: never patient data. */
export class SmspError extends Error {
  override name = 'SmspError';
  constructor(readonly code: string, readonly reason?: string) {
    super(code);
  }
}

/** The row for `code` from the configured vocabulary, else the local rows; unknown codes throw. */
export function rowFor(vocabulary: Vocabulary, code: string): VocabularyRow {
  const row = vocabulary.find(code) ?? LOCAL_ROWS[code];
  if (!row) throw new Error(`no vocabulary row for ${code}`);
  return row;
}
