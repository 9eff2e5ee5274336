import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientConfig } from '../config/config.ts';
import { SmspError } from '../smsp-error.ts';
import { Cis2Refused, parseUserInfo } from './cis2-userinfo.ts';
import { identityFromCis2, identityFromClaims } from './identity.ts';

const base = {
  name: 'EPR',
  odsCode: 'RX1',
  odsCodes: ['RX1'],
  origins: [],
  auditorRoles: [],
  priority: 'interactive' as const,
  enabled: true,
  token: { issuer: 'i', audience: 'a', publicKeyFile: 'k', algorithms: ['ES256' as const], maxLifetimeSeconds: 60 },
};
const local: ClientConfig = {
  ...base,
  id: 'local',
  claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
  roleActivities: { midwife: ['B0370'], clerk: ['B0360'] },
};
const cis2: ClientConfig = { ...base, id: 'cis2', claims: 'cis2', roleActivities: {} };

/** A UserInfo answer as NHS CIS2 Authentication documents it (docs/development/design.md, "Flows"), written by hand. */
const userInfo = {
  sub: '555021935107',
  nhsid_useruid: '555021935107',
  selected_roleid: '555021936108',
  nhsid_nrbac_roles: [
    { person_roleid: '111111111111', org_code: 'ZZ9', activity_codes: ['B0001'] },
    { person_roleid: '555021936108', org_code: 'RX2', activity_codes: ['B0370', 'B0360'], role_name: 'GP' },
  ],
};
const refusedAs = (event: string) => (e: unknown) => e instanceof SmspError && e.event === event;

describe('identityFromCis2 (SMSP-AUDIT-002)', () => {
  it('SMSP-FGMRI-005 UserInfo gives the SDS user id and role profile id of the selected role, its organisation and activities', () => {
    const id = identityFromCis2(parseUserInfo(userInfo), undefined);
    assert.deepEqual(id.author, { kind: 'sds', userId: '555021935107', roleProfileId: '555021936108' });
    assert.equal(id.orgCode, 'RX2');
    assert.deepEqual(id.activities, ['B0370', 'B0360']);
    assert.equal(id.source, 'cis2');
  });
  it("SMSP-AUDIT-002 without selected_roleid the portal's NHSD-Session-URID picks one of the user's roles", () => {
    const { selected_roleid: _s, ...rest } = userInfo;
    assert.equal(identityFromCis2(parseUserInfo(rest), '111111111111').orgCode, 'ZZ9');
    assert.throws(() => identityFromCis2(parseUserInfo(rest), '999999999999'), refusedAs('cis2-role-not-held'));
    assert.throws(() => identityFromCis2(parseUserInfo(rest), undefined), refusedAs('cis2-role-not-held'));
  });
  it("SMSP-AUDIT-002 a portal naming another role than CIS2's selected one is refused", () => {
    assert.throws(() => identityFromCis2(parseUserInfo(userInfo), '111111111111'), refusedAs('cis2-role-not-held'));
  });
  it("SMSP-AUDIT-002 a selected_roleid that is not among the user's roles is refused", () => {
    assert.throws(
      () => identityFromCis2(parseUserInfo({ ...userInfo, selected_roleid: '999999999999' }), undefined),
      refusedAs('cis2-role-not-held'),
    );
  });
  it('SMSP-AUDIT-002 a name longer than 200 characters or with control characters is not used', () => {
    assert.equal(parseUserInfo({ ...userInfo, name: 'Dr X\n{"level":"info"}' }).name, undefined);
    assert.equal(parseUserInfo({ ...userInfo, name: 'A'.repeat(201) }).name, undefined);
    assert.equal(parseUserInfo({ ...userInfo, name: 'Dr Sam Patel' }).name, 'Dr Sam Patel');
  });
  it('SMSP-AUDIT-002 a UserInfo answer without a 12-digit nhsid_useruid, with a malformed or repeated role, is nonsense (answer-invalid)', () => {
    const { nhsid_useruid: _u, ...noUser } = userInfo;
    const role = userInfo.nhsid_nrbac_roles[0]!;
    // cis2.md: SDS User and Role Profile IDs are 12 digits; one person_roleid twice leaves the selected role's organisation open.
    const twice = { ...userInfo, nhsid_nrbac_roles: [role, { ...role, org_code: 'ZZZ99' }] };
    for (const bad of [
      noUser,
      { ...userInfo, nhsid_useruid: '55502193510' },
      { ...userInfo, nhsid_useruid: 'R1' },
      twice,
      { ...userInfo, nhsid_nrbac_roles: 'B0370' },
      { ...userInfo, nhsid_nrbac_roles: [{ person_roleid: '1' }] },
      [],
      null,
    ]) {
      assert.throws(
        () => parseUserInfo(bad),
        (e: unknown) => e instanceof Cis2Refused && e.kind === 'answer-invalid',
      );
    }
  });
});

describe('identityFromClaims', () => {
  it('SMSP-AUDIT-002 a portal token never makes a smartcard identity, whatever CIS2 claims it carries', () => {
    assert.equal(identityFromClaims(cis2, userInfo), null);
    const asLocal = identityFromClaims(local, userInfo)!;
    assert.deepEqual(
      [asLocal.author.kind, asLocal.source, asLocal.activities],
      ['local', 'portal', []],
      'on a local portal it is a local user with no mapped role',
    );
  });
  it('SMSP-FGMRI-006 local claims give a local id, the claimed organisation and mapped activities', () => {
    const id = identityFromClaims(local, {
      sub: 'ajones',
      roles: ['midwife', 'clerk'],
      org: 'RX3',
      name: 'Alex Jones',
    })!;
    assert.deepEqual(id.author, { kind: 'local', localId: 'ajones', name: 'Alex Jones' });
    assert.equal(id.orgCode, 'RX3');
    assert.deepEqual(id.activities.sort(), ['B0360', 'B0370']);
    assert.deepEqual(id.roles, ['midwife', 'clerk']);
  });
  it('local claims accept a single role string and fall back to the client ODS code', () => {
    const id = identityFromClaims(local, { sub: 'x', roles: 'midwife' })!;
    assert.equal(id.orgCode, 'RX1');
    assert.deepEqual(id.activities, ['B0370']);
  });
  it('local claims read a space-separated roles string as several roles (as an array would be)', () => {
    const id = identityFromClaims(local, { sub: 'x', roles: 'clerk  midwife' })!;
    assert.deepEqual(id.roles, ['clerk', 'midwife']);
    assert.deepEqual(id.activities.sort(), ['B0360', 'B0370']);
  });
  it('a role with no mapping grants nothing', () => {
    assert.deepEqual(identityFromClaims(local, { sub: 'clee', roles: ['receptionist'] })!.activities, []);
  });
  it('SMSP-AUDIT-005 local claims without a user id give no identity', () => {
    assert.equal(identityFromClaims(local, { roles: ['midwife'], sub: '' }), null);
  });
});
