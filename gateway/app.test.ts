/**
 * @module gateway/app.test
 * The app with an in-process fake Spine: answer mapping, audit failure, limits, static routes.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { signJwt } from '../test/helpers/jwt.ts';
import { createApp } from './app.ts';
import type { AuditEvent, AuditSink } from './audit/audit-event.ts';
import { createSessionVerifier } from './auth/verify-session-token.ts';
import { parseConfig } from './config/config.ts';
import { parseQueryBundle } from './fhir/query-bundle.ts';
import { buildQueryResponse } from './fhir/response-bundle.ts';
import type { QueryResponse } from './fhir/types.ts';
import { parseXml } from './fhir/xml.ts';
import { loadVocabulary } from './fhir/vocabulary.ts';
import type { SpineAnswer, SpineClient, SpineFailure } from './spine/client.ts';

// Spine is replaced by an in-process fake here (unit level: mapping rules, audit failure, limits);
// the real HTTPS client against the simulator is exercised in test/gateway-*.test.ts.
const dir = mkdtempSync(join(tmpdir(), 'fgm-app-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
writeFileSync(join(dir, 'widget.js'), 'export const widget = 1;\n');

const config = parseConfig(
  {
    listen: { host: '127.0.0.1', port: 0, maxBodyBytes: 1024 },
    smsp: { asid: '200000000111', odsCode: 'RX1' },
    spine: {
      endpoint: 'https://127.0.0.1:1/fhir/fgm/query',
      asid: '990101234567',
      tls: { certFile: 'x', keyFile: 'x', caFile: 'x' },
      timeoutMs: 1000,
      rateLimit: { perSecond: 10, burst: 10 },
    },
    clients: [
      {
        id: 'epr',
        name: 'EPR',
        odsCode: 'RX1',
        origins: ['https://epr.example'],
        token: {
          issuer: 'epr',
          audience: 'gw',
          publicKeyFile: 'k.pem',
          algorithms: ['ES256'],
          maxLifetimeSeconds: 600,
        },
        claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
        roleActivities: { midwife: ['B0370'] },
        auditorRoles: [],
        priority: 'interactive',
      },
    ],
    audit: { sqliteFile: 'a.sqlite', hmacKeyFile: 'h.key' },
  },
  dir,
);

const vocabulary = loadVocabulary();
type Reply = (req: { messageId: string; nhsNumber: string }) => SpineAnswer | SpineFailure;

function setup(reply: Reply, sink?: AuditSink, now?: () => Date) {
  const events: AuditEvent[] = [];
  const logs: string[] = [];
  let calls = 0;
  const spine: SpineClient = {
    async query(xml) {
      calls++;
      const parsed = parseQueryBundle(xml);
      assert.ok(parsed.ok, 'the gateway sends a valid bundle');
      return reply(parsed.value);
    },
  };
  const app = createApp({
    config,
    vocabulary,
    spine,
    audit: sink ?? {
      async record(e) {
        events.push(e);
      },
    },
    verifySession: createSessionVerifier({
      clients: config.clients,
      clientKeys: new Map([['epr', key.publicKey.export({ type: 'spki', format: 'pem' }) as string]]),
    }),
    log: (f) => logs.push(JSON.stringify(f)),
    widgetFile: join(dir, 'widget.js'),
    ...(now && { now }),
  });
  return { app, events, logs, calls: () => calls };
}

const token = () => {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    { iss: 'epr', aud: 'gw', iat: now, exp: now + 300, sub: 'ajones', roles: ['midwife'], org: 'RX1' },
    { alg: 'ES256', key: key.privateKey },
  );
};
const post = (body: unknown) => ({
  method: 'POST',
  headers: { Authorization: `Bearer ${token()}`, 'Content-Type': 'application/json' },
  // The widget API requires a birth date (FGMISQ004); tests about something else send an under-18 one.
  body: typeof body === 'string' ? body : JSON.stringify({ birthDate: '2014-03-02', ...(body as object) }),
});

// Spine's clock agrees with ours: the safety core refuses an answer stamped more than a day ago.
const SPINE_TIME = new Date().toISOString();

function response(req: { messageId: string; nhsNumber: string }, over: Partial<QueryResponse> = {}): QueryResponse {
  return {
    bundleId: 'b',
    messageId: 'spine-msg',
    respondsTo: req.messageId,
    responseCode: 'ok',
    timestamp: SPINE_TIME,
    sourceAsid: '990101234567',
    destinationAsid: '200000000111',
    outcome: { kind: 'indicator', nhsNumber: req.nhsNumber, assessmentDate: '2019-12-10' },
    ...over,
  };
}
/** The answer as Spine would send it: built, written and parsed back, so the gateway reads the tree it would get. */
function answer(httpStatus: number, r: QueryResponse): SpineAnswer {
  const { xml } = buildQueryResponse({
    respondsTo: r.respondsTo,
    messageId: r.messageId,
    sourceAsid: r.sourceAsid,
    destinationAsid: r.destinationAsid,
    outcome: r.outcome,
    timestamp: new Date(r.timestamp),
  });
  const withCode =
    r.outcome.kind === 'indicator' ? xml : xml.replace(/(<response>.*?<code value=")[^"]*"/, `$1${r.responseCode}"`);
  const parsed = parseXml(withCode);
  assert.ok(parsed.ok);
  return { kind: 'answer', httpStatus, tree: parsed.value };
}
const outcome = (code: string) => ({
  kind: 'operation-outcome' as const,
  severity: 'error' as const,
  issueType: 'invalid',
  code,
});

describe('gateway app: mapping Spine answers (SMSP-VAL-004)', () => {
  it('an indicator becomes 200 SUCCESS with the Flag date, Spine timestamp and our message id', async () => {
    let sent = '';
    const { app, events } = setup((req) => ((sent = req.messageId), answer(200, response(req))));
    const res = await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await res.json(), {
      status: 'indicator',
      nhsNumber: '9990000018',
      assessmentDate: '2019-12-10',
      checkedAt: SPINE_TIME,
      messageId: sent,
      code: 'SUCCESS',
      smspCode: 'SMSP-0000',
      display: 'Success',
    });
    assert.equal(events[0]!.spineMessageId, sent);
    assert.equal(events[0]!.answeredBySpine, true);
  });
  it('an answer to another message is RESPONSE_MESSAGE_VALIDATION_ERROR', async () => {
    const { app } = setup((req) => answer(200, response(req, { respondsTo: 'someone-else' })));
    const body = await (await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }))).json();
    assert.equal(body.code, 'RESPONSE_MESSAGE_VALIDATION_ERROR');
  });
  it('an indicator for another NHS number is RESPONSE_MESSAGE_VALIDATION_ERROR', async () => {
    const { app } = setup((req) =>
      answer(
        200,
        response(req, { outcome: { kind: 'indicator', nhsNumber: '9990000026', assessmentDate: '2019-12-10' } }),
      ),
    );
    const res = await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).code, 'RESPONSE_MESSAGE_VALIDATION_ERROR');
  });
  it('an answer from another ASID is RESPONSE_MESSAGE_VALIDATION_ERROR', async () => {
    const { app } = setup((req) => answer(200, response(req, { sourceAsid: '111111111111' })));
    assert.equal(
      (await (await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }))).json()).code,
      'RESPONSE_MESSAGE_VALIDATION_ERROR',
    );
  });
  it('an OperationOutcome code not in the vocabulary is RESPONSE_MESSAGE_VALIDATION_ERROR', async () => {
    const { app } = setup((req) =>
      answer(400, response(req, { responseCode: 'fatal-error', outcome: outcome('MADE_UP_CODE') })),
    );
    assert.equal(
      (await (await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }))).json()).code,
      'RESPONSE_MESSAGE_VALIDATION_ERROR',
    );
  });
  it('an error OperationOutcome arriving with HTTP 200 is RESPONSE_MESSAGE_VALIDATION_ERROR; NO_RECORD_FOUND under 200 means one thing only: 404 no-record', async () => {
    const { app, events } = setup((req) => answer(200, response(req, { outcome: outcome('INVALID_NHS_NUMBER') })));
    assert.equal(
      (await (await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }))).json()).code,
      'RESPONSE_MESSAGE_VALIDATION_ERROR',
    );
    assert.equal(events[0]!.answeredBySpine, false);
    const none = setup((req) => answer(200, response(req, { outcome: outcome('NO_RECORD_FOUND') })));
    const res = await none.app.request('/api/fgm-status', post({ nhsNumber: '9990000026' }));
    assert.deepEqual([res.status, (await res.json()).status], [404, 'no-record']);
    assert.equal(none.events[0]!.answeredBySpine, true);
  });
  it('SMSP-FGMRI-001 Spine NO_RECORD_FOUND is replicated as 404 no-record', async () => {
    const { app, events } = setup((req) =>
      answer(404, response(req, { responseCode: 'fatal-error', outcome: outcome('NO_RECORD_FOUND') })),
    );
    const res = await app.request('/api/fgm-status', post({ nhsNumber: '9990000026' }));
    assert.equal(res.status, 404);
    const body = await res.json();
    assert.equal(body.status, 'no-record');
    assert.equal(body.smspCode, 'FGM-0001');
    assert.equal(events[0]!.answeredBySpine, true);
  });
  it('SMSP-ERR-004 a Spine HTTP 500 with a valid vocabulary OperationOutcome is replicated', async () => {
    const { app } = setup((req) =>
      answer(500, response(req, { responseCode: 'fatal-error', outcome: outcome('ASID_CHECK_FAILED') })),
    );
    const res = await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }));
    assert.equal(res.status, 403);
    assert.equal((await res.json()).code, 'ASID_CHECK_FAILED');
  });
  for (const code of ['INVALID_PARAMETER']) {
    it(`SMSP-ERR-006 Spine's ${code} is rejected input, indistinguishable from the SMSP's own validation: SMSP-0001`, async () => {
      const { app, events } = setup((req) =>
        answer(400, response(req, { responseCode: 'fatal-error', outcome: outcome(code) })),
      );
      const res = await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }));
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.code, 'INPUT_MESSAGE_VALIDATION_ERROR');
      assert.equal(body.smspCode, 'SMSP-0001');
      assert.equal(events[0]!.outcomeCode, 'INPUT_MESSAGE_VALIDATION_ERROR');
      assert.equal(events[0]!.answeredBySpine, false);
    });
  }
  it('SMSP-AUDIT-006 a Spine failure is passed on with its code and not audited as answered by Spine', async () => {
    const { app, events } = setup(() => ({ kind: 'failure', code: 'COULD_NOT_CONNECT_TO_SPINE', reason: 'timeout' }));
    const res = await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }));
    assert.equal(res.status, 500);
    assert.equal((await res.json()).smspCode, 'SMSP-0004');
    assert.equal(events[0]!.answeredBySpine, false);
  });
});

describe('gateway app: audit times', () => {
  it("SMSP-AUDIT-010 SMSP-AUDIT-011 the audit record and the message to Spine carry the gateway clock's instant, in UTC", async () => {
    // In BST: a local-time writer would say 14:14, and an unzoned one would be ambiguous.
    const instant = new Date('2026-07-01T13:14:15.678Z');
    let sent = '';
    const { app, events } = setup(
      (req) => {
        sent = (req as { timestamp?: string }).timestamp ?? '';
        return answer(200, response(req, { timestamp: instant.toISOString() }));
      },
      undefined,
      () => instant,
    );
    assert.equal(
      (await app.request('/api/fgm-status', post({ nhsNumber: '9990000018', birthDate: '2014-03-02' }))).status,
      200,
    );
    assert.equal(events[0]!.time, '2026-07-01T13:14:15.678Z');
    assert.match(sent, /(Z|[+-]00:00)$/, 'the MessageHeader timestamp is written in UTC');
    assert.equal(new Date(sent).getTime(), instant.getTime());
  });
});

describe('gateway app: refusals and hardening', () => {
  it('SMSP-AUDIT-001 an audit write failure gives 500 GENERIC_… and no Spine data', async () => {
    const { app, calls } = setup((req) => answer(200, response(req)), {
      async record() {
        throw new Error('disk full');
      },
    });
    const res = await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }));
    assert.equal(calls(), 1);
    assert.equal(res.status, 500);
    const body = await res.json();
    assert.equal(body.code, 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE');
    assert.equal(body.assessmentDate, null);
    assert.equal(body.checkedAt, null);
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });
  it('an unexpected fault is 500 GENERIC_… with no stack trace, logged by error class only', async () => {
    const { app, logs, events } = setup(() => {
      throw new TypeError('boom at 9990000018');
    });
    const res = await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }));
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.match(text, /GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE/);
    assert.doesNotMatch(text, /boom|TypeError|\.ts:\d+/);
    assert.ok(logs.some((l) => l.includes('"error":"TypeError"')));
    assert.ok(logs.every((l) => !l.includes('boom')));
    assert.equal(events[0]!.outcomeCode, 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE');
  });
  it('a body over the limit is 413 REQUEST_TOO_LARGE without a Spine call', async () => {
    const { app, calls, events } = setup((req) => answer(200, response(req)));
    const res = await app.request('/api/fgm-status', post({ nhsNumber: '9990000018', pad: 'x'.repeat(2000) }));
    assert.equal(res.status, 413);
    assert.equal((await res.json()).code, 'REQUEST_TOO_LARGE');
    assert.equal(calls(), 0);
    assert.equal(events[0]!.outcomeCode, 'REQUEST_TOO_LARGE');
  });
  it('SMSP-ERR-006 a body that is not JSON is 400 INPUT_MESSAGE_VALIDATION_ERROR (SMSP-0001, as on FHIR), with no stack trace', async () => {
    const { app } = setup((req) => answer(200, response(req)));
    const res = await app.request('/api/fgm-status', post('{"nhsNumber":'));
    assert.equal(res.status, 400);
    const text = await res.text();
    assert.match(text, /INPUT_MESSAGE_VALIDATION_ERROR/);
    assert.match(text, /SMSP-0001/);
    assert.doesNotMatch(text, /at .*\.ts:\d+/);
  });
  it('SMSP-ERR-006 a birth date in the future is INPUT_MESSAGE_VALIDATION_ERROR without a Spine call', async () => {
    const { app, calls } = setup((req) => answer(200, response(req)));
    const res = await app.request('/api/fgm-status', post({ nhsNumber: '9990000018', birthDate: '2999-01-01' }));
    assert.equal((await res.json()).code, 'INPUT_MESSAGE_VALIDATION_ERROR');
    assert.equal(calls(), 0);
  });
  it('an unknown path is 404 NOT_FOUND and its text is not logged', async () => {
    const { app, logs } = setup((req) => answer(200, response(req)));
    const res = await app.request('/api/fgm-status/9990000018');
    assert.equal(res.status, 404);
    assert.equal((await res.json()).code, 'NOT_FOUND');
    assert.ok(logs.length > 0);
    assert.ok(logs.every((l) => !l.includes('9990000018')));
  });
  it('GET /healthz answers without patient data or a Spine call', async () => {
    const { app, calls } = setup((req) => answer(200, response(req)));
    const res = await app.request('/healthz');
    assert.deepEqual(await res.json(), { status: 'ok', spine: 'up' });
    assert.equal(calls(), 0);
  });
  it('GET /widget/fgm-status.js serves the module with CORS for a configured origin only', async () => {
    const { app } = setup((req) => answer(200, response(req)));
    const ok = await app.request('/widget/fgm-status.js', { headers: { Origin: 'https://epr.example' } });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://epr.example');
    assert.equal(await ok.text(), 'export const widget = 1;\n');
    const other = await app.request('/widget/fgm-status.js', { headers: { Origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });
  it('GET /widget/fgm-status.js is a clear 404 when the widget is not built', async () => {
    const app = createApp({ ...setupDeps(), widgetFile: join(dir, 'missing.js') });
    const res = await app.request('/widget/fgm-status.js');
    assert.equal(res.status, 404);
    assert.match(await res.text(), /not built/);
  });
  it('security headers are set on API answers', async () => {
    const { app } = setup((req) => answer(200, response(req)));
    const res = await app.request('/api/fgm-status', post({ nhsNumber: '9990000018' }));
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  });
});

function setupDeps() {
  return {
    config,
    vocabulary,
    spine: { query: async () => ({ kind: 'failure', code: 'COULD_NOT_CONNECT_TO_SPINE', reason: 'x' }) } as SpineClient,
    audit: { async record() {} },
    verifySession: createSessionVerifier({
      clients: config.clients,
      clientKeys: new Map([['epr', key.publicKey.export({ type: 'spki', format: 'pem' }) as string]]),
    }),
    log: () => {},
  };
}
