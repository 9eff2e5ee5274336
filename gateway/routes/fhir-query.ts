/**
 * @module routes/fhir-query
 * `POST /fhir/fgm/query` — the SMSP FHIR interface. Validates the client's FGMQuery_2_0 bundle
 * (SMSP-VAL-001/003), requires an auditable author (SMSP-AUDIT-005, SMSP-FGMRI-008), checks the
 * NHS number, then RE-ISSUES the query to Spine with the SMSP's ASID as source and the initiating
 * organisation's ODS code (SMSP-IG-003), and answers with a FHIR response bundle (SMSP-ERR-004).
 * A client system acts only for the organisations configured for it (`odsCodes`): any other is
 * refused ACCESS_DENIED (SMSP-IG-001) after the request's patient is noted for the audit.
 * The message carries no birth date: the client system applies the under-18 rule (MSCA-FGMRISQ-04).
 */
import type { Handler } from 'hono';
import { noteAudit, type GatewayEnv } from '../env.ts';
import { parseQueryBundle } from '../fhir/query-bundle.ts';
import { isValidNhsNumber } from '../../widget/rules/nhs-number.ts';
import { fhirReply } from '../reply.ts';
import { SmspError } from '../smsp-error.ts';
import { askSpine } from '../spine/ask-spine.ts';
import { noteSpineOutcome, organisationName, type FgmStatusDeps } from './fgm-status.ts';

/**
 * @example app.post('/fhir/fgm/query', fhirQuery(deps))
 */
export function fhirQuery(deps: FgmStatusDeps): Handler<GatewayEnv> {
  return async function fhirQuery(c) {
    const parsed = parseQueryBundle(await c.req.text());
    if (!parsed.ok) throw new SmspError('fhir-request-invalid', `request ${parsed.error.kind} at ${parsed.error.element}`);
    const q = parsed.value;
    c.set('fhirRequest', { messageId: q.messageId, sourceAsid: q.sourceAsid });
    const client = c.get('client');
    const orgCode = q.organization?.odsCode ?? client.odsCode;
    noteAudit(c, { clientMessageId: q.messageId, nhsNumber: q.nhsNumber, orgCode });
    if (!client.odsCodes.includes(orgCode)) throw new SmspError('organisation-not-permitted', 'organisation not configured for this client');
    if (!q.author) throw new SmspError('author-unidentified', 'Practitioner has no SDS or local identifier');
    noteAudit(c, {
      userId: q.author.kind === 'sds' ? q.author.userId : q.author.localId,
      roleProfileId: q.author.kind === 'sds' ? q.author.roleProfileId : null,
    });
    if (!isValidNhsNumber(q.nhsNumber)) throw new SmspError('nhs-number-fails-modulus-11', 'NHS number fails modulus 11');

    const outcome = await askSpine(deps, {
      nhsNumber: q.nhsNumber,
      author: q.author,
      organization: { odsCode: orgCode, name: q.organization?.name ?? organisationName(client, orgCode) },
      priority: client.priority,
      clientId: client.id,
      // The originating system and its user: one system's user flooding leaves the others their part.
      userId: `${q.sourceAsid}/${q.author.kind === 'sds' ? q.author.userId : q.author.localId}`,
      signal: c.req.raw.signal,
    });
    noteSpineOutcome(c, outcome);
    return outcome.code === 'SUCCESS'
      ? fhirReply(c, deps, 'SUCCESS', { kind: 'indicator', nhsNumber: q.nhsNumber, assessmentDate: outcome.assessmentDate! }, outcome.checkedAt)
      : fhirReply(c, deps, outcome.code, undefined, outcome.checkedAt);
  };
}
