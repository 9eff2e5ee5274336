/**
 * @module test/gateway/gateway-widget
 * The widget API end to end over real sockets: gateway ↔ Spine simulator over TLS-MA, for the
 * four documented test patients (docs/simulator.md), as a locally authenticated user and as a smartcard (CIS2) user.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { parseQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import type { QueryRequest } from '../../gateway/fhir/types.ts';
import { CIS2_PEOPLE } from '../../demo/cis2/users.ts';
import {
  GATEWAY_ASID,
  LOCAL_MIDWIFE,
  SPINE_ASID,
  startTestStack,
  TEST_ORIGIN,
  validNhsNumbersIn,
  type TestStack,
} from '../helpers/stack.ts';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

/** A birth date under 18 (ten years ago) for requests whose patient's age is not the point. */
const BORN = `${new Date().getUTCFullYear() - 10}-01-01`;

const PATIENTS = [
  {
    nhsNumber: '9990000018',
    birthDate: '2014-03-02',
    status: 200,
    body: { status: 'indicator', assessmentDate: '2019-12-10', code: 'SUCCESS', smspCode: 'SMSP-0000' },
  },
  {
    nhsNumber: '9990000026',
    birthDate: '2016-07-19',
    status: 404,
    body: { status: 'no-record', assessmentDate: null, code: 'NO_RECORD_FOUND', smspCode: 'FGM-0001' },
  },
  // The EPR's birth date says under 18 but Spine's record says otherwise: Spine answers that the patient is over 18.
  {
    nhsNumber: '9990000034',
    birthDate: BORN,
    status: 400,
    body: { status: 'error', assessmentDate: null, code: 'PATIENT_OVER_18', smspCode: 'FGM-0003' },
  },
  {
    nhsNumber: '9990000042',
    birthDate: '2019-11-30',
    status: 200,
    body: { status: 'indicator', assessmentDate: '2024-06-30', code: 'SUCCESS', smspCode: 'SMSP-0000' },
  },
] as const;

/** The smartcard GP signs in through the CIS2 double; the gateway confirms the access token with its UserInfo. */
const cis2Gp = () => stack.cis2Token(CIS2_PEOPLE.patel.uid, { roleId: '555021936108' });
const USERS = [
  { label: 'local claims', client: 'local' as const, token: async () => stack.signToken(LOCAL_MIDWIFE) },
  { label: 'a CIS2 access token', client: 'cis2' as const, token: cis2Gp },
];

/** The last message the simulator received, parsed by the codec (independently of the simulator). */
function lastSpineMessage(): QueryRequest {
  const last = stack.sim.received.at(-1);
  assert.ok(last, 'Spine was called');
  const parsed = parseQueryBundle(last.xml);
  assert.ok(parsed.ok, `the message sent to Spine is valid: ${parsed.ok ? '' : parsed.error.message}`);
  return parsed.value;
}

for (const user of USERS) {
  describe(`POST /api/fgm-status with ${user.label}`, () => {
    for (const p of PATIENTS) {
      it(`${p.nhsNumber} → ${p.body.code} (SMSP-FGMRI-001, SMSP-IG-003)`, async () => {
        const before = stack.sim.received.length;
        const res = await stack.request('/api/fgm-status', {
          token: await user.token(),
          headers: { Origin: TEST_ORIGIN },
          json: { nhsNumber: p.nhsNumber, birthDate: p.birthDate },
        });
        assert.equal(res.status, p.status);
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.equal(res.headers['access-control-allow-origin'], TEST_ORIGIN);
        const body = JSON.parse(res.body);
        assert.equal(stack.sim.received.length, before + 1, 'exactly one Spine call');
        const sent = lastSpineMessage();
        assert.deepEqual(
          { ...body, checkedAt: undefined, messageId: undefined },
          { ...p.body, nhsNumber: p.nhsNumber, checkedAt: undefined, messageId: undefined, display: body.display },
        );
        assert.equal(body.messageId, sent.messageId, 'messageId is our Spine request id');
        assert.match(body.checkedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/, 'checkedAt is Spine’s timestamp');
        assert.equal(sent.nhsNumber, p.nhsNumber);
        assert.equal(sent.sourceAsid, GATEWAY_ASID);
        assert.equal(sent.destinationAsid, SPINE_ASID);
        assert.equal(sent.organization?.odsCode, 'RX1');
        if (user.client === 'cis2') {
          assert.deepEqual(sent.author, {
            kind: 'sds',
            userId: '555021935107',
            roleProfileId: '555021936108',
            ...(sent.author && 'name' in sent.author && sent.author.name ? { name: sent.author.name } : {}),
          });
        } else {
          assert.equal(sent.author?.kind, 'local');
          assert.equal(sent.author?.kind === 'local' && sent.author.localId, 'ajones');
        }
      });
    }
  });
}

describe('checks before Spine is called', () => {
  for (const bad of ['9990000019', '999000001', 'abcdefghij', '0000000001']) {
    it(`SMSP-VAL-002 ${bad} is 400 INVALID_NHS_NUMBER without a Spine call`, async () => {
      const before = stack.sim.received.length;
      const res = await stack.request('/api/fgm-status', {
        token: stack.signToken(LOCAL_MIDWIFE),
        json: { nhsNumber: bad, birthDate: BORN },
      });
      assert.equal(res.status, 400);
      assert.equal(JSON.parse(res.body).code, 'INVALID_NHS_NUMBER');
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(stack.sim.received.length, before);
    });
  }
  it('MSCA-FGMRISQ-04 a birth date 18 or more years ago is 400 PATIENT_OVER_18 without a Spine call', async () => {
    const before = stack.sim.received.length;
    const res = await stack.request('/api/fgm-status', {
      token: stack.signToken(LOCAL_MIDWIFE),
      json: { nhsNumber: '9990000034', birthDate: '2001-01-15' },
    });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).code, 'PATIENT_OVER_18');
    assert.equal(stack.sim.received.length, before);
  });
  it('FGMISQ004 MSCA-FGMRISQ-04 a request without birthDate is 400 INPUT_MESSAGE_VALIDATION_ERROR without a Spine call, audited with its NHS number', async () => {
    const [calls, audited] = [stack.sim.received.length, stack.auditRows().length];
    const res = await stack.request('/api/fgm-status', {
      token: stack.signToken(LOCAL_MIDWIFE),
      json: { nhsNumber: '9990000018' },
    });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).code, 'INPUT_MESSAGE_VALIDATION_ERROR');
    assert.equal(stack.sim.received.length, calls, 'Spine was not called');
    const rows = stack.auditRows().slice(audited);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.outcomeCode, 'INPUT_MESSAGE_VALIDATION_ERROR');
    assert.equal(rows[0]!.nhsNumber, '9990000018');
  });
  it('SMSP-ERR-006 a body without nhsNumber is 400 INPUT_MESSAGE_VALIDATION_ERROR without a Spine call', async () => {
    const before = stack.sim.received.length;
    const res = await stack.request('/api/fgm-status', {
      token: stack.signToken(LOCAL_MIDWIFE),
      json: { nhs: '9990000018', birthDate: BORN },
    });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).code, 'INPUT_MESSAGE_VALIDATION_ERROR');
    assert.equal(stack.sim.received.length, before);
  });
  it('SMSP-VAL-001 SMSP-ERR-006 a body naming nhsNumber twice (the last would win) is 400 SMSP-0001 without a Spine call, for neither child', async () => {
    const [calls, audited] = [stack.sim.received.length, stack.auditRows().length];
    const body = '{"nhsNumber":"9990000042","birthDate":"2019-11-30","nhsNumber":"9990000018"}';
    const res = await stack.request('/api/fgm-status', {
      token: stack.signToken(LOCAL_MIDWIFE),
      body,
      headers: { 'content-type': 'application/json' },
    });
    assert.deepEqual(
      [res.status, JSON.parse(res.body).code, JSON.parse(res.body).smspCode],
      [400, 'INPUT_MESSAGE_VALIDATION_ERROR', 'SMSP-0001'],
    );
    assert.equal(stack.sim.received.length, calls, 'Spine was not called');
    const rows = stack.auditRows().slice(audited);
    assert.deepEqual(
      rows.map((r) => [r.outcomeCode, r.nhsNumber]),
      [['INPUT_MESSAGE_VALIDATION_ERROR', null]],
    );
  });
});

/** POSTs `body` to the widget API in `chunks` without a Content-Length (Transfer-Encoding: chunked). */
function postChunked(chunks: string[], token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL('/api/fgm-status', stack.gatewayUrl),
      { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    // A write after a 413 may meet a closed socket; the answer is what counts.
    req.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e),
    );
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('body size limit (listen.maxBodyBytes, default 64 KiB)', () => {
  const big = JSON.stringify({ nhsNumber: '9990000018', birthDate: BORN, pad: 'x'.repeat(70_000) });
  it('a declared Content-Length over the limit is 413 REQUEST_TOO_LARGE without a Spine call, audited', async () => {
    const [calls, audited] = [stack.sim.received.length, stack.auditRows().length];
    const res = await stack.request('/api/fgm-status', {
      token: stack.signToken(LOCAL_MIDWIFE),
      body: big,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.body).code, 'REQUEST_TOO_LARGE');
    assert.equal(stack.sim.received.length, calls);
    assert.equal(stack.auditRows().at(audited)?.outcomeCode, 'REQUEST_TOO_LARGE');
  });
  it('a chunked body over the limit is counted as it arrives and refused with 413', async () => {
    const calls = stack.sim.received.length;
    const res = await postChunked([big.slice(0, 30_000), big.slice(30_000)], stack.signToken(LOCAL_MIDWIFE));
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.body).code, 'REQUEST_TOO_LARGE');
    assert.equal(stack.sim.received.length, calls);
  });
  it('a chunked body within the limit is read whole and answered', async () => {
    const res = await postChunked(
      ['{"nhsNumber":', `"9990000018","birthDate":"${BORN}"}`],
      stack.signToken(LOCAL_MIDWIFE),
    );
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).code, 'SUCCESS');
  });
});

describe('CORS', () => {
  it('a preflight from a configured origin is granted', async () => {
    const res = await stack.request('/api/fgm-status', {
      method: 'OPTIONS',
      headers: {
        Origin: TEST_ORIGIN,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type',
      },
    });
    assert.equal(res.headers['access-control-allow-origin'], TEST_ORIGIN);
  });
  it('an origin not configured gets no Access-Control-Allow-Origin', async () => {
    const res = await stack.request('/api/fgm-status', {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.test', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });
  it("MSCA-FGMRISQR-08 a cross-origin answer exposes Date (the element ages the answer on the gateway's clock) and Retry-After", async () => {
    const res = await stack.request('/api/fgm-status', {
      token: stack.signToken(LOCAL_MIDWIFE),
      headers: { Origin: TEST_ORIGIN },
      json: { nhsNumber: '9990000018', birthDate: BORN },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], TEST_ORIGIN);
    const exposed = String(res.headers['access-control-expose-headers'])
      .toLowerCase()
      .split(/\s*,\s*/);
    assert.ok(exposed.includes('date') && exposed.includes('retry-after'), `exposed: ${exposed}`);
    assert.ok(Math.abs(Date.parse(String(res.headers.date)) - Date.now()) < 5 * 60_000, "Date is the gateway's clock");
  });
});

describe('audit (SMSP-AUDIT-004/006)', () => {
  it('holds one linked record per interaction, refusals included', async () => {
    const before = stack.auditRows().length;
    const ok = await stack.request('/api/fgm-status', {
      token: await cis2Gp(),
      headers: { Origin: TEST_ORIGIN },
      json: { nhsNumber: '9990000042', birthDate: BORN },
    });
    const sentToSpine = lastSpineMessage().messageId;
    const refused = await stack.request('/api/fgm-status', {
      token: stack.signToken(LOCAL_MIDWIFE),
      json: { nhsNumber: '9990000019', birthDate: BORN },
    });
    const rows = stack.auditRows().slice(before);
    assert.equal(rows.length, 2);
    const [a, b] = rows as [Record<string, unknown>, Record<string, unknown>];
    assert.equal(a.clientMessageId, ok.headers['x-request-id']);
    assert.equal(a.spineMessageId, sentToSpine);
    assert.equal(JSON.parse(ok.body).messageId, sentToSpine);
    assert.equal(a.userId, '555021935107');
    assert.equal(a.roleProfileId, '555021936108');
    assert.equal(a.orgCode, 'RX1');
    assert.equal(a.nhsNumber, '9990000042');
    assert.equal(a.outcomeCode, 'SUCCESS');
    assert.equal(a.answeredBySpine, 1);
    assert.equal(a.clientId, 'test-epr-cis2');
    assert.equal(b.clientMessageId, refused.headers['x-request-id']);
    assert.equal(b.outcomeCode, 'INVALID_NHS_NUMBER');
    assert.equal(b.userId, 'ajones');
    assert.equal(b.localRoles, 'midwife');
    assert.equal(b.spineMessageId, null);
    assert.equal(b.answeredBySpine, 0);
    assert.ok((a.seq as number) < (b.seq as number));
  });
});

describe('logs', () => {
  it('FGMISQR009 the log line of an indicator and of a no-record answer differ only in request id and duration (the outcome is erasable, the log is not)', async () => {
    const lineOf = async (nhsNumber: string, birthDate: string) => {
      const res = await stack.request('/api/fgm-status', {
        token: stack.signToken(LOCAL_MIDWIFE),
        headers: { Origin: TEST_ORIGIN },
        json: { nhsNumber, birthDate },
      });
      const id = res.headers['x-request-id'];
      const line = stack.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.requestId === id);
      assert.ok(line, `request ${id} was logged`);
      return { status: res.status, line };
    };
    const indicator = await lineOf('9990000018', '2014-03-02');
    const noRecord = await lineOf('9990000026', '2016-07-19');
    assert.deepEqual([indicator.status, noRecord.status], [200, 404], 'Spine answered both ways');
    const { requestId: _a, durationMs: _b, ...same } = indicator.line;
    const { requestId: _c, durationMs: _d, ...other } = noRecord.line;
    assert.deepEqual(same, other);
    assert.deepEqual(same, {
      level: 'info',
      msg: 'request',
      method: 'POST',
      path: '/api/fgm-status',
      status: null,
      code: null,
      reason: null,
      outcome: 'answered',
      clientId: same.clientId,
      userKey: same.userKey,
    });
    assert.match(
      String(same.userKey),
      /^[A-Za-z0-9_-]{16}$/,
      'the same pseudonymous user key on both, never the user id',
    );
    // A refusal, which says nothing of an indicator, keeps its status and code.
    const refused = await lineOf('9990000034', `${new Date().getUTCFullYear() - 10}-01-01`);
    assert.equal(refused.status, 400);
    assert.deepEqual(
      [refused.line.status, refused.line.code, refused.line.outcome],
      [400, 'PATIENT_OVER_18', 'refused'],
    );
  });

  it('nothing the gateway logged contains a valid NHS number', () => {
    assert.ok(stack.logs.length > 10, 'the gateway logged the requests');
    assert.deepEqual(validNhsNumbersIn(stack.logs.join('\n')), []);
  });
});
