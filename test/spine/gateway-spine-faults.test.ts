/**
 * @module test/spine/gateway-spine-faults
 * Each Spine simulator fault maps to its documented code within the configured deadline, and the
 * gateway keeps serving: a normal request afterwards succeeds (SMSP-VAL-004, SMSP-FGMRI-003).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { LOCAL_MIDWIFE, startTestStack, validNhsNumbersIn, type TestStack } from '../helpers/stack.ts';

const TIMEOUT_MS = 1000;
let stack: TestStack;
before(async () => {
  stack = await startTestStack({ spineTimeoutMs: TIMEOUT_MS });
});
after(async () => {
  await stack?.close();
});

async function ask() {
  const started = performance.now();
  const res = await stack.request('/api/fgm-status', {
    token: stack.signToken(LOCAL_MIDWIFE),
    json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
  });
  return { res, body: JSON.parse(res.body), ms: performance.now() - started };
}

async function stillServes() {
  stack.sim.setFault(null);
  const { res, body } = await ask();
  assert.equal(res.status, 200);
  assert.equal(body.code, 'SUCCESS');
}

const FAULTS = [
  // Spine holds its answer until the test moves on: only the gateway's own deadline can end the call.
  { fault: { kind: 'hold' }, status: 500, code: 'COULD_NOT_CONNECT_TO_SPINE', why: 'deadline passed' },
  { fault: { kind: 'drop' }, status: 500, code: 'COULD_NOT_CONNECT_TO_SPINE', why: 'connection dropped' },
  {
    fault: { kind: 'http-500' },
    status: 500,
    code: 'COULD_NOT_CONNECT_TO_SPINE',
    why: "a 500 whose body is no FHIR answer is an outage page, not Spine's answer (review 18f F3)",
  },
  { fault: { kind: 'garbage' }, status: 400, code: 'RESPONSE_MESSAGE_VALIDATION_ERROR', why: 'not XML' },
  {
    fault: { kind: 'namespace-flood' },
    status: 400,
    code: 'RESPONSE_MESSAGE_VALIDATION_ERROR',
    why: 'SMSP-VAL-004 thousands of namespace declarations',
  },
  {
    fault: { kind: 'padded' },
    status: 400,
    code: 'RESPONSE_MESSAGE_VALIDATION_ERROR',
    why: 'SMSP-VAL-004 60,000 empty elements in 240 KB, over the element cap',
  },
  {
    fault: { kind: 'content-type', type: 'application/xml+fhir; charset=ebcdic-cp-us' },
    status: 400,
    code: 'RESPONSE_MESSAGE_VALIDATION_ERROR',
    why: 'SMSP-VAL-004 an encoding the gateway cannot decode',
  },
  {
    fault: { kind: 'wrong-content-type' },
    status: 400,
    code: 'RESPONSE_MESSAGE_VALIDATION_ERROR',
    why: 'not FHIR XML',
  },
  {
    fault: { kind: 'invalid-flag' },
    status: 400,
    code: 'RESPONSE_MESSAGE_VALIDATION_ERROR',
    why: 'profile-invalid Flag',
  },
] as const;

describe('Spine faults', () => {
  for (const f of FAULTS) {
    it(`${f.fault.kind} → ${f.status} ${f.code} (${f.why}), then the gateway still serves`, async () => {
      stack.sim.setFault(f.fault as never);
      const audited = stack.auditRows().length;
      const { res, body } = await ask();
      assert.equal(res.status, f.status);
      assert.equal(body.code, f.code);
      assert.equal(body.status, 'error');
      assert.equal(body.assessmentDate, null, 'no Spine data passed on');
      const row = stack.auditRows()[audited]!;
      assert.equal(row.outcomeCode, f.code);
      assert.equal(row.answeredBySpine, 0);
      await stillServes();
    });
  }
  it('an answer without the FHIR namespace is still understood (the spec examples come both ways)', async () => {
    stack.sim.setFault({ kind: 'no-namespace' } as never);
    const { res, body } = await ask();
    assert.equal(res.status, 200);
    assert.equal(body.assessmentDate, '2019-12-10');
    await stillServes();
  });
  it('SMSP-FGMRI-003 nothing is cached: every request reaches Spine', async () => {
    const before = stack.sim.received.length;
    await ask();
    await ask();
    assert.equal(stack.sim.received.length, before + 2);
  });
});

describe('Spine unreachable', () => {
  it('a closed port → 500 COULD_NOT_CONNECT_TO_SPINE', async () => {
    const closed = await startTestStack({
      configure: (r) => (r.spine.endpoint = 'https://127.0.0.1:9/fhir/fgm/query'),
    });
    try {
      const res = await closed.request('/api/fgm-status', {
        token: closed.signToken(LOCAL_MIDWIFE),
        json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
      });
      assert.equal(res.status, 500);
      assert.equal(JSON.parse(res.body).code, 'COULD_NOT_CONNECT_TO_SPINE');
    } finally {
      await closed.close();
    }
  });
  it('an answer over spine.maxResponseBytes → RESPONSE_MESSAGE_VALIDATION_ERROR', async () => {
    // An FGM-IS indicator answer is a few KB; a 1 KiB cap makes the normal answer too large.
    const capped = await startTestStack({ configure: (r) => (r.spine.maxResponseBytes = 1024) });
    try {
      const res = await capped.request('/api/fgm-status', {
        token: capped.signToken(LOCAL_MIDWIFE),
        json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
      });
      assert.equal(JSON.parse(res.body).code, 'RESPONSE_MESSAGE_VALIDATION_ERROR');
      assert.equal(capped.sim.received.length, 1);
    } finally {
      await capped.close();
    }
  });
  it('a Spine certificate not from the configured CA → 500 COULD_NOT_CONNECT_TO_SPINE', async () => {
    // Trusting only the gateway's own (non-CA) certificate makes Spine's certificate unverifiable.
    const untrusted = await startTestStack({
      configure: (r) => (r.spine.tls.caFile = r.listen.tls?.certFile ?? r.spine.tls.certFile),
    });
    try {
      const res = await untrusted.request('/api/fgm-status', {
        token: untrusted.signToken(LOCAL_MIDWIFE),
        json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
      });
      assert.equal(JSON.parse(res.body).code, 'COULD_NOT_CONNECT_TO_SPINE');
      assert.equal(untrusted.sim.received.length, 0);
    } finally {
      await untrusted.close();
    }
  });
});

/** Resolves when `s`'s simulator next receives a query: the request is then really in flight. */
function nextSpineQuery(s: TestStack): Promise<void> {
  const received = s.sim.received;
  return new Promise<void>((resolve) => {
    const push = received.push.bind(received);
    received.push = (...items) => {
      received.push = push;
      resolve();
      return push(...items);
    };
  });
}

describe('a client that goes away', () => {
  it('ends the Spine call at once, not at the deadline, and the interaction is still audited', async () => {
    stack.sim.setFault({ kind: 'delay', ms: TIMEOUT_MS * 3 });
    const audited = stack.auditRows().length;
    const reachedSpine = nextSpineQuery(stack);
    const req = httpRequest(new URL('/api/fgm-status', stack.gatewayUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.signToken(LOCAL_MIDWIFE)}`, 'content-type': 'application/json' },
    });
    req.on('error', () => {}); // we hang up ourselves
    req.end(JSON.stringify({ nhsNumber: '9990000018', birthDate: '2014-03-02' }));
    await reachedSpine;
    const logged = stack.logs.length;
    req.destroy();
    // The log line comes once the handler has finished: the client left, not a Spine timeout.
    const line = await new Promise<string>((resolve) => {
      const look = () => {
        const l = stack.logs.slice(logged).find((x) => x.includes('"msg":"request"'));
        return l ? resolve(l) : setTimeout(look, 10);
      };
      look();
    });
    assert.match(line, /"status":499,"code":"CLIENT_CLOSED_REQUEST","reason":"client went away"/);
    const row = stack.auditRows()[audited]!;
    assert.equal(row.outcomeCode, 'CLIENT_CLOSED_REQUEST');
    assert.equal(row.answeredBySpine, 0);
    await stillServes();
  });
});

describe('graceful shutdown', () => {
  it('close() lets a request in flight finish, then refuses new connections', async () => {
    const slow = await startTestStack();
    slow.sim.setFault({ kind: 'delay', ms: 300 });
    // Close only once the simulator has the query, so the request is really in flight.
    const reachedSpine = nextSpineQuery(slow);
    const inFlight = slow.request('/api/fgm-status', {
      token: slow.signToken(LOCAL_MIDWIFE),
      json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
    });
    await reachedSpine;
    const closed = slow.close();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).code, 'SUCCESS');
    await closed;
    await assert.rejects(slow.request('/healthz'), /ECONNREFUSED/);
  });
});

describe('logs', () => {
  it('nothing the gateway logged contains a valid NHS number', () => {
    assert.ok(stack.logs.length > 5);
    assert.deepEqual(validNhsNumbersIn(stack.logs.join('\n')), []);
  });
});
