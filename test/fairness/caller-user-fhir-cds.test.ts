/**
 * @module test/fairness/caller-user-fhir-cds
 * Issue 21 on the FHIR interface and CDS Hooks, over real sockets against the test stack: each
 * originating user a client system names (its ASID and the Practitioner's identifier) and each EPR
 * user a CDS client names (`context.userId`) has her own in-flight bound and her own pseudonymous
 * `userKey` in the access log. "Refused before Spine" is proven by order — the simulator holds its
 * answers and counts what reaches it — never by the clock. The expected keys are computed here
 * from the stack's audit key file by the derivation docs/operating.md ("Security notes": the logs) documents.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { parseQueryResponse } from '../../gateway/fhir/response-bundle.ts';
import type { Author } from '../../gateway/fhir/types.ts';
import { without } from '../helpers/fhir-fixtures.ts';
import { signJwt } from '../helpers/jwt.ts';
import { GATEWAY_ASID, TEST_CLIENTS, startTestStack, type TestResponse, type TestStack } from '../helpers/stack.ts';

const NHS_NUMBER = '9990000018'; // the simulator holds an indicator for this child
const BIRTH_DATE = '2014-03-02';
const ASID = '918999198993';
const OTHER_ASID = '918999198994';
const CDS_BASE = 'https://fgm.example.nhs.uk';
const EPR = { id: 'trust-epr', issuer: 'https://epr.trust.example/' };
const eprKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
/** The bound under test: two requests in flight per user; the client's bound far above it. */
const PER_USER = 2;

let stack: TestStack;
before(async () => {
  const pem = join(mkdtempSync(join(tmpdir(), 'fgm-caller-user-')), 'epr.pub.pem');
  writeFileSync(pem, eprKey.publicKey.export({ type: 'spki', format: 'pem' }));
  stack = await startTestStack({
    spineTimeoutMs: 60_000,
    configure: (raw) => {
      Object.assign(raw.listen, { maxInFlightPerUser: PER_USER, maxInFlightPerClient: 100 });
      // A budget no test comes near: a busy tone here is the in-flight bound's.
      raw.spine.rateLimit = { perSecond: 1000, burst: 1000 };
      raw.cdsHooks = {
        baseUrl: CDS_BASE,
        clients: [
          {
            id: EPR.id,
            name: 'Trust EPR',
            odsCode: 'RYJ',
            issuer: EPR.issuer,
            publicKeyFile: pem,
            algorithms: ['ES256'],
            maxLifetimeSeconds: 300,
            priority: 'interactive',
          },
        ],
      };
    },
  });
});
after(async () => {
  stack?.sim.setFault(null);
  await stack?.close();
});

const local = (localId: string): Author => ({ kind: 'local', localId });

/** A client system's query (its own system token) from `sourceAsid`, naming `author`. */
function fhirQuery(author: Author | null, sourceAsid = ASID): Promise<TestResponse> {
  const { xml } = buildQueryBundle({
    nhsNumber: NHS_NUMBER,
    sourceAsid,
    destinationAsid: GATEWAY_ASID,
    author: author ?? local('removed below'),
    organization: { odsCode: 'RY2', name: 'Test Child Health System' },
  });
  return stack.request('/fhir/fgm/query', {
    body: author ? xml : without(xml, 'Practitioner.identifier'),
    headers: { 'content-type': 'application/fhir+xml' },
    token: stack.signToken({ sub: 'chs' }, { client: 'system' }),
  });
}

/** The FHIR answer's outcome: the indicator, or the OperationOutcome's code. */
function fhirOutcome(res: TestResponse): string {
  const parsed = parseQueryResponse(res.body, { localCodes: true });
  assert.ok(parsed.ok, res.body);
  return parsed.value.outcome.kind === 'operation-outcome' ? parsed.value.outcome.code : parsed.value.outcome.kind;
}

/** A CDS client's patient-view call for the EPR user `userId` (omitted when undefined), the Patient prefetched. */
function cdsCall(userId: string | undefined): Promise<TestResponse> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = signJwt(
    { iss: EPR.issuer, aud: `${CDS_BASE}/cds-services/fgm-is`, iat: now, exp: now + 60, jti: randomUUID() },
    { alg: 'ES256', key: eprKey.privateKey, kid: 'epr-1' },
  );
  const patient = {
    resourceType: 'Patient',
    id: 'p1',
    birthDate: BIRTH_DATE,
    identifier: [
      {
        system: 'https://fhir.nhs.uk/Id/nhs-number',
        value: NHS_NUMBER,
        extension: [
          {
            url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
            valueCodeableConcept: {
              coding: [
                { system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '01' },
              ],
            },
          },
        ],
      },
    ],
  };
  return stack.request('/cds-services/fgm-is', {
    token: jwt,
    json: {
      hook: 'patient-view',
      hookInstance: randomUUID(),
      context: { ...(userId !== undefined && { userId }), patientId: 'p1' },
      prefetch: { patient },
    },
  });
}

/** Resolves once `settled()` holds, re-checked on each `poke()` and each query the simulator receives. */
function whenSettled(settled: () => boolean): { poke: () => void; done: Promise<void> } {
  const received = stack.sim.received;
  const push = received.push.bind(received);
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  let over = false;
  const poke = () => {
    if (over || !settled()) return;
    over = true;
    received.push = push;
    resolve();
  };
  received.push = (...items) => {
    const n = push(...items);
    poke();
    return n;
  };
  poke();
  return { poke, done };
}

const atSpine = (n: number) => whenSettled(() => stack.sim.received.length === n).done;

/**
 * Sends `ask()` while Spine holds `n` queries and resolves with its answer once it is answered or
 * has reached Spine, whichever is first; `reachedSpine` says which.
 */
async function oneMore(
  n: number,
  ask: () => Promise<TestResponse>,
): Promise<{ reachedSpine: boolean; answer: Promise<TestResponse> }> {
  let answered = false;
  const settled = whenSettled(() => answered || stack.sim.received.length > n);
  const answer = ask().finally(() => {
    answered = true;
    settled.poke();
  });
  await settled.done;
  return { reachedSpine: stack.sim.received.length > n, answer };
}

/** The access-log line of the request each answer's X-Request-Id names. */
function logLines(answers: TestResponse[]): Record<string, unknown>[] {
  const lines = stack.logs
    .filter((l) => l.includes('"msg":"request"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return answers.map((a) => {
    const line = lines.find((l) => l.requestId === a.headers['x-request-id']);
    assert.ok(line, `a log line for ${String(a.headers['x-request-id'])}`);
    return line;
  });
}

/** HMAC-SHA-256(HMAC-SHA-256(audit key, label), client NUL user), 16 base64url characters. */
function expectedKey(clientId: string, userId: string): string {
  const auditKey = Buffer.from(readFileSync(join(stack.dir, 'audit-hmac.key'), 'utf8').trim());
  const secret = createHmac('sha256', auditKey).update('fgm-status access-log user key v1').digest();
  return createHmac('sha256', secret).update(`${clientId}\u0000${userId}`).digest('base64url').slice(0, 16);
}

describe("issue 21: a client system's and a CDS client's users each have their own in-flight bound", () => {
  it(
    'SMSP-PERF-001 a client system flooding as one originating user hears the busy tone before Spine answers anyone; its other originating users are answered',
    { timeout: 60_000 },
    async () => {
      stack.sim.setFault({ kind: 'hold' });
      try {
        const n = stack.sim.received.length;
        const held = [fhirQuery(local('chs-flooder')), fhirQuery(local('chs-flooder'))];
        await atSpine(n + PER_USER);
        // Spine has answered no one (it holds both): this answer did not wait for it.
        const third = await oneMore(n + PER_USER, () => fhirQuery(local('chs-flooder')));
        assert.equal(third.reachedSpine, false, 'her third request in flight reached Spine');
        const busy = await third.answer;
        assert.equal(busy.status, 429);
        assert.equal(busy.headers['retry-after'], '1');
        assert.equal(fhirOutcome(busy), 'SPINE_BUSY');
        // Another user of the same originating system, and the same local id from another system.
        held.push(fhirQuery(local('chs-colleague')));
        await atSpine(n + PER_USER + 1);
        held.push(fhirQuery(local('chs-flooder'), OTHER_ASID));
        await atSpine(n + PER_USER + 2);
        stack.sim.setFault(null);
        for (const a of await Promise.all(held)) assert.equal(fhirOutcome(a), 'indicator');
        // The bound counts requests in flight, not requests ever made.
        assert.equal(fhirOutcome(await fhirQuery(local('chs-flooder'))), 'indicator');
      } finally {
        stack.sim.setFault(null);
      }
    },
  );

  it(
    "SMSP-PERF-001 a CDS client's EPR user flooding hears the busy tone before Spine answers anyone; the same EPR's other user gets her card",
    { timeout: 60_000 },
    async () => {
      stack.sim.setFault({ kind: 'hold' });
      try {
        const n = stack.sim.received.length;
        const held = [cdsCall('Practitioner/flooder'), cdsCall('Practitioner/flooder')];
        await atSpine(n + PER_USER);
        const third = await oneMore(n + PER_USER, () => cdsCall('Practitioner/flooder'));
        assert.equal(third.reachedSpine, false, 'her third call in flight reached Spine');
        const busy = await third.answer;
        assert.equal(busy.status, 429);
        assert.equal(busy.headers['retry-after'], '1');
        assert.equal(JSON.parse(busy.body).code, 'SPINE_BUSY');
        // The CDS interface's error shape, not the widget's: no cards key (never read as "no record"), no patient fields.
        assert.deepEqual(Object.keys(JSON.parse(busy.body)).sort(), ['code', 'display', 'smspCode']);
        held.push(cdsCall('PractitionerRole/colleague'));
        await atSpine(n + PER_USER + 1);
        stack.sim.setFault(null);
        for (const a of await Promise.all(held))
          assert.equal((JSON.parse(a.body) as { cards: unknown[] }).cards.length, 1, a.body);
        assert.equal(
          (JSON.parse((await cdsCall('Practitioner/flooder')).body) as { cards: unknown[] }).cards.length,
          1,
        );
      } finally {
        stack.sim.setFault(null);
      }
    },
  );
});

describe("issue 21: the access log names a client system's and a CDS client's users by their own keys", () => {
  it('SMSP-AUDIT-002 a FHIR line\'s userKey is the keyed hash of the client and "<source ASID>/<Practitioner id>": one per originating user, never the id itself', async () => {
    const long = `chs-${'z'.repeat(200)}`;
    const answers = [];
    for (const [author, asid] of [
      [local('chs-user-41c2'), ASID],
      [local('chs-user-41c2'), ASID],
      [local('chs-user-9d07'), ASID],
      [local('chs-user-41c2'), OTHER_ASID],
      [local(long), ASID],
    ] as const) {
      const res = await fhirQuery(author, asid);
      assert.equal(fhirOutcome(res), 'indicator');
      answers.push(res);
    }
    const keys = logLines(answers).map((l) => [l.clientId, l.userKey]);
    const chs = TEST_CLIENTS.system.id;
    assert.deepEqual(keys, [
      [chs, expectedKey(chs, `${ASID}/chs-user-41c2`)],
      [chs, expectedKey(chs, `${ASID}/chs-user-41c2`)],
      [chs, expectedKey(chs, `${ASID}/chs-user-9d07`)],
      [chs, expectedKey(chs, `${OTHER_ASID}/chs-user-41c2`)],
      // Over 128 characters the user is known by `sha256:` and the id's base64url SHA-256.
      [chs, expectedKey(chs, `sha256:${createHash('sha256').update(`${ASID}/${long}`).digest('base64url')}`)],
    ]);
    assert.equal(new Set(keys.map(([, k]) => k)).size, 4);
    for (const id of ['chs-user-41c2', 'chs-user-9d07', long])
      assert.ok(!stack.logs.some((l) => l.includes(id)), `${id.slice(0, 20)}… appears in a log line`);
  });

  it("SMSP-AUDIT-002 a CDS line's userKey is the keyed hash of the CDS client and context.userId: one per EPR user, never the id itself", async () => {
    const users = ['Practitioner/epr-user-5e1b', 'Practitioner/epr-user-5e1b', 'PractitionerRole/epr-user-0a6f'];
    const answers = [];
    for (const u of users) {
      const res = await cdsCall(u);
      assert.equal((JSON.parse(res.body) as { cards: unknown[] }).cards.length, 1, res.body);
      answers.push(res);
    }
    assert.deepEqual(
      logLines(answers).map((l) => [l.clientId, l.userKey]),
      users.map((u) => [EPR.id, expectedKey(EPR.id, u)]),
    );
    assert.notEqual(expectedKey(EPR.id, users[0]!), expectedKey(EPR.id, users[2]!));
    for (const id of ['epr-user-5e1b', 'epr-user-0a6f'])
      assert.ok(!stack.logs.some((l) => l.includes(id)), `${id} appears in a log line`);
  });

  it('a request that names no user is counted only under its client, refused before Spine, and logged with its client and no user key', async () => {
    const n = stack.sim.received.length;
    const noAuthor = await fhirQuery(null);
    assert.equal(noAuthor.status, 401);
    assert.equal(fhirOutcome(noAuthor), 'AUTHOR_CREDENTIALS_ERROR');
    const noUser = await cdsCall(undefined);
    assert.equal(noUser.status, 400);
    assert.equal(stack.sim.received.length, n, 'Spine was not asked');
    assert.deepEqual(
      logLines([noAuthor, noUser]).map((l) => [l.clientId, l.userKey]),
      [
        [TEST_CLIENTS.system.id, null],
        [EPR.id, null],
      ],
    );
  });
});
