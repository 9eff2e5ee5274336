/**
 * @module demo/spine/faults
 * Ways the simulator can misbehave on purpose, so tests and the demo can show how the gateway
 * copes with a slow, broken or confused Spine. Switched on per simulator (`setFault`, or
 * `SPINE_SIM_FAULT` at start) or per test patient (`patients.json`).
 */
import { z } from 'zod';
import {
  HARMLESS_VARIANTS,
  HIDING_VARIANTS,
  UNSAFE_VARIANTS,
  type HarmlessVariant,
  type HidingVariant,
  type UnsafeVariant,
} from './answers.ts';

const HARMLESS = Object.keys(HARMLESS_VARIANTS) as [HarmlessVariant, ...HarmlessVariant[]];
const HIDING = Object.keys(HIDING_VARIANTS) as [HidingVariant, ...HidingVariant[]];
/** `invalid-flag` (status inactive) is listed above with the older modes. */
const UNSAFE = (Object.keys(UNSAFE_VARIANTS) as UnsafeVariant[]).filter((k) => k !== 'invalid-flag') as [
  UnsafeVariant,
  ...UnsafeVariant[],
];

export const FaultSchema = z.discriminatedUnion('kind', [
  /** Answer normally, but only after `ms` milliseconds. */
  z.object({ kind: z.literal('delay'), ms: z.number().int().min(0).max(600_000) }),
  /** Keep every answer until the fault is changed (setFault), then send it as the patient's own fault would: lets a test prove what happened before Spine answered anyone, by order, not by the clock. */
  z.object({ kind: z.literal('hold') }),
  /** Destroy the connection without answering. */
  z.object({ kind: z.literal('drop') }),
  /** HTTP 500 with a plain-text body, as a failing load balancer would. */
  z.object({ kind: z.literal('http-500') }),
  /**
   * Spine down behind a proxy (`outage:<status>:<page>`): an HTTP 5xx whose body is no FHIR answer —
   * `html` (a proxy's error page, text/html), `xhtml` (the same page as well-formed XML,
   * application/xhtml+xml), `text` (text/plain) or `empty` (no body, no Content-Type).
   */
  z.object({
    kind: z.literal('outage'),
    status: z.number().int().min(500).max(599),
    page: z.enum(['html', 'xhtml', 'text', 'empty']),
  }),
  /** HTTP 200 whose body is not XML. */
  z.object({ kind: z.literal('garbage') }),
  /** The normal answer without the FHIR namespace (still valid: Spine's own examples do this). */
  z.object({ kind: z.literal('no-namespace') }),
  /** The normal answer labelled `text/html`. */
  z.object({ kind: z.literal('wrong-content-type') }),
  /** The normal answer labelled `text/xml; charset=utf-8`, as a SOAP-era Spine might: still XML. */
  z.object({ kind: z.literal('text-xml') }),
  /** The normal answer labelled with any Content-Type (`content-type:<type>`), e.g. `application/xml` or `application/fhir+xml;charset=utf-8`. */
  z.object({ kind: z.literal('content-type'), type: z.string().min(1).max(200) }),
  /** The normal answer with no Content-Type header at all. */
  z.object({ kind: z.literal('no-content-type') }),
  /** HTTP 200 with a JSON body labelled text/plain: not XML, whatever the label. */
  z.object({ kind: z.literal('json-body') }),
  /** The normal answer under another HTTP status (201, 203, …). */
  z.object({ kind: z.literal('http-status'), status: z.number().int().min(200).max(599) }),
  /** The normal answer gzip-compressed (`Content-Encoding: gzip`), as a proxy might send it. */
  z.object({ kind: z.literal('gzip') }),
  /** The normal answer zlib-deflated (`Content-Encoding: deflate`). */
  z.object({ kind: z.literal('deflate') }),
  /** The normal answer in UTF-16 (little-endian, after a BOM), its declaration and Content-Type charset saying so. */
  z.object({ kind: z.literal('utf-16') }),
  /** HTTP 200 with a well-formed bundle whose Flag breaks spine-ris-flag-1-0 (status inactive). */
  z.object({ kind: z.literal('invalid-flag') }),
  /** Spine refuses the query's parameters: 400 INVALID_PARAMETER, as for a broken parameter. */
  z.object({ kind: z.literal('invalid-parameter') }),
  /** Spine cannot read the query: 400 MESSAGE_NOT_WELL_FORMED (the SMSP's fault, never the client's). */
  z.object({ kind: z.literal('message-not-well-formed') }),
  /** Spine answers with one of the SMSP's own codes (INPUT_MESSAGE_VALIDATION_ERROR), which Spine never sends. */
  z.object({ kind: z.literal('smsp-code') }),
  /**
   * The normal answer (indicator or error) with a harmless deviation the gateway must still use:
   * no-meta-profile, xsi-attributes, extra-elements, reordered (order, whitespace, comments),
   * leap-second-timestamp, long-fraction, and the forms Spine or a proxy may write (whitespace, partial dates, …);
   * and what means the same however it is spelt (review 18d): patient-active-default (active true,
   * deceasedBoolean false on the indicator's Patient), risk-system-nhs-uk (the NHS-number,
   * risk-indicator and response-code systems under https://fhir.nhs.uk), subject-versioned
   * (`Patient/<id>/_history/1` naming a Patient entry of that meta.versionId), original-code-beside
   * (an error's 2-0 code beside its 1-0 original code, FGM-0001 for NO_RECORD_FOUND); and beside the
   * indicator (review 18f): empty-entry (`<entry/>`, `<entry><resource/></entry>`), extra-destination
   * (another system's destination before ours), old-number-ended (another number on an ended
   * identifier of our child's Patient).
   */
  ...HARMLESS.map((k) => z.object({ kind: z.literal(k) })),
  /**
   * HTTP 200 with an indicator for the NHS number asked about, made unsafe: other-patient,
   * impossible-date (2023-02-30), date-after-timestamp, timestamp-ahead (1 day), timestamp-behind
   * (3 days), other-risk-code, not-our-request (response.identifier), wrong-event, other-patient-entry
   * (an unreferenced Patient entry of another child beside ours), other-patient-contained, and what
   * the safety core does not read: error-outcome-entry, second-header-entry (an entry holding two
   * resources), note-with-spine-code (a warning carrying NO_RECORD_FOUND; -1-0 and -nhs-uk under the
   * other spellings of Spine's value sets), other-patient-parameters (a Parameters entry naming
   * another child), other-patient-oid (another child's number under the NHS-number OID), and what
   * the core reads as one written twice: other-patient-system-twice, parameters-value-twice,
   * note-code-twice, note-details-twice, ended-period-twice; and a modifier
   * extension on a note beside the indicator (note-modifier) or on a Patient entry of our child
   * (patient-entry-modifier); modifier elements of Spine-RIS-Patient-1-0 on the indicator's Patient:
   * patient-inactive (active false), patient-replaced (link type replace), nhs-number-old (identifier.use old); the Flag's modifier extension in a foreign wrapper
   * (wrapped-modifier); a leap second where none is inserted (leap-second-off-minute, 10:00:60Z); 4,000 namespace
   * declarations on the Bundle (namespace-flood); 60,000 empty elements in 240 KB (padded); and under the spellings the core reads as one (review
   * 18d): a CPIS coding under https://fhir.nhs.uk beside the FGM one (risk-system-mixed), another child's
   * NHSNumber in a Parameters part two deep (parameters-part-other-patient), a version-specific subject
   * whose Patient entry has another meta.versionId (subject-version-mismatch); our number only on an
   * identifier ended in 2015 (nhs-number-ended, review 18f F8).
   */
  ...UNSAFE.map((k) => z.object({ kind: z.literal(k) })),
  /**
   * HTTP 404 NO_RECORD_FOUND with what contradicts it: the indicator's Flag where no reader looks
   * (no-record-contained-flag, no-record-flag-entry, no-record-narrative-flag in the outcome's XHTML
   * narrative, no-record-wrapped-flag in a foreign element), a Parameters entry naming another child
   * (no-record-other-parameters) or our child under another risk indicator (no-record-other-risk-indicator),
   * the FGM risk code on a Basic (no-record-risk-basic), a modifier
   * extension on the outcome (no-record-outcome-modifier), another child's Patient in a foreign
   * wrapper (no-record-wrapped-patient); the FGM risk code on a Basic under https://fhir.nhs.uk
   * (no-record-risk-nhs-uk), our child echoed with CPIS in a Parameters part two deep
   * (no-record-parameters-part-risk), MessageHeader.data naming the Flag the message does not carry
   * (no-record-data-absent); what says something failed (review 18f F1): MessageHeader.response.code
   * transient-error (no-record-transient-error), the issue typed exception (no-record-exception-issue);
   * another child named in the diagnostics (no-record-other-number-text) or location
   * (no-record-other-number-location), or under a
   * Parameters `nhsNumber` in another case (no-record-parameters-lowercase; atk18c F1).
   */
  ...HIDING.map((k) => z.object({ kind: z.literal(k) })),
]);
export type Fault = z.infer<typeof FaultSchema>;

/**
 * Reads `SPINE_SIM_FAULT` forms: `delay:5000`, `hold`, `drop`, `http-500`, `outage:<status>:<page>` (`outage:502:html`), `garbage`, `no-namespace`,
 * `wrong-content-type`, `text-xml`, `content-type:<type>`, `no-content-type`, `json-body`, `http-status:<status>`, `gzip`, `deflate`, `utf-16`, `invalid-flag`, `invalid-parameter`, `message-not-well-formed`, `smsp-code`, or an answer variant's name. Throws a one-line error naming the value otherwise.
 */
export function parseFault(text: string): Fault {
  const [kind, arg] = text.trim().split(':');
  // A media type has no colon: everything after the first one is the type.
  const parsed = FaultSchema.safeParse(
    kind === 'outage'
      ? { kind, status: Number(arg), page: text.trim().split(':')[2] }
      : kind === 'delay'
        ? { kind, ms: Number(arg) }
        : kind === 'http-status'
          ? { kind, status: Number(arg) }
          : kind === 'content-type'
            ? { kind, type: text.trim().slice(kind.length + 1) }
            : { kind },
  );
  if (!parsed.success)
    throw new Error(
      `SPINE_SIM_FAULT: "${text}" is not a fault (delay:<ms>, hold, drop, http-500, outage:<5xx status>:<html|xhtml|text|empty>, garbage, no-namespace, wrong-content-type, content-type:<type>, no-content-type, json-body, http-status:<status>, invalid-flag, invalid-parameter, ${[...HARMLESS, ...UNSAFE, ...HIDING].join(', ')})`,
    );
  return parsed.data;
}
