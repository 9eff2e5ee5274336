/**
 * The auditors' throughput report and search over real sockets, as a UK trust reads them
 * (SMSP-PERF-002, SMSP-AUDIT-007): the day is the UK calendar day (BST aware), an impossible date
 * is refused, and an NHS number typed as shown (3-3-4) finds the patient's records.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LOCAL_MIDWIFE, startTestStack, type TestStack } from '../helpers/stack.ts';

const AUDITOR = { sub: 'igofficer', name: 'Ira Gov', roles: ['smsp-auditor'], org: 'RX1' };
let stack: TestStack;
let clock = new Date();

before(async () => {
  // Spine's clock is the gateway's: the safety core refuses an answer stamped a day away from it.
  stack = await startTestStack({
    configure: (raw) => (raw.clients[0].smspAuditorRoles = ['smsp-auditor']),
    deps: { now: () => clock },
    simulatorNow: () => clock,
  });
  // 1 July 2026 is in BST (UTC+1): 22:30 UTC is 23:30 on the 1st in the UK; 23:30 and 00:30 UTC are 00:30 and 01:30 on the 2nd.
  for (const at of ['2026-07-01T22:30:00Z', '2026-07-01T23:30:00Z', '2026-07-01T23:45:00Z', '2026-07-02T00:30:00Z']) {
    clock = new Date(at);
    const res = await stack.request('/api/fgm-status', {
      token: stack.signToken(LOCAL_MIDWIFE),
      json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
    });
    assert.equal(res.status, 200, res.body);
  }
  clock = new Date();
});
after(() => stack?.close());

const asAuditor = (path: string) => stack.request(path, { token: stack.signToken(AUDITOR) });

describe("auditors' reports in UK time", () => {
  it('SMSP-PERF-002 the throughput report covers the UK calendar day (BST), and its peak hour is UK time', async () => {
    const day = async (date: string) => {
      const res = await asAuditor(`/admin/throughput?date=${date}`);
      assert.equal(res.status, 200, res.body);
      return JSON.parse(res.body);
    };
    assert.deepEqual(await day('2026-07-02'), { date: '2026-07-02', total: 3, peakHour: '00', peakHourCount: 2 });
    assert.deepEqual(await day('2026-07-01'), { date: '2026-07-01', total: 1, peakHour: '23', peakHourCount: 1 });
  });

  it('SMSP-PERF-002 SMSP-ERR-006 an impossible date is refused with 400 SMSP-0001, not reported as a quiet day', async () => {
    for (const bad of ['2026-02-30', '2026-13-01', '2025-02-29', '2026-07-32']) {
      const res = await asAuditor(`/admin/throughput?date=${bad}`);
      assert.equal(res.status, 400, bad);
      assert.deepEqual(
        [JSON.parse(res.body).code, JSON.parse(res.body).smspCode],
        ['INPUT_MESSAGE_VALIDATION_ERROR', 'SMSP-0001'],
        bad,
      );
    }
    assert.equal((await asAuditor('/admin/throughput?date=2028-02-29')).status, 200, 'a leap day is a date');
  });

  it("SMSP-AUDIT-007 an NHS number in the 3-3-4 form shown on screen finds the patient's records", async () => {
    const res = await asAuditor(`/admin/audit?nhsNumber=${encodeURIComponent('999 000 0018')}`);
    assert.equal(res.status, 200, res.body);
    const widget = JSON.parse(res.body).records.filter((r: { eventType: string }) => r.eventType === 'widget-query');
    assert.equal(widget.length, 4);
    assert.ok(widget.every((r: { nhsNumber: string }) => r.nhsNumber === '9990000018'));
    assert.equal(
      (await asAuditor(`/admin/audit?nhsNumber=${encodeURIComponent('999 000 001')}`)).status,
      400,
      'nine digits are still refused',
    );
  });
});
