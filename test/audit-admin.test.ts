/**
 * The auditors' interface over real sockets (SMSP-AUDIT-007/008, SMSP-IG-001): search by each
 * parameter, CSV export, verification and throughput for users with an auditor role only, and
 * every use or refusal of it on the record.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CIS2_GP, LOCAL_MIDWIFE, startTestStack, type TestStack } from './helpers/stack.ts';

const AUDITOR = { sub: 'igofficer', name: 'Ira Gov', roles: ['auditor'], org: 'RX1' };
let stack: TestStack;
const answers: Record<string, { messageId: string }> = {};

before(async () => {
  stack = await startTestStack();
  for (const [who, nhs] of [['midwife', '9990000018'], ['midwife', '9990000026'], ['gp', '9990000042']] as const) {
    const token = who === 'gp' ? stack.signToken(CIS2_GP, { client: 'cis2' }) : stack.signToken(LOCAL_MIDWIFE);
    answers[nhs] = JSON.parse((await stack.request('/api/fgm-status', { token, json: { nhsNumber: nhs, birthDate: '2014-03-02' } })).body);
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

  it('SMSP-AUDIT-007 search by user returns exactly that user\'s records', async () => {
    const rows = await records('userId=ajones');
    assert.deepEqual(rows.map((r) => [r.eventType, r.nhsNumber]), [['widget-query', '9990000018'], ['widget-query', '9990000026']]);
    const gp = await records('userId=555021935107');
    assert.deepEqual(gp.map((r) => [r.nhsNumber, r.roleProfileId]), [['9990000042', '555021936108']]);
  });

  it('SMSP-AUDIT-007 search by message ID finds the one interaction', async () => {
    const rows = await records(`messageId=${answers['9990000042']!.messageId}`);
    assert.deepEqual(rows.map((r) => [r.nhsNumber, r.spineMessageId]), [['9990000042', answers['9990000042']!.messageId]]);
  });

  it('SMSP-AUDIT-007 search by patient NHS number and by time range', async () => {
    const rows = await records('nhsNumber=9990000018');
    assert.deepEqual(rows.map((r) => [r.eventType, r.userId]), [['widget-query', 'ajones']]);
    const all = stack.auditRows().filter((r) => r.eventType === 'widget-query');
    const second = all[1]!;
    const from = second.time as string;
    const to = new Date(Date.parse(all[2]!.time as string)).toISOString();
    const ranged = await records(`from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    assert.deepEqual(ranged.filter((r) => r.eventType === 'widget-query').map((r) => r.seq), [second.seq]);
  });

  it('SMSP-AUDIT-008 every audit search is itself audited, with the auditor and what was searched', async () => {
    await records('nhsNumber=9990000026');
    const last = stack.auditRows().at(-1)!;
    assert.deepEqual([last.eventType, last.userId, last.nhsNumber, last.outcomeCode], ['audit-query', 'igofficer', '9990000026', 'SUCCESS']);
  });

  it('exports CSV for a Subject Access Request, safe to open in a spreadsheet', async () => {
    const res = await asAuditor('/admin/audit?nhsNumber=9990000018&format=csv');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    const lines = res.body.trim().split('\r\n');
    assert.match(lines[0]!, /^seq,time,eventType,requestId/);
    // the query itself, and the earlier audit search that named this patient
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[2]), ['"widget-query"', '"audit-query"']);
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
    const today = new Date().toISOString().slice(0, 10);
    const t = JSON.parse((await asAuditor(`/admin/throughput?date=${today}`)).body);
    assert.equal(t.total, 3);
    assert.deepEqual(Object.keys(t).sort(), ['date', 'peakHour', 'peakHourCount', 'total']);
  });

  it('serves the auditors\' page under a self-only CSP', async () => {
    const res = await stack.request('/admin/audit.html');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
    assert.match(res.body, /<script type="module" src="\/admin\/audit.js">/);
  });
});
