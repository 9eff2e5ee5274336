/**
 * The auditors' interface over real sockets (SMSP-AUDIT-007/008, SMSP-IG-001): search by each
 * parameter, CSV export, verification and throughput for users with an auditor role only, and
 * every use or refusal of it on the record.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ukToday } from '../../widget/rules/age.ts';
import { CIS2_PEOPLE } from '../../demo/cis2/users.ts';
import { LOCAL_MIDWIFE, startTestStack, TEST_ORIGIN, type TestStack } from '../helpers/stack.ts';

/** An SMSP-wide auditor (smspAuditorRoles), and an auditor of the local client's trust only (auditorRoles). */
const AUDITOR = { sub: 'igofficer', name: 'Ira Gov', roles: ['smsp-auditor'], org: 'RX1' };
const TRUST_AUDITOR = { sub: 'trustig', name: 'Tess Rust', roles: ['auditor'], org: 'RX1' };
let stack: TestStack;
const answers: Record<string, { messageId: string }> = {};

before(async () => {
  stack = await startTestStack({ configure: (raw) => (raw.clients[0].smspAuditorRoles = ['smsp-auditor']) });
  for (const [who, nhs] of [
    ['midwife', '9990000018'],
    ['midwife', '9990000026'],
    ['gp', '9990000042'],
  ] as const) {
    // The smartcard GP signs in through the CIS2 double and asks from the smartcard portal's page.
    const token =
      who === 'gp'
        ? await stack.cis2Token(CIS2_PEOPLE.patel.uid, { roleId: '555021936108' })
        : stack.signToken(LOCAL_MIDWIFE);
    answers[nhs] = JSON.parse(
      (
        await stack.request('/api/fgm-status', {
          token,
          json: { nhsNumber: nhs, birthDate: '2014-03-02' },
          headers: { origin: TEST_ORIGIN },
        })
      ).body,
    );
  }
});
after(() => stack?.close());

const asAuditor = (path: string) => stack.request(path, { token: stack.signToken(AUDITOR) });
const records = async (query: string) => {
  const res = await asAuditor(`/admin/audit?${query}`);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body).records as Record<string, unknown>[];
};

describe('the audit trail for IG staff', () => {
  it('SMSP-AUDIT-008 gateway start-up is recorded with a hash of the effective configuration', () => {
    const first = stack.auditRows()[0]!;
    assert.equal(first.eventType, 'gateway-start');
    assert.match(JSON.parse(first.detail as string).configSha256, /^[0-9a-f]{64}$/);
  });

  it('SMSP-AUDIT-008 the start-up record names the vocabulary and the keys in use by their SHA-256', () => {
    const detail = JSON.parse(stack.auditRows()[0]!.detail as string);
    const sha = (file: string | URL) => createHash('sha256').update(readFileSync(file)).digest('hex');
    assert.equal(detail.vocabularyFile, 'built-in');
    assert.equal(detail.vocabularySha256, sha(new URL('../../gateway/fhir/vocabulary.json', import.meta.url)));
    const local = stack.config.clients.find((c) => c.token?.publicKeyFile)!;
    assert.equal(detail.keys.clientTokenKeys[local.id], `sha256:${sha(local.token!.publicKeyFile!)}`);
    assert.equal(detail.keys.spineClientCertSha256, sha(stack.config.spine.tls.certFile));
    assert.match(detail.keys.auditHmacKeyId, /^[0-9a-f]{16}$/);
    // No key material itself: nothing PEM-shaped in the record.
    assert.doesNotMatch(stack.auditRows()[0]!.detail as string, /BEGIN|PRIVATE/);
  });

  it("SMSP-AUDIT-007 search by user returns exactly that user's records", async () => {
    const rows = await records('userId=ajones');
    assert.deepEqual(
      rows.map((r) => [r.eventType, r.nhsNumber]),
      [
        ['widget-query', '9990000018'],
        ['widget-query', '9990000026'],
      ],
    );
    const gp = await records('userId=555021935107');
    assert.deepEqual(
      gp.map((r) => [r.nhsNumber, r.roleProfileId]),
      [['9990000042', '555021936108']],
    );
  });

  it('SMSP-AUDIT-007 search by message ID finds the one interaction', async () => {
    const rows = await records(`messageId=${answers['9990000042']!.messageId}`);
    assert.deepEqual(
      rows.map((r) => [r.nhsNumber, r.spineMessageId]),
      [['9990000042', answers['9990000042']!.messageId]],
    );
  });

  it('SMSP-AUDIT-007 search by patient NHS number and by time range', async () => {
    const rows = await records('nhsNumber=9990000018');
    assert.deepEqual(
      rows.map((r) => [r.eventType, r.userId]),
      [['widget-query', 'ajones']],
    );
    const all = stack.auditRows().filter((r) => r.eventType === 'widget-query');
    const second = all[1]!;
    const from = second.time as string;
    const to = new Date(Date.parse(all[2]!.time as string)).toISOString();
    const ranged = await records(`from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    assert.deepEqual(
      ranged.filter((r) => r.eventType === 'widget-query').map((r) => r.seq),
      [second.seq],
    );
  });

  it('SMSP-AUDIT-008 every audit search is itself audited, with the auditor and what was searched', async () => {
    await records('nhsNumber=9990000026');
    const last = stack.auditRows().at(-1)!;
    assert.deepEqual(
      [last.eventType, last.userId, last.nhsNumber, last.outcomeCode],
      ['audit-query', 'igofficer', '9990000026', 'SUCCESS'],
    );
  });

  it('exports CSV for a Subject Access Request, safe to open in a spreadsheet', async () => {
    const res = await asAuditor('/admin/audit?nhsNumber=9990000018&format=csv');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    const lines = res.body.trim().split('\r\n');
    assert.match(lines[0]!, /^seq,time,eventType,requestId/);
    // the query itself, and the earlier audit search that named this patient
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(',')[2]),
      ['"widget-query"', '"audit-query"'],
    );
    assert.ok(lines.slice(1).every((l) => l.includes('"9990000018"')));
  });

  it('SMSP-IG-001 a non-auditor gets 403 and the refusal is on the record', async () => {
    const res = await stack.request('/admin/audit?nhsNumber=9990000018', { token: stack.signToken(LOCAL_MIDWIFE) });
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.body).code, 'ACCESS_DENIED');
    const last = stack.auditRows().at(-1)!;
    assert.deepEqual([last.eventType, last.userId, last.outcomeCode], ['audit-query', 'ajones', 'ACCESS_DENIED']);
    assert.equal((await stack.request('/admin/throughput')).status, 401);
  });

  it('verifies the chain and reports throughput without patient data', async () => {
    const v = JSON.parse((await asAuditor('/admin/audit/verify')).body);
    assert.equal(v.ok, true);
    assert.match(v.summary, /^intact, \d+ records/);
    const today = ukToday();
    const t = JSON.parse((await asAuditor(`/admin/throughput?date=${today}`)).body);
    assert.equal(t.total, 3);
    assert.deepEqual(Object.keys(t).sort(), ['date', 'peakHour', 'peakHourCount', 'total']);
  });

  it("SMSP-IG-001 an auditor of one client sees only that client's records; an SMSP-wide auditor sees every client's", async () => {
    const asTrust = (path: string) => stack.request(path, { token: stack.signToken(TRUST_AUDITOR) });
    const trustRecords = async (query: string) =>
      JSON.parse((await asTrust(`/admin/audit?${query}`)).body).records as Record<string, unknown>[];
    // the smartcard GP's query came through the other (CIS2) client
    assert.deepEqual(await trustRecords('userId=555021935107'), []);
    assert.deepEqual(await trustRecords('nhsNumber=9990000042'), []);
    assert.equal((await records('nhsNumber=9990000042')).filter((r) => r.eventType === 'widget-query').length, 1);
    const everything = await trustRecords('limit=10000');
    assert.ok(
      everything.some((r) => r.nhsNumber === '9990000018'),
      "the trust's own records are there",
    );
    const clients = new Set(stack.auditRows().map((r) => r.clientId));
    assert.ok(
      clients.has('test-epr-cis2') && clients.has(null),
      "the trail holds other clients' and client-less records",
    );
    assert.deepEqual([...new Set(everything.map((r) => r.clientId))], ['test-epr']);
    const csv = (await asTrust('/admin/audit?format=csv')).body.trim().split('\r\n').slice(1);
    assert.equal(csv.length, everything.length + 1, 'the CSV export is scoped too (plus the search since)');
    assert.ok(csv.every((l) => l.split(',')[5] === '"test-epr"'));
    // throughput: the trust's two widget queries, against three across the SMSP
    const today = ukToday();
    assert.equal(JSON.parse((await asTrust(`/admin/throughput?date=${today}`)).body).total, 2);
    assert.equal(JSON.parse((await asAuditor(`/admin/throughput?date=${today}`)).body).total, 3);
    // verifying the whole chain shows no record content, so any auditor may
    assert.equal(JSON.parse((await asTrust('/admin/audit/verify')).body).ok, true);
    // the scope of each search is on the record
    const searches = stack.auditRows().filter((r) => r.userId === 'trustig' && String(r.detail).includes('"search"'));
    assert.equal(searches.length, 4);
    assert.ok(searches.every((r) => JSON.parse(r.detail as string).scope === 'test-epr@RX1'));
  });

  it('SMSP-AUDIT-007 time bounds with a UTC offset are compared as instants', async () => {
    const widget = stack.auditRows().filter((r) => r.eventType === 'widget-query');
    const [, second, third] = widget.map((r) => Date.parse(r.time as string));
    // the same instants written in other zones: compared as text they sort after (or before) every record
    const inZone = (ms: number, minutes: number) => {
      const local = new Date(ms + minutes * 60_000).toISOString().slice(0, 23);
      const m = Math.abs(minutes);
      return `${local}${minutes < 0 ? '-' : '+'}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    };
    const ranged = await records(
      `from=${encodeURIComponent(inZone(second!, 60))}&to=${encodeURIComponent(inZone(third!, -300))}`,
    );
    assert.deepEqual(
      ranged.filter((r) => r.eventType === 'widget-query').map((r) => r.seq),
      [widget[1]!.seq],
    );
    const fromOnly = await records(`from=${encodeURIComponent(inZone(third!, 330))}`);
    assert.deepEqual(
      fromOnly.filter((r) => r.eventType === 'widget-query').map((r) => r.seq),
      [widget[2]!.seq],
    );
  });

  it('SMSP-AUDIT-007 SMSP-ERR-006 a malformed time bound is refused with 400 INPUT_MESSAGE_VALIDATION_ERROR (SMSP-0001), never ignored', async () => {
    const vocabulary = JSON.parse(readFileSync('gateway/fhir/vocabulary.json', 'utf8'));
    const row = vocabulary.rows.find((r: { code: string }) => r.code === 'INPUT_MESSAGE_VALIDATION_ERROR');
    assert.equal(row.smspCode, 'SMSP-0001');
    for (const bad of [
      'yesterday',
      '2026-02-30T10:00:00Z',
      '2026-11-25T10:00:00',
      '2026-11-25T25:00:00Z',
      '2026-11-25T10:00:00+0100',
      '9999-12-31T23:59:59-01:00',
      '',
    ]) {
      for (const key of ['from', 'to']) {
        const res = await asAuditor(`/admin/audit?${key}=${encodeURIComponent(bad)}`);
        assert.equal(res.status, 400, `${key}=${bad}`);
        const body = JSON.parse(res.body);
        assert.deepEqual(
          [body.code, body.smspCode, body.display],
          [row.code, row.smspCode, row.display],
          `${key}=${bad}`,
        );
      }
    }
  });

  it("serves the auditors' page under a self-only CSP", async () => {
    const res = await stack.request('/admin/audit.html');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
    assert.match(res.body, /<script type="module" src="\/admin\/audit.js">/);
  });
});
