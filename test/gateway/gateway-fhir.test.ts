/**
 * @module test/gateway/gateway-fhir
 * The SMSP FHIR interface (`POST /fhir/fgm/query`) over real sockets: the gateway on HTTPS asking
 * for client certificates, the client system authenticated by mutual TLS or its own system token
 * (never a portal user's session token), acting only for its configured ODS codes, and the query
 * re-issued to the Spine simulator with the gateway's own ASID (SMSP-IG-003).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildQueryBundle, parseQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { parseQueryResponse } from '../../gateway/fhir/response-bundle.ts';
import type { Author, QueryRequest } from '../../gateway/fhir/types.ts';
import { without } from '../helpers/fhir-fixtures.ts';
import {
  GATEWAY_ASID,
  LOCAL_MIDWIFE,
  LOCAL_RECEPTIONIST,
  SPINE_ASID,
  startTestStack,
  TEST_AUDIENCE,
  validNhsNumbersIn,
  type TestStack,
} from '../helpers/stack.ts';

const CLIENT_ASID = '918999198993';
const SDS: Author = { kind: 'sds', userId: '687227875014', roleProfileId: '687231329107' };
const LOCAL: Author = { kind: 'local', localId: 'chs-user-17' };

/** Spine's clock in these tests: every answer Spine gives carries this timestamp (a minute ago, within the gateway's allowed skew). */
const SPINE_TIME = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();
let stack: TestStack;
before(async () => {
  stack = await startTestStack({ tls: true, simulatorNow: () => new Date(SPINE_TIME) });
});
after(async () => {
  await stack?.close();
});

// SDS ids are accepted only with the user's CIS2 access token (test/gateway/gateway-cis2.test.ts); a local identifier is the client system's word.
function bundle(nhsNumber: string, author: Author = LOCAL, odsCode = 'RY2') {
  return buildQueryBundle({
    nhsNumber,
    sourceAsid: CLIENT_ASID,
    destinationAsid: GATEWAY_ASID,
    author,
    organization: { odsCode, name: 'Test Child Health System' },
  });
}

async function post(
  xml: string,
  auth: { clientCert?: boolean; token?: string } = { clientCert: true },
  on: TestStack = stack,
) {
  const res = await on.request('/fhir/fgm/query', {
    body: xml,
    headers: { 'content-type': 'application/fhir+xml' },
    ...auth,
  });
  // As a client system reads this SMSP's answers: local codes under our own system are allowed.
  const parsed = parseQueryResponse(res.body, { localCodes: true });
  assert.ok(
    parsed.ok,
    `the gateway answers with a valid FGMQueryResponse_2_0 (${res.status}): ${parsed.ok ? '' : parsed.error.message}`,
  );
  assert.match(String(res.headers['content-type']), /^application\/fhir\+xml/);
  assert.equal(res.headers['cache-control'], 'no-store');
  return { res, answer: parsed.value };
}

function lastSpineMessage(): QueryRequest {
  const parsed = parseQueryBundle(stack.sim.received.at(-1)!.xml);
  assert.ok(parsed.ok);
  return parsed.value;
}

/** Posts `xml` and checks it is refused with `status`/`code`, Spine not called, the refusal audited. */
const refusal = async (xml: string, auth: { clientCert?: boolean; token?: string }, status: number, code: string) => {
  const calls = stack.sim.received.length;
  const { res, answer } = await post(xml, auth);
  assert.equal(res.status, status);
  assert.equal(answer.outcome.kind === 'operation-outcome' && answer.outcome.code, code);
  assert.equal(stack.sim.received.length, calls, 'Spine was not called');
  assert.equal(stack.auditRows().at(-1)!.outcomeCode, code);
  return answer;
};
const refused = async (
  xml: string,
  auth: { clientCert?: boolean; token?: string },
  status: number,
  code: string,
): Promise<void> => {
  await refusal(xml, auth, status, code);
};

const PATIENTS = [
  {
    nhsNumber: '9990000018',
    status: 200,
    outcome: { kind: 'indicator', nhsNumber: '9990000018', assessmentDate: '2019-12-10' },
  },
  { nhsNumber: '9990000026', status: 404, code: 'NO_RECORD_FOUND' },
  { nhsNumber: '9990000034', status: 400, code: 'PATIENT_OVER_18' },
  {
    nhsNumber: '9990000042',
    status: 200,
    outcome: { kind: 'indicator', nhsNumber: '9990000042', assessmentDate: '2024-06-30' },
  },
] as const;

describe('POST /fhir/fgm/query with mutual TLS', () => {
  for (const p of PATIENTS) {
    it(`${p.nhsNumber} → ${'code' in p ? p.code : 'Flag'} (SMSP-ERR-004, SMSP-IG-003)`, async () => {
      const q = bundle(p.nhsNumber);
      const calls = stack.sim.received.length;
      const { res, answer } = await post(q.xml);
      assert.equal(res.status, p.status);
      assert.equal(answer.respondsTo, q.messageId, 'response.identifier is the client’s message id');
      assert.equal(answer.destinationAsid, CLIENT_ASID);
      assert.equal(answer.sourceAsid, GATEWAY_ASID);
      assert.equal(
        new Date(answer.timestamp).toISOString(),
        SPINE_TIME,
        'MSCA-FGMRISQR-06 the answer carries when Spine responded',
      );
      if ('code' in p) {
        assert.equal(answer.outcome.kind, 'operation-outcome');
        assert.equal(answer.outcome.kind === 'operation-outcome' && answer.outcome.code, p.code);
      } else {
        assert.deepEqual(answer.outcome, p.outcome);
      }
      assert.equal(stack.sim.received.length, calls + 1);
      const sent = lastSpineMessage();
      assert.notEqual(sent.messageId, q.messageId, 'the gateway re-issues the message with its own id');
      assert.equal(sent.sourceAsid, GATEWAY_ASID);
      assert.equal(sent.destinationAsid, SPINE_ASID);
      assert.equal(sent.organization?.odsCode, 'RY2');
      assert.deepEqual(sent.author, LOCAL);
      const row = stack.auditRows().at(-1)!;
      assert.equal(row.clientMessageId, q.messageId);
      assert.equal(row.spineMessageId, sent.messageId);
      assert.equal(row.clientId, 'test-chs');
      assert.equal(row.userId, LOCAL.localId);
      assert.equal(row.roleProfileId, null);
      assert.equal(row.answeredBySpine, 1);
    });
  }
  it('SMSP-FGMRI-008 a local identifier is passed on as the Practitioner’s local id', async () => {
    const { res } = await post(bundle('9990000018', LOCAL).xml);
    assert.equal(res.status, 200);
    assert.deepEqual(lastSpineMessage().author, LOCAL);
  });
});

describe('FHIR interface logs', () => {
  it('FGMISQR009 the log line of an indicator and of a no-record answer differ only in request id and duration', async () => {
    const lineOf = async (nhsNumber: string) => {
      const { res } = await post(bundle(nhsNumber).xml);
      const id = res.headers['x-request-id'];
      const line = stack.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.requestId === id);
      assert.ok(line, `request ${id} was logged`);
      return { status: res.status, line };
    };
    const indicator = await lineOf('9990000018');
    const noRecord = await lineOf('9990000026');
    assert.deepEqual([indicator.status, noRecord.status], [200, 404], 'Spine answered both ways');
    const { requestId: _a, durationMs: _b, ...same } = indicator.line;
    const { requestId: _c, durationMs: _d, ...other } = noRecord.line;
    assert.deepEqual(same, other);
    assert.deepEqual([same.status, same.code, same.outcome], [null, null, 'answered']);
  });
});

describe('POST /fhir/fgm/query with a system token', () => {
  it('SMSP-IG-002 the client system’s own token (systemToken) authenticates it', async () => {
    const { res, answer } = await post(bundle('9990000042').xml, {
      token: stack.signToken({ sub: 'chs' }, { client: 'system' }),
    });
    assert.equal(res.status, 200);
    assert.equal(answer.outcome.kind, 'indicator');
  });
});

describe('refusals on the FHIR interface', () => {
  it('SMSP-AUDIT-009 unsuccessful logins are on the record with their access point and attempt number', async () => {
    for (let i = 0; i < 3; i++) await refused(bundle('9990000018').xml, {}, 401, 'AUTHOR_CREDENTIALS_ERROR');
    const details = stack
      .auditRows()
      .slice(-3)
      .map((r) => JSON.parse(r.detail as string));
    for (const d of details) assert.match(d.sourceAddress, /^(::ffff:)?127\.0\.0\.1$/);
    const first = details[0]!.attempt as number;
    assert.ok(first >= 1);
    assert.deepEqual(
      details.map((d) => d.attempt),
      [first, first + 1, first + 2],
    );
  });
  it('SMSP-IG-002 no client certificate and no token → 401 AUTHOR_CREDENTIALS_ERROR', () =>
    refused(bundle('9990000018').xml, {}, 401, 'AUTHOR_CREDENTIALS_ERROR'));
  it('SMSP-IG-002 a forged token → 401 AUTHOR_CREDENTIALS_ERROR', () =>
    refused(
      bundle('9990000018').xml,
      { token: stack.signToken({ sub: 'chs' }, { client: 'system', foreignKey: true }) },
      401,
      'AUTHOR_CREDENTIALS_ERROR',
    ));
  it('SMSP-IG-002 a system token for the session audience → 401 AUTHOR_CREDENTIALS_ERROR', () =>
    refused(
      bundle('9990000018').xml,
      { token: stack.signToken({ sub: 'chs', aud: TEST_AUDIENCE }, { client: 'system' }) },
      401,
      'AUTHOR_CREDENTIALS_ERROR',
    ));
  it('SMSP-VAL-001 a body that is not XML → 400 INPUT_MESSAGE_VALIDATION_ERROR', () =>
    refused('{"not":"xml"}', { clientCert: true }, 400, 'INPUT_MESSAGE_VALIDATION_ERROR'));
  it('SMSP-VAL-001 XML with a DOCTYPE → 400 INPUT_MESSAGE_VALIDATION_ERROR', () =>
    refused(
      `<!DOCTYPE x [<!ENTITY a "b">]>${bundle('9990000018').xml.replace(/^<\?xml[^>]*\?>/, '')}`,
      { clientCert: true },
      400,
      'INPUT_MESSAGE_VALIDATION_ERROR',
    ));
  // FHIR XML carries values in attributes: text is allowed only in the XHTML narrative div (DSTU2 xml.html).
  it('SMSP-VAL-001 text or CDATA inside a FHIR element → 400 INPUT_MESSAGE_VALIDATION_ERROR', async () => {
    const xml = bundle('9990000018').xml;
    assert.ok(xml.includes('<valueString value="FGM"/>') && xml.includes('<type value="message"/>'));
    await refused(
      xml.replace('<valueString value="FGM"/>', '<valueString value="FGM"><![CDATA[y]]></valueString>'),
      { clientCert: true },
      400,
      'INPUT_MESSAGE_VALIDATION_ERROR',
    );
    await refused(
      xml.replace('<valueString value="FGM"/>', '<valueString value="FGM">y</valueString>'),
      { clientCert: true },
      400,
      'INPUT_MESSAGE_VALIDATION_ERROR',
    );
    await refused(
      xml.replace('<type value="message"/>', '<type value="message"/>note'),
      { clientCert: true },
      400,
      'INPUT_MESSAGE_VALIDATION_ERROR',
    );
  });
  it("SMSP-VAL-001 an attribute FHIR XML does not define (a foreign namespace's on Bundle) → 400 INPUT_MESSAGE_VALIDATION_ERROR", async () => {
    const xml = bundle('9990000018').xml;
    assert.ok(xml.startsWith('<Bundle xmlns="http://hl7.org/fhir">'));
    await refused(
      xml.replace(
        '<Bundle xmlns="http://hl7.org/fhir">',
        '<Bundle xmlns="http://hl7.org/fhir" xmlns:x="urn:x" x:note="y">',
      ),
      { clientCert: true },
      400,
      'INPUT_MESSAGE_VALIDATION_ERROR',
    );
    await refused(
      xml.replace('<type value="message"/>', '<type value="message" note="y"/>'),
      { clientCert: true },
      400,
      'INPUT_MESSAGE_VALIDATION_ERROR',
    );
  });
  it('SMSP-VAL-001 a schema location hint (xsi:schemaLocation, any prefix), which an XML Schema validator accepts anywhere, is read: the query reaches Spine and is answered; another xsi: attribute or a foreign "xsi" prefix is still refused', async () => {
    const q = bundle('9990000018');
    const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
    const calls = stack.sim.received.length;
    const { res, answer } = await post(
      q.xml
        .replace(
          '<Bundle xmlns="http://hl7.org/fhir">',
          `<Bundle xmlns="http://hl7.org/fhir" xmlns:xsi="${XSI}" xsi:schemaLocation="http://hl7.org/fhir ../schema/fhir-all.xsd">`,
        )
        .replace(
          '<type value="message"/>',
          `<type value="message" xmlns:s="${XSI}" s:noNamespaceSchemaLocation="x.xsd"/>`,
        ),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(answer.outcome, { kind: 'indicator', nhsNumber: '9990000018', assessmentDate: '2019-12-10' });
    assert.equal(stack.sim.received.length, calls + 1, 'Spine was asked');
    assert.ok(!stack.sim.received.at(-1)!.xml.includes('schemaLocation'), 'the hint is not passed on to Spine');
    for (const attrs of [`xmlns:xsi="${XSI}" xsi:type="Bundle"`, 'xmlns:xsi="urn:not-xsi" xsi:schemaLocation="x"'])
      await refused(
        q.xml.replace('<Bundle xmlns="http://hl7.org/fhir">', `<Bundle xmlns="http://hl7.org/fhir" ${attrs}>`),
        { clientCert: true },
        400,
        'INPUT_MESSAGE_VALIDATION_ERROR',
      );
  });
  it('SMSP-VAL-003 a bundle breaking the profile → 400 INPUT_MESSAGE_VALIDATION_ERROR', () =>
    refused(
      without(bundle('9990000018').xml, 'MessageHeader.event'),
      { clientCert: true },
      400,
      'INPUT_MESSAGE_VALIDATION_ERROR',
    ));
  it('SMSP-AUDIT-005 a Practitioner without SDS or local identifiers → 401 AUTHOR_CREDENTIALS_ERROR', async () => {
    const q = bundle('9990000018', LOCAL);
    const answer = await refusal(
      without(q.xml, 'Practitioner.identifier'),
      { clientCert: true },
      401,
      'AUTHOR_CREDENTIALS_ERROR',
    );
    assert.equal(answer.respondsTo, q.messageId);
  });
  it('SMSP-VAL-002 an NHS number failing modulus 11 → 400 INVALID_NHS_NUMBER, timestamped by the gateway (Spine never answered)', async () => {
    const answer = await refusal(bundle('9990000019').xml, { clientCert: true }, 400, 'INVALID_NHS_NUMBER');
    assert.notEqual(new Date(answer.timestamp).toISOString(), SPINE_TIME);
  });
});

describe('client systems only (SMSP-IG-002): a portal user’s session token is no client credential', () => {
  const sessions = [
    ['a midwife (B0370)', LOCAL_MIDWIFE, 'local', 'test-epr'],
    ['a receptionist (no B0370)', LOCAL_RECEPTIONIST, 'local', 'test-epr'],
  ] as const;
  for (const [who, claims, client, clientId] of sessions) {
    it(`SMSP-IG-002 the session token of ${who} → 401, Spine never called (a client with neither mtls nor systemToken cannot use the FHIR interface)`, async () => {
      const calls = stack.sim.received.length;
      await refused(
        bundle('9990000018').xml,
        { token: stack.signToken(claims, { client }) },
        401,
        'AUTHOR_CREDENTIALS_ERROR',
      );
      assert.equal(stack.sim.received.length, calls);
      const row = stack.auditRows().at(-1)!;
      assert.equal(row.eventType, 'fhir-query');
      assert.equal(row.clientId, clientId, 'the record names the portal whose session was tried');
      assert.equal(row.userId, null, 'nothing from the unread bundle is recorded');
    });
  }
  it(
    'SMSP-IG-002 the 401 comes before the body is read: answered while the body is still unsent',
    { timeout: 10_000 },
    async () => {
      const calls = stack.sim.received.length;
      const res = await stack.requestUnfinished('/fhir/fgm/query', {
        token: stack.signToken(LOCAL_MIDWIFE),
        headers: { 'content-type': 'application/fhir+xml' },
        body: bundle('9990000018').xml.slice(0, 200),
        declaredLength: 60_000,
      });
      assert.equal(res.status, 401);
      const answer = parseQueryResponse(res.body);
      assert.ok(
        answer.ok &&
          answer.value.outcome.kind === 'operation-outcome' &&
          answer.value.outcome.code === 'AUTHOR_CREDENTIALS_ERROR',
      );
      assert.equal(stack.sim.received.length, calls, 'Spine was not called');
    },
  );
});

describe('a client system acts only for its ODS codes (SMSP-IG-001, SMSP-IG-003)', () => {
  for (const [how, auth] of [
    ['mutual TLS', { clientCert: true }],
    ['a system token', undefined],
  ] as const) {
    it(`SMSP-IG-003 an Organization outside the client’s odsCodes (${how}) → 403 ACCESS_DENIED, no Spine call, audited with the NHS number`, async () => {
      const q = bundle('9990000042', SDS, 'ZZZ99');
      await refused(
        q.xml,
        auth ?? { token: stack.signToken({ sub: 'chs' }, { client: 'system' }) },
        403,
        'ACCESS_DENIED',
      );
      const row = stack.auditRows().at(-1)!;
      assert.equal(row.clientId, 'test-chs');
      assert.equal(row.nhsNumber, '9990000042', 'who tried to see this child');
      assert.equal(row.orgCode, 'ZZZ99', 'the organisation claimed is on the record');
      assert.equal(row.clientMessageId, q.messageId);
    });
  }
  it('SMSP-IG-003 by default (no odsCodes) a client acts only for its own odsCode', () =>
    refused(bundle('9990000018', SDS, 'RY3').xml, { clientCert: true }, 403, 'ACCESS_DENIED'));
  it('SMSP-IG-003 a client configured with odsCodes may act for each of them, and only them', async () => {
    const multi = await startTestStack({ tls: true, configure: (raw) => (raw.clients[2].odsCodes = ['RY2', 'RY3']) });
    try {
      const { res } = await post(bundle('9990000018', LOCAL, 'RY3').xml, { clientCert: true }, multi);
      assert.equal(res.status, 200);
      const sent = parseQueryBundle(multi.sim.received.at(-1)!.xml);
      assert.ok(sent.ok);
      assert.equal(sent.value.organization?.odsCode, 'RY3');
      const refusedHere = await post(bundle('9990000018', SDS, 'RX1').xml, { clientCert: true }, multi);
      assert.equal(refusedHere.res.status, 403);
      assert.equal(multi.sim.received.length, 1, 'only the permitted request reached Spine');
    } finally {
      await multi.close();
    }
  });
});

describe('audit data items', () => {
  it("SMSP-AUDIT-009 a FHIR query's record names the originating system (the bundle's source ASID) and the client's address", async () => {
    await post(bundle('9990000018').xml);
    const row = stack.auditRows().at(-1)!;
    assert.equal(row.eventType, 'fhir-query');
    const d = JSON.parse(row.detail as string);
    assert.equal(d.originatingAsid, CLIENT_ASID);
    assert.match(d.sourceAddress, /^(::ffff:)?127\.0\.0\.1$/);
  });
});

describe('logs', () => {
  it('nothing the gateway logged contains a valid NHS number', () => {
    assert.ok(stack.logs.length > 5);
    assert.deepEqual(validNhsNumbersIn(stack.logs.join('\n')), []);
  });
});
