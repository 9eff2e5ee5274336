/**
 * @module test/gateway/gateway-xml-declarations
 * A client system's FGMQuery_2_0 stuffed with thousands of namespace declarations used to block
 * the event loop for seconds while the gateway copied the namespace scope once per declaration,
 * and a midwife's concurrent request failed. Over real sockets: hostile requests in flight, a
 * clinician's request beside them, and she gets her indicator while each hostile one is refused
 * (INPUT_MESSAGE_VALIDATION_ERROR, as any XML the gateway will not read) without Spine being asked (SMSP-VAL-001).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { buildQueryBundle, parseQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { parseQueryResponse } from '../../gateway/fhir/response-bundle.ts';
import { MAX_XML_BYTES } from '../../gateway/fhir/xml.ts';
import { GATEWAY_ASID, LOCAL_MIDWIFE, startTestStack, TEST_CLIENTS, type TestStack } from '../helpers/stack.ts';

const NHS_NUMBER = '9990000018';
let stack: TestStack;
before(async () => {
  stack = await startTestStack({ tls: true });
});
after(async () => {
  await stack?.close();
});

/** A real query from the client system, its root padded with `xmlns:pN` declarations up to the size cap. */
function hostileQuery(): string {
  const good = buildQueryBundle({
    nhsNumber: NHS_NUMBER,
    sourceAsid: '918999198993',
    destinationAsid: GATEWAY_ASID,
    author: { kind: 'local', localId: 'chs-user-18' },
    organization: { odsCode: TEST_CLIENTS.system.ods, name: 'Test Child Health System' },
  }).xml;
  let declarations = '';
  for (let i = 0; Buffer.byteLength(good) + declarations.length < MAX_XML_BYTES - 40; i++)
    declarations += ` xmlns:p${i.toString(36)}="u"`;
  const xml = good.replace('<Bundle xmlns="http://hl7.org/fhir"', `<Bundle xmlns="http://hl7.org/fhir"${declarations}`);
  assert.notEqual(xml, good);
  return xml;
}

it('SMSP-VAL-001 a clinician gets her indicator while requests with thousands of namespace declarations are refused (INPUT_MESSAGE_VALIDATION_ERROR)', async () => {
  const xml = hostileQuery();
  const calls = stack.sim.received.length;
  const hostile = Array.from({ length: 2 }, () =>
    stack.request('/fhir/fgm/query', {
      body: xml,
      headers: { 'content-type': 'application/fhir+xml' },
      clientCert: true,
    }),
  );
  const clinician = stack.request('/api/fgm-status', {
    token: stack.signToken(LOCAL_MIDWIFE),
    json: { nhsNumber: NHS_NUMBER, birthDate: '2014-03-02' },
  });
  const [mine, ...refused] = await Promise.all([clinician, ...hostile]);
  assert.equal(mine.status, 200);
  const body = JSON.parse(mine.body) as { status: string; code: string };
  assert.deepEqual([body.status, body.code], ['indicator', 'SUCCESS']);
  for (const res of refused) {
    const answer = parseQueryResponse(res.body, { localCodes: true });
    assert.ok(answer.ok);
    assert.equal(
      answer.value.outcome.kind === 'operation-outcome' && answer.value.outcome.code,
      'INPUT_MESSAGE_VALIDATION_ERROR',
    );
  }
  // Only the clinician's query reached Spine.
  assert.equal(stack.sim.received.length, calls + 1);
  const sent = parseQueryBundle(stack.sim.received.at(-1)!.xml);
  assert.ok(sent.ok);
  assert.equal(sent.value.nhsNumber, NHS_NUMBER);
});
