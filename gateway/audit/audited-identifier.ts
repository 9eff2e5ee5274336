/**
 * @module audit/audited-identifier
 * The longest identifier the gateway takes from a token, a FHIR message or a CDS request onto
 * the audit trail (and into the Spine message): 255 characters. Every identifier SMSP and NHS
 * systems use is far shorter — NHS number 10 digits, SDS User and Role Profile IDs 12, ODS codes
 * at most 10, FHIR ids 64, UUIDs 36, CDS hookInstance 100 — and 255 is OpenID Connect's own
 * bound on `sub` (Core 1.0, section 2), which also holds any e-mail address (RFC 5321: 254).
 * A longer one is refused before Spine is asked: no clinician's real identity needs it, and a
 * value of kilobytes in an indexed column is what broke PostgreSQL's inserts (issue 20).
 *
 * The refusal is audited with what `refusedValue` keeps of the value — its length, SHA-256 and
 * first characters — which can never make the audit write fail, and lets an auditor holding
 * the token or message prove which value it was.
 */
import { createHash } from 'node:crypto';
import { canonicalText } from './canonical.ts';

export const MAX_IDENTIFIER_LENGTH = 255;

/** Whether `v` is longer than an audited identifier may be (JavaScript length: UTF-16 code units). */
export const overLong = (v: string): boolean => v.length > MAX_IDENTIFIER_LENGTH;

/** How many characters of a refused value the trail keeps. */
const KEPT = 32;

/** What the audit record keeps of a refused value: bounded whatever the value's size. */
export function refusedValue(v: string): { length: number; sha256: string; start: string } {
  // In the trail's canonical form, so a pair cut in two or a NUL reads as U+FFFD, as the stored text would.
  const start = canonicalText(v.slice(0, KEPT));
  return { length: v.length, sha256: createHash('sha256').update(v, 'utf8').digest('hex'), start };
}
