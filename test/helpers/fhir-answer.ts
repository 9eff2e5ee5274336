/**
 * @module test/helpers/fhir-answer
 * Checks an answer the gateway gave on its FHIR interface against the profile snapshots, the
 * independent oracle, with the one deliberate deviation allowed (docs/api.md, "Codes"): a local code
 * (SPINE_BUSY, ACCESS_DENIED, …) goes out under the product's own code system, which the fixed
 * `coding.system` of spine-operationoutcome-1-0 cannot allow. Only that violation, and only with
 * our system, is let through.
 */
import { SYSTEM } from '../../gateway/fhir/constants.ts';
import { validateMessage, type Violation } from '../../gateway/fhir/profile-validator.ts';
import { LOCAL_CODE_SYSTEM } from '../../gateway/fhir/vocabulary.ts';

const LOCAL_CODING = new RegExp(`<system value="${LOCAL_CODE_SYSTEM.replace(/[.]/g, '\\.')}"/>`);

/** The profile violations of a gateway FHIR answer, less the local-code deviation. */
export function fhirAnswerViolations(body: string): Violation[] {
  return validateMessage(body).filter(
    (v) =>
      !(
        v.path === 'OperationOutcome.issue.details.coding.system' &&
        v.message === `must be ${SYSTEM.spineResponseCode}` &&
        LOCAL_CODING.test(body)
      ),
  );
}

/** The Details.Code of a profile-checked answer: SUCCESS for an indicator (a Flag). */
export function fhirAnswerCode(body: string): string | undefined {
  if (/<Flag[\s>]/.test(body)) return 'SUCCESS';
  return /<details><coding><system value="[^"]*"\/><code value="([A-Z0-9_]+)"\/>/.exec(body)?.[1];
}
