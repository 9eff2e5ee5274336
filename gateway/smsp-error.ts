/**
 * @module smsp-error
 * The one way a request is refused: throw an SmspError naming a system event; the app's error
 * handler turns it into the vocabulary's HTTP status and body. Every code, the gateway's local ones
 * included, is a row of the configured vocabulary (SMSP-CONF-001).
 */
import type { SystemEvent, Vocabulary, VocabularyRow } from './fhir/vocabulary.ts';

/**
 * A refusal naming the system event that caused it; the configured vocabulary's `events` map gives
 * its Details.Code at reply time (SMSP-CONF-001). `reason` is for logs: never patient data.
 */
export class SmspError extends Error {
  override name = 'SmspError';
  constructor(
    readonly event: SystemEvent,
    readonly reason?: string,
  ) {
    super(event);
  }
}

/** The row for `code` from the configured vocabulary; unknown codes throw. */
export function rowFor(vocabulary: Vocabulary, code: string): VocabularyRow {
  return vocabulary.get(code);
}
