/**
 * @module spine/ask-spine
 * The core both gateway interfaces share: build the FGMQuery_2_0 message with the SMSP's own ASID
 * as source (SMSP-IG-003), send it, and map Spine's answer to one vocabulary code. The answer the
 * safety core (answer-safety.ts) will not vouch for — not for our request, another patient, an
 * impossible date, a code we do not know — is never guessed at: it becomes
 * RESPONSE_MESSAGE_VALIDATION_ERROR. Any other departure from the profiles is transformed and
 * reported, never a reason to hide an indicator (SMSP-VAL-004). A message of ours that breaks the
 * profiles is never sent: GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE instead.
 */
import { withoutLeapSecond } from '../fhir/leap-second.ts';
import { loadProfiles } from '../fhir/profile-snapshots.ts';
import { validateMessage } from '../fhir/profile-validator.ts';
import { buildQueryBundle } from '../fhir/query-bundle.ts';
import type { Author, Organization } from '../fhir/types.ts';
import { SPINE_ANSWER_CODES, type Vocabulary } from '../fhir/vocabulary.ts';
import type { Logger } from '../observe/logger.ts';
import { checkAnswer, DEFAULT_SKEW } from './answer-safety.ts';
import type { ProtectedSpine } from './protected-spine.ts';
import type { Priority } from './rate-limiter.ts';

// Read the snapshots when the gateway starts (a missing file stops it), not on the first request.
loadProfiles();

/** FHIR DSTU2's id type: what Spine's MessageHeader.id must be to be kept. */
const FHIR_ID = /^[A-Za-z0-9.-]{1,64}$/;

export interface AskSpineDeps {
  spine: ProtectedSpine;
  vocabulary: Vocabulary;
  smspAsid: string;
  smspName?: string | undefined;
  spineAsid: string;
  /** The gateway's clock (SMSP-AUDIT-010): the message's timestamp is the same instant source as the audit record's. */
  now?: () => Date;
  /** How far Spine's timestamp may be from the gateway's clock (config `spine.answerTimestamp`). */
  answerSkew?: { maxAheadSeconds: number; maxBehindSeconds: number };
  /** `fgm_spine_answer_deviations_total`, by profile path. */
  deviationCounter?: { inc(labels: { path: string }): void };
  log?: Logger;
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
  /** The child's birth date when the interface knows it (widget API, CDS Hooks): no assessment before it is plausible. */
  birthDate?: string;
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
  /** Flag.period.start as Spine wrote it, for an indicator (the FHIR interface passes it on). */
  assessmentDate: string | null;
  /** Its UK calendar date (YYYY-MM-DD), or a partial date as written: the day a clinician is shown. */
  assessmentDay: string | null;
  /** Fixed phrase for logs when the answer was refused. */
  reason?: string;
  /** Where Spine's answer departed from the profiles and was transformed: profile paths and fixed phrases. */
  deviations?: string[];
  /** With SPINE_BUSY: when to try again (the Retry-After header). */
  retryAfterSeconds?: number;
  /** The message was built (`spineMessageId`) but never sent: the busy tone, or it broke the profiles. */
  notSent?: true;
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
  const base = {
    spineMessageId: built.messageId,
    spineResponseId: null,
    checkedAt: null,
    assessmentDate: null,
    assessmentDay: null,
  };
  // The built tree, not the text: walking it costs ~40 µs where parsing the text back costs ~170 µs.
  const violations = validateMessage(built.tree);
  if (violations.length) {
    const v = violations[0]!;
    return {
      ...base,
      code: deps.vocabulary.codeFor('outgoing-message-invalid'),
      answeredBySpine: false,
      notSent: true,
      reason: `outgoing message breaks the profiles: ${v.path} ${v.message}`,
    };
  }
  const answer = await deps.spine.query(built.xml, {
    priority: q.priority,
    clientId: q.clientId,
    ...(q.userId !== undefined && { userId: q.userId }),
    ...(q.signal && { signal: q.signal }),
  });
  if (answer.kind === 'busy')
    return {
      ...base,
      code: deps.vocabulary.codeFor('spine-busy'),
      answeredBySpine: false,
      reason: 'rate limit toward Spine',
      retryAfterSeconds: answer.retryAfterSeconds,
      notSent: true,
    };
  if (answer.kind === 'failure')
    return {
      ...base,
      code: deps.vocabulary.codeFor(
        answer.code === 'COULD_NOT_CONNECT_TO_SPINE' ? 'spine-unreachable' : 'spine-answer-invalid',
      ),
      answeredBySpine: false,
      reason: answer.reason,
    };
  if (answer.kind === 'abandoned')
    return {
      ...base,
      code: deps.vocabulary.codeFor('client-went-away'),
      answeredBySpine: false,
      reason: 'client went away',
    };

  // One tree for all three readers: the deviation report, the safety core and the mapping.
  const found = validateMessage(answer.tree, { inferProfiles: 'response' });
  const verdict = checkAnswer(answer.tree, {
    messageId: built.messageId,
    nhsNumber: q.nhsNumber,
    smspAsid: deps.smspAsid,
    spineAsid: deps.spineAsid,
    httpStatus: answer.httpStatus,
    now: (deps.now ?? (() => new Date()))(),
    maxAheadMs: (deps.answerSkew?.maxAheadSeconds ?? DEFAULT_SKEW.maxAheadSeconds) * 1000,
    maxBehindMs: (deps.answerSkew?.maxBehindSeconds ?? DEFAULT_SKEW.maxBehindSeconds) * 1000,
    // Only Spine's own codes: an SMSP or local code from Spine is not an answer we can pass on.
    isKnownCode: (code) => SPINE_ANSWER_CODES.has(code) && deps.vocabulary.find(code) !== undefined,
    ...(q.birthDate && { birthDate: q.birthDate }),
  });
  // Spine's message id goes into the audit record: only as an id (FHIR's id type), never 60 KB of
  // whatever Spine wrote there (a name, another child's number). It decides nothing, so it is dropped, not refused.
  const spineResponseId =
    verdict.spineMessageId !== null && FHIR_ID.test(verdict.spineMessageId) ? verdict.spineMessageId : null;
  const idDropped =
    verdict.spineMessageId !== null && spineResponseId === null
      ? [{ path: 'MessageHeader.id', message: 'not a FHIR id: not kept in the audit record' }]
      : [];
  const deviations = reportDeviations(
    deps,
    [...(answer.deviations ?? []), ...found, ...idDropped, ...(verdict.usable ? verdict.deviations : [])],
    verdict.usable,
  );
  const seen = { ...base, spineResponseId, deviations };
  if (!verdict.usable)
    return {
      ...seen,
      code: deps.vocabulary.codeFor('spine-answer-invalid'),
      answeredBySpine: false,
      reason: `unsafe Spine answer: ${verdict.reason}`,
    };
  // Spine's timestamp as the interfaces may carry it: a leap second is the second before (a Date, and a DSTU2 instant, cannot hold :60).
  const answered = { ...seen, checkedAt: withoutLeapSecond(verdict.timestamp), answeredBySpine: true };
  const said = verdict.outcome;
  if (said.kind === 'indicator')
    return { ...answered, code: 'SUCCESS', assessmentDate: said.assessmentDate, assessmentDay: said.assessmentDay };
  const code = said.code;
  // SMSP-ERR-006: Spine refusing the parameters of the query is rejected input, as the SMSP's own
  // validation would reject it: the client gets SMSP-0001 either way.
  if (code === 'INVALID_PARAMETER') {
    return {
      ...answered,
      answeredBySpine: false,
      code: deps.vocabulary.codeFor('spine-refused-our-message'),
      reason: `Spine refused our message: ${code}`,
    };
  }
  // A message of ours Spine cannot read is the SMSP's own fault, never the client's input: SMSP-9999.
  if (code === 'MESSAGE_NOT_WELL_FORMED') {
    return {
      ...answered,
      answeredBySpine: false,
      code: deps.vocabulary.codeFor('outgoing-message-invalid'),
      reason: `Spine refused our message: ${code}`,
    };
  }
  return { ...answered, code };
}

/**
 * Notes where Spine's answer departs from the profiles (or the transport from what we asked for):
 * one log line of fixed phrases each and a count by profile path, so IT can tell NHS England
 * (SMSP-VAL-004). The log line says whether the answer was used, so it is never "used" when the
 * safety core refused it.
 */
function reportDeviations(deps: AskSpineDeps, found: { path: string; message: string }[], used: boolean): string[] {
  const msg = used
    ? 'Spine answer deviates from the profiles; used as transformed'
    : 'Spine answer deviates from the profiles; not used (refused as unsafe)';
  // Each deviation once, and at most MAX_REPORTED_DEVIATIONS of them: what one answer costs to
  // report (log lines, counter increments, the audit record's detail) stays bounded however much
  // it repeats (issue 18 review F2: 2,400 out of order wrote 470 KB of log per answer).
  const distinct = [...new Map(found.map((v) => [`${v.path} ${v.message}`, v])).values()];
  const kept = distinct.slice(0, MAX_REPORTED_DEVIATIONS);
  if (distinct.length > kept.length)
    kept.push({ path: 'Bundle', message: `and ${distinct.length - kept.length} more deviations, not listed` });
  for (const v of kept) {
    deps.deviationCounter?.inc({ path: v.path });
    deps.log?.({ level: 'warn', msg, path: v.path, deviation: v.message });
  }
  return kept.map((v) => `${v.path} ${v.message}`);
}

/** More than any real answer departs in (the harmless variants reach about a dozen); the rest is one "and N more" line. */
export const MAX_REPORTED_DEVIATIONS = 32;
