/**
 * @module env
 * The typed per-request variables the gateway's middleware and routes share (`c.get(...)`).
 */
import type { CdsClientConfig, ClientConfig } from './config/config.ts';
import type { Identity } from './auth/identity.ts';
import type { Cis2User } from './auth/cis2-userinfo.ts';
import type { AuditEvent } from './audit/audit-event.ts';

export interface GatewayVariables {
  requestId: string;
  /** The client system the request came from, once authenticated. */
  client: ClientConfig;
  identity: Identity;
  /** Audit fields gathered while the request is handled; written once, by the audit middleware. */
  audit: Partial<AuditEvent>;
  /** The Details.Code of the answer, for the access log and audit. */
  outcomeCode: string;
  /** The incoming FHIR request's ids, once parsed: error answers on the FHIR path respond to them. */
  fhirRequest: { messageId: string; sourceAsid: string };
  /** The CDS client (EPR) a CDS Hooks call came from, once its JWT is verified. */
  cdsClient: CdsClientConfig;
  /** FHIR interface: what CIS2 UserInfo said about the user whose access token came with the request. */
  cis2User: Cis2User;
  /** Who vouched for the user's identity, for the audit record: CIS2, the portal's token, or the client system (FHIR local identifier). */
  identitySource: 'cis2' | 'portal' | 'client-system';
  /**
   * The user a request is counted, rate-limited and logged under within its client (nameUser,
   * caller-bound.ts): the widget's signed-in user, the FHIR message's originating system and user
   * (`<source ASID>/<Practitioner id>`), the CDS hook's `context.userId`.
   */
  callerUser: string;
  /** Counts the request against its user's in-flight bound once the message names her (callerBound). */
  countUser: (user: string) => void;
  /** Fixed phrase saying why a request was refused, for the access log. */
  refusalReason: string;
  /** The message to Spine was built but never sent (the busy tone): the audit sink may count its refusal (refused-user-bound.ts). */
  spineNotAsked: boolean;
}

export type GatewayEnv = { Variables: GatewayVariables };

/** Adds fields to the request's audit record. */
export function noteAudit(
  c: { get(k: 'audit'): Partial<AuditEvent> | undefined; set(k: 'audit', v: Partial<AuditEvent>): void },
  fields: Partial<AuditEvent>,
): void {
  c.set('audit', { ...c.get('audit'), ...fields });
}
