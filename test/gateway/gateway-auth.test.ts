/**
 * @module test/gateway/gateway-auth
 * Every reason a widget request is refused for its credentials, each its own test, over real
 * sockets: 401 AUTHOR_CREDENTIALS_ERROR (or 403 ACCESS_DENIED for a role without B0370), Spine
 * never called, and the refusal audited. Also the token rules the config enforces at start-up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseQueryResponse } from '../../gateway/fhir/response-bundle.ts';
import {
  CIS2_GP,
  LOCAL_MIDWIFE,
  LOCAL_RECEPTIONIST,
  startTestStack,
  TEST_CLIENTS,
  TEST_ORIGIN,
  validNhsNumbersIn,
  type TestStack,
} from '../helpers/stack.ts';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const now = () => Math.floor(Date.now() / 1000);
/** A birth date under 18 (ten years ago): the widget API requires one. */
const BORN = `${new Date().getUTCFullYear() - 10}-01-01`;

/** Sends a request for a valid patient with `token` and checks it is refused with `status`/`code`. */
async function refusal(token: string | undefined, status: number, code: string, headers: Record<string, string> = {}) {
  const calls = stack.sim.received.length;
  const audited = stack.auditRows().length;
  const res = await stack.request('/api/fgm-status', {
    ...(token ? { token } : {}),
    headers,
    json: { nhsNumber: '9990000018', birthDate: BORN },
  });
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
async function refused(
  token: string | undefined,
  status: number,
  code: string,
  headers: Record<string, string> = {},
): Promise<void> {
  await refusal(token, status, code, headers);
}

describe('session tokens (SMSP-IG-002, SMSP-AUDIT-005)', () => {
  it('a valid token is accepted (control)', async () => {
    const res = await stack.request('/api/fgm-status', {
      token: stack.signToken(LOCAL_MIDWIFE),
      json: { nhsNumber: '9990000018', birthDate: BORN },
    });
    assert.equal(res.status, 200);
  });
  it('SMSP-FGMRI-006 a roles claim sent as one space-separated string grants its roles (as docs/operating.md says), not ACCESS_DENIED', async () => {
    const res = await stack.request('/api/fgm-status', {
      token: stack.signToken({ ...LOCAL_MIDWIFE, roles: 'receptionist midwife' }),
      json: { nhsNumber: '9990000018', birthDate: BORN },
    });
    assert.equal(res.status, 200, res.body);
  });
  it('SMSP-IG-002 a client system token (systemToken) is not a user session → 401', () =>
    refused(stack.signToken({ sub: 'chs' }, { client: 'system' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it(
    'SMSP-IG-002 a 401 never reads the body: answered while the body is still unsent, Spine not called',
    { timeout: 10_000 },
    async () => {
      const calls = stack.sim.received.length;
      const res = await stack.requestUnfinished('/api/fgm-status', {
        token: stack.signToken(LOCAL_MIDWIFE, { foreignKey: true }),
        headers: { 'content-type': 'application/json' },
        body: '{"nhsNumber":"9990000018",',
        declaredLength: 60_000,
      });
      assert.equal(res.status, 401);
      assert.equal(JSON.parse(res.body).code, 'AUTHOR_CREDENTIALS_ERROR');
      assert.equal(stack.sim.received.length, calls);
      assert.equal(stack.auditRows().at(-1)!.nhsNumber, null, 'nothing from an unauthenticated body is recorded');
    },
  );
  it('no Authorization header → 401', () => refused(undefined, 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('an unsigned token (alg none) → 401', () =>
    refused(stack.signToken(LOCAL_MIDWIFE, { alg: 'none' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token HMAC-signed with the public key → 401', () =>
    refused(stack.signToken(LOCAL_MIDWIFE, { alg: 'HS256' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a CIS2 token HMAC-signed with the public key → 401', () =>
    refused(stack.signToken(CIS2_GP, { client: 'cis2', alg: 'HS256' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token signed by another key → 401', () =>
    refused(stack.signToken(LOCAL_MIDWIFE, { foreignKey: true }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a CIS2 token signed by another key → 401', () =>
    refused(stack.signToken(CIS2_GP, { client: 'cis2', foreignKey: true }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('an expired token → 401', () =>
    refused(
      stack.signToken({ ...LOCAL_MIDWIFE, iat: now() - 600, nbf: now() - 600, exp: now() - 120 }),
      401,
      'AUTHOR_CREDENTIALS_ERROR',
    ));
  it('a token without exp → 401', () =>
    refused(stack.signToken({ ...LOCAL_MIDWIFE, exp: undefined }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token not yet valid (nbf in the future) → 401', () =>
    refused(stack.signToken({ ...LOCAL_MIDWIFE, nbf: now() + 600 }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token for another audience → 401', () =>
    refused(stack.signToken({ ...LOCAL_MIDWIFE, aud: 'another-service' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token from an unknown issuer → 401', () =>
    refused(stack.signToken({ ...LOCAL_MIDWIFE, iss: 'https://evil.test' }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token living longer than maxLifetimeSeconds → 401', () =>
    refused(stack.signToken(LOCAL_MIDWIFE, { lifetimeSeconds: 3600 }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a token without a user id → 401', () =>
    refused(stack.signToken({ ...LOCAL_MIDWIFE, sub: undefined }), 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('a CIS2 token whose selected role is not among its roles → 401', () =>
    refused(
      stack.signToken({ ...CIS2_GP, selected_roleid: '999999999999' }, { client: 'cis2' }),
      401,
      'AUTHOR_CREDENTIALS_ERROR',
    ));
  it('a token sent from an origin its client is not configured for → 401', () =>
    refused(stack.signToken(LOCAL_MIDWIFE), 401, 'AUTHOR_CREDENTIALS_ERROR', { Origin: 'https://other-portal.test' }));
  it('the refusal record names the client and user when the token was genuine', async () => {
    const row = await refusal(stack.signToken(LOCAL_RECEPTIONIST), 403, 'ACCESS_DENIED', { Origin: TEST_ORIGIN });
    assert.equal(row.clientId, 'test-epr');
    assert.equal(row.userId, 'clee');
  });
});

describe('RBAC (SMSP-IG-001)', () => {
  it('SMSP-AUDIT-001 SMSP-AUDIT-007 a user refused for RBAC is audited with the NHS number they asked about, Spine not called', async () => {
    const row = await refusal(stack.signToken(LOCAL_RECEPTIONIST), 403, 'ACCESS_DENIED');
    assert.equal(row.nhsNumber, '9990000018');
    assert.equal(row.userId, 'clee');
  });
  it('SMSP-AUDIT-001 a spaced NHS number is recorded as its ten digits; a malformed one is not recorded', async () => {
    const send = (nhsNumber: unknown) =>
      stack.request('/api/fgm-status', {
        token: stack.signToken(LOCAL_RECEPTIONIST),
        json: { nhsNumber, birthDate: BORN },
      });
    assert.equal((await send('999 000 0018')).status, 403);
    assert.equal(stack.auditRows().at(-1)!.nhsNumber, '9990000018');
    assert.equal((await send('not a number')).status, 403);
    assert.equal(stack.auditRows().at(-1)!.nhsNumber, null);
  });
  it("SMSP-IG-003 a B0370 user whose token names an organisation outside the client's odsCodes → 403 ACCESS_DENIED, Spine not called, audited with that organisation", async () => {
    const row = await refusal(stack.signToken({ ...LOCAL_MIDWIFE, org: 'ZZZ99' }), 403, 'ACCESS_DENIED');
    assert.equal(row.orgCode, 'ZZZ99');
    assert.equal(row.nhsNumber, '9990000018');
  });
  it('a local role without B0370 → 403 ACCESS_DENIED', () =>
    refused(stack.signToken(LOCAL_RECEPTIONIST), 403, 'ACCESS_DENIED'));
  // The smartcard (CIS2) RBAC cases run with real CIS2 access tokens: test/gateway/gateway-cis2.test.ts.
});

/** base64url of a JSON value, as a JWT segment. */
const segment = (v: unknown) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url');
/** Characters a bearer token may hold, without the dot that separates segments. */
const raw = fc.stringMatching(/^[A-Za-z0-9_~+/=-]{0,40}$/);
const notObjects = fc.constantFrom<unknown>(null, [], [{ alg: 'ES256' }], 0, 1.5, 'ES256', true, '');
const issuers = fc.constantFrom(
  TEST_CLIENTS.local.issuer,
  TEST_CLIENTS.cis2.issuer,
  TEST_CLIENTS.system.issuer,
  `${TEST_CLIENTS.system.issuer}/users`,
);
const headerValue = fc.oneof(
  notObjects,
  fc.jsonValue(),
  fc.record(
    {
      alg: fc.oneof(fc.constantFrom('ES256', 'RS256', 'none', 'HS256', '__proto__', 'constructor'), fc.jsonValue()),
      typ: fc.oneof(fc.constant('JWT'), fc.jsonValue()),
      kid: fc.oneof(fc.constant('cis2-1'), fc.jsonValue()),
    },
    { requiredKeys: ['alg'] },
  ),
);
const payloadValue = fc.oneof(
  notObjects,
  fc.jsonValue(),
  fc
    .tuple(
      issuers,
      fc.dictionary(
        fc.constantFrom('aud', 'exp', 'iat', 'nbf', 'sub', 'roles', 'org', 'nhsid_nrbac_roles', 'selected_roleid'),
        fc.jsonValue(),
        { maxKeys: 5 },
      ),
    )
    .map(([iss, claims]) => ({ iss, ...claims })),
);
/** Malformed token shapes: JSON that is not an object, odd claims, non-base64url segments, wrong segment counts. */
const malformedToken = fc.oneof(
  fc.tuple(headerValue, payloadValue, raw).map(([h, p, sig]) => `${segment(h)}.${segment(p)}.${sig}`),
  fc
    .tuple(fc.oneof(raw, headerValue.map(segment)), fc.oneof(raw, payloadValue.map(segment)), raw)
    .map((parts) => parts.join('.')),
  fc.array(raw, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')),
);

describe('malformed tokens (SMSP-IG-002)', () => {
  for (const [label, header, payload] of [
    ['header', null, { iss: TEST_CLIENTS.local.issuer }],
    ['payload', { alg: 'ES256', typ: 'JWT' }, null],
  ] as const) {
    it(`SMSP-IG-002 a JWT whose ${label} is JSON null → 401, not 500`, () =>
      refused(`${segment(header)}.${segment(payload)}.c2ln`, 401, 'AUTHOR_CREDENTIALS_ERROR'));
  }
  it('SMSP-IG-002 any malformed token gets 401 on both interfaces, never 500 (property)', async () => {
    await fc.assert(
      fc.asyncProperty(malformedToken, fc.boolean(), async (token, fhir) => {
        const calls = stack.sim.received.length;
        const res = fhir
          ? await stack.request('/fhir/fgm/query', {
              token,
              body: '<Bundle xmlns="http://hl7.org/fhir"/>',
              headers: { 'content-type': 'application/fhir+xml' },
            })
          : await stack.request('/api/fgm-status', { token, json: { nhsNumber: '9990000018', birthDate: BORN } });
        assert.equal(res.status, 401, `${res.status} for ${token}`);
        if (fhir) {
          const answer = parseQueryResponse(res.body);
          assert.ok(
            answer.ok &&
              answer.value.outcome.kind === 'operation-outcome' &&
              answer.value.outcome.code === 'AUTHOR_CREDENTIALS_ERROR',
          );
        } else {
          assert.equal(JSON.parse(res.body).code, 'AUTHOR_CREDENTIALS_ERROR');
        }
        assert.equal(stack.sim.received.length, calls);
      }),
      { numRuns: 300 },
    );
  });
});

describe('token rules the config enforces (SMSP-IG-002)', () => {
  const startFails = async (configure: (raw: Record<string, any>) => void, message: RegExp) => {
    let started: TestStack | undefined;
    try {
      await assert.rejects(
        async () => (started = await startTestStack({ configure })),
        (e: Error) => e.name === 'ConfigError' && message.test(e.message),
      );
    } finally {
      await started?.close();
    }
  };
  it('SMSP-IG-002 a plain-http jwksUrl on a non-loopback host stops start-up', () =>
    startFails((r) => {
      delete r.clients[0].token.publicKeyFile;
      r.clients[0].token.jwksUrl = 'http://idp.example.nhs.uk/jwks.json';
    }, /^config: clients\.0\.token\.jwksUrl: a jwksUrl must be https/));
  it('SMSP-AUDIT-002 a plain-http CIS2 issuer or UserInfo endpoint on a non-loopback host stops start-up', async () => {
    await startFails(
      (r) => (r.clients[1].cis2 = { issuer: 'http://cis2.example.nhs.uk/oidc', clientId: 'p' }),
      /^config: clients\.1\.cis2\.issuer: a CIS2 URL must be https/,
    );
    await startFails(
      (r) =>
        (r.clients[1].cis2 = {
          issuer: 'https://cis2.example.nhs.uk/oidc',
          clientId: 'p',
          userInfoEndpoint: 'http://cis2.example.nhs.uk/userinfo',
          jwksUrl: 'https://cis2.example.nhs.uk/jwks',
        }),
      /^config: clients\.1\.cis2\.userInfoEndpoint: a CIS2 URL must be https/,
    );
  });
  it('SMSP-AUDIT-002 a CIS2 client without its CIS2 clientId, or with userInfoEndpoint but no jwksUrl, stops start-up', async () => {
    await startFails((r) => delete r.clients[1].cis2.clientId, /^config: clients\.1\.cis2\.clientId: /);
    await startFails(
      (r) => (r.clients[1].cis2.userInfoEndpoint = 'https://cis2.example.nhs.uk/userinfo'),
      /^config: clients\.1\.cis2: give userInfoEndpoint and jwksUrl together/,
    );
  });
  it('SMSP-IG-001 smspAuditorRoles on a claims "cis2" client stops start-up (CIS2 activity codes are national)', () =>
    startFails(
      (r) => (r.clients[1].smspAuditorRoles = ['B9999']),
      /^config: clients\.1\.smspAuditorRoles: a claims "cis2" client cannot have smspAuditorRoles/,
    ));
  it('SMSP-AUDIT-002 a claims "cis2" client with a portal token, or without cis2, stops start-up', async () => {
    await startFails(
      (r) => (r.clients[1].token = { ...r.clients[0].token, issuer: 'https://epr.test/cis2' }),
      /^config: clients\.1\.cis2: a claims "cis2" client names its CIS2 environment/,
    );
    await startFails(
      (r) => delete r.clients[1].cis2,
      /^config: clients\.1\.cis2: a claims "cis2" client names its CIS2 environment/,
    );
  });
  it('SMSP-IG-002 a plain-http jwksUrl on a systemToken stops start-up too', () =>
    startFails((r) => {
      delete r.clients[2].systemToken.publicKeyFile;
      r.clients[2].systemToken.jwksUrl = 'http://10.1.2.3/jwks.json';
    }, /^config: clients\.2\.systemToken\.jwksUrl: a jwksUrl must be https/));
  it('SMSP-IG-002 a systemToken sharing a session token’s audience stops start-up', () =>
    startFails(
      (r) => (r.clients[2].systemToken.audience = r.clients[0].token.audience),
      /^config: clients: a systemToken audience is also a user session token audience/,
    ));
  it('SMSP-IG-002 a systemToken sharing a session token’s issuer stops start-up', () =>
    startFails(
      (r) => (r.clients[2].systemToken.issuer = r.clients[0].token.issuer),
      /^config: clients: a systemToken issuer is also used by another token/,
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
