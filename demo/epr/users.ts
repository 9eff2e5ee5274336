/**
 * @module demo/epr/users
 * The demo EPR's three sign-in users. Their claims are what a real portal's identity provider
 * would put in its session token: a locally authenticated midwife, a smartcard (CIS2) user, and
 * a receptionist who lacks RBAC activity B0370 and so must never see FGM-IS data, and an
 * information governance officer who may search the gateway's audit trail.
 */

export interface DemoUser {
  id: 'midwife' | 'smartcard' | 'receptionist' | 'auditor';
  name: string;
  roleName: string;
  orgCode: string;
  orgName: string;
  /** Which gateway client (token issuer) signs this user's tokens. */
  issuer: 'local' | 'cis2';
  claims: Record<string, unknown>;
}

export const DEMO_ORG = { code: 'RX1', name: 'Demo Maternity NHS Trust' };

export const DEMO_USERS: readonly DemoUser[] = [
  {
    id: 'midwife',
    name: 'Alex Jones',
    roleName: 'Midwife',
    orgCode: DEMO_ORG.code,
    orgName: DEMO_ORG.name,
    issuer: 'local',
    claims: { sub: 'ajones', name: 'Alex Jones', roles: ['midwife'], org: DEMO_ORG.code },
  },
  {
    id: 'smartcard',
    name: 'Dr Sam Patel',
    roleName: 'GP (smartcard)',
    orgCode: DEMO_ORG.code,
    orgName: DEMO_ORG.name,
    issuer: 'cis2',
    claims: {
      sub: '555021935107',
      name: 'Dr Sam Patel',
      nhsid_useruid: '555021935107',
      selected_roleid: '555021936108',
      nhsid_nrbac_roles: [
        {
          person_roleid: '555021936108',
          org_code: DEMO_ORG.code,
          role_name: '"Clinical":"Clinical Provision":"General Medical Practitioner"',
          activity_codes: ['B0370', 'B0360'],
        },
      ],
    },
  },
  {
    id: 'receptionist',
    name: 'Chris Lee',
    roleName: 'Receptionist',
    orgCode: DEMO_ORG.code,
    orgName: DEMO_ORG.name,
    issuer: 'local',
    claims: { sub: 'clee', name: 'Chris Lee', roles: ['receptionist'], org: DEMO_ORG.code },
  },
  {
    id: 'auditor',
    name: 'Ira Gov',
    roleName: 'Information governance',
    orgCode: DEMO_ORG.code,
    orgName: DEMO_ORG.name,
    issuer: 'local',
    claims: { sub: 'igov', name: 'Ira Gov', roles: ['auditor'], org: DEMO_ORG.code },
  },
];
