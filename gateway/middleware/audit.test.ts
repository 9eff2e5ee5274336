import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Context } from 'hono';
import type { AuditEvent } from '../audit/audit-event.ts';
import { noteAudit, type GatewayEnv } from '../env.ts';
import { json, keptLines, listen, replyDeps, unitApp } from '../../test/helpers/hono-unit.ts';
import { replyFor } from '../reply.ts';
import { SmspError } from '../smsp-error.ts';
import { audit } from './audit.ts';

/** An app auditing into `stored` (or failing to, with `failing`), on a fixed clock. */
function audited(eventType: 'widget-query' | 'audit-query' = 'widget-query', failing = false) {
  const stored: AuditEvent[] = [];
  const kept = keptLines();
  const app = unitApp(kept.log);
  const sink = {
    record: async (e: AuditEvent) => {
      if (failing) throw new Error('disk full for 9990000018');
      stored.push(e);
    },
  };
  const onFailure = (c: Context<GatewayEnv>) =>
    replyFor(c, replyDeps(), 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE');
  const now = () => new Date('2026-12-02T10:00:00.000Z');
  app.post(
    '/api/fgm-status',
    audit({ sink, eventType, log: kept.log, outcomeRetentionDays: 30, now, onFailure }),
    (c) => {
      noteAudit(c, { nhsNumber: '9990000018', userId: 'ajones' });
      if (c.req.header('X-Test') === 'refuse') throw new SmspError('user-lacks-activity');
      c.set('outcomeCode', 'SUCCESS');
      return c.json({ status: 'indicator', nhsNumber: '9990000018' });
    },
  );
  return { app, stored, ...kept };
}

describe('audit', () => {
  it('SMSP-AUDIT-001 one record for an answered request, with who asked about whom', async () => {
    const { app, stored } = audited();
    assert.equal((await app.request('/api/fgm-status', { method: 'POST' })).status, 200);
    assert.equal(stored.length, 1);
    const { eventType, requestId, clientMessageId, userId, nhsNumber, outcomeCode, httpStatus, time } = stored[0]!;
    assert.deepEqual(
      { eventType, requestId, clientMessageId, userId, nhsNumber, outcomeCode, httpStatus, time },
      {
        eventType: 'widget-query',
        requestId: 'test-request-1',
        clientMessageId: 'test-request-1',
        userId: 'ajones',
        nhsNumber: '9990000018',
        outcomeCode: 'SUCCESS',
        httpStatus: 200,
        time: '2026-12-02T10:00:00.000Z',
      },
    );
  });

  it('SMSP-AUDIT-001 a refused request is audited too, with the code the client got', async () => {
    const { app, stored } = audited();
    await app.request('/api/fgm-status', { method: 'POST', headers: { 'X-Test': 'refuse' } });
    assert.deepEqual([stored.length, stored[0]!.outcomeCode, stored[0]!.httpStatus], [1, 'ACCESS_DENIED', 403]);
  });

  it("FGMISQR009 without a birth date the outcome is erased outcomeRetentionDays later; an auditor's query has nothing to erase", async () => {
    const widget = audited();
    await widget.app.request('/api/fgm-status', { method: 'POST' });
    assert.equal(widget.stored[0]!.outcomeEraseOn, '2027-01-01');
    const auditor = audited('audit-query');
    await auditor.app.request('/api/fgm-status', { method: 'POST' });
    assert.equal(auditor.stored[0]!.outcomeEraseOn, null);
  });

  it("FGMISQR009 an erasure date already past (she was 18 before she was asked about) is the query's own UK day, never a day verify would call overdue", async () => {
    const stored: AuditEvent[] = [];
    const app = unitApp(keptLines().log);
    // 23:30 GMT on 1 December is still the 1st in the UK; 23:30 BST on 1 July is the 2nd.
    let now = new Date('2026-12-01T23:30:00.000Z');
    const onFailure = (c: Context<GatewayEnv>) =>
      replyFor(c, replyDeps(), 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE');
    app.post(
      '/q',
      audit({
        sink: { record: async (e) => void stored.push(e) },
        eventType: 'widget-query',
        log: keptLines().log,
        outcomeRetentionDays: 30,
        now: () => now,
        onFailure,
      }),
      (c) => {
        noteAudit(c, { nhsNumber: '9990000034', outcomeEraseOn: c.req.header('X-Erase-On')! });
        c.set('outcomeCode', 'PATIENT_OVER_18');
        return c.json({}, 400);
      },
    );
    await app.request('/q', { method: 'POST', headers: { 'X-Erase-On': '2018-05-01' } });
    await app.request('/q', { method: 'POST', headers: { 'X-Erase-On': '2026-12-01' } });
    await app.request('/q', { method: 'POST', headers: { 'X-Erase-On': '2026-12-02' } });
    now = new Date('2026-07-01T23:30:00.000Z');
    await app.request('/q', { method: 'POST', headers: { 'X-Erase-On': '2008-07-01' } });
    assert.deepEqual(
      stored.map((e) => e.outcomeEraseOn),
      ['2026-12-01', '2026-12-01', '2026-12-02', '2026-07-02'],
    );
  });

  it("FGMISQR009 what Spine's answer looked like reaches the store as spineDetail, to be sealed with the outcome, not as detail in clear", async () => {
    const stored: AuditEvent[] = [];
    const app = unitApp(keptLines().log);
    const onFailure = (c: Context<GatewayEnv>) =>
      replyFor(c, replyDeps(), 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE');
    app.post(
      '/q',
      audit({
        sink: { record: async (e) => void stored.push(e) },
        eventType: 'widget-query',
        log: keptLines().log,
        outcomeRetentionDays: 30,
        onFailure,
      }),
      (c) => {
        noteAudit(c, {
          nhsNumber: '9990000018',
          spineDetail: '{"spineAnswerDeviations":["Flag.period.start assessment date is a partial date"]}',
        });
        c.set('outcomeCode', 'SUCCESS');
        return c.json({});
      },
    );
    await app.request('/q', { method: 'POST' });
    assert.equal(
      stored[0]!.spineDetail,
      '{"spineAnswerDeviations":["Flag.period.start assessment date is a partial date"]}',
    );
    assert.ok(!String(stored[0]!.detail ?? '').includes('partial'), String(stored[0]!.detail));
  });

  it('no audit, no Spine data: a failed write replaces the answer with 500 SMSP-9999, logged without patient data', async () => {
    const { app, lines, text } = audited('widget-query', true);
    const res = await app.request('/api/fgm-status', { method: 'POST' });
    assert.equal(res.status, 500);
    const body = await json(res);
    assert.deepEqual(
      [body.code, body.smspCode, body.status],
      ['GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE', 'SMSP-9999', 'error'],
    );
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['audit write failed'],
    );
    assert.doesNotMatch(text(), /9990000018/);
  });

  describe('over a real socket', () => {
    const { app, stored } = audited();
    let server: Awaited<ReturnType<typeof listen>>;
    before(async () => (server = await listen(app)));
    after(() => server.close());

    it("the record's detail names the connection's source address", async () => {
      await fetch(`${server.url}/api/fgm-status`, { method: 'POST' });
      assert.equal(JSON.parse(stored[0]!.detail!).sourceAddress, '127.0.0.1');
    });
  });
});
