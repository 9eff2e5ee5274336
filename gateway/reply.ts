/**
 * @module reply
 * Every answer the gateway gives, in one place: the widget's JSON body (field names as docs/api.md documents them),
 * the FHIR XML response bundle on the SMSP interface, and the error handler that maps anything
 * thrown to a vocabulary code — never a stack trace to the client.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { GatewayEnv } from './env.ts';
import { buildQueryResponse } from './fhir/response-bundle.ts';
import type { Outcome } from './fhir/types.ts';
import type { Vocabulary, VocabularyRow } from './fhir/vocabulary.ts';
import type { Logger } from './observe/logger.ts';
import { rowFor, SmspError } from './smsp-error.ts';
import type { StatusBody } from '@fgm-status/element/rules/status-body';

export type { StatusBody };

export interface ReplyDeps {
  vocabulary: Vocabulary;
  smspAsid: string;
  smspName?: string | undefined;
  log: Logger;
}

type Ctx = Context<GatewayEnv>;

/** Answers the widget with `code`'s vocabulary row; sets the outcome for audit and logs. */
export function statusReply(
  c: Ctx,
  deps: ReplyDeps,
  code: string,
  f: Partial<Pick<StatusBody, 'nhsNumber' | 'assessmentDate' | 'checkedAt' | 'messageId'>> = {},
): Response {
  const row = rowFor(deps.vocabulary, code);
  c.set('outcomeCode', code);
  const body: StatusBody = {
    status: code === 'SUCCESS' ? 'indicator' : code === 'NO_RECORD_FOUND' ? 'no-record' : 'error',
    nhsNumber: f.nhsNumber ?? null,
    assessmentDate: f.assessmentDate ?? null,
    checkedAt: f.checkedAt ?? null,
    messageId: f.messageId ?? null,
    code: row.code,
    smspCode: row.smspCode,
    display: row.display,
  };
  return c.json(body, row.httpStatus as ContentfulStatusCode);
}

/** The FHIR outcome for a vocabulary row (an OperationOutcome carrying its code). */
export function operationOutcome(row: VocabularyRow): Outcome {
  return {
    kind: 'operation-outcome',
    severity: row.severity,
    issueType: row.issueType,
    code: row.code,
    display: row.display,
  };
}

/**
 * Answers a FHIR client with a FGMQueryResponse_2_0 bundle whose response.identifier is the
 * client's MessageHeader id (or our request id when the request could not be read) — SMSP-ERR-004.
 * `spineTimestamp`, when Spine answered, stands as the answer's timestamp, so the client can show
 * when Spine responded (MSCA-FGMRISQR-06); otherwise the timestamp is now.
 */
export function fhirReply(
  c: Ctx,
  deps: ReplyDeps,
  code: string,
  outcome?: Outcome,
  spineTimestamp?: string | null,
): Response {
  const row = rowFor(deps.vocabulary, code);
  c.set('outcomeCode', code);
  const req = c.get('fhirRequest');
  const { xml } = buildQueryResponse({
    respondsTo: req?.messageId ?? c.get('requestId'),
    sourceAsid: deps.smspAsid,
    // An unreadable request has no source ASID; the SMSP's own stands in for it.
    destinationAsid: req?.sourceAsid ?? deps.smspAsid,
    ...(deps.smspName ? { sourceName: deps.smspName } : {}),
    outcome: outcome ?? operationOutcome(row),
    ...(spineTimestamp ? { timestamp: new Date(spineTimestamp) } : {}),
  });
  return c.body(xml, row.httpStatus as ContentfulStatusCode, { 'Content-Type': 'application/fhir+xml; charset=utf-8' });
}

/**
 * An error on the CDS Hooks interface: the vocabulary row's HTTP status (the spec allows 4xx and
 * 5xx) and its code, with no `cards` key, so an EPR can never read a check that did not happen as
 * `{"cards": []}` (no record), and no patient data.
 */
export function cdsErrorReply(c: Ctx, deps: ReplyDeps, code: string): Response {
  const row = rowFor(deps.vocabulary, code);
  c.set('outcomeCode', code);
  return c.json(
    { code: row.code, smspCode: row.smspCode, display: row.display },
    row.httpStatus as ContentfulStatusCode,
  );
}

/** Answers `code` in the format of the interface the request came in on. */
export function replyFor(c: Ctx, deps: ReplyDeps, code: string): Response {
  if (c.req.path.startsWith('/fhir/')) return fhirReply(c, deps, code);
  if (c.req.path.startsWith('/cds-services')) return cdsErrorReply(c, deps, code);
  return statusReply(c, deps, code, { nhsNumber: c.get('audit')?.nhsNumber ?? null });
}

/**
 * The app's one error handler: SmspError → its event's configured code; anything else → the
 * `unexpected-error` event's (shipped: 500 GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE), logged by error class only.
 */
export function errorHandler(deps: ReplyDeps): ErrorHandler<GatewayEnv> {
  return (err, c) => {
    let code = deps.vocabulary.codeFor('unexpected-error');
    if (err instanceof SmspError) {
      code = deps.vocabulary.codeFor(err.event);
      if (err.reason) c.set('refusalReason', err.reason);
    } else {
      // The message may quote input, so only the error's class is logged.
      deps.log({ level: 'error', msg: 'unexpected error', requestId: c.get('requestId'), error: err.name });
    }
    return replyFor(c, deps, code);
  };
}

/** 404 for any path the gateway does not serve, in the vocabulary's JSON shape. */
export function notFound(deps: ReplyDeps): NotFoundHandler<GatewayEnv> {
  return (c) => {
    const res = statusReply(c, deps, deps.vocabulary.codeFor('no-such-path'));
    res.headers.set('Cache-Control', 'no-store');
    return res;
  };
}
