/**
 * @module test/gateway-auth
 * Every reason a widget request is refused for its credentials, each its own test, over real
 * sockets: 401 AUTHOR_CREDENTIALS_ERROR (or 403 ACCESS_DENIED for a role without B0370), Spine
 * never called, and the refusal audited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CIS2_GP, LOCAL_MIDWIFE, LOCAL_RECEPTIONIST, startTestStack, TEST_ORIGIN, validNhsNumbersIn, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const now = () => Math.floor(Date.now() / 1000);

/** Sends a request for a valid patient with `token` and checks it is refused with `status`/`code`. */
async function refusal(token: string | undefined, status: number, code: string, headers: Record<string, string> = {}) {
  const calls = stack.sim.received.length;
  const audited = stack.auditRows().length;
  const res = await stack.request('/api/fgm-status', { ...(token ? { token } : {}), headers, json: { nhsNumber: '9990000018' } });
  assert.equal(res.status, status);
  const body = JSON.parse(res.body);
  assert.equal(body.code, code);
  assert.equal(body.status, 'error');
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(stack.sim.received.length, calls, 'Spine was not called');
  const rows = stack.auditRows();
  assert.equal(rows.length, audited + 1, 'the refusal is audited');
  assert.equal(rows.at(-1)!.outcomeCode, code);
  return rows.at(-1)!;
}

/** As refusal(), for tests that need nothing back. */
async function refused(token: string | undefined, status: number, code: string, headers: Record<string, string> = {}): Promise<void> {
  await refusal(token, status, code, headers);
}

describe('session tokens (SMSP-IG-002, SMSP-AUDIT-005)', () => {
  it('a valid token is accepted (control)', async () => {
    const res = await stack.request('/api/fgm-status', { token: stack.signToken(LOCAL_MIDWIFE), json: { nhsNumber: '9990000018' } });
    assert.equal(res.status, 200);
  });
  it('no Authorization header → 401', () => refused(undefined, 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('an unsigned token (alg none) → 401', () => refused(stack.signToken(LOCAL_MIDWIFE, { alg: 'none' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token HMAC-signed with the public key → 401', () => refused(stack.signToken(LOCAL_MIDWIFE, { alg: 'HS256' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a CIS2 token HMAC-signed with the public key → 401', () => refused(stack.signToken(CIS2_GP, { client: 'cis2', alg: 'HS256' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token signed by another key → 401', () => refused(stack.signToken(LOCAL_MIDWIFE, { foreignKey: true }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a CIS2 token signed by another key → 401', () => refused(stack.signToken(CIS2_GP, { client: 'cis2', foreignKey: true }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('an expired token → 401', () => refused(stack.signToken({ ...LOCAL_MIDWIFE, iat: now() - 600, nbf: now() - 600, exp: now() - 120 }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token without exp → 401', () => refused(stack.signToken({ ...LOCAL_MIDWIFE, exp: undefined }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token not yet valid (nbf in the future) → 401', () => refused(stack.signToken({ ...LOCAL_MIDWIFE, nbf: now() + 600 }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token for another audience → 401', () => refused(stack.signToken({ ...LOCAL_MIDWIFE, aud: 'another-service' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token from an unknown issuer → 401', () => refused(stack.signToken({ ...LOCAL_MIDWIFE, iss: 'https://evil.test' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token living longer than maxLifetimeSeconds → 401', () => refused(stack.signToken(LOCAL_MIDWIFE, { lifetimeSeconds: 3600 }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token without a user id → 401', () => refused(stack.signToken({ ...LOCAL_MIDWIFE, sub: undefined }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a CIS2 token whose selected role is not among its roles → 401', () =>
    refused(stack.signToken({ ...CIS2_GP, selected_roleid: '999999999999' }, { client: 'cis2' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token sent from an origin its client is not configured for → 401', () =>
    refused(stack.signToken(LOCAL_MIDWIFE), 401, 'AUTHOR_CREDENTIALS_ERROR', { Origin: 'https://other-portal.test' }));
  it('the refusal record names the client and user when the token was genuine', async () => {
    const row = await refusal(stack.signToken(LOCAL_RECEPTIONIST), 403, 'ACCESS_DENIED', { Origin: TEST_ORIGIN });
    assert.equal(row.clientId, 'test-epr');
    assert.equal(row.userId, 'clee');
  });
});

describe('RBAC (SMSP-IG-001)', () => {
  it('a local role without B0370 → 403 ACCESS_DENIED', () => refused(stack.signToken(LOCAL_RECEPTIONIST), 403, 'ACCESS_DENIED'));
  it('a CIS2 role without B0370 → 403 ACCESS_DENIED', () =>
    refused(
      stack.signToken({ ...CIS2_GP, nhsid_nrbac_roles: [{ person_roleid: '555021936108', org_code: 'RX1', activity_codes: ['B0360'] }] }, { client: 'cis2' }),
      403,
      'ACCESS_DENIED',
    ));
});

describe('logs', () => {
  it('nothing the gateway logged contains a valid NHS number or a token', () => {
    const all = stack.logs.join('\n');
    assert.ok(stack.logs.length > 10);
    assert.deepEqual(validNhsNumbersIn(all), []);
    assert.doesNotMatch(all, /eyJ[A-Za-z0-9_-]{10,}/, 'no JWT in the logs');
  });
});
