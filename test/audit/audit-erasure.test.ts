/**
 * FGMISQR009 over real sockets with an injected clock, on both stores: a query about a child
 * whose 18th birthday then passes has its outcome (what Spine said) erased — in the store and
 * inside the archive retention wrote — by the gateway's own erasure task; `verify` still says
 * intact; the audit search still finds who asked about her and when, without the outcome; each
 * erasure is itself on the record. A FHIR-interface query (no birth date) loses its outcome
 * `audit.outcomeRetentionDays` after it was made, not a day before. On PostgreSQL the gateway's
 * role still cannot UPDATE, DELETE or TRUNCATE, and even its erasure function clears nothing
 * before its date.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateAnchorKeys } from '../../gateway/audit/anchor.ts';
import { migratePostgres, postgresPool } from '../../gateway/audit/postgres-store.ts';
import { retainPostgres, retainSqlite } from '../../gateway/audit/retention.ts';
import { openAuditTrail } from '../../gateway/audit/trail.ts';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { readKeyMaterial } from '../../gateway/server/key-material.ts';
import { builtGateway } from '../helpers/built-gateway.ts';
import { callEraseFunction } from '../helpers/erase-call.ts';
import { sqlAs, testDatabase } from '../helpers/services.ts';
import { GATEWAY_ASID, LOCAL_MIDWIFE, startTestStack, type TestStack } from '../helpers/stack.ts';

type Row = Record<string, unknown>;
/** The widget answer's messageId names the record by one of its ids. */
const is = (r: Row, id: string) => [r.clientMessageId, r.requestId, r.spineMessageId].includes(id);
/** The child: born 2008-06-01, so 17 on the query dates and 18 on 2026-06-01. */
const CHILD = { nhsNumber: '9990000018', birthDate: '2008-06-01' };
const YOUNGER = { nhsNumber: '9990000042', birthDate: '2015-01-01' };

interface Store {
  audit(raw: Record<string, any>): Record<string, unknown>;
  rows(stack: TestStack): Promise<Row[]>;
  retain(stack: TestStack, o: Parameters<typeof retainSqlite>[2]): Promise<unknown>;
}

async function scenario(store: Store) {
  const own = mkdtempSync(join(tmpdir(), 'fgm-erasure-'));
  const keys = generateAnchorKeys(join(own, 'anchor-keys'));
  let clock = new Date('2026-01-05T10:00:00Z');
  const now = () => clock;
  const stack = await startTestStack({
    tls: true,
    deps: { now },
    simulatorNow: now,
    configure: (raw) => {
      raw.audit = {
        ...store.audit(raw),
        anchorDir: join(own, 'anchors'),
        anchorPublicKeyFile: keys.publicKeyFile,
        outcomeRetentionDays: 35,
      };
      raw.clients[2].odsCodes = ['RY2'];
    },
  });
  try {
    const config = stack.config;
    const anchorDir = config.audit.anchorDir!;
    const privateKey = readFileSync(keys.privateKeyFile, 'utf8');
    const publicKey = readFileSync(config.audit.anchorPublicKeyFile!, 'utf8');
    const widget = (sub: string, p: typeof CHILD) =>
      stack.request('/api/fgm-status', { token: stack.signToken({ ...LOCAL_MIDWIFE, sub }), json: p });
    const byRequest = async (messageId: string) => (await store.rows(stack)).find((r) => is(r, messageId))!;

    // 5 January: A, a midwife asks about the child (to be archived).
    const a = await widget('ajones', CHILD);
    assert.equal(a.status, 200, a.body);
    const aId = JSON.parse(a.body).messageId as string;
    assert.equal((await byRequest(aId)).outcomeEraseOn, '2026-06-01', 'her 18th birthday');
    // 10 January: B, another midwife about the child; D about a younger child; C through the FHIR interface
    // (a local user: SDS authors need a CIS2 token, which is not this test's point).
    clock = new Date('2026-01-10T10:00:00Z');
    // B's answer departs from the profiles (a partial assessment date): what it looked like is on the
    // record for IT, sealed, and says she had an indicator, so it must go with the outcome.
    stack.sim.setFault({ kind: 'partial-date' });
    const bAnswer = await widget('bsmith', CHILD).finally(() => stack.sim.setFault(null));
    assert.equal(bAnswer.status, 200, bAnswer.body);
    const bId = JSON.parse(bAnswer.body).messageId as string;
    const phrase = 'assessment date is a partial date';
    const sealedB = stack.auditDetail(await byRequest(bId));
    assert.ok(JSON.stringify(sealedB.spineAnswer).includes(phrase), `sealed on the record: ${JSON.stringify(sealedB)}`);
    assert.ok(!String((await byRequest(bId)).detail).includes(phrase), 'never stored in clear');
    const dId = JSON.parse((await widget('ajones', YOUNGER)).body).messageId as string;
    const c = buildQueryBundle({
      nhsNumber: YOUNGER.nhsNumber,
      sourceAsid: '918999198993',
      destinationAsid: GATEWAY_ASID,
      author: { kind: 'local', localId: 'chs-user-9' },
      organization: { odsCode: 'RY2', name: 'Test Child Health System' },
    });
    const fhir = await stack.request('/fhir/fgm/query', {
      body: c.xml,
      headers: { 'content-type': 'application/fhir+xml' },
      clientCert: true,
    });
    assert.equal(fhir.status, 200, fhir.body);
    assert.equal((await byRequest(c.messageId)).outcomeEraseOn, '2026-02-14', 'no birth date: 35 days on');
    assert.equal((await byRequest(dId)).outcomeEraseOn, '2033-01-01');

    // Retention archives everything before 8 January (A among it), signed.
    await store.retain(stack, { before: new Date('2026-01-08T00:00:00Z'), privateKey, publicKey, dir: anchorDir });
    const archive = readdirSync(anchorDir).find((f) => f.startsWith('audit-archive-'))!;
    const archived = () =>
      readFileSync(join(anchorDir, archive), 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Row);
    assert.equal(archived().find((r) => is(r, aId))?.outcomeCode, 'SUCCESS');

    // 13 February: nothing is due yet — not a day early.
    clock = new Date('2026-02-13T23:30:00Z'); // 23:30 GMT: still the 13th in the UK
    assert.deepEqual(await stack.gateway().eraseOutcomes(), { through: '2026-02-13', records: 0, archives: [] });
    assert.equal((await byRequest(c.messageId)).outcomeCode, 'SUCCESS');
    // 14 February: the FHIR query's outcome goes.
    clock = new Date('2026-02-14T00:30:00Z');
    assert.deepEqual(await stack.gateway().eraseOutcomes(), { through: '2026-02-14', records: 1, archives: [] });
    const erasedC = await byRequest(c.messageId);
    assert.deepEqual([erasedC.outcomeCode, erasedC.httpStatus, erasedC.outcomeSalt], [null, null, null]);
    assert.equal((await byRequest(bId)).outcomeCode, 'SUCCESS');

    // 1 June, her 18th birthday: B in the store and A inside the archive lose their outcome; D keeps its.
    clock = new Date('2026-06-01T06:00:00Z');
    assert.deepEqual(await stack.gateway().eraseOutcomes(), {
      through: '2026-06-01',
      records: 1,
      archives: [{ archive, records: 1 }],
    });
    const b = await byRequest(bId);
    assert.deepEqual([b.outcomeCode, b.httpStatus, b.outcomeSalt], [null, null, null]);
    assert.equal(stack.auditDetail(b).spineAnswer, undefined, 'with the salt gone, the seal cannot be opened');
    assert.equal(b.detail, (await byRequest(bId)).detail, 'the chained detail itself is unchanged');
    const inArchive = archived().find((r) => is(r, aId))!;
    assert.deepEqual([inArchive.outcomeCode, inArchive.httpStatus, inArchive.outcomeSalt], [null, null, null]);
    assert.equal(inArchive.userId, 'ajones', 'who asked stays in the archive');
    assert.equal((await byRequest(dId)).outcomeCode, 'SUCCESS');

    // The whole trail, archive included, still verifies: in the gateway's own clock and with the built CLI.
    const trail = await openAuditTrail(config, readKeyMaterial(config).hmacKey, now);
    try {
      const verified = await trail.verify();
      assert.equal(verified.ok, true, JSON.stringify(verified));
      assert.equal(verified.ok && verified.archives, 1);
    } finally {
      await trail.close();
    }
    const cli = spawnSync(process.execPath, [...builtGateway('audit/cli.js'), 'verify'], {
      env: { ...process.env, FGM_GATEWAY_CONFIG: stack.configFile },
      encoding: 'utf8',
    });
    assert.equal(cli.status, 0, cli.stdout + cli.stderr);

    // The auditors' search still finds who asked about her and when, without the outcome.
    const found = await stack.request(`/admin/audit?nhsNumber=${CHILD.nhsNumber}`, {
      token: stack.signToken({ sub: 'igofficer', roles: ['auditor'], org: 'RX1' }),
    });
    assert.equal(found.status, 200, found.body);
    const mine = (JSON.parse(found.body).records as Row[]).filter((r) => r.eventType === 'widget-query');
    assert.deepEqual(
      mine.map((r) => [r.userId, r.time, r.outcomeCode, r.httpStatus]),
      [['bsmith', '2026-01-10T10:00:00.000Z', null, null]],
    );
    assert.equal(
      JSON.parse(String(mine[0]!.detail)).spineAnswer,
      'erased',
      "what Spine's answer looked like is gone with the outcome",
    );

    // Each erasure is on the record, in the chain.
    const erasures = (await store.rows(stack))
      .filter((r) => r.eventType === 'outcome-erasure')
      .map((r) => [r.time, JSON.parse(r.detail as string).erasedOutcomes]);
    assert.deepEqual(erasures, [
      // Each names the records it cleared (the archived record 2 and the stored 3 together): verify checks every cleared outcome is covered.
      ['2026-02-14T00:30:00.000Z', { through: '2026-02-14', records: 1, archives: [], seqs: [[5, 5]] }],
      [
        '2026-06-01T06:00:00.000Z',
        { through: '2026-06-01', records: 1, archives: [{ archive, records: 1 }], seqs: [[2, 3]] },
      ],
    ]);
    return stack;
  } catch (e) {
    await stack.close();
    throw e;
  }
}

describe('FGMISQR009 no outcome outlives the 18th birthday, and the chain still verifies', () => {
  it("FGMISQR009 SQLite: the 18th birthday erases the outcome in the store and the archive, the FHIR query's after the configured days; verify intact, search finds who asked, erasures recorded", async () => {
    const stack = await scenario({
      audit: (raw) => raw.audit,
      rows: async (s) => s.auditRows(),
      retain: async (s, o) => retainSqlite(s.auditDbPath, readKeyMaterial(s.config).hmacKey, o),
    });
    await stack.close();
  });

  it('FGMISQR009 PostgreSQL: the same through the granted erasure function; the gateway role still cannot UPDATE, DELETE or TRUNCATE, nor erase anything before its date', async () => {
    const db = await testDatabase();
    const owner = postgresPool(db.ownerUrl, 1);
    try {
      await migratePostgres(owner, db.gatewayRole);
      const stack = await scenario({
        audit: (raw) => ({ postgresUrl: db.gatewayUrl, hmacKeyFile: raw.audit.hmacKeyFile }),
        rows: () => sqlAs(db.gatewayUrl, 'SELECT * FROM audit_event ORDER BY seq'),
        retain: async (s, o) => {
          const trail = await openAuditTrail(s.config, readKeyMaterial(s.config).hmacKey);
          try {
            return await retainPostgres(owner, () => trail.verify(), o);
          } finally {
            await trail.close();
          }
        },
      });
      try {
        for (const sql of [
          'UPDATE audit_event SET "outcomeCode" = NULL',
          'UPDATE audit_event SET "userId" = \'x\'',
          'DELETE FROM audit_event',
          'TRUNCATE audit_event',
        ]) {
          await assert.rejects(sqlAs(db.gatewayUrl, sql), /permission denied/, sql);
        }
        await assert.rejects(sqlAs(db.gatewayUrl, 'SELECT audit_retain(1)'), /permission denied/);
        // The younger child's outcome is due in 2033: not even the function, given a record naming it through any date, clears it.
        const [young] = await sqlAs<{ seq: number }>(
          db.gatewayUrl,
          `SELECT seq::int AS seq FROM audit_event WHERE "outcomeEraseOn" = '2033-01-01'`,
        );
        await assert.rejects(
          callEraseFunction(db.gatewayUrl, {
            time: new Date().toISOString(),
            through: '9999-12-31',
            seqs: [young!.seq],
            records: 0,
          }),
          /names a record whose outcome is not due/,
        );
        // The trigger lets through nothing but a due erasure, even for the owner holding the function's flag.
        await assert.rejects(
          sqlAs(
            db.ownerUrl,
            `SET fgm_audit.erasing = 'on'; UPDATE audit_event SET "outcomeCode" = NULL, "httpStatus" = NULL, "outcomeSalt" = NULL WHERE "outcomeEraseOn" = '2033-01-01'`,
          ),
          /append-only/,
        );
        await assert.rejects(
          sqlAs(
            db.ownerUrl,
            `SET fgm_audit.erasing = 'on'; UPDATE audit_event SET "outcomeCode" = NULL, "httpStatus" = NULL, "outcomeSalt" = NULL, "userId" = 'x' WHERE "outcomeCode" IS NULL AND "outcomeDigest" IS NOT NULL`,
          ),
          /append-only/,
        );
        const rows = await sqlAs<Row>(
          db.gatewayUrl,
          `SELECT "outcomeCode" FROM audit_event WHERE "outcomeEraseOn" = '2033-01-01'`,
        );
        assert.deepEqual(
          rows.map((r) => r.outcomeCode),
          ['SUCCESS'],
        );
      } finally {
        await stack.close();
      }
    } finally {
      await owner.end();
      await db.drop();
    }
  });
});
