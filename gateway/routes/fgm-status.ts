/**
 * @module routes/fgm-status
 * `POST /api/fgm-status` — the widget API. Checks the NHS number (SMSP-VAL-002) and the under-18
 * rule (FGMISQ004, MSCA-FGMRISQ-04: `birthDate` is required) BEFORE Spine is called, asks Spine as
 * the signed-in user, and answers in JSON. Authentication, RBAC and audit run as middleware
 * before this handler.
 */
import type { Context, Handler, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { isIsoDate, isUnder18 } from '@fgm-status/element/rules/age';
import { ukToday } from '../audit/uk-today.ts';
import type { ClientConfig } from '../config/config.ts';
import { eighteenthBirthday } from '../audit/erasure-date.ts';
import { noteAudit, type GatewayEnv } from '../env.ts';
import { isValidNhsNumber } from '@fgm-status/element/rules/nhs-number';
import { statusReply, type ReplyDeps } from '../reply.ts';
import { SmspError } from '../smsp-error.ts';
import { askSpine, type AskSpineDeps, type SpineOutcome } from '../spine/ask-spine.ts';
import { hasDuplicateKey } from './unique-keys.ts';

/** The widget API request body (also described in /openapi.json). */
export const BodySchema = z.strictObject({
  nhsNumber: z.string().max(20),
  birthDate: z.string().max(10),
});

export interface FgmStatusDeps extends ReplyDeps, AskSpineDeps {
  log: ReplyDeps['log'];
  now: () => Date;
}

/** Organization.name for an ODS code: configured names first, the client's own name for its own code. */
export function organisationName(client: ClientConfig, odsCode: string): string {
  return client.orgNames?.[odsCode] ?? (odsCode === client.odsCode ? client.name : odsCode);
}

/**
 * The audit fields of a Spine outcome: the message ids, whether Spine answered, and (sealed into
 * `detail`, erased with the outcome: FGMISQR009) where its answer departed from the profiles and was
 * transformed, or why it was refused, so IT can tell NHS England (SMSP-VAL-004). Fixed phrases and
 * profile paths only.
 */
function spineAuditFields(outcome: SpineOutcome) {
  const detail = {
    ...(outcome.deviations?.length ? { spineAnswerDeviations: outcome.deviations } : {}),
    // `deviations` is set once an answer was read: a reason then is about Spine's answer.
    ...(outcome.reason && outcome.deviations ? { spineAnswerNotUsed: outcome.reason } : {}),
  };
  return {
    spineMessageId: outcome.spineMessageId,
    spineResponseId: outcome.spineResponseId,
    answeredBySpine: outcome.answeredBySpine,
    ...(Object.keys(detail).length ? { spineDetail: JSON.stringify(detail) } : {}),
  };
}

/** Puts what Spine said on the audit record, and tells the audit sink when Spine was never asked (refused-user-bound.ts). */
export function noteSpineAudit(c: Context<GatewayEnv>, outcome: SpineOutcome): void {
  noteAudit(c, spineAuditFields(outcome));
  if (outcome.notSent) c.set('spineNotAsked', true);
}

/** Puts what Spine said on the audit record, the log line and, for a busy tone, Retry-After. */
export function noteSpineOutcome(c: Context<GatewayEnv>, outcome: SpineOutcome): void {
  noteSpineAudit(c, outcome);
  if (outcome.reason) c.set('refusalReason', outcome.reason);
  if (outcome.retryAfterSeconds) c.header('Retry-After', String(outcome.retryAfterSeconds));
}

/**
 * The most a widget request can hold: `{"nhsNumber": …, "birthDate": …}` is about 50 bytes. A body
 * up to listen.maxBodyBytes of keys cost milliseconds to parse and check for repeats, and a flood of
 * them took the CPU other clinicians' checks needed (hostile review atk21b F5): refused unparsed.
 */
export const MAX_WIDGET_BODY_CHARS = 4096;

type ReadBody = { value: unknown; twice: boolean } | { refused: string };
// Read once per request: notePatient and the handler both need it.
const bodies = new WeakMap<Request, Promise<ReadBody>>();

/** The body as JSON; `twice` when an object in it names a key twice (JSON.parse would keep the last value). */
function readJson(c: Context<GatewayEnv>): Promise<ReadBody> {
  let read = bodies.get(c.req.raw);
  if (!read) {
    read = c.req.text().then(
      (text): ReadBody => {
        if (text.length > MAX_WIDGET_BODY_CHARS)
          return { refused: `body longer than ${MAX_WIDGET_BODY_CHARS} characters` };
        try {
          return { value: JSON.parse(text) as unknown, twice: hasDuplicateKey(text) };
        } catch {
          return { refused: 'body is not JSON' };
        }
      },
      (): ReadBody => ({ refused: 'body is not JSON' }),
    );
    bodies.set(c.req.raw, read);
  }
  return read;
}

/**
 * Notes the NHS number a widget request names, when it is well formed, before anything can
 * refuse the request: "who tried to see this child" must include users RBAC turns away
 * (SMSP-AUDIT-001). Runs after authentication, so an unauthenticated body is never read, and
 * after the body limit.
 * @example app.post('/api/fgm-status', sessionAuth(...), bodyLimit(...), notePatient(), rbac(), fgmStatus(deps))
 */
export function notePatient(): MiddlewareHandler<GatewayEnv> {
  return async function notePatient(c, next) {
    // A body naming a key twice names no one patient: nothing to note.
    const read = await readJson(c);
    const raw = 'refused' in read || read.twice ? undefined : read.value;
    const nhsNumber = typeof raw === 'object' && raw !== null ? (raw as { nhsNumber?: unknown }).nhsNumber : undefined;
    if (typeof nhsNumber === 'string' && /^\d{10}$/.test(nhsNumber.replace(/\s/g, '')))
      noteAudit(c, { nhsNumber: nhsNumber.replace(/\s/g, '') });
    await next();
  };
}

/**
 * @example app.post('/api/fgm-status', fgmStatus(deps))
 */
export function fgmStatus(deps: FgmStatusDeps): Handler<GatewayEnv> {
  return async function fgmStatus(c) {
    // SMSP-ERR-006: input the SMSP's own validation refuses is SMSP-0001 on both interfaces.
    const raw = await readJson(c);
    if ('refused' in raw) throw new SmspError('request-body-invalid', raw.refused);
    if (raw.twice) throw new SmspError('request-body-invalid', 'body names a key twice');
    const body = BodySchema.safeParse(raw.value);
    if (!body.success) throw new SmspError('request-body-invalid', 'body does not match {nhsNumber, birthDate}');
    const nhsNumber = body.data.nhsNumber.replace(/\s/g, '');
    const { birthDate } = body.data;
    // Audit who asked about whom even when the request is refused below.
    noteAudit(c, { nhsNumber });
    if (!isValidNhsNumber(nhsNumber)) throw new SmspError('nhs-number-fails-modulus-11', 'NHS number fails modulus 11');
    // The SMSP applies the under-18 rule itself, so it must know the patient's age (FGMISQ004).
    if (!isIsoDate(birthDate)) throw new SmspError('birth-date-invalid', 'birthDate is not YYYY-MM-DD');
    // FGMISQR009: what Spine says about her is erased from the trail on her 18th birthday.
    noteAudit(c, { outcomeEraseOn: eighteenthBirthday(birthDate) });
    const today = ukToday(deps.now());
    if (birthDate > today) throw new SmspError('birth-date-invalid', 'birthDate is in the future');
    if (!isUnder18(birthDate, today)) throw new SmspError('patient-18-or-over', 'patient is 18 or over');

    const identity = c.get('identity');
    const outcome = await askSpine(deps, {
      nhsNumber,
      author: identity.author,
      organization: { odsCode: identity.orgCode, name: organisationName(c.get('client'), identity.orgCode) },
      priority: c.get('client').priority,
      clientId: c.get('client').id,
      userId: c.get('callerUser'),
      birthDate,
      signal: c.req.raw.signal,
    });
    noteSpineOutcome(c, outcome);
    return statusReply(c, deps, outcome.code, {
      nhsNumber,
      // The UK calendar day the element shows, not Spine's dateTime (whose UTC date can be a day out).
      assessmentDate: outcome.assessmentDay,
      checkedAt: outcome.checkedAt,
      messageId: outcome.spineMessageId,
    });
  };
}
