/**
 * @module fhir/types
 * The typed shapes the FGM-IS codec builds from and parses into. The XML details live in
 * query-bundle.ts and response-bundle.ts; everything else in the product speaks these types.
 */
import { z } from 'zod';

/**
 * Who is asking: a smartcard user (SMSP-FGMRI-005) or a locally authenticated one (SMSP-FGMRI-006/008).
 * `name` is never sent to Spine: Practitioner.name and MessageHeader.author.display are max 0.
 */
export const AuthorSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('sds'),
    userId: z.string().min(1),
    roleProfileId: z.string().min(1),
    name: z.string().optional(),
  }),
  z.object({ kind: z.literal('local'), localId: z.string().min(1), name: z.string().optional() }),
]);
export type Author = z.infer<typeof AuthorSchema>;

export const OrganizationSchema = z.object({ odsCode: z.string().min(1), name: z.string().min(1) });
export type Organization = z.infer<typeof OrganizationSchema>;

const asid = z.string().regex(/^\d{1,12}$/, 'an ASID is up to 12 digits');

/** What the builder needs for an FGMQuery_2_0 request. IDs and timestamp default to fresh values. */
export const QueryInputSchema = z.object({
  nhsNumber: z.string(),
  sourceAsid: asid,
  destinationAsid: asid,
  author: AuthorSchema,
  organization: OrganizationSchema,
  sourceName: z.string().optional(),
  software: z.string().optional(),
  messageId: z.string().optional(),
  timestamp: z.date().optional(),
});
export type QueryInput = z.infer<typeof QueryInputSchema>;

/** A parsed, profile-valid FGMQuery_2_0 request. `author` is null when the Practitioner has no usable identifier. */
export const QueryRequestSchema = z.object({
  bundleId: z.string(),
  messageId: z.string(),
  timestamp: z.string(),
  sourceAsid: z.string(),
  destinationAsid: z.string(),
  sourceName: z.string().optional(),
  riskIndicator: z.string(),
  nhsNumber: z.string(),
  author: AuthorSchema.nullable(),
  organization: OrganizationSchema.optional(),
});
export type QueryRequest = z.infer<typeof QueryRequestSchema>;

export const IndicatorOutcomeSchema = z.object({
  kind: z.literal('indicator'),
  nhsNumber: z.string(),
  /** Flag.period.start: the date of the FGM assessment (YYYY-MM-DD or a dateTime). */
  assessmentDate: z.string(),
});
export const OperationOutcomeSchema = z.object({
  kind: z.literal('operation-outcome'),
  severity: z.enum(['fatal', 'error', 'warning', 'information']),
  issueType: z.string(),
  code: z.string(),
  display: z.string().optional(),
});
export const OutcomeSchema = z.discriminatedUnion('kind', [IndicatorOutcomeSchema, OperationOutcomeSchema]);
export type Outcome = z.infer<typeof OutcomeSchema>;

/** What the response builder needs (simulator, and the SMSP FHIR interface's answers). */
export const ResponseInputSchema = z.object({
  /** The request's MessageHeader id, echoed in MessageHeader.response.identifier. */
  respondsTo: z.string(),
  sourceAsid: asid,
  destinationAsid: asid,
  sourceName: z.string().optional(),
  destinationName: z.string().optional(),
  outcome: OutcomeSchema,
  messageId: z.string().optional(),
  timestamp: z.date().optional(),
});
export type ResponseInput = z.infer<typeof ResponseInputSchema>;

/** A parsed, profile-valid FGMQueryResponse_2_0. */
export const QueryResponseSchema = z.object({
  bundleId: z.string(),
  messageId: z.string(),
  respondsTo: z.string(),
  responseCode: z.enum(['ok', 'transient-error', 'fatal-error']),
  timestamp: z.string(),
  sourceAsid: z.string(),
  destinationAsid: z.string(),
  outcome: OutcomeSchema,
});
export type QueryResponse = z.infer<typeof QueryResponseSchema>;

/**
 * Why a message was refused: `not-well-formed` (not XML, a DOCTYPE, over the size cap) or
 * `invalid` (well-formed but breaks a profile rule). `element` is the FHIR path at fault,
 * e.g. `MessageHeader.event.code` or `Bundle`.
 */
export interface CodecError {
  kind: 'not-well-formed' | 'invalid';
  element: string;
  message: string;
  /** The refused value, when its length was the fault (an identifier over audited-identifier.ts's bound). */
  refused?: string;
}
export type CodecResult<T> = { ok: true; value: T } | { ok: false; error: CodecError };
