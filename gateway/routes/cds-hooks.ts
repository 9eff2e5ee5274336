/**
 * @module routes/cds-hooks
 * CDS Hooks 2.0 `patient-view` for EPRs that cannot embed the element: `GET /cds-services`
 * (discovery) and `POST /cds-services/fgm-is`. Every call carries the CDS client's JWT
 * (auth/cds-client.ts). The patient comes from `prefetch.patient`, or else from the EPR's FHIR
 * server with the access token it passed — only a server on the CDS client's `fhirServers` list,
 * and read within a size cap and a deadline of its own; data it cannot get is 412 (the spec). Mod 11
 * and the under-18 rule run before Spine, and only an NHS number the Patient marks verified (UK Core
 * status `01`) is asked about unless the CDS client opts out (`allowUnverified`); Spine is asked
 * through the same core as the other interfaces.
 * An indicator is one `warning` card; no record, not applicable and Spine's errors are
 * `{"cards": []}` (the element shows nothing, MSCA-FGMRISQR-03), the error going to IT through
 * the access log, metrics and audit (MSCA-FGMRISQR-04). The busy tone is 429 with Retry-After in
 * the CDS error shape (reply.ts): a check that did not happen must not read as "no record".
 * Loaded only when `cdsHooks` is configured.
 */
import { randomUUID } from 'node:crypto';
import type { Context, Handler, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { isUnder18 } from '@fgm-status/element/rules/age';
import { ukToday } from '../audit/uk-today.ts';
import { isValidNhsNumber } from '@fgm-status/element/rules/nhs-number';
import { formatDate, formatDateTime } from '@fgm-status/element/format';
import {
  createCdsVerifier,
  CdsTokenRejected,
  memoryJtiStore,
  redisJtiStore,
  withLocalFallback,
  type CdsVerifier,
  type JtiHealth,
  type JtiStore,
} from '../auth/cds-client.ts';
import type { Logger } from '../observe/logger.ts';
import { ConfigError, type GatewayConfig } from '../config/config.ts';
import { eighteenthBirthday } from '../audit/erasure-date.ts';
import { MAX_IDENTIFIER_LENGTH, overLong, refusedValue } from '../audit/audited-identifier.ts';
import { noteAudit, type GatewayEnv } from '../env.ts';
import { birthDateRange } from '../fhir/birth-date-range.ts';
import { jsonStructureRefusal, parseBoundedJson } from '../fhir/bounded-json.ts';
import type { Author } from '../fhir/types.ts';
import { withoutTrailingSlashes } from '../fhir/uri.ts';
import { bearerToken } from '../middleware/session-auth.ts';
import { nameUser } from '../middleware/caller-bound.ts';
import { noStore } from '../middleware/no-store.ts';
import { cdsErrorReply } from '../reply.ts';
import { SmspError } from '../smsp-error.ts';
import { isNhsNumberSystem } from '../spine/answer-safety.ts';
import { askSpine } from '../spine/ask-spine.ts';
import { noteSpineAudit, type FgmStatusDeps } from './fgm-status.ts';

export const SERVICE_ID = 'fgm-is';
const SDS_USER_SYSTEM = 'https://fhir.nhs.uk/Id/sds-user-id';
const SDS_ROLE_PROFILE_SYSTEM = 'https://fhir.nhs.uk/Id/sds-role-profile-id';
const VERIFICATION_EXTENSION =
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus';
/** UKCore-NHSNumberVerificationStatusEngland `01`: "Number present and verified". */
const VERIFIED = '01';
const VERIFICATION_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland';
/** The whole CDS call should take about 500 ms (the spec); a FHIR server slower than this is as good as absent. */
export const FHIR_FETCH_TIMEOUT_MS = 2000;
const FHIR_MAX_BYTES = 1_048_576;
/**
 * What one CDS client's Patient fetches may hold at once, all together: a slow or hostile FHIR
 * server cannot make the gateway hold 200 answers of a megabyte (a real Patient is a few KB, so
 * hundreds of real fetches fit), and one client's fetches never take another's.
 */
export const FHIR_FETCH_BYTES_PER_CLIENT = 4 * FHIR_MAX_BYTES;
/** Longer than any FHIR base URL or identifier system an EPR writes: a longer one is refused before it is normalised or compared. */
export const MAX_URI_LENGTH = 2048;

export const DISCOVERY = {
  services: [
    {
      hook: 'patient-view',
      title: 'NHS England FGM-IS indicator',
      description:
        'Shows a warning card when the NHS Spine FGM Information Sharing service holds an FGM risk indicator for the child whose record is opened (under 18s only); no card otherwise.',
      id: SERVICE_ID,
      prefetch: { patient: 'Patient/{{context.patientId}}', user: '{{context.userId}}' },
    },
  ],
};

/** http only to this machine, as for key sets: the access token must not cross a network in clear. */
const fhirServerUrl = z
  .string()
  .max(MAX_URI_LENGTH)
  .pipe(z.url({ protocol: /^https?$/ }))
  .refine((u) => u.startsWith('https:') || ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname));

const RequestSchema = z.object({
  hook: z.literal('patient-view'),
  hookInstance: z.string().min(1).max(100),
  fhirServer: fhirServerUrl.optional(),
  fhirAuthorization: z.object({ access_token: z.string().min(1), token_type: z.literal('Bearer') }).nullish(),
  context: z.object({
    userId: z.string().regex(/^(Practitioner|PractitionerRole|Patient|RelatedPerson)\/[A-Za-z0-9\-.]{1,64}$/),
    patientId: z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/),
  }),
  prefetch: z.record(z.string(), z.unknown()).nullish(),
});

type Resource = { resourceType?: unknown; id?: unknown; identifier?: unknown; [k: string]: unknown };
type FhirIdentifier = { system?: unknown; value?: unknown; extension?: unknown };

const asResource = (v: unknown): Resource | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Resource) : undefined;
const identifiers = (v: unknown): FhirIdentifier[] =>
  Array.isArray(v) ? v.filter((i): i is FhirIdentifier => typeof i === 'object' && i !== null) : [];
const valueOf = (ids: FhirIdentifier[], system: string) =>
  ids.find((i) => i.system === system && typeof i.value === 'string')?.value as string | undefined;

/** The prefetched resources the user's SDS ids can come from: the user resource, or a searchset Bundle of them. */
function userResources(user: unknown): Resource[] {
  const r = asResource(user);
  if (r?.resourceType !== 'Bundle') return r ? [r] : [];
  return (Array.isArray(r.entry) ? r.entry : []).flatMap((e) => {
    const res = asResource(asResource(e)?.resource);
    return res ? [res] : [];
  });
}

/**
 * The author of the Spine query: the SDS user and role profile ids when the prefetched
 * Practitioner/PractitionerRole for `context.userId` carries both (smartcard access), otherwise
 * the EPR's own user id as a local identifier.
 */
export function authorFor(userId: string, user: unknown): Author {
  const [type, id] = userId.split('/') as [string, string];
  const resources = userResources(user);
  // Only the resource the context names (and its Practitioner) may speak for the user.
  const own = resources.find((r) => r.resourceType === type && r.id === id);
  let sdsUser: string | undefined, roleProfile: string | undefined;
  if (own?.resourceType === 'Practitioner') sdsUser = valueOf(identifiers(own.identifier), SDS_USER_SYSTEM);
  if (own?.resourceType === 'PractitionerRole') {
    roleProfile = valueOf(identifiers(own.identifier), SDS_ROLE_PROFILE_SYSTEM);
    const practitioner = asResource(own.practitioner);
    sdsUser = valueOf(identifiers([practitioner?.identifier]), SDS_USER_SYSTEM);
    const ref = typeof practitioner?.reference === 'string' ? practitioner.reference : undefined;
    const included = resources.find((r) => r.resourceType === 'Practitioner' && ref === `Practitioner/${String(r.id)}`);
    sdsUser ??= included && valueOf(identifiers(included.identifier), SDS_USER_SYSTEM);
  }
  return sdsUser && roleProfile
    ? { kind: 'sds', userId: sdsUser, roleProfileId: roleProfile }
    : { kind: 'local', localId: userId };
}

/**
 * The Patient's NHS number, whether its UK Core verification status is `01` (verified), and birth
 * date. Two NHS-number identifiers that differ are `conflicting`: never a guess between them.
 */
export function patientFacts(patient: Resource): {
  nhsNumber?: string;
  verified: boolean;
  conflicting: boolean;
  birthDate?: string;
} {
  // The safety core's rule, so both sides of the SMSP read the same identifiers as NHS numbers
  // (review 18f F4): NHS England's and the DSTU2 system in any RFC 3986 spelling, the OID, and the
  // two under the other scheme (`http://fhir.nhs.uk/Id/nhs-number`), any of which may hold another child's number.
  const underNhs = identifiers(patient.identifier).filter(
    (i) => typeof i.system === 'string' && isNhsNumberSystem(i.system),
  );
  const ids = underNhs.filter((i) => typeof i.value === 'string');
  const numbers = new Set(ids.map((i) => (i.value as string).replace(/\s/g, '')));
  // Fails closed, as the element does (MSCA-FGMRISDQ-01, FGMISQ003): verified only when every
  // NHS-number identifier states a status, and every status says 01 in the UK Core code system and
  // nothing else. A status with no code (an empty coding list) says nothing: not verified (review 18f F5).
  const verified =
    ids.length > 0 &&
    ids.every((id) => {
      const statuses = (Array.isArray(id.extension) ? id.extension : []).filter(
        (e: { url?: unknown }) => e?.url === VERIFICATION_EXTENSION,
      ) as { valueCodeableConcept?: { coding?: unknown } }[];
      return (
        statuses.length > 0 &&
        statuses.every((st) => {
          const coding = st?.valueCodeableConcept?.coding;
          // A single coding object where FHIR JSON has a list: read it, never throw.
          const codings = (Array.isArray(coding) ? coding : [coding]) as (
            { system?: unknown; code?: unknown } | undefined
          )[];
          return codings.length > 0 && codings.every((c) => c?.code === VERIFIED && c?.system === VERIFICATION_SYSTEM);
        })
      );
    });
  return {
    ...(numbers.size === 1 ? { nhsNumber: [...numbers][0]! } : {}),
    verified,
    // A value that is not a string may be another child's number written oddly: never read past it.
    conflicting: numbers.size > 1 || ids.length < underNhs.length,
    // Present but not text (a number, an object) is a birth date written wrongly, not one missing: kept, and refused as input.
    ...(patient.birthDate !== undefined && patient.birthDate !== null
      ? { birthDate: typeof patient.birthDate === 'string' ? patient.birthDate : '' }
      : {}),
  };
}

/** Only the fields of a Patient the check reads. */
const patientFields = (p: Resource | undefined): Resource | undefined =>
  p && { resourceType: p.resourceType, id: p.id, identifier: p.identifier, birthDate: p.birthDate };

/**
 * The patient-view request in `text`, reduced to what the check reads (the author already taken
 * from the prefetched user, the Patient to its check's fields). Synchronous, so the whole parsed
 * body is garbage as soon as it returns, whatever the handler then waits for.
 */
function readHookRequest(text: string | undefined) {
  // The body's size is capped (bodyLimit); its structure is bounded here, before it is parsed.
  const tooComplex = text === undefined ? undefined : jsonStructureRefusal(text);
  if (tooComplex) throw new SmspError('cds-request-invalid', tooComplex);
  const parsed = RequestSchema.safeParse(text === undefined ? undefined : parseBoundedJson(text));
  if (!parsed.success) throw new SmspError('cds-request-invalid', 'body is not a patient-view request');
  const { hookInstance, fhirServer, fhirAuthorization, context, prefetch } = parsed.data;
  return {
    hookInstance,
    fhirServer,
    fhirAuthorization: fhirAuthorization && { access_token: fhirAuthorization.access_token },
    context: { userId: context.userId, patientId: context.patientId },
    author: authorFor(context.userId, prefetch?.user),
    prefetchedPatient: patientFields(asResource(prefetch?.patient)),
  };
}

/**
 * `GET {fhirServer}/Patient/{id}` with the EPR's access token, within its own deadline; undefined
 * when it cannot be had. The answer is never held whole before it is measured: a declared
 * Content-Length over the cap is refused unread, and the body is counted as it streams and the
 * fetch aborted at the cap, so a hostile server cannot take the gateway's memory (issue 21).
 */
async function fetchPatient(
  fhirServer: string,
  accessToken: string,
  patientId: string,
  holding: { take(bytes: number): boolean; release(): void },
): Promise<Resource | undefined> {
  const abort = new AbortController();
  const deadline = setTimeout(() => abort.abort(), FHIR_FETCH_TIMEOUT_MS);
  try {
    const res = await fetch(`${withoutTrailingSlashes(fhirServer)}/Patient/${encodeURIComponent(patientId)}`, {
      // identity: the cap counts the bytes that arrive; a compressed answer could inflate past it.
      headers: {
        Accept: 'application/fhir+json',
        'Accept-Encoding': 'identity',
        Authorization: `Bearer ${accessToken}`,
      },
      redirect: 'error',
      signal: abort.signal,
    });
    if (!res.ok || !res.body) return undefined;
    // Identity was asked for: a compressed answer is refused unread. Read, one bomb's few kilobytes
    // inflate to the cap, and a few at once took the gateway's memory (issue 21 review, LOW 7).
    const encoding = res.headers.get('content-encoding');
    if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') {
      res.body.cancel().catch(() => {});
      return undefined;
    }
    const declared = res.headers.get('content-length');
    if (declared !== null && !(Number(declared) <= FHIR_MAX_BYTES)) return undefined;
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body.getReader();
    // Each read races the deadline itself: the abort signal alone has been seen not to end a read
    // (after an aborted compressed answer), and a trickling server would then hold the call.
    const expired = new Promise<undefined>((resolve) => {
      if (abort.signal.aborted) resolve(undefined);
      abort.signal.addEventListener('abort', () => resolve(undefined), { once: true });
    });
    for (;;) {
      const read = reader.read();
      read.catch(() => {}); // settled after we have given up on it
      const r = await Promise.race([read, expired]);
      if (
        r === undefined ||
        (!r.done && (size + r.value.byteLength > FHIR_MAX_BYTES || !holding.take(r.value.byteLength)))
      ) {
        reader.cancel().catch(() => {});
        return undefined;
      }
      if (r.done) break;
      size += r.value.byteLength;
      chunks.push(r.value);
    }
    const fetched = asResource(parseBoundedJson(Buffer.concat(chunks).toString('utf8')));
    // Only what the check reads is kept while Spine is asked; the rest (a photo, say) is let go now.
    return patientFields(fetched);
  } catch {
    return undefined;
  } finally {
    holding.release();
    clearTimeout(deadline);
    // Whatever is still coming (a refused or over-long answer) is cut off, not read.
    abort.abort();
  }
}

/** Whether `fhirServer` is one this CDS client may send its users' access tokens to (`fhirServers`). */
function fhirServerAllowed(client: { fhirServers?: readonly string[] | undefined }, fhirServer: string): boolean {
  return client.fhirServers?.includes(withoutTrailingSlashes(fhirServer)) === true;
}

/** Authenticates a CDS Hooks call by the EPR's JWT; any refusal is 401 AUTHOR_CREDENTIALS_ERROR before the body is read. */
export function cdsAuth(verify: CdsVerifier): MiddlewareHandler<GatewayEnv> {
  return async function cdsAuth(c, next) {
    const token = bearerToken(c.req.header('Authorization'));
    if (!token) throw new SmspError('no-credentials', 'no bearer token');
    try {
      const client = await verify(token, c.req.path);
      c.set('cdsClient', client);
      noteAudit(c, { clientId: client.id, orgCode: client.odsCode });
    } catch (e) {
      if (e instanceof CdsTokenRejected) throw new SmspError('token-rejected', `cds token: ${e.reason}`);
      throw e;
    }
    await next();
  };
}

/** What Spine answers when it holds nothing to show: no record, or the same clinical refusals the gateway makes itself. */
const SPINE_NOTHING_TO_SHOW = new Set(['NO_RECORD_FOUND', 'PATIENT_OVER_18', 'INVALID_NHS_NUMBER']);

function noCards(c: Context<GatewayEnv>, code: string, reason?: string): Response {
  c.set('outcomeCode', code);
  if (reason) c.set('refusalReason', reason);
  return c.json({ cards: [] });
}

/** The one card for an indicator: what the element's alert says, in the card's fields. */
export function indicatorCard(assessmentDate: string, checkedAt: string | null) {
  return {
    uuid: randomUUID(),
    summary: 'FGM risk indicator: NHS Spine FGM-IS holds a female genital mutilation risk indicator for this child',
    indicator: 'warning',
    detail: [
      "**An FGM Information Sharing (FGM-IS) indicator is on this child's record on the NHS Spine.** It means the child is considered at potential risk of female genital mutilation. Follow your local safeguarding procedures.",
      '',
      `- FGM assessment date: ${formatDate(assessmentDate)}`,
      ...(checkedAt ? [`- Checked with Spine: ${formatDateTime(checkedAt)} (UK time)`] : []),
    ].join('\n'),
    source: { label: 'NHS England FGM-IS (Spine)' },
  };
}

/** `POST /cds-services/fgm-is` */
export function fgmIsService(deps: FgmStatusDeps, maxFetchesPerClient = Infinity): Handler<GatewayEnv> {
  // Bytes each CDS client's Patient fetches hold now (FHIR_FETCH_BYTES_PER_CLIENT).
  const fetching = new Map<string, number>();
  // Fetches each CDS client has waiting now: a FHIR server that hangs holds each for its deadline,
  // and all of them together may not fill the client's in-flight bound, which its calls with the
  // Patient prefetched need too (issue 21 hostile review, H3).
  const waiting = new Map<string, number>();
  const holdingFor = (clientId: string) => {
    let mine = 0;
    return {
      take(bytes: number) {
        const now = fetching.get(clientId) ?? 0;
        if (now + bytes > FHIR_FETCH_BYTES_PER_CLIENT) return false;
        fetching.set(clientId, now + bytes);
        mine += bytes;
        return true;
      },
      release() {
        const left = (fetching.get(clientId) ?? 0) - mine;
        mine = 0;
        if (left > 0) fetching.set(clientId, left);
        else fetching.delete(clientId);
      },
    };
  };
  return async function fgmIsService(c) {
    const { hookInstance, fhirServer, fhirAuthorization, context, author, prefetchedPatient } = readHookRequest(
      await c.req.text().catch(() => undefined),
    );
    // Only what the check reads is held while the FHIR server and Spine are asked: the body's text
    // and the rest of its JSON (a prefetched user of thousands of keys, say) are let go now.
    c.req.bodyCache = {};
    // The EPR user the hook names, counted against her in-flight bound before the Patient is sought.
    nameUser(c, context.userId);
    const client = c.get('cdsClient');
    // The prefetched SDS ids are the EPR's free text: one too long to audit is refused on the record by what refusedValue keeps of it.
    const longId = author.kind === 'sds' ? [author.userId, author.roleProfileId].find(overLong) : undefined;
    if (longId !== undefined) {
      noteAudit(c, {
        clientMessageId: hookInstance,
        detail: JSON.stringify({
          refusedValue: { element: 'prefetch.user identifier.value', ...refusedValue(longId) },
        }),
      });
      throw new SmspError(
        'cds-request-invalid',
        `a prefetched SDS id is longer than ${MAX_IDENTIFIER_LENGTH} characters`,
      );
    }
    noteAudit(c, {
      clientMessageId: hookInstance,
      userId: author.kind === 'sds' ? author.userId : author.localId,
      roleProfileId: author.kind === 'sds' ? author.roleProfileId : null,
    });

    let patient = prefetchedPatient;
    // An OperationOutcome or another resource in the slot is not the patient (the spec: check prefetched data).
    if (patient && (patient.resourceType !== 'Patient' || patient.id !== context.patientId)) patient = undefined;
    if (!patient && fhirServer && fhirAuthorization) {
      // The EPR's access token goes only where its configuration says (never, say, to our own metrics listener).
      if (!fhirServerAllowed(client, fhirServer))
        throw new SmspError('patient-data-unavailable', "fhirServer is not one of the CDS client's fhirServers");
      const now = waiting.get(client.id) ?? 0;
      if (now >= maxFetchesPerClient) {
        c.header('Retry-After', '1');
        throw new SmspError('spine-busy', "too many Patient fetches waiting on this client's FHIR servers");
      }
      waiting.set(client.id, now + 1);
      const fetched = await fetchPatient(
        fhirServer,
        fhirAuthorization.access_token,
        context.patientId,
        holdingFor(client.id),
      ).finally(() => {
        const left = (waiting.get(client.id) ?? 1) - 1;
        if (left > 0) waiting.set(client.id, left);
        else waiting.delete(client.id);
      });
      if (fetched?.resourceType === 'Patient' && fetched.id === context.patientId) patient = fetched;
    }
    if (!patient) throw new SmspError('patient-data-unavailable', 'no Patient in the prefetch or from the FHIR server');
    // Refused, not skipped: an over-long system might still name the NHS number system, and so hide another child's number.
    if (
      identifiers(patient.identifier).some((i) =>
        [i.system, i.value].some((v) => typeof v === 'string' && v.length > MAX_URI_LENGTH),
      )
    )
      throw new SmspError(
        'patient-data-unavailable',
        `a Patient identifier's system or value is longer than ${MAX_URI_LENGTH} characters`,
      );
    const facts = patientFacts(patient);
    if (facts.nhsNumber && /^\d{10}$/.test(facts.nhsNumber)) noteAudit(c, { nhsNumber: facts.nhsNumber });
    if (facts.conflicting)
      throw new SmspError(
        'patient-data-unavailable',
        'Patient has two different NHS numbers, or one that is not a string',
      );
    if (!facts.nhsNumber || facts.birthDate === undefined)
      throw new SmspError('patient-data-unavailable', 'Patient has no NHS number or no birthDate');
    const today = ukToday(deps.now());
    // FHIR allows a partial birth date (YYYY, YYYY-MM): read as the days it allows, never a reason not to ask.
    const born = birthDateRange(facts.birthDate);
    // Rejected input, as the other interfaces reject it (SMSP-ERR-006): 400 SMSP-0001, never the
    // {"cards": []} an EPR reads as "no record" (review 18f F11).
    if (!born || born.earliest > today)
      throw new SmspError('birth-date-invalid', 'birthDate is not a past FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)');
    // Clinical safety: an unverified number may be another child's; only a configured opt-out asks Spine.
    if (!facts.verified && !client.allowUnverified)
      return noCards(
        c,
        deps.vocabulary.codeFor('patient-data-unavailable'),
        'NHS number not verified (UK Core status is not 01)',
      );
    if (!isValidNhsNumber(facts.nhsNumber))
      return noCards(c, deps.vocabulary.codeFor('nhs-number-fails-modulus-11'), 'NHS number fails modulus 11');
    // FGMISQR009: what Spine says about her is erased from the trail on her 18th birthday; for a
    // partial date the earliest it can be, so nothing is kept past it.
    noteAudit(c, { outcomeEraseOn: eighteenthBirthday(born.earliest) });
    // An adult only when even the latest day the date allows is 18 years ago; otherwise Spine decides.
    if (!isUnder18(born.latest, today))
      return noCards(c, deps.vocabulary.codeFor('patient-18-or-over'), 'patient is 18 or over');

    const outcome = await askSpine(deps, {
      nhsNumber: facts.nhsNumber,
      author,
      organization: { odsCode: client.odsCode, name: client.name },
      priority: client.priority,
      clientId: client.id,
      userId: c.get('callerUser'),
      // The safety core compares days: only a full date is one.
      ...(born.earliest === born.latest && { birthDate: facts.birthDate }),
      signal: c.req.raw.signal,
    });
    noteSpineAudit(c, outcome);
    if (outcome.code === 'SUCCESS') {
      c.set('outcomeCode', 'SUCCESS');
      return c.json({ cards: [indicatorCard(outcome.assessmentDay!, outcome.checkedAt)] });
    }
    // Spine's own "nothing to show" answers are no card, as the checks above are when the gateway decides.
    if (outcome.answeredBySpine && SPINE_NOTHING_TO_SHOW.has(outcome.code))
      return noCards(c, outcome.code, outcome.reason);
    // Every other outcome is a check that did not happen (busy, Spine unreachable, an answer refused
    // as unsafe, Spine refusing us): an HTTP error in the vocabulary, never the `{"cards": []}` an
    // EPR reads as "no record", so it can tell, retry and report it.
    if (outcome.reason) c.set('refusalReason', outcome.reason);
    if (outcome.retryAfterSeconds) c.header('Retry-After', String(outcome.retryAfterSeconds));
    return cdsErrorReply(c, deps, outcome.code);
  };
}

/** What app.ts hands the CDS Hooks interface: the shared core and the audit middleware for `cds-query`. */
export interface CdsCore {
  ask: FgmStatusDeps;
  /** Patient fetches one CDS client may have waiting at once (a part of listen.maxInFlightPerClient). */
  maxFetchesPerClient: number;
  audit: MiddlewareHandler<GatewayEnv>;
  /** Run after the JWT check, before the body is read: the per-caller bound and the body limit. */
  limitBody: MiddlewareHandler<GatewayEnv>[];
}

export interface CdsHooks {
  mount(app: Hono<GatewayEnv>, core: CdsCore): void;
  /** The replay check's state; undefined without Redis (memory is then the whole design, not a fallback). */
  replayCheck(): JtiHealth | undefined;
  close(): Promise<void>;
}

/**
 * Builds the CDS Hooks interface from `config.cdsHooks` (server.ts imports this module only then).
 * @example const cds = await loadCdsHooks(config); createApp({ ..., cdsHooks: cds });
 */
export async function loadCdsHooks(
  config: GatewayConfig,
  o: { now?: () => Date; log?: Logger } = {},
): Promise<CdsHooks> {
  const cds = config.cdsHooks!;
  const { redisUrl, redisKeyPrefix } = config.spine.rateLimit;
  // The keys are read first, so a bad key file stops start-up before a Redis connection is opened.
  let store: JtiStore | undefined;
  const jti: JtiStore = { claim: (key, ttl) => store!.claim(key, ttl), close: async () => store?.close() };
  let verify: CdsVerifier;
  try {
    verify = createCdsVerifier({ clients: cds.clients, baseUrl: cds.baseUrl, jti, ...(o.now ? { now: o.now } : {}) });
  } catch (e) {
    throw e instanceof ConfigError ? e : new ConfigError(`config: ${(e as Error).message}`);
  }
  const log = o.log ?? (() => {});
  const shared = redisUrl
    ? withLocalFallback(await redisJtiStore(redisUrl, redisKeyPrefix), memoryJtiStore(), (h) =>
        log(
          h.mode === 'shared'
            ? { level: 'info', msg: 'cds replay check: shared in Redis' }
            : {
                level: 'warn',
                msg: "cds replay check: Redis unreachable, using this gateway's memory (a replay to another gateway can pass)",
                reason: h.reason,
              },
        ),
      )
    : undefined;
  store = shared ?? memoryJtiStore();
  return {
    replayCheck: () => shared?.health(),
    mount(app, core) {
      const auth = cdsAuth(verify);
      app.use('/cds-services', noStore());
      app.use('/cds-services/*', noStore());
      app.get('/cds-services', auth, (c) => c.json(DISCOVERY));
      app.post(
        `/cds-services/${SERVICE_ID}`,
        core.audit,
        auth,
        ...core.limitBody,
        fgmIsService(core.ask, core.maxFetchesPerClient),
      );
    },
    close: () => jti.close(),
  };
}
