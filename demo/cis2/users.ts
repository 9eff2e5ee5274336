/**
 * @module demo/cis2/users
 * The CIS2 double's people, shaped as NHS CIS2 Authentication's UserInfo gives them
 * (`nhsid_useruid`, `nhsid_nrbac_roles[]` with `person_roleid`, `org_code`, `activity_codes`):
 * a GP with several roles (one without B0370, one at another organisation), a single-role GP,
 * a user with no role and IG officers for the audit page. Fictional ids; activity B9999 is a
 * made-up code the demo's config names as its auditor activity.
 */

export interface Cis2Role {
  person_roleid: string;
  org_code: string;
  role_name: string;
  activity_codes: string[];
}

export interface Cis2Person {
  uid: string;
  name: string;
  roles: Cis2Role[];
}

/** The demo's trust and an organisation none of its clients acts for. */
export const CIS2_ORG = 'RX1';
export const OTHER_ORG = 'ZZZ99';
/** The demo's stand-in for a trust's IG (audit) activity: made up, not a national RBAC code. */
export const AUDIT_ACTIVITY = 'B9999';

const gp = '"Clinical":"Clinical Provision":"General Medical Practitioner"';

export const CIS2_PEOPLE = {
  /** Three roles: GP at RX1 (B0370), admin at RX1 (no B0370), GP at another organisation (B0370). */
  patel: {
    uid: '555021935107',
    name: 'Dr Sam Patel',
    roles: [
      { person_roleid: '555021936108', org_code: CIS2_ORG, role_name: gp, activity_codes: ['B0370', 'B0360'] },
      {
        person_roleid: '555021936109',
        org_code: CIS2_ORG,
        role_name: '"Admin & Clerical":"Admin & Clerical":"Clerical Worker"',
        activity_codes: ['B0825'],
      },
      { person_roleid: '555021936110', org_code: OTHER_ORG, role_name: gp, activity_codes: ['B0370', 'B0360'] },
    ],
  },
  /** One role, so CIS2 selects it at sign-in. */
  okoro: {
    uid: '555021935200',
    name: 'Dr Ada Okoro',
    roles: [{ person_roleid: '555021936201', org_code: CIS2_ORG, role_name: gp, activity_codes: ['B0370'] }],
  },
  /** A CIS2 account with no role profile at all. */
  noRole: { uid: '555021935300', name: 'Pat Norole', roles: [] },
  /** IG officer: auditor activity at RX1, and at another organisation. */
  igov: {
    uid: '555021935400',
    name: 'Ira Gov (smartcard)',
    roles: [
      {
        person_roleid: '555021936401',
        org_code: CIS2_ORG,
        role_name: '"Admin & Clerical":"Information Governance":"Privacy Officer"',
        activity_codes: [AUDIT_ACTIVITY],
      },
      {
        person_roleid: '555021936402',
        org_code: OTHER_ORG,
        role_name: '"Admin & Clerical":"Information Governance":"Privacy Officer"',
        activity_codes: [AUDIT_ACTIVITY],
      },
    ],
  },
} satisfies Record<string, Cis2Person>;
