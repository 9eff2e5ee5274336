/**
 * @module smsp-error
 * The one way a request is refused: throw an SmspError carrying a Details.Code; the app's error
 * handler turns it into the vocabulary's HTTP status and body. Every code, the gateway's local ones
 * included, is a row of the configured vocabulary (SMSP-CONF-001).
 */
import type { Vocabulary, VocabularyRow } from './fhir/vocabulary.ts';

/** A refusal with a vocabulary (or local) Details.Code. `reason` is for logs: never patient data. */
export class SmspError extends Error {
  override name = 'SmspError';
  constructor(readonly code: string, readonly reason?: string) {
    super(code);
  }
}

/** The row for `code` from the configured vocabulary; unknown codes throw. */
export function rowFor(vocabulary: Vocabulary, code: string): VocabularyRow {
  return vocabulary.get(code);
}
