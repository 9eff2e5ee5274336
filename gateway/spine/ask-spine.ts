/**
 * @module spine/ask-spine
 * The core both gateway interfaces share: build the FGMQuery_2_0 message with the SMSP's own ASID
 * as source (SMSP-IG-003), send it, and map Spine's validated answer to one vocabulary code.
 * An answer that is not for our request, or carries a code we do not know, is never guessed at:
 * it becomes RESPONSE_MESSAGE_VALIDATION_ERROR (SMSP-VAL-004). A message of ours that breaks the
 * profiles is never sent: GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE instead.
 */
import { loadProfiles } from '../fhir/profile-snapshots.ts';
import { validateMessage } from '../fhir/profile-validator.ts';
import { buildQueryBundle } from '../fhir/query-bundle.ts';
import type { Author, Organization } from '../fhir/types.ts';
import type { Vocabulary } from '../fhir/vocabulary.ts';
import type { ProtectedSpine } from './protected-spine.ts';
import type { Priority } from './rate-limiter.ts';

// Read the snapshots when the gateway starts (a missing file stops it), not on the first request.
loadProfiles();

export interface AskSpineDeps {
  spine: ProtectedSpine;
  vocabulary: Vocabulary;
  smspAsid: string;
  smspName?: string | undefined;
  spineAsid: string;
  /** The gateway's clock (SMSP-AUDIT-010): the message's timestamp is the same instant source as the audit record's. */
  now?: () => Date;
}

export interface SpineQuestion {
  nhsNumber: string;
  author: Author;
  organization: Organization;
  /** The client's priority toward Spine (SMSP-PERF-007). */
  priority: Priority;
  /** The asking client system: its share of the Spine budget (SMSP-PERF-001). */
  clientId: string;
  /** Who within the client asks (the user, or the originating system and user): their part of the client's share. */
  userId?: string;
  signal?: AbortSignal;
}

export interface SpineOutcome {
  /** Details.Code for the client: SUCCESS, a code Spine sent, or a gateway code. */
  code: string;
  /** True when `code` is Spine's own validated answer (SMSP-AUDIT-006). */
  answeredBySpine: boolean;
  /** MessageHeader id of the message we sent to Spine. */
  spineMessageId: string;
  spineResponseId: string | null;
  /** Spine's MessageHeader.timestamp, when it answered validly. */
  checkedAt: string | null;
  /** Flag.period.start, for an indicator. */
  assessmentDate: string | null;
  /** Fixed phrase for logs when the answer was refused. */
  reason?: string;
  /** With SPINE_BUSY: when to try again (the Retry-After header). */
  retryAfterSeconds?: number;
}

/**
 * Asks Spine about one patient and maps the answer.
 * @example const outcome = await askSpine(deps, { nhsNumber, author, organization }); outcome.code // 'SUCCESS'
 */
export async function askSpine(deps: AskSpineDeps, q: SpineQuestion): Promise<SpineOutcome> {
  const built = buildQueryBundle({
    nhsNumber: q.nhsNumber,
    sourceAsid: deps.smspAsid,
    destinationAsid: deps.spineAsid,
    author: q.author,
    organization: q.organization,
    ...(deps.smspName ? { sourceName: deps.smspName } : {}),
    ...(deps.now && { timestamp: deps.now() }),
  });
  const base = { spineMessageId: built.messageId, spineResponseId: null, checkedAt: null, assessmentDate: null };
  // The built tree, not the text: walking it costs ~40 µs where parsing the text back costs ~170 µs.
  const violations = validateMessage(built.tree);
  if (violations.length) {
    const v = violations[0]!;
    return { ...base, code: deps.vocabulary.codeFor('outgoing-message-invalid'), answeredBySpine: false, reason: `outgoing message breaks the profiles: ${v.path} ${v.message}` };
  }
  const answer = await deps.spine.query(built.xml, { priority: q.priority, clientId: q.clientId, ...(q.userId !== undefined && { userId: q.userId }), ...(q.signal && { signal: q.signal }) });
  if (answer.kind === 'busy') return { ...base, code: deps.vocabulary.codeFor('spine-busy'), answeredBySpine: false, reason: 'rate limit toward Spine', retryAfterSeconds: answer.retryAfterSeconds };
  if (answer.kind === 'failure') return { ...base, code: deps.vocabulary.codeFor(answer.code === 'COULD_NOT_CONNECT_TO_SPINE' ? 'spine-unreachable' : 'spine-answer-invalid'), answeredBySpine: false, reason: answer.reason };
  if (answer.kind === 'abandoned') return { ...base, code: deps.vocabulary.codeFor('client-went-away'), answeredBySpine: false, reason: 'client went away' };

  const r = answer.response;
  const refuse = (reason: string): SpineOutcome => ({ ...base, code: deps.vocabulary.codeFor('spine-answer-invalid'), answeredBySpine: false, reason });
  if (r.respondsTo !== built.messageId) return refuse('response is for another request');
  if (r.sourceAsid !== deps.spineAsid || r.destinationAsid !== deps.smspAsid) return refuse('response ASIDs do not match');

  const answered = { ...base, spineResponseId: r.messageId, checkedAt: r.timestamp, answeredBySpine: true };
  if (r.outcome.kind === 'indicator') {
    if (r.outcome.nhsNumber !== q.nhsNumber) return refuse('indicator is for another patient');
    if (answer.httpStatus !== 200 || r.responseCode !== 'ok') return refuse('indicator with an error status');
    return { ...answered, code: 'SUCCESS', assessmentDate: r.outcome.assessmentDate };
  }
  const row = deps.vocabulary.find(r.outcome.code);
  if (!row || row.code === 'SUCCESS') return refuse('unknown outcome code');
  // response.code alone cannot tell: the codec writes `ok` for a not-found outcome, as Spine does.
  if (answer.httpStatus < 400) return refuse('error outcome with a success status');
  // SMSP-ERR-006: the SMSP validated the client's input and built this message itself, so Spine
  // refusing its parameters or its structure is the SMSP's failure, never the client's bad input.
  if (row.code === 'INVALID_PARAMETER' || row.code === 'MESSAGE_NOT_WELL_FORMED') {
    return { ...answered, answeredBySpine: false, code: deps.vocabulary.codeFor('spine-refused-our-message'), reason: `Spine refused our message: ${row.code}` };
  }
  return { ...answered, code: row.code };
}
