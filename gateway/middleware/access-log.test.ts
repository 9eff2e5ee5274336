import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keptLines, testClient, unitApp } from '../../test/helpers/hono-unit.ts';
import { SmspError } from '../smsp-error.ts';
import { accessLog } from './access-log.ts';

/** An app whose widget route answers what the test header asks for, logging into `lines`. */
function logged() {
  const kept = keptLines();
  let t = 0;
  const app = unitApp(kept.log);
  app.use(
    '*',
    accessLog({
      log: kept.log,
      paths: ['/api/fgm-status', '/healthz'],
      userKeySecret: Buffer.alloc(32, 1),
      now: () => (t += 7),
    }),
  );
  app.post('/api/fgm-status', async (c) => {
    await c.req.text();
    c.set('client', testClient());
    if (c.req.header('X-Test') === 'refuse') throw new SmspError('user-lacks-activity', 'user lacks B0370');
    const found = c.req.header('X-Test') === 'indicator';
    c.set('outcomeCode', found ? 'SUCCESS' : 'NO_RECORD_FOUND');
    return c.json({ nhsNumber: '9990000018' }, found ? 200 : 404);
  });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  return { app, ...kept };
}

const patientQuery = {
  method: 'POST',
  headers: { Authorization: 'Bearer secret-token', 'Content-Type': 'application/json' },
  body: '{"nhsNumber":"9990000018","birthDate":"2014-03-02"}',
};

describe('accessLog', () => {
  it('one line per request: request id, method, path, status, duration; never body, query or headers', async () => {
    const { app, lines, text } = logged();
    await app.request('/healthz?nhsNumber=9990000018', { headers: { Authorization: 'Bearer secret-token' } });
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0], {
      level: 'info',
      msg: 'request',
      requestId: 'test-request-1',
      method: 'GET',
      path: '/healthz',
      status: 200,
      code: null,
      reason: null,
      clientId: null,
      userKey: null,
      durationMs: 7,
    });
    assert.doesNotMatch(text(), /9990000018|secret-token/);
  });

  it('FGMISQR009 a patient query\'s line says "answered", never whether Spine held an indicator', async () => {
    const { app, lines, text } = logged();
    await app.request('/api/fgm-status', {
      ...patientQuery,
      headers: { ...patientQuery.headers, 'X-Test': 'indicator' },
    });
    await app.request('/api/fgm-status', {
      ...patientQuery,
      headers: { ...patientQuery.headers, 'X-Test': 'no-record' },
    });
    for (const line of lines)
      assert.deepEqual([line.outcome, line.status, line.code, line.clientId], ['answered', null, null, 'test-epr']);
    assert.doesNotMatch(text(), /9990000018|SUCCESS|NO_RECORD_FOUND|secret-token/);
  });

  it('a refusal keeps its status, code and fixed reason, so IT can see why', async () => {
    const { app, lines } = logged();
    await app.request('/api/fgm-status', { ...patientQuery, headers: { ...patientQuery.headers, 'X-Test': 'refuse' } });
    assert.deepEqual(
      [lines[0]!.outcome, lines[0]!.status, lines[0]!.code, lines[0]!.reason],
      ['refused', 403, 'ACCESS_DENIED', 'user lacks B0370'],
    );
  });

  it('a path the gateway does not serve is logged as "other", not echoed', async () => {
    const { app, lines } = logged();
    await app.request('/api/9990000018');
    assert.equal(lines[0]!.path, 'other');
  });
});
