import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { json, keptLines, spineDouble, testClient, unitApp } from '../../test/helpers/hono-unit.ts';
import { fgmStatus, notePatient } from './fgm-status.ts';

/** The widget route behind a signed-in midwife at RX1 (what sessionAuth and rbac leave), Spine in process. */
async function widgetRoute(opts: { busy?: boolean } = {}) {
  const double = await spineDouble(opts);
  const kept = keptLines();
  const audited: { nhsNumber?: string | null }[] = [];
  const app = unitApp(kept.log);
  app.use('*', async (c, next) => {
    c.set('client', testClient());
    c.set('identity', {
      author: { kind: 'local', localId: 'ajones' },
      orgCode: 'RX1',
      activities: ['B0370'],
      roles: ['midwife'],
      source: 'portal',
    });
    await next();
    audited.push(c.get('audit') ?? {});
  });
  app.post('/api/fgm-status', notePatient(), fgmStatus(double.deps()));
  const ask = (body: unknown) =>
    app.request('/api/fgm-status', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { ask, asked: double.asked, audited, ...kept };
}

const codes = async (res: Response) => {
  const body = await json(res);
  return [res.status, body.code, body.smspCode];
};

describe('POST /api/fgm-status', () => {
  it('SMSP-ERR-006 a body longer than any widget request is 400 SMSP-0001 unparsed, and a body is parsed once however many steps read it (hostile review atk21b F5)', async (t) => {
    const { ask, asked } = await widgetRoute();
    const parse = t.mock.method(JSON, 'parse');
    const keys = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`k${i}`, i]));
    const long = JSON.stringify({ nhsNumber: '9990000018', birthDate: '2014-03-02', ...keys });
    assert.ok(long.length > 4096);
    assert.deepEqual(await codes(await ask(long)), [400, 'INPUT_MESSAGE_VALIDATION_ERROR', 'SMSP-0001']);
    assert.equal(parse.mock.calls.filter((c) => c.arguments[0] === long).length, 0, 'never parsed');
    assert.deepEqual(asked, []);
    const body = JSON.stringify({ nhsNumber: '9990000018', birthDate: '2014-03-02' });
    assert.equal((await ask(body)).status, 200);
    assert.equal(
      parse.mock.calls.filter((c) => c.arguments[0] === body).length,
      1,
      'notePatient and the handler share one parse',
    );
  });

  it('an indicator: 200, the assessment date as the UK day, and when Spine answered', async () => {
    const { ask } = await widgetRoute();
    const res = await ask({ nhsNumber: '999 000 0018', birthDate: '2014-03-02' });
    const body = await json(res);
    assert.deepEqual(
      [res.status, body.status, body.nhsNumber, body.assessmentDate, body.code],
      [200, 'indicator', '9990000018', '2019-12-10', 'SUCCESS'],
    );
    assert.match(String(body.checkedAt), /^\d{4}-\d{2}-\d{2}T/);
  });

  it('no record: 404 NO_RECORD_FOUND FGM-0001', async () => {
    const { ask } = await widgetRoute();
    assert.deepEqual(await codes(await ask({ nhsNumber: '9990000026', birthDate: '2016-07-19' })), [
      404,
      'NO_RECORD_FOUND',
      'FGM-0001',
    ]);
  });

  it('SMSP-VAL-002 a bad check digit: 400 INVALID_NHS_NUMBER FGM-0002, Spine not asked', async () => {
    const { ask, asked } = await widgetRoute();
    assert.deepEqual(await codes(await ask({ nhsNumber: '9990000019', birthDate: '2014-03-02' })), [
      400,
      'INVALID_NHS_NUMBER',
      'FGM-0002',
    ]);
    assert.deepEqual(asked, []);
  });

  it('FGMISQ004 18 or over: 400 PATIENT_OVER_18 FGM-0003, Spine not asked', async () => {
    const { ask, asked } = await widgetRoute();
    assert.deepEqual(await codes(await ask({ nhsNumber: '9990000034', birthDate: '2001-01-15' })), [
      400,
      'PATIENT_OVER_18',
      'FGM-0003',
    ]);
    assert.deepEqual(asked, []);
  });

  it('SMSP-ERR-006 MSCA-FGMRISQ-04 no birth date, an impossible or future one, extra fields, not JSON: 400 SMSP-0001', async () => {
    const { ask, asked } = await widgetRoute();
    const bad = [
      'not json',
      { nhsNumber: '9990000018' },
      { nhsNumber: '9990000018', birthDate: '2014-02-30' },
      { nhsNumber: '9990000018', birthDate: '2999-01-01' },
      { nhsNumber: '9990000018', birthDate: '2014-03-02', name: 'x' },
    ];
    for (const body of bad)
      assert.deepEqual(
        await codes(await ask(body)),
        [400, 'INPUT_MESSAGE_VALIDATION_ERROR', 'SMSP-0001'],
        JSON.stringify(body),
      );
    assert.deepEqual(asked, []);
  });

  it('SMSP-VAL-001 SMSP-ERR-006 a body naming a key twice (JSON.parse would keep the last): 400 SMSP-0001, Spine not asked, no patient noted', async () => {
    const { ask, asked, audited } = await widgetRoute();
    const twice = '{"nhsNumber":"9990000042","birthDate":"2016-01-02","nhsNumber":"9990000018"}';
    assert.deepEqual(await codes(await ask(twice)), [400, 'INPUT_MESSAGE_VALIDATION_ERROR', 'SMSP-0001']);
    assert.deepEqual(
      await codes(await ask('{"nhsNumber":"9990000018","birthDate":"2014-03-02","birthDate":"2014-03-02"}')),
      [400, 'INPUT_MESSAGE_VALIDATION_ERROR', 'SMSP-0001'],
      'even the same value twice',
    );
    assert.deepEqual(asked, []);
    assert.deepEqual(
      audited.map((a) => a.nhsNumber),
      [undefined, undefined],
      'a body naming two patients names no one patient',
    );
  });

  it("Spine's budget spent: 429 SPINE_BUSY with its Retry-After", async () => {
    const { ask } = await widgetRoute({ busy: true });
    const res = await ask({ nhsNumber: '9990000018', birthDate: '2014-03-02' });
    assert.equal(res.headers.get('Retry-After'), '3');
    assert.deepEqual(await codes(res), [429, 'SPINE_BUSY', 'SMSP-LOCAL-0429']);
  });

  it('SMSP-AUDIT-001 the patient asked about is on the audit record even when refused, and in no log line', async () => {
    const { ask, audited, text } = await widgetRoute();
    await ask({ nhsNumber: '9990000018', birthDate: '1990-01-01' });
    await ask({ nhsNumber: '9990000018', birthDate: '2014-03-02' });
    assert.deepEqual(
      audited.map((a) => a.nhsNumber),
      ['9990000018', '9990000018'],
    );
    assert.doesNotMatch(text(), /9990000018/);
  });
});
