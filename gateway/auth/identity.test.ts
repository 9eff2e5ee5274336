import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientConfig } from '../config.ts';
import { identityFromClaims } from './identity.ts';

const base = { name: 'EPR', odsCode: 'RX1', odsCodes: ['RX1'], origins: [], auditorRoles: [], priority: 'interactive' as const, enabled: true,
  token: { issuer: 'i', audience: 'a', publicKeyFile: 'k', algorithms: ['ES256' as const], maxLifetimeSeconds: 60 } };
const local: ClientConfig = { ...base, id: 'local', claims: { userId: 'sub', roles: 'roles', orgCode: 'org' }, roleActivities: { midwife: ['B0370'], clerk: ['B0360'] } };
const cis2: ClientConfig = { ...base, id: 'cis2', claims: 'cis2', roleActivities: {} };

const cis2Claims = {
  nhsid_useruid: '555021935107',
  selected_roleid: '555021936108',
  nhsid_nrbac_roles: [
    { person_roleid: '111111111111', org_code: 'ZZ9', activity_codes: ['B0001'] },
    { person_roleid: '555021936108', org_code: 'RX2', activity_codes: ['B0370', 'B0360'] },
  ],
};

describe('identityFromClaims', () => {
  it('SMSP-FGMRI-005 CIS2 claims give the SDS user id and role profile id of the selected role', () => {
    const id = identityFromClaims(cis2, cis2Claims)!;
    assert.deepEqual(id.author, { kind: 'sds', userId: '555021935107', roleProfileId: '555021936108' });
    assert.equal(id.orgCode, 'RX2');
    assert.deepEqual(id.activities, ['B0370', 'B0360']);
  });
  it('SMSP-AUDIT-005 CIS2 claims whose selected role is not among the roles give no identity', () => {
    assert.equal(identityFromClaims(cis2, { ...cis2Claims, selected_roleid: '999' }), null);
  });
  it('SMSP-AUDIT-005 CIS2 claims without nhsid_useruid give no identity', () => {
    const { nhsid_useruid: _u, ...rest } = cis2Claims;
    assert.equal(identityFromClaims(cis2, rest), null);
  });
  it('SMSP-FGMRI-006 local claims give a local id, the claimed organisation and mapped activities', () => {
    const id = identityFromClaims(local, { sub: 'ajones', roles: ['midwife', 'clerk'], org: 'RX3', name: 'Alex Jones' })!;
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
