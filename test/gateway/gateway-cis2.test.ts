/**
 * SMSP-AUDIT-002 over real sockets: smartcard sessions are confirmed with NHS CIS2's UserInfo,
 * played by oidc-provider (demo/cis2) that issues real access tokens through the authorization
 * code + PKCE flow and answers UserInfo only for tokens it issued. Every refusal comes before
 * Spine is called (the simulator saw nothing); CIS2 down or hanging fails closed within its
 * deadline while local-identifier users are still served; the cache spares CIS2 repeat calls
 * and expires on an injected clock. Also: auditors act only for their organisations (SMSP-IG-001)
 * and the audit page's session names who it acts as (MSCA-IG-03).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CIS2_PEOPLE, OTHER_ORG } from '../../demo/cis2/users.ts';
import { buildQueryBundle, parseQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import type { Author } from '../../gateway/fhir/types.ts';
import {
  CIS2_GP,
  CIS2_RP,
  GATEWAY_ASID,
  LOCAL_MIDWIFE,
  OTHER_RP,
  startTestStack,
  TEST_ORIGIN,
  type TestResponse,
  type TestStack,
} from '../helpers/stack.ts';

const BORN = `${new Date().getUTCFullYear() - 10}-01-01`;
const WITH_FLAG = { nhsNumber: '9990000018', birthDate: BORN };
const { patel, okoro, noRole, igov } = CIS2_PEOPLE;
const [GP_RX1, CLERK_RX1, GP_OTHER] = patel.roles.map((r) => r.person_roleid) as [string, string, string];
/** Without `selectedrole` CIS2 names no selected role: the portal's NHSD-Session-URID must. */
const NO_SELECTED_ROLE = 'openid profile nationalrbacaccess';

/** The vocabulary file as data: the oracle for the new code's row. */
const vocabulary = async () =>
  (await import('../../gateway/fhir/vocabulary.json', { with: { type: 'json' } })).default as {
    rows: { code: string; httpStatus: number; smspCode: string }[];
  };

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

/** A widget API call from the smartcard portal's page with `token`. */
const ask = (on: TestStack, token: string, headers: Record<string, string> = {}) =>
  on.request('/api/fgm-status', { token, json: WITH_FLAG, headers: { origin: TEST_ORIGIN, ...headers } });

const code = (res: TestResponse) => JSON.parse(res.body).code as string;

/** Asks with `token`, expects `status`/`wanted`, Spine not called, the refusal audited. */
async function refusedBeforeSpine(token: string, status: number, wanted: string, headers: Record<string, string> = {}) {
  const calls = stack.sim.received.length;
  const res = await ask(stack, token, headers);
  assert.equal(res.status, status, res.body);
  assert.equal(code(res), wanted);
  assert.equal(stack.sim.received.length, calls, 'Spine was not called');
  const row = stack.auditRows().at(-1)!;
  assert.equal(row.outcomeCode, wanted);
  return row;
}

describe('SMSP-AUDIT-002 the widget API confirms a smartcard session with CIS2 UserInfo', () => {
  it('SMSP-AUDIT-002 a CIS2 session gets its answer, and Spine gets the SDS ids UserInfo gave (profile-valid)', async () => {
    const calls = stack.sim.received.length;
    const res = await ask(stack, await stack.cis2Token(patel.uid, { roleId: GP_RX1 }));
    assert.equal(res.status, 200, res.body);
    assert.equal(JSON.parse(res.body).status, 'indicator');
    assert.equal(stack.sim.received.length, calls + 1);
    // The simulator validated the message with the FGM-IS profiles (stack.request rejects otherwise).
    const sent = parseQueryBundle(stack.sim.received.at(-1)!.xml);
    assert.ok(sent.ok);
    assert.deepEqual(sent.value.author, { kind: 'sds', userId: patel.uid, roleProfileId: GP_RX1 });
    assert.equal(sent.value.organization?.odsCode, 'RX1');
    const row = stack.auditRows().at(-1)!;
    assert.deepEqual(
      [row.userId, row.roleProfileId, row.orgCode, row.clientId],
      [patel.uid, GP_RX1, 'RX1', 'test-epr-cis2'],
    );
    assert.equal(
      JSON.parse(row.detail as string).identity,
      'cis2',
      'SMSP-AUDIT-002 the record says CIS2 confirmed the identity',
    );
  });

  it('SMSP-AUDIT-002 a single-role user has that role selected by CIS2', async () => {
    const res = await ask(stack, await stack.cis2Token(okoro.uid));
    assert.equal(res.status, 200, res.body);
    assert.equal(stack.auditRows().at(-1)!.roleProfileId, okoro.roles[0]!.person_roleid);
  });

  it('SMSP-AUDIT-002 without a selected role from CIS2, the role named in NHSD-Session-URID is used when the user holds it', async () => {
    const res = await ask(stack, await stack.cis2Token(patel.uid, { scope: NO_SELECTED_ROLE }), {
      'NHSD-Session-URID': GP_RX1,
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(stack.auditRows().at(-1)!.roleProfileId, GP_RX1);
  });

  it('SMSP-AUDIT-002 an opaque (non-JWT) token → 401 AUTHOR_CREDENTIALS_ERROR before CIS2 and Spine: its binding cannot be proven (fail closed)', async () => {
    const before = stack.cis2.userInfoCalls();
    const row = await refusedBeforeSpine('an-access-token-cis2-never-issued', 401, 'AUTHOR_CREDENTIALS_ERROR');
    assert.equal(
      row.clientId,
      null,
      'no client is named for a refused token: it counts as an unauthenticated attempt (bounded per address)',
    );
    assert.equal(stack.cis2.userInfoCalls(), before, 'refused locally, CIS2 not asked');
    assert.ok(
      stack.logs.some((l) =>
        l.includes('the access token is not a JWT: its binding to this client could not be proven'),
      ),
      'the log says why, in a fixed phrase',
    );
  });

  it('SMSP-AUDIT-002 a CIS2 access token issued to another relying party → 401 before UserInfo is called', async () => {
    const foreign = await stack.cis2Token(patel.uid, { roleId: GP_RX1, ...OTHER_RP });
    const before = stack.cis2.userInfoCalls();
    const row = await refusedBeforeSpine(foreign, 401, 'AUTHOR_CREDENTIALS_ERROR');
    assert.equal(stack.cis2.userInfoCalls(), before, 'refused locally by its client_id, CIS2 not asked');
    assert.equal(row.clientId, null);
    // The same person signed in through the portal is served: the refusal is about the token's binding.
    assert.equal((await ask(stack, await stack.cis2Token(patel.uid, { roleId: GP_RX1 }))).status, 200);
  });

  it('SMSP-AUDIT-002 CIS2 is asked before the body is read: a token it refuses is answered while the body is still unsent', async () => {
    const before = stack.cis2.userInfoCalls();
    const res = await stack.requestUnfinished('/api/fgm-status', {
      token: await stack.cis2Token(noRole.uid),
      headers: { origin: TEST_ORIGIN, 'content-type': 'application/json' },
      body: '{"nhsNumber":"99900',
      declaredLength: 60_000,
    });
    assert.equal(res.status, 401);
    assert.equal(stack.cis2.userInfoCalls(), before + 1, 'UserInfo was asked');
    assert.equal(stack.auditRows().at(-1)!.nhsNumber, null, 'nothing from the unread body is recorded');
  });

  it('SMSP-AUDIT-002 a portal-signed JWT claiming a CIS2 identity → 401 before Spine (only CIS2 vouches for smartcard users)', async () => {
    const before = stack.cis2.userInfoCalls();
    const row = await refusedBeforeSpine(stack.signToken(CIS2_GP, { client: 'cis2' }), 401, 'AUTHOR_CREDENTIALS_ERROR');
    assert.equal(stack.cis2.userInfoCalls(), before, "refused locally: not bound to the portal's CIS2 client");
    assert.equal(row.userId, null, "nothing from the portal's claims is on the record");
  });

  it('SMSP-AUDIT-002 a selected role the user does not hold (NHSD-Session-URID) → 401 before Spine', async () => {
    const row = await refusedBeforeSpine(
      await stack.cis2Token(patel.uid, { scope: NO_SELECTED_ROLE }),
      401,
      'AUTHOR_CREDENTIALS_ERROR',
      { 'NHSD-Session-URID': okoro.roles[0]!.person_roleid },
    );
    assert.equal(row.clientId, 'test-epr-cis2', 'a genuine CIS2 session names its client');
    assert.equal(row.userId, patel.uid, 'SMSP-AUDIT-009 the refusal names the user CIS2 confirmed');
  });

  it('SMSP-AUDIT-002 NHSD-Session-URID naming another role than the one selected at CIS2 sign-in → 401 before Spine', async () => {
    await refusedBeforeSpine(await stack.cis2Token(patel.uid, { roleId: GP_RX1 }), 401, 'AUTHOR_CREDENTIALS_ERROR', {
      'NHSD-Session-URID': GP_OTHER,
    });
  });

  it('SMSP-AUDIT-002 no selected role at all (no selected_roleid, no NHSD-Session-URID) → 401 before Spine', async () => {
    await refusedBeforeSpine(
      await stack.cis2Token(patel.uid, { scope: NO_SELECTED_ROLE }),
      401,
      'AUTHOR_CREDENTIALS_ERROR',
    );
  });

  it('SMSP-AUDIT-002 a CIS2 user with no role profile → 401 before Spine', async () => {
    await refusedBeforeSpine(await stack.cis2Token(noRole.uid), 401, 'AUTHOR_CREDENTIALS_ERROR');
  });

  it('SMSP-IG-001 a selected role without B0370 → 403 ACCESS_DENIED before Spine, audited with the role CIS2 gave', async () => {
    const row = await refusedBeforeSpine(await stack.cis2Token(patel.uid, { roleId: CLERK_RX1 }), 403, 'ACCESS_DENIED');
    assert.deepEqual(
      [row.userId, row.roleProfileId, row.orgCode, row.clientId],
      [patel.uid, CLERK_RX1, 'RX1', 'test-epr-cis2'],
    );
  });

  it('SMSP-IG-003 a selected role at another organisation → 403 ACCESS_DENIED before Spine, audited with that organisation', async () => {
    const row = await refusedBeforeSpine(await stack.cis2Token(patel.uid, { roleId: GP_OTHER }), 403, 'ACCESS_DENIED');
    assert.equal(row.orgCode, OTHER_ORG);
  });

  it('SMSP-AUDIT-002 a CIS2 access token from a page of no portal of its client (another Origin) → 401, CIS2 not asked', async () => {
    const token = await stack.cis2Token(patel.uid, { roleId: GP_RX1 });
    const before = stack.cis2.userInfoCalls();
    const res = await stack.request('/api/fgm-status', {
      token,
      json: WITH_FLAG,
      headers: { origin: 'https://elsewhere.test' },
    });
    assert.equal(res.status, 401);
    assert.equal(stack.cis2.userInfoCalls(), before);
  });

  it('SMSP-AUDIT-002 concurrent queries with one new token make one UserInfo call (single flight)', async () => {
    const token = await stack.cis2Token(patel.uid, { roleId: GP_RX1 });
    const before = stack.cis2.userInfoCalls();
    const answers = await Promise.all(Array.from({ length: 5 }, () => ask(stack, token)));
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 200, 200],
    );
    assert.equal(stack.cis2.userInfoCalls(), before + 1);
  });
});

describe('SMSP-AUDIT-002 the UserInfo cache, on an injected clock', () => {
  let offsetMs = 0;
  let cached: TestStack;
  before(async () => {
    cached = await startTestStack({
      deps: { now: () => new Date(Date.now() + offsetMs) },
      cis2: (issuer) => ({ issuer, clientId: CIS2_RP.clientId, cacheSeconds: 30 }),
    });
  });
  after(async () => {
    await cached?.close();
  });

  it('SMSP-AUDIT-002 a second query within cacheSeconds needs no UserInfo call; after it, CIS2 is asked again', async () => {
    const token = await cached.cis2Token(patel.uid, { roleId: GP_RX1 });
    const start = cached.cis2.userInfoCalls();
    assert.equal((await ask(cached, token)).status, 200);
    assert.equal(cached.cis2.userInfoCalls(), start + 1);
    offsetMs = 29_000;
    assert.equal((await ask(cached, token)).status, 200);
    assert.equal(cached.cis2.userInfoCalls(), start + 1, 'served from the cache');
    offsetMs = 30_001;
    assert.equal((await ask(cached, token)).status, 200);
    assert.equal(cached.cis2.userInfoCalls(), start + 2, 'the cached answer expired: CIS2 confirmed the session again');
  });
});

describe('SMSP-AUDIT-002 CIS2 down or hanging fails closed; local users are still served', () => {
  it('SMSP-AUDIT-002 UserInfo unreachable → CIS2_UNAVAILABLE (its own code), Spine not called; the local midwife is served', async () => {
    const closed = createTcpServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const down = await startTestStack({
      cis2: (issuer) => ({
        issuer,
        clientId: CIS2_RP.clientId,
        jwksUrl: `${issuer}/jwks`,
        userInfoEndpoint: `http://127.0.0.1:${port}/me`,
      }),
    });
    try {
      const res = await ask(down, await down.cis2Token(patel.uid, { roleId: GP_RX1 }));
      const row = (await vocabulary()).rows.find((r) => r.code === 'CIS2_UNAVAILABLE')!;
      assert.equal(res.status, row.httpStatus);
      assert.equal(code(res), 'CIS2_UNAVAILABLE');
      assert.equal(JSON.parse(res.body).smspCode, row.smspCode);
      assert.equal(down.sim.received.length, 0, 'Spine was not called');
      assert.equal(down.auditRows().at(-1)!.outcomeCode, 'CIS2_UNAVAILABLE');
      assert.equal(
        (await down.request('/api/fgm-status', { token: down.signToken(LOCAL_MIDWIFE), json: WITH_FLAG })).status,
        200,
      );
      // A flood of such refusals names no client: bounded per address like any unauthenticated attempt.
      const token = await down.cis2Token(okoro.uid);
      for (let i = 0; i < 30; i++) assert.equal((await ask(down, token)).status, row.httpStatus);
      const own = down.auditRows().filter((r) => r.outcomeCode === 'CIS2_UNAVAILABLE').length;
      assert.ok(
        own <= 20,
        `${own} own records for 31 refusals from one address: at most the per-address allowance (20)`,
      );
    } finally {
      await down.close();
    }
  });

  it('SMSP-AUDIT-002 UserInfo hanging → CIS2_UNAVAILABLE at its deadline, while the local midwife is answered meanwhile', async () => {
    const sockets: Socket[] = [];
    // Accepts connections and never answers: a CIS2 that has stopped responding.
    const hanging = createTcpServer((s) => sockets.push(s));
    hanging.listen(0, '127.0.0.1');
    await once(hanging, 'listening');
    const slow = await startTestStack({
      cis2: (issuer) => ({
        issuer,
        clientId: CIS2_RP.clientId,
        jwksUrl: `${issuer}/jwks`,
        userInfoEndpoint: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/me`,
        timeoutMs: 1000,
      }),
    });
    try {
      const order: string[] = [];
      const cis2Query = ask(slow, await slow.cis2Token(patel.uid, { roleId: GP_RX1 })).then(
        (r) => (order.push('cis2'), r),
      );
      while (sockets.length === 0) await new Promise((r) => setImmediate(r));
      const local = await slow.request('/api/fgm-status', { token: slow.signToken(LOCAL_MIDWIFE), json: WITH_FLAG });
      order.push('local');
      assert.equal(local.status, 200, 'a local user is served while CIS2 hangs');
      const res = await cis2Query;
      assert.deepEqual(order, ['local', 'cis2']);
      assert.equal(code(res), 'CIS2_UNAVAILABLE');
      assert.equal(slow.sim.received.length, 1, "only the local user's query reached Spine");
      assert.ok(
        slow.logs.some((l) => l.includes('UserInfo: deadline passed')),
        'the gateway gave up at its own deadline (the hanging server never answers or closes)',
      );
    } finally {
      for (const s of sockets) s.destroy();
      hanging.close();
      await slow.close();
    }
  });
});

describe('SMSP-IG-001 auditors act only for their own organisations; MSCA-IG-03 the audit page says who it acts as', () => {
  const admin = (token: string, path = '/admin/audit') =>
    stack.request(path, { token, headers: { 'X-FGM-Portal-Origin': TEST_ORIGIN } });

  it('SMSP-IG-001 a local auditor whose org claim is another organisation → 403 ACCESS_DENIED', async () => {
    const res = await admin(stack.signToken({ sub: 'igov', roles: ['auditor'], org: OTHER_ORG }));
    assert.equal(res.status, 403);
    assert.equal(code(res), 'ACCESS_DENIED');
    assert.equal(stack.auditRows().at(-1)!.orgCode, OTHER_ORG);
  });

  it('SMSP-IG-001 a CIS2 auditor whose selected role is at another organisation → 403 ACCESS_DENIED', async () => {
    const res = await admin(await stack.cis2Token(igov.uid, { roleId: igov.roles[1]!.person_roleid }));
    assert.equal(res.status, 403);
    assert.equal(code(res), 'ACCESS_DENIED');
  });

  it('SMSP-IG-001 a CIS2 user whose selected role lacks the auditor activity → 403 ACCESS_DENIED', async () => {
    const res = await admin(await stack.cis2Token(patel.uid, { roleId: GP_RX1 }));
    assert.equal(res.status, 403);
  });

  it("MSCA-IG-03 a CIS2 auditor at their organisation searches, and the page's session names user, role and organisation as CIS2 gave them", async () => {
    const token = await stack.cis2Token(igov.uid, { roleId: igov.roles[0]!.person_roleid });
    const who = await admin(token, '/admin/session');
    assert.equal(who.status, 200, who.body);
    assert.deepEqual(JSON.parse(who.body), {
      userId: igov.uid,
      name: igov.name,
      roleProfileId: igov.roles[0]!.person_roleid,
      localRoles: [],
      orgCode: 'RX1',
      client: 'Test Maternity NHS Trust (smartcard)',
      confirmedByCis2: true,
      scope: 'client',
    });
    const search = await admin(token);
    assert.equal(search.status, 200);
    const row = stack.auditRows().at(-1)!;
    assert.deepEqual(
      [row.eventType, row.userId, row.roleProfileId, row.orgCode],
      ['audit-query', igov.uid, igov.roles[0]!.person_roleid, 'RX1'],
    );
    assert.equal(JSON.parse(row.detail as string).identity, 'cis2');
  });

  it("SMSP-IG-001 an auditor sees only their own organisation's records of a client serving several (search and throughput, CIS2 and local)", async () => {
    const shared = await startTestStack({
      configure: (raw) => {
        raw.clients[0].odsCodes = ['RX1', OTHER_ORG];
        raw.clients[1].odsCodes = ['RX1', OTHER_ORG];
      },
    });
    try {
      // A query at each organisation through each client.
      assert.equal((await ask(shared, await shared.cis2Token(patel.uid, { roleId: GP_OTHER }))).status, 200);
      assert.equal((await ask(shared, await shared.cis2Token(patel.uid, { roleId: GP_RX1 }))).status, 200);
      assert.equal(
        (
          await shared.request('/api/fgm-status', {
            token: shared.signToken({ ...LOCAL_MIDWIFE, org: OTHER_ORG }),
            json: WITH_FLAG,
          })
        ).status,
        200,
      );
      assert.equal(
        (await shared.request('/api/fgm-status', { token: shared.signToken(LOCAL_MIDWIFE), json: WITH_FLAG })).status,
        200,
      );
      const today = new Date().toLocaleDateString('en-CA', { timeZone: 'Europe/London' });
      const asCis2 = await shared.cis2Token(igov.uid, { roleId: igov.roles[0]!.person_roleid });
      const asLocal = shared.signToken({ sub: 'igov', roles: ['auditor'], org: 'RX1' });
      for (const [token, clientId, headers] of [
        [asCis2, 'test-epr-cis2', { 'X-FGM-Portal-Origin': TEST_ORIGIN }],
        [asLocal, 'test-epr', {}],
      ] as const) {
        const res = await shared.request('/admin/audit?nhsNumber=9990000018', { token, headers });
        assert.equal(res.status, 200, res.body);
        const recs = JSON.parse(res.body).records as { clientId: string; orgCode: string; eventType: string }[];
        assert.deepEqual(
          recs.filter((r) => r.eventType === 'widget-query').map((r) => `${r.clientId}/${r.orgCode}`),
          [`${clientId}/RX1`],
          "the other organisation's query is not shown",
        );
        const t = await shared.request(`/admin/throughput?date=${today}`, { token, headers });
        assert.equal(JSON.parse(t.body).total, 1, "throughput counts the auditor's organisation only");
      }
      // The trail does hold the other organisation's records (the oracle: the raw rows).
      assert.equal(
        shared.auditRows().filter((r) => r.eventType === 'widget-query' && r.orgCode === OTHER_ORG).length,
        2,
      );
    } finally {
      await shared.close();
    }
  });

  it("MSCA-IG-03 a local auditor's session names the local id, roles and organisation, not confirmed by CIS2", async () => {
    const who = await admin(
      stack.signToken({ sub: 'igov', name: 'Ira Gov', roles: ['auditor'], org: 'RX1' }),
      '/admin/session',
    );
    assert.equal(who.status, 200);
    assert.deepEqual(JSON.parse(who.body), {
      userId: 'igov',
      name: 'Ira Gov',
      roleProfileId: null,
      localRoles: ['auditor'],
      orgCode: 'RX1',
      client: 'Test Maternity NHS Trust',
      confirmedByCis2: false,
      scope: 'client',
    });
  });
});

describe('SMSP-AUDIT-002 the FHIR interface: SDS ids only as CIS2 confirms them (X-CIS2-Access-Token)', () => {
  let fhir: TestStack;
  before(async () => {
    // The child health system's users sign in with CIS2 too: its client names the same CIS2 environment.
    fhir = await startTestStack({
      tls: true,
      configure: (raw) => {
        raw.clients[2].cis2 = { ...raw.clients[1].cis2 };
        // CIS2's people work at RX1: the child health system acts for it too.
        raw.clients[2].odsCodes = ['RY2', 'RX1'];
      },
    });
  });
  after(async () => {
    await fhir?.close();
  });
  const sds = (userId: string, roleProfileId: string): Author => ({ kind: 'sds', userId, roleProfileId });
  const post = (author: Author, headers: Record<string, string> = {}, odsCode = 'RY2') =>
    fhir.request('/fhir/fgm/query', {
      body: buildQueryBundle({
        nhsNumber: '9990000018',
        sourceAsid: '918999198993',
        destinationAsid: GATEWAY_ASID,
        author,
        organization: { odsCode, name: 'Test Child Health System' },
      }).xml,
      headers: { 'content-type': 'application/fhir+xml', ...headers },
      clientCert: true,
    });
  const outcomeCode = (res: TestResponse) =>
    /<details><coding><system value="[^"]+"\/><code value="([^"]+)"\/>/.exec(res.body)?.[1];
  const chsToken = () => fhir.cis2Token(okoro.uid);
  const OKORO = () => sds(okoro.uid, okoro.roles[0]!.person_roleid);

  it("SMSP-AUDIT-002 matching SDS ids with the user's CIS2 token are answered, and Spine gets those SDS ids (profile-valid)", async () => {
    const calls = fhir.sim.received.length;
    const res = await post(OKORO(), { 'X-CIS2-Access-Token': await chsToken() }, 'RX1');
    assert.equal(res.status, 200, res.body);
    assert.equal(fhir.sim.received.length, calls + 1);
    const sent = parseQueryBundle(fhir.sim.received.at(-1)!.xml);
    assert.ok(sent.ok);
    assert.deepEqual(sent.value.author, OKORO());
    const row = fhir.auditRows().at(-1)!;
    assert.deepEqual([row.userId, row.roleProfileId, row.orgCode], [okoro.uid, okoro.roles[0]!.person_roleid, 'RX1']);
    assert.equal(JSON.parse(row.detail as string).identity, 'cis2');
  });

  it("SMSP-AUDIT-002 a CIS2-confirmed role at another organisation than the request's → 403 before Spine", async () => {
    const calls = fhir.sim.received.length;
    const res = await post(OKORO(), { 'X-CIS2-Access-Token': await chsToken() }, 'RY2');
    assert.equal(res.status, 403);
    assert.equal(outcomeCode(res), 'ACCESS_DENIED');
    assert.equal(fhir.sim.received.length, calls);
  });

  it("SMSP-AUDIT-002 SDS ids without the user's CIS2 access token → 401 AUTHOR_CREDENTIALS_ERROR before Spine", async () => {
    const calls = fhir.sim.received.length;
    const res = await post(OKORO(), {}, 'RX1');
    assert.equal(res.status, 401);
    assert.equal(outcomeCode(res), 'AUTHOR_CREDENTIALS_ERROR');
    assert.equal(fhir.sim.received.length, calls);
  });

  it("SMSP-AUDIT-002 SDS ids of another user than the CIS2 token's → 401 before Spine", async () => {
    const calls = fhir.sim.received.length;
    // The token's user's own role profile, under another SDS User ID: only the user check can refuse it.
    const res = await post(
      sds(patel.uid, okoro.roles[0]!.person_roleid),
      { 'X-CIS2-Access-Token': await chsToken() },
      'RX1',
    );
    assert.equal(res.status, 401);
    assert.equal(fhir.sim.received.length, calls);
    const row = fhir.auditRows().at(-1)!;
    assert.equal(row.userId, okoro.uid, 'the record names the user CIS2 confirmed, not the claimed one');
    assert.equal(row.roleProfileId, null);
    assert.deepEqual(
      JSON.parse(row.detail as string).claimedAuthor,
      { userId: patel.uid, roleProfileId: okoro.roles[0]!.person_roleid },
      'the claimed ids are kept as detail',
    );
  });

  it('SMSP-AUDIT-002 a local identifier beside a valid CIS2 token → 401 AUTHOR_CREDENTIALS_ERROR before Spine, audited as the CIS2 user', async () => {
    const calls = fhir.sim.received.length;
    const res = await post(
      { kind: 'local', localId: 'someone-else' },
      { 'X-CIS2-Access-Token': await chsToken() },
      'RX1',
    );
    assert.equal(res.status, 401, res.body);
    assert.equal(outcomeCode(res), 'AUTHOR_CREDENTIALS_ERROR');
    assert.equal(fhir.sim.received.length, calls, 'Spine was not called');
    const row = fhir.auditRows().at(-1)!;
    assert.equal(row.userId, okoro.uid);
    assert.deepEqual(JSON.parse(row.detail as string).claimedAuthor, { localId: 'someone-else' });
  });

  it('SMSP-AUDIT-002 a CIS2 token CIS2 refuses → 401 before Spine', async () => {
    const calls = fhir.sim.received.length;
    const res = await post(OKORO(), { 'X-CIS2-Access-Token': 'not-a-token-cis2-issued' }, 'RX1');
    assert.equal(res.status, 401);
    assert.equal(outcomeCode(res), 'AUTHOR_CREDENTIALS_ERROR');
    assert.equal(fhir.sim.received.length, calls);
  });
});

describe('SMSP-AUDIT-002 a CIS2 access token is used only through the client it was issued to', () => {
  const OTHER_ORIGIN = 'https://other-portal.test';
  let two: TestStack;
  before(async () => {
    two = await startTestStack({
      configure: (raw) => {
        // A second, more permissive CIS2 portal (another organisation allowed), with its own CIS2 client id.
        raw.clients.push({
          ...raw.clients[1],
          id: 'cis2-b',
          name: 'Other portal',
          origins: [OTHER_ORIGIN],
          odsCodes: ['RX1', OTHER_ORG],
          cis2: { ...raw.clients[1].cis2, clientId: OTHER_RP.clientId },
        });
      },
    });
  });
  after(async () => {
    await two?.close();
  });

  it("SMSP-AUDIT-002 a token bound to portal A used with portal B's Origin → 401 before CIS2 and Spine", async () => {
    const token = await two.cis2Token(patel.uid, { roleId: GP_OTHER });
    const before = two.cis2.userInfoCalls();
    const res = await ask(two, token, { origin: OTHER_ORIGIN });
    assert.equal(res.status, 401, res.body);
    assert.equal(code(res), 'AUTHOR_CREDENTIALS_ERROR');
    assert.equal(two.cis2.userInfoCalls(), before, 'CIS2 not asked');
    assert.equal(two.sim.received.length, 0);
    // Through its own portal the same token is judged by A's rules: another organisation is refused.
    assert.equal((await ask(two, token)).status, 403);
    // B's own token for the same role is served through B: B allows that organisation.
    assert.equal(
      (await ask(two, await two.cis2Token(patel.uid, { roleId: GP_OTHER, ...OTHER_RP }), { origin: OTHER_ORIGIN }))
        .status,
      200,
    );
  });

  it('SMSP-AUDIT-002 X-FGM-Portal-Origin of another portal is refused on /admin/*, and picks nothing on /api/*', async () => {
    const auditor = await two.cis2Token(igov.uid, { roleId: igov.roles[0]!.person_roleid });
    const res = await two.request('/admin/session', {
      token: auditor,
      headers: { 'X-FGM-Portal-Origin': OTHER_ORIGIN },
    });
    assert.equal(res.status, 401, res.body);
    const own = await two.request('/admin/session', {
      token: auditor,
      headers: { 'X-FGM-Portal-Origin': TEST_ORIGIN },
    });
    assert.equal(JSON.parse(own.body).client, 'Test Maternity NHS Trust (smartcard)');
    // On the widget API the header is not read: portal A's token stays A's (A refuses another organisation).
    const gp = await two.cis2Token(patel.uid, { roleId: GP_OTHER });
    const api = await two.request('/api/fgm-status', {
      token: gp,
      json: WITH_FLAG,
      headers: { 'X-FGM-Portal-Origin': OTHER_ORIGIN },
    });
    assert.equal(api.status, 403, api.body);
    assert.equal(two.auditRows().at(-1)!.clientId, 'test-epr-cis2');
  });
});
