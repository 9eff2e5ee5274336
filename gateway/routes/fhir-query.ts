/**
 * @module routes/fhir-query
 * `POST /fhir/fgm/query` — the SMSP FHIR interface. Validates the client's FGMQuery_2_0 bundle
 * (SMSP-VAL-001/003), requires an auditable author (SMSP-AUDIT-005, SMSP-FGMRI-008), checks the
 * NHS number, then RE-ISSUES the query to Spine with the SMSP's ASID as source and the initiating
 * organisation's ODS code (SMSP-IG-003), and answers with a FHIR response bundle (SMSP-ERR-004).
 * A client system acts only for the organisations configured for it (`odsCodes`): any other is
 * refused ACCESS_DENIED (SMSP-IG-001) after the request's patient is noted for the audit.
 * The message carries no birth date: the client system applies the under-18 rule (MSCA-FGMRISQ-04).
 * A Practitioner with SDS ids must be confirmed by CIS2 (confirmSdsAuthor, SMSP-AUDIT-002), and
 * with the user's CIS2 token sent only such a Practitioner is an author.
 */
import type { Context, Handler } from 'hono';
import { refusedValue } from '../audit/audited-identifier.ts';
import { identityFromCis2, VIEW_ACTIVITY } from '../auth/identity.ts';
import { noteAudit, type GatewayEnv } from '../env.ts';
import { parseQueryBundle } from '../fhir/query-bundle.ts';
import { sendableDateTime } from '../fhir/sendable-date-time.ts';
import { isValidNhsNumber } from '@fgm-status/element/rules/nhs-number';
import { fhirReply } from '../reply.ts';
import { nameUser } from '../middleware/caller-bound.ts';
import { SmspError } from '../smsp-error.ts';
import { askSpine } from '../spine/ask-spine.ts';
import { noteSpineOutcome, organisationName, type FgmStatusDeps } from './fgm-status.ts';

/**
 * SMSP-AUDIT-002 on the FHIR interface: SDS ids in the Practitioner are accepted only as CIS2
 * confirmed them (the user's access token in X-CIS2-Access-Token, cis2-session.ts): the same
 * user, one of their role profiles (the selected one when CIS2 names it), at the request's
 * organisation, holding B0370. Without the token only a local identifier is an author.
 */
function confirmSdsAuthor(
  c: Context<GatewayEnv>,
  author: { userId: string; roleProfileId: string },
  orgCode: string,
): void {
  const user = c.get('cis2User');
  if (!user)
    throw new SmspError('author-unidentified', "SDS ids without the user's CIS2 access token (X-CIS2-Access-Token)");
  if (user.userId !== author.userId)
    throw new SmspError('cis2-user-mismatch', "Practitioner's SDS User ID is not the CIS2 user");
  const role = identityFromCis2(user, author.roleProfileId);
  c.set('identitySource', 'cis2');
  if (role.orgCode !== orgCode)
    throw new SmspError('organisation-not-permitted', "the CIS2 role is at another organisation than the request's");
  if (!role.activities.includes(VIEW_ACTIVITY))
    throw new SmspError('user-lacks-activity', `CIS2 role lacks ${VIEW_ACTIVITY}`);
}

/**
 * @example app.post('/fhir/fgm/query', fhirQuery(deps))
 */
export function fhirQuery(deps: FgmStatusDeps): Handler<GatewayEnv> {
  return async function fhirQuery(c) {
    const parsed = parseQueryBundle(await c.req.text());
    if (!parsed.ok) {
      // An identifier too long to audit is refused on the record by what refusedValue keeps of it.
      const { refused, element } = parsed.error;
      if (refused !== undefined)
        noteAudit(c, { detail: JSON.stringify({ refusedValue: { element, ...refusedValue(refused) } }) });
      throw new SmspError('fhir-request-invalid', `request ${parsed.error.kind} at ${element}`);
    }
    const q = parsed.value;
    c.set('fhirRequest', { messageId: q.messageId, sourceAsid: q.sourceAsid });
    const client = c.get('client');
    const orgCode = q.organization?.odsCode ?? client.odsCode;
    noteAudit(c, { clientMessageId: q.messageId, nhsNumber: q.nhsNumber, orgCode });
    // The originating system and its user (SMSP-AUDIT-002: the client names them), counted against
    // her in-flight bound once the record names the child (so a refusal does too), before anything else.
    if (q.author) nameUser(c, `${q.sourceAsid}/${q.author.kind === 'sds' ? q.author.userId : q.author.localId}`);
    if (!client.odsCodes.includes(orgCode))
      throw new SmspError('organisation-not-permitted', 'organisation not configured for this client');
    if (!q.author) throw new SmspError('author-unidentified', 'Practitioner has no SDS or local identifier');
    const cis2User = c.get('cis2User');
    if (q.author.kind === 'sds' || cis2User) {
      // The record names the user CIS2 confirmed, never the Practitioner's claimed ids (those go in
      // detail): a mismatch must not put another user's name on the trail (SMSP-AUDIT-002).
      const claimed =
        q.author.kind === 'sds'
          ? { userId: q.author.userId, roleProfileId: q.author.roleProfileId }
          : { localId: q.author.localId };
      noteAudit(c, {
        userId: cis2User?.userId ?? null,
        roleProfileId: null,
        detail: JSON.stringify({ claimedAuthor: claimed }),
      });
      // With the user's CIS2 token sent, the author must be the SDS ids it proves: a local id beside
      // it would be served and audited as someone CIS2 did not confirm. AUTHOR_CREDENTIALS_ERROR, as
      // the message is well-formed (not SMSP-0001) but its author is not the credentialed user.
      if (q.author.kind !== 'sds')
        throw new SmspError(
          'author-unidentified',
          'X-CIS2-Access-Token sent, but the Practitioner carries a local identifier, not the SDS ids CIS2 confirmed',
        );
      confirmSdsAuthor(c, q.author, orgCode);
      noteAudit(c, { roleProfileId: q.author.roleProfileId });
    } else {
      noteAudit(c, { userId: q.author.localId, roleProfileId: null });
      c.set('identitySource', 'client-system');
    }
    if (!isValidNhsNumber(q.nhsNumber))
      throw new SmspError('nhs-number-fails-modulus-11', 'NHS number fails modulus 11');

    const outcome = await askSpine(deps, {
      nhsNumber: q.nhsNumber,
      author: q.author,
      organization: { odsCode: orgCode, name: q.organization?.name ?? organisationName(client, orgCode) },
      priority: client.priority,
      clientId: client.id,
      // The originating system and its user: one system's user flooding leaves the others their part.
      userId: c.get('callerUser'),
      signal: c.req.raw.signal,
    });
    noteSpineOutcome(c, outcome);
    return outcome.code === 'SUCCESS'
      ? fhirReply(
          c,
          deps,
          'SUCCESS',
          {
            kind: 'indicator',
            nhsNumber: q.nhsNumber,
            assessmentDate: sendableDateTime(outcome.assessmentDate!, outcome.assessmentDay!),
          },
          outcome.checkedAt,
        )
      : fhirReply(c, deps, outcome.code, undefined, outcome.checkedAt);
  };
}
