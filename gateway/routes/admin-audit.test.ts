import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditRow } from '../audit/chain.ts';
import type { AuditTrail } from '../audit/trail.ts';
import type { Identity } from '../auth/identity.ts';
import { json, testClient, unitApp } from '../../test/helpers/hono-unit.ts';
import { auditorOnly, searchAuditRoute, throughputRoute } from './admin-audit.ts';

/** A stored record whose user id a spreadsheet would run as a formula. */
const ROW = {
  seq: 7,
  prevHash: 'a',
  hash: 'b',
  time: '2026-12-02T10:00:00.000Z',
  eventType: 'widget-query',
  userId: '=HYPERLINK("http://x")',
  nhsNumber: '9990000018',
} as unknown as AuditRow;

/** The admin routes behind a user of `roles` at `orgCode`, with a trail that keeps what it was asked. */
function adminApp(roles: string[], orgCode = 'RX1') {
  const searched: unknown[] = [];
  const trail = {
    search: async (q: unknown) => (searched.push(q), [ROW]),
    throughput: async (date: string, scope?: unknown) => ({ date, scope: scope ?? null }),
  } as unknown as AuditTrail;
  const app = unitApp();
  app.use('*', async (c, next) => {
    c.set('client', testClient({ auditorRoles: ['ig-auditor'], smspAuditorRoles: ['smsp-auditor'] }));
    c.set('identity', {
      author: { kind: 'local', localId: 'ig1' },
      orgCode,
      roles,
      activities: [],
      source: 'portal',
    } satisfies Identity);
    await next();
  });
  app.get('/admin/audit', auditorOnly(), searchAuditRoute(trail));
  app.get('/admin/throughput', auditorOnly(), throughputRoute(trail));
  return { app, searched };
}
const codes = async (res: Response) => [res.status, (await json(res)).code];

describe('/admin/* (SMSP-AUDIT-007)', () => {
  it('SMSP-IG-001 a user without an auditor role: 403 ACCESS_DENIED, the trail not read', async () => {
    const { app, searched } = adminApp(['midwife']);
    assert.deepEqual(await codes(await app.request('/admin/audit')), [403, 'ACCESS_DENIED']);
    assert.deepEqual(searched, []);
  });

  it('SMSP-IG-001 an auditor acting for an organisation the client may not act for: 403 ACCESS_DENIED', async () => {
    assert.deepEqual(await codes(await adminApp(['ig-auditor'], 'RZZ').app.request('/admin/audit')), [
      403,
      'ACCESS_DENIED',
    ]);
  });

  it("SMSP-IG-001 a client's auditor searches their own client's records at their own organisation only; an SMSP-wide one, all", async () => {
    const own = adminApp(['ig-auditor']);
    await own.app.request('/admin/audit?nhsNumber=999%20000%200018');
    assert.deepEqual(own.searched, [{ nhsNumber: '9990000018', clientId: 'test-epr', orgCode: 'RX1' }]);
    const wide = adminApp(['smsp-auditor']);
    await wide.app.request('/admin/audit?userId=ajones');
    assert.deepEqual(wide.searched, [{ userId: 'ajones' }]);
  });

  it('a search it cannot read: 400 INPUT_MESSAGE_VALIDATION_ERROR, the trail not read', async () => {
    const { app, searched } = adminApp(['ig-auditor']);
    for (const q of ['nhsNumber=123', 'from=yesterday', 'limit=0', 'format=xlsx', 'unknown=1']) {
      assert.deepEqual(await codes(await app.request(`/admin/audit?${q}`)), [400, 'INPUT_MESSAGE_VALIDATION_ERROR'], q);
    }
    assert.deepEqual(searched, []);
  });

  it('the CSV export for a Subject Access Request defuses cells a spreadsheet would run', async () => {
    const res = await adminApp(['ig-auditor']).app.request('/admin/audit?format=csv');
    assert.equal(res.headers.get('Content-Type'), 'text/csv; charset=utf-8');
    assert.match(res.headers.get('Content-Disposition')!, /^attachment;/);
    const csv = await res.text();
    assert.match(csv, /"'=HYPERLINK\(""http:\/\/x""\)"/);
    assert.doesNotMatch(csv, /(^|,)"=/m);
  });

  it('SMSP-PERF-002 the throughput report takes a real calendar date only: 400 for 2026-02-30 or another shape', async () => {
    const { app } = adminApp(['ig-auditor']);
    for (const date of ['2026-02-30', '02/12/2026'])
      assert.deepEqual(
        await codes(await app.request(`/admin/throughput?date=${encodeURIComponent(date)}`)),
        [400, 'INPUT_MESSAGE_VALIDATION_ERROR'],
        date,
      );
    assert.deepEqual(await json(await app.request('/admin/throughput?date=2026-12-02')), {
      date: '2026-12-02',
      scope: { clientId: 'test-epr', orgCode: 'RX1' },
    });
  });
});
