/**
 * @module test/spine/fhir-local-codes
 * Over real sockets (HTTPS, the client system's certificate, the Spine simulator): the gateway's
 * local codes reach FHIR clients under the product's own code system, and every code it sends
 * under Spine's system is in Spine's value set file (SMSP-ERR-002).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { LOCAL_CODE_SYSTEM } from '../../gateway/fhir/vocabulary.ts';
import { GATEWAY_ASID, startTestStack, type TestStack } from '../helpers/stack.ts';

const SPINE_SYSTEM = 'http://fhir.nhs.net/ValueSet/spine-response-code-2-0';
const SPINE_VALUE_SET = new Set(
  [
    ...readFileSync(new URL('../spec/valuesets/spine-response-code-2-0.xml', import.meta.url), 'utf8').matchAll(
      /<concept>\s*<code value="([A-Z0-9_]+)"\/>/g,
    ),
  ].map((m) => m[1]!),
);

let stack: TestStack;
before(async () => {
  // One token for the batch client system, then the busy tone.
  stack = await startTestStack({ tls: true, configure: (r) => (r.spine.rateLimit = { perSecond: 0.01, burst: 1 }) });
});
after(async () => {
  await stack?.close();
});

const query = (nhsNumber: string) =>
  buildQueryBundle({
    nhsNumber,
    sourceAsid: '918999198993',
    destinationAsid: GATEWAY_ASID,
    author: { kind: 'local', localId: 'chs-user-17' },
    organization: { odsCode: 'RY2', name: 'Test Child Health System' },
  }).xml;

async function post(body: string) {
  const res = await stack.request('/fhir/fgm/query', {
    body,
    headers: { 'content-type': 'application/fhir+xml' },
    clientCert: true,
  });
  const m = /<details><coding><system value="([^"]+)"\/><code value="([^"]+)"\/>/.exec(res.body);
  assert.ok(m, `${res.status}: an OperationOutcome with a coding`);
  const [, system, code] = m;
  if (system === SPINE_SYSTEM)
    assert.ok(SPINE_VALUE_SET.has(code!), `${code} sent under Spine's system is in spine-response-code-2-0`);
  return { status: res.status, system, code };
}

describe('SMSP-ERR-002 codes on the FHIR interface', () => {
  it("Spine's own answer keeps Spine's system", async () => {
    assert.deepEqual(await post(query('9990000026')), { status: 404, system: SPINE_SYSTEM, code: 'NO_RECORD_FOUND' });
  });

  it("the busy tone is SPINE_BUSY under our own system, not Spine's", async () => {
    let answer = await post(query('9990000026'));
    for (let i = 0; answer.status !== 429 && i < 5; i++) answer = await post(query('9990000026'));
    assert.deepEqual(answer, { status: 429, system: LOCAL_CODE_SYSTEM, code: 'SPINE_BUSY' });
  });

  it('a body over the limit is REQUEST_TOO_LARGE under our own system', async () => {
    assert.deepEqual(await post(`<Bundle>${' '.repeat(70_000)}</Bundle>`), {
      status: 413,
      system: LOCAL_CODE_SYSTEM,
      code: 'REQUEST_TOO_LARGE',
    });
  });

  it("a gateway-made vocabulary code (no auditable Practitioner) stays under Spine's system", async () => {
    const noAuthor = query('9990000026').replace(
      /<identifier><system value="http:\/\/fhir\.nhs\.net\/Id\/local-identifier"\/><value value="chs-user-17"\/><\/identifier>/,
      '',
    );
    assert.deepEqual(await post(noAuthor), { status: 401, system: SPINE_SYSTEM, code: 'AUTHOR_CREDENTIALS_ERROR' });
  });
});
