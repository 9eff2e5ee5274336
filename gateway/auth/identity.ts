/**
 * @module auth/identity
 * Builds the user identity the gateway audits and puts in the Spine message: a smartcard (CIS2)
 * user, from CIS2 UserInfo's answer → SDS User ID + Role Profile ID (SMSP-FGMRI-005,
 * SMSP-AUDIT-002); a locally authenticated user, from the portal's verified token → local id +
 * the organisation's ODS code (SMSP-FGMRI-006/008).
 */
import type { JWTPayload } from 'jose';
import type { ClientConfig } from '../config/config.ts';
import { MAX_IDENTIFIER_LENGTH, overLong } from '../audit/audited-identifier.ts';
import type { Author } from '../fhir/types.ts';
import { xmlText } from '../fhir/xml.ts';
import { SmspError } from '../smsp-error.ts';
import type { Cis2User } from './cis2-userinfo.ts';

/** RBAC activity "View Summary Health Records", needed to see FGM-IS data. */
export const VIEW_ACTIVITY = 'B0370';

export interface Identity {
  author: Author;
  /** ODS code of the organisation the user acts for. */
  orgCode: string;
  /** RBAC activity codes the user holds in this session. */
  activities: string[];
  /** Local role names (local profile) — kept for the audit trail. */
  roles: string[];
  /** Who vouched for it: NHS CIS2 UserInfo, or the portal's own signed token (local identifier). */
  source: 'cis2' | 'portal';
}

/**
 * A claim the gateway will not use: too long to be anyone's identifier (audited-identifier.ts),
 * or a user id that holds nothing a Spine message can carry (only lone surrogates or control
 * characters, which XML drops). AUTHOR_CREDENTIALS_ERROR, audited with what refusedValue keeps.
 */
export class UnusableClaim extends SmspError {
  constructor(
    readonly claim: string,
    why: string,
    readonly value: string,
  ) {
    super('token-has-no-identity', `claim ${claim} ${why}`);
  }
}

/** The claim's text, or undefined when absent or blank; refused when over the identifier bound. */
function text(payload: JWTPayload, claim: string): string | undefined {
  const v = payload[claim];
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  if (overLong(v)) throw new UnusableClaim(claim, `is longer than ${MAX_IDENTIFIER_LENGTH} characters`, v);
  return v;
}
const texts = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
// Identity providers send roles as an array or, like OAuth's `scope`, one space-separated string;
// both mean the same roles (configured role names hold no spaces, config.ts).
const roleNames = (v: unknown): string[] =>
  texts(v)
    .flatMap((r) => r.split(/\s+/))
    .filter(Boolean);

/**
 * The identity CIS2 UserInfo confirmed (SMSP-AUDIT-002): the selected role is UserInfo's
 * `selected_roleid`, else the role the portal names (`NHSD-Session-URID`), and either way one of
 * the user's own role profiles; a portal naming another role than CIS2's selected one is refused.
 * Throws `cis2-role-not-held` otherwise. Organisation and activities are that role's.
 * @example identityFromCis2(user, request.headers.get('NHSD-Session-URID') ?? undefined).author // { kind: 'sds', userId, roleProfileId }
 */
export function identityFromCis2(user: Cis2User, portalRoleId: string | undefined): Identity {
  if (user.selectedRoleId && portalRoleId !== undefined && portalRoleId !== user.selectedRoleId)
    throw new SmspError('cis2-role-not-held', 'NHSD-Session-URID is not the role selected at CIS2 sign-in');
  const roleProfileId = user.selectedRoleId ?? portalRoleId;
  if (!roleProfileId)
    throw new SmspError('cis2-role-not-held', 'no selected role (neither selected_roleid nor NHSD-Session-URID)');
  const role = user.roles.find((r) => r.roleProfileId === roleProfileId);
  if (!role) throw new SmspError('cis2-role-not-held', "the selected role is not one of the user's role profiles");
  return {
    author: { kind: 'sds', userId: user.userId, roleProfileId, ...(user.name ? { name: user.name } : {}) },
    orgCode: role.orgCode,
    activities: role.activities,
    roles: [],
    source: 'cis2',
  };
}

function fromLocal(
  client: ClientConfig,
  names: { userId: string; roles: string; orgCode: string },
  payload: JWTPayload,
): Identity | null {
  const localId = text(payload, names.userId);
  if (!localId) return null;
  if (xmlText(localId).trim() === '')
    throw new UnusableClaim(names.userId, 'holds no character a Spine message can carry', localId);
  const roles = roleNames(payload[names.roles]);
  const role = roles.find(overLong);
  if (role) throw new UnusableClaim(names.roles, `names a role longer than ${MAX_IDENTIFIER_LENGTH} characters`, role);
  const name = text(payload, 'name');
  return {
    author: { kind: 'local', localId, ...(name ? { name } : {}) },
    orgCode: text(payload, names.orgCode) ?? client.odsCode,
    activities: [...new Set(roles.flatMap((r) => client.roleActivities[r] ?? []))],
    roles,
    source: 'portal',
  };
}

/**
 * The local identity in a verified portal token, or null when the token carries no user identity
 * (SMSP-AUDIT-005: the request must then be refused); throws UnusableClaim for a claim it will not use. A portal token never makes a
 * smartcard identity, whatever CIS2-like claims it carries: only CIS2 does (identityFromCis2).
 * @example identityFromClaims(client, { sub: 'ajones', roles: ['midwife'], org: 'RX1' })?.author // { kind: 'local', localId: 'ajones' }
 */
export function identityFromClaims(client: ClientConfig, payload: JWTPayload): Identity | null {
  return client.claims === 'cis2' ? null : fromLocal(client, client.claims, payload);
}
