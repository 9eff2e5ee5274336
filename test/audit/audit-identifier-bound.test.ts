/**
 * Issue 20's hostile review, over real sockets: no input can break the audit of other clinicians.
 * A value too long to be anyone's identifier (audited-identifier.ts: 255 characters) is refused
 * before Spine is asked — a token claim 401 AUTHOR_CREDENTIALS_ERROR, a FHIR identifier
 * INPUT_MESSAGE_VALIDATION_ERROR (SMSP-0001) — and the refusal is on the record by the value's
 * length and SHA-256 (computed here with node:crypto from the value the test sent), while every
 * concurrent innocent clinician is answered and the store stays healthy. A user id holding
 * nothing a Spine message can carry is a credentials error too, never a 500.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { migratePostgres, postgresPool } from '../../gateway/audit/postgres-store.ts';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { sqlAs, testDatabase } from '../helpers/services.ts';
import { GATEWAY_ASID, LOCAL_MIDWIFE, startTestStack, type TestStack } from '../helpers/stack.ts';

const BODY = { nhsNumber: '9990000018', birthDate: '2015-01-15' };
const sha256 = (v: string) => createHash('sha256').update(v, 'utf8').digest('hex');
const codeOf = (body: string) => (JSON.parse(body) as { code: string }).code;

/** A gateway on a fresh PostgreSQL trail; `run` gets it and the trail's rows. */
async function onPostgres(
  run: (stack: TestStack, rows: () => Promise<Record<string, unknown>[]>) => Promise<void>,
  opts: Parameters<typeof startTestStack>[0] = {},
) {
  const db = await testDatabase();
  try {
    const owner = postgresPool(db.ownerUrl, 1);
    await migratePostgres(owner, db.gatewayRole).finally(() => owner.end());
    const stack = await startTestStack({
      ...opts,
      configure: (raw) => {
        raw.audit = { postgresUrl: db.gatewayUrl, hmacKeyFile: raw.audit.hmacKeyFile };
        raw.spine.rateLimit = { perSecond: 1000, burst: 1000 };
        // One user's 27 concurrent queries: above the default per-user bound, which is not what is tested.
        raw.listen = { ...raw.listen, maxInFlightPerUser: 100, maxInFlightPerClient: 100 };
      },
    });
    try {
      await run(stack, () => sqlAs(db.gatewayUrl, 'SELECT * FROM audit_event ORDER BY seq'));
    } finally {
      await stack.close();
    }
  } finally {
    await db.drop();
  }
}

describe('issue 20: an over-long identifier is refused on the record and fails no one else', () => {
  it('SMSP-AUDIT-005 PostgreSQL: a token whose sub is 4 KB of random text, sent among 27 concurrent innocent queries, alone is refused 401 AUTHOR_CREDENTIALS_ERROR before Spine is asked; every innocent gets 200', async () => {
    await onPostgres(async (stack, rows) => {
      const huge = randomBytes(3200).toString('base64');
      const bad = stack.signToken({ ...LOCAL_MIDWIFE, sub: huge });
      const good = stack.signToken(LOCAL_MIDWIFE);
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          stack.request('/api/fgm-status', { token: i % 10 === 5 ? bad : good, json: BODY }),
        ),
      );
      answers.forEach((r, i) => {
        if (i % 10 === 5) assert.deepEqual([r.status, codeOf(r.body)], [401, 'AUTHOR_CREDENTIALS_ERROR'], r.body);
        else assert.equal(r.status, 200, r.body);
      });
      assert.equal(stack.sim.received.length, 27, 'Spine asked for the innocent queries only');
      assert.equal((await stack.request('/healthz')).status, 200);
      const refused = (await rows()).filter((r) => r.outcomeCode === 'AUTHOR_CREDENTIALS_ERROR');
      assert.equal(refused.length, 3, 'each refusal audited');
      for (const r of refused) {
        assert.equal(r.userId, null);
        assert.deepEqual((JSON.parse(r.detail as string) as { refusedClaim: unknown }).refusedClaim, {
          claim: 'sub',
          length: huge.length,
          sha256: sha256(huge),
          start: huge.slice(0, 32),
        });
      }
    });
  });

  it('SMSP-VAL-001 PostgreSQL: a FHIR query whose Practitioner local identifier is 4 KB is INPUT_MESSAGE_VALIDATION_ERROR before Spine is asked, audited by its SHA-256; /healthz stays 200', async () => {
    const SPINE_TIME = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();
    await onPostgres(
      async (stack, rows) => {
        const localId = randomBytes(3000).toString('base64');
        const { xml } = buildQueryBundle({
          nhsNumber: '9990000042',
          sourceAsid: '918999198993',
          destinationAsid: GATEWAY_ASID,
          author: { kind: 'local', localId },
          organization: { odsCode: 'RY2', name: 'Test CHS' },
        });
        const res = await stack.request('/fhir/fgm/query', {
          body: xml,
          headers: { 'content-type': 'application/fhir+xml' },
          token: stack.signToken({ sub: 'chs' }, { client: 'system' }),
        });
        assert.equal(res.status, 400, res.body);
        assert.match(res.body, /<code value="INPUT_MESSAGE_VALIDATION_ERROR"\/>/);
        assert.equal(stack.sim.received.length, 0, 'Spine not asked');
        assert.equal((await stack.request('/healthz')).status, 200);
        const refused = (await rows()).filter((r) => r.eventType === 'fhir-query');
        assert.equal(refused.length, 1);
        assert.equal(refused[0]!.outcomeCode, 'INPUT_MESSAGE_VALIDATION_ERROR');
        assert.deepEqual((JSON.parse(refused[0]!.detail as string) as { refusedValue: unknown }).refusedValue, {
          element: 'Practitioner.identifier.value',
          length: localId.length,
          sha256: sha256(localId),
          start: localId.slice(0, 32),
        });
      },
      { tls: true, simulatorNow: () => new Date(SPINE_TIME) },
    );
  });

  it('SMSP-AUDIT-005 a roles or org claim over 255 characters is 401 AUTHOR_CREDENTIALS_ERROR, audited, Spine not asked; 255 is still served', async () => {
    const stack = await startTestStack();
    try {
      const at255 = 'r'.repeat(255);
      for (const claims of [
        { ...LOCAL_MIDWIFE, roles: ['midwife', `${at255}x`] },
        { ...LOCAL_MIDWIFE, org: `${at255}x` },
      ]) {
        const r = await stack.request('/api/fgm-status', { token: stack.signToken(claims), json: BODY });
        assert.deepEqual([r.status, codeOf(r.body)], [401, 'AUTHOR_CREDENTIALS_ERROR'], r.body);
      }
      assert.equal(stack.sim.received.length, 0);
      const ok = await stack.request('/api/fgm-status', {
        token: stack.signToken({ ...LOCAL_MIDWIFE, sub: at255 }),
        json: BODY,
      });
      assert.equal(ok.status, 200, 'a 255-character sub is an identifier');
      const rows = stack.auditRows().filter((r) => r.eventType === 'widget-query');
      assert.deepEqual(
        rows.map((r) => [
          r.outcomeCode,
          (JSON.parse(r.detail as string) as { refusedClaim?: { claim: string } }).refusedClaim?.claim,
        ]),
        [
          ['AUTHOR_CREDENTIALS_ERROR', 'roles'],
          ['AUTHOR_CREDENTIALS_ERROR', 'org'],
          ['SUCCESS', undefined],
        ],
      );
    } finally {
      await stack.close();
    }
  });

  it('SMSP-AUDIT-005 a sub of only a lone surrogate, NUL or a control character is 401 AUTHOR_CREDENTIALS_ERROR, audited, Spine not asked (was 500)', async () => {
    const stack = await startTestStack();
    try {
      const subs = ['\ud800', '\udfff', '\u0000', '\u0001'];
      for (const sub of subs) {
        const r = await stack.request('/api/fgm-status', {
          token: stack.signToken({ ...LOCAL_MIDWIFE, sub }),
          json: BODY,
        });
        assert.deepEqual([r.status, codeOf(r.body)], [401, 'AUTHOR_CREDENTIALS_ERROR'], JSON.stringify(sub));
      }
      assert.equal(stack.sim.received.length, 0);
      const rows = stack.auditRows().filter((r) => r.eventType === 'widget-query');
      assert.deepEqual(
        rows.map((r) => [r.httpStatus, r.outcomeCode]),
        subs.map(() => [401, 'AUTHOR_CREDENTIALS_ERROR']),
      );
      // The stored start is the claim in canonical form: lone surrogates and NUL as U+FFFD (audit/canonical.ts), U+0001 kept.
      assert.deepEqual(
        rows.map((r) => (JSON.parse(r.detail as string) as { refusedClaim: { start: string } }).refusedClaim.start),
        ['\ufffd', '\ufffd', '\ufffd', '\u0001'],
      );
    } finally {
      await stack.close();
    }
  });
});
