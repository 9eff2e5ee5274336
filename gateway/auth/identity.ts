/**
 * @module auth/identity
 * Turns a verified session token's claims into the user identity the gateway audits and puts in
 * the Spine message: a smartcard (CIS2) user → SDS User ID + Role Profile ID (SMSP-FGMRI-005);
 * a locally authenticated user → local id + the organisation's ODS code (SMSP-FGMRI-006/008).
 */
import type { JWTPayload } from 'jose';
import type { ClientConfig } from '../config.ts';
import type { Author } from '../fhir/types.ts';

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
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const texts = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
// Identity providers send roles as an array or, like OAuth's `scope`, one space-separated string;
// both mean the same roles (configured role names hold no spaces, config.ts).
const roleNames = (v: unknown): string[] => texts(v).flatMap((r) => r.split(/\s+/)).filter(Boolean);

function fromCis2(payload: JWTPayload): Identity | null {
  const userId = text(payload.nhsid_useruid);
  const roleProfileId = text(payload.selected_roleid);
  if (!userId || !roleProfileId || !Array.isArray(payload.nhsid_nrbac_roles)) return null;
  const role = (payload.nhsid_nrbac_roles as unknown[]).find(
    (r): r is Record<string, unknown> => typeof r === 'object' && r !== null && (r as Record<string, unknown>).person_roleid === roleProfileId,
  );
  const orgCode = text(role?.org_code);
  if (!role || !orgCode) return null;
  const name = text(payload.name);
  return {
    author: { kind: 'sds', userId, roleProfileId, ...(name ? { name } : {}) },
    orgCode,
    activities: texts(role.activity_codes),
    roles: [],
  };
}

function fromLocal(client: ClientConfig, names: { userId: string; roles: string; orgCode: string }, payload: JWTPayload): Identity | null {
  const localId = text(payload[names.userId]);
  if (!localId) return null;
  const roles = roleNames(payload[names.roles]);
  const name = text(payload.name);
  return {
    author: { kind: 'local', localId, ...(name ? { name } : {}) },
    orgCode: text(payload[names.orgCode]) ?? client.odsCode,
    activities: [...new Set(roles.flatMap((r) => client.roleActivities[r] ?? []))],
    roles,
  };
}

/**
 * The identity in a verified token for `client`'s claims profile, or null when the token carries
 * no usable user identity (SMSP-AUDIT-005: the request must then be refused).
 * @example identityFromClaims(client, { sub: 'ajones', roles: ['midwife'], org: 'RX1' })?.author // { kind: 'local', localId: 'ajones' }
 */
export function identityFromClaims(client: ClientConfig, payload: JWTPayload): Identity | null {
  return client.claims === 'cis2' ? fromCis2(payload) : fromLocal(client, client.claims, payload);
}
