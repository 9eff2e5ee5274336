import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fhirAnswerCode, fhirAnswerViolations } from '../../test/helpers/fhir-answer.ts';
import { example, without, withValue } from '../../test/helpers/fhir-fixtures.ts';
import { keptLines, spineDouble, testClient, unitApp } from '../../test/helpers/hono-unit.ts';
import { fhirQuery } from './fhir-query.ts';

/**
 * The spec's example request: MessageHeader 14daadee-…-58870 from ASID 047192794540, for SDT, a
 * local author, NHS number 9999999999 — less its MessageHeader.author.display, which the profile
 * itself forbids (max 0; test/spine/spine-sim.test.ts).
 */
const REQUEST = without(example('query-request-2-0'), 'MessageHeader.author.display');
const withNhsNumber = (n: string) => withValue(REQUEST, 'Parameters.parameter[1].valueString', n);
const LOCAL_ID =
  '<identifier><system value="http://fhir.nhs.net/Id/local-identifier"/><value value="12456"/></identifier>';
const SDS_IDS =
  '<identifier><system value="http://fhir.nhs.net/Id/sds-user-id"/><value value="555021935107"/></identifier><identifier><system value="http://fhir.nhs.net/Id/sds-role-profile-id"/><value value="555021936108"/></identifier>';

/** The FHIR route behind an authenticated client system acting for `odsCodes`, Spine in process. */
async function fhirRoute(odsCodes = ['SDT']) {
  const double = await spineDouble();
  const kept = keptLines();
  const audited: { nhsNumber?: string | null; userId?: string | null }[] = [];
  const app = unitApp(kept.log);
  app.use('*', async (c, next) => {
    c.set('client', testClient({ id: 'test-chs', odsCode: odsCodes[0]!, odsCodes }));
    await next();
    audited.push(c.get('audit') ?? {});
  });
  app.post('/fhir/fgm/query', fhirQuery(double.deps(kept.log)));
  const ask = (xml: string) =>
    app.request('/fhir/fgm/query', { method: 'POST', headers: { 'Content-Type': 'application/fhir+xml' }, body: xml });
  return { ask, asked: double.asked, audited, ...kept };
}

/** Status, Details.Code and the id the answer responds to; every answer must meet the profiles. */
async function answer(res: Response) {
  const xml = await res.text();
  assert.deepEqual(fhirAnswerViolations(xml), []);
  return [res.status, fhirAnswerCode(xml), /<response><identifier value="([^"]+)"\/>/.exec(xml)?.[1]];
}

describe('POST /fhir/fgm/query', () => {
  it("SMSP-ERR-004 the spec's example request is re-issued to Spine and answered in a bundle responding to its MessageHeader", async () => {
    const { ask, asked } = await fhirRoute();
    assert.deepEqual(await answer(await ask(REQUEST)), [
      404,
      'NO_RECORD_FOUND',
      '14daadee-26e1-4d6a-9e6a-7f4af9b58870',
    ]);
    assert.deepEqual(asked, ['9999999999']);
  });

  it('an indicator comes back as the Flag', async () => {
    const { ask } = await fhirRoute();
    assert.deepEqual(await answer(await ask(withNhsNumber('9990000018'))), [
      200,
      'SUCCESS',
      '14daadee-26e1-4d6a-9e6a-7f4af9b58870',
    ]);
  });

  it('SMSP-VAL-001 a message that is not an FGMQuery_2_0 bundle: 400 INPUT_MESSAGE_VALIDATION_ERROR, answering our request id', async () => {
    const { ask, asked } = await fhirRoute();
    for (const xml of ['<Bundle/>', 'not xml', REQUEST.replace('FGMQuery_2_0', 'FGMUpdate_2_0')]) {
      assert.deepEqual(
        await answer(await ask(xml)),
        [400, 'INPUT_MESSAGE_VALIDATION_ERROR', 'test-request-1'],
        xml.slice(0, 40),
      );
    }
    assert.deepEqual(asked, []);
  });

  it('SMSP-VAL-002 a bad check digit: 400 INVALID_NHS_NUMBER, Spine not asked', async () => {
    const { ask, asked } = await fhirRoute();
    assert.deepEqual((await answer(await ask(withNhsNumber('9999999998')))).slice(0, 2), [400, 'INVALID_NHS_NUMBER']);
    assert.deepEqual(asked, []);
  });

  it('SMSP-IG-001 an organisation the client may not act for: 403 ACCESS_DENIED, the patient still on the audit record', async () => {
    const { ask, asked, audited, text } = await fhirRoute(['RX1']);
    assert.deepEqual((await answer(await ask(REQUEST))).slice(0, 2), [403, 'ACCESS_DENIED']);
    assert.deepEqual([asked, audited[0]!.nhsNumber], [[], '9999999999']);
    assert.doesNotMatch(text(), /9999999999/);
  });

  it('SMSP-AUDIT-002 a Practitioner with SDS ids but no CIS2 token to prove them: 401 AUTHOR_CREDENTIALS_ERROR, the claimed user not on the record', async () => {
    const { ask, asked, audited } = await fhirRoute();
    assert.deepEqual((await answer(await ask(REQUEST.replace(LOCAL_ID, SDS_IDS)))).slice(0, 2), [
      401,
      'AUTHOR_CREDENTIALS_ERROR',
    ]);
    assert.deepEqual([asked, audited[0]!.userId], [[], null]);
  });

  it('SMSP-AUDIT-005 a Practitioner with no identifier at all: 401 AUTHOR_CREDENTIALS_ERROR', async () => {
    const { ask } = await fhirRoute();
    assert.deepEqual((await answer(await ask(REQUEST.replace(LOCAL_ID, '')))).slice(0, 2), [
      401,
      'AUTHOR_CREDENTIALS_ERROR',
    ]);
  });
});
