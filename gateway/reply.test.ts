import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { fhirAnswerCode, fhirAnswerViolations } from '../test/helpers/fhir-answer.ts';
import { json, keptLines, replyDeps } from '../test/helpers/hono-unit.ts';
import type { GatewayEnv } from './env.ts';
import { errorHandler, notFound, statusReply } from './reply.ts';
import { SmspError } from './smsp-error.ts';

/** An app whose routes throw what the test names, answered by the gateway's one error handler. */
function replying() {
  const kept = keptLines();
  const app = new Hono<GatewayEnv>();
  app.use('*', async (c, next) => (c.set('requestId', 'test-request-1'), next()));
  for (const path of ['/api/fgm-status', '/fhir/fgm/query']) {
    app.post(path, (c) => {
      if (c.req.header('X-Test') === 'bug') throw new TypeError('cannot read 9990000018 of undefined');
      if (c.req.header('X-Test') === 'found')
        return statusReply(c, replyDeps(), 'SUCCESS', { nhsNumber: '9990000018', assessmentDate: '2019-12-10' });
      throw new SmspError('nhs-number-fails-modulus-11', 'NHS number fails modulus 11');
    });
  }
  app.onError(errorHandler(replyDeps(kept.log)));
  app.notFound(notFound(replyDeps()));
  return { app, ...kept };
}
const post = (path: string, test = '') => replying().app.request(path, { method: 'POST', headers: { 'X-Test': test } });

describe('reply', () => {
  it("the widget's JSON body carries the fields docs/api.md documents, with the spec's code and original code", async () => {
    const res = await post('/api/fgm-status', 'found');
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), {
      status: 'indicator',
      nhsNumber: '9990000018',
      assessmentDate: '2019-12-10',
      checkedAt: null,
      messageId: null,
      code: 'SUCCESS',
      smspCode: 'SMSP-0000',
      display: 'Success',
    });
  });

  it('SMSP-ERR-006 a refusal becomes its event\'s row: 400 INVALID_NHS_NUMBER FGM-0002 "Invalid NHS number"', async () => {
    const res = await post('/api/fgm-status');
    assert.equal(res.status, 400);
    const body = await json(res);
    assert.deepEqual(
      [body.status, body.code, body.smspCode, body.display],
      ['error', 'INVALID_NHS_NUMBER', 'FGM-0002', 'Invalid NHS number'],
    );
  });

  it('SMSP-ERR-004 on the FHIR path the same refusal is a profile-valid response bundle answering our request id', async () => {
    const res = await post('/fhir/fgm/query');
    const xml = await res.text();
    assert.equal(res.status, 400);
    assert.match(res.headers.get('Content-Type')!, /^application\/fhir\+xml/);
    assert.equal(fhirAnswerCode(xml), 'INVALID_NHS_NUMBER');
    assert.deepEqual(fhirAnswerViolations(xml), []);
    assert.match(xml, /<response><identifier value="test-request-1"\/>/);
  });

  it('anything unexpected is 500 SMSP-9999, never a stack trace, logged by error class only', async () => {
    const { app, lines, text } = replying();
    const res = await app.request('/api/fgm-status', { method: 'POST', headers: { 'X-Test': 'bug' } });
    assert.equal(res.status, 500);
    const body = await res.text();
    assert.deepEqual(
      [JSON.parse(body).code, JSON.parse(body).smspCode],
      ['GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE', 'SMSP-9999'],
    );
    assert.doesNotMatch(body, /TypeError|9990000018|at /);
    assert.deepEqual(lines, [
      { level: 'error', msg: 'unexpected error', requestId: 'test-request-1', error: 'TypeError' },
    ]);
    assert.doesNotMatch(text(), /9990000018/);
  });

  it('a path nobody serves is 404 NOT_FOUND in the same JSON shape, no-store', async () => {
    const res = await replying().app.request('/api/nowhere');
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('Cache-Control'), 'no-store');
    assert.equal((await json(res)).code, 'NOT_FOUND');
  });
});
