/**
 * @module demo/epr/users
 * The demo EPR's sign-in choices. The local users' claims are what a real portal's identity
 * provider would put in its session token: a midwife, a receptionist who lacks RBAC activity B0370
 * and so must never see FGM-IS data, and an information governance officer who may search the
 * gateway's audit trail. The smartcard choice signs in with (the double of) NHS CIS2, whose
 * people are in demo/cis2/users.ts.
 */

export interface DemoUser {
  id: 'midwife' | 'smartcard' | 'receptionist' | 'auditor';
  name: string;
  roleName: string;
  orgCode: string;
  orgName: string;
  /** `local`: the EPR signs the user's session tokens; `cis2`: the user signs in with CIS2 and the element gets their CIS2 access token. */
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
    // Signs in through the CIS2 double (authorization code + PKCE): who they are and which role
    // they act in comes from CIS2's answer at sign-in, not from here (server.ts).
    id: 'smartcard',
    name: 'Smartcard user',
    roleName: 'NHS CIS2 sign-in',
    orgCode: DEMO_ORG.code,
    orgName: DEMO_ORG.name,
    issuer: 'cis2',
    claims: {},
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
