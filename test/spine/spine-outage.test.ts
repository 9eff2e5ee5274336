/**
 * @module test/spine/spine-outage
 * Spine down behind a proxy (issue 18, review 18f F3): an HTTP 5xx whose body is no FHIR answer —
 * an HTML error page, the same page as XHTML, text, nothing — is "could not reach Spine"
 * (COULD_NOT_CONNECT_TO_SPINE, SMSP-0004, 500), never the "Spine's answer was invalid" of
 * RESPONSE_MESSAGE_VALIDATION_ERROR that IT would read as Spine's fault; and it counts against the
 * circuit breaker as any other outage does (SMSP-PERF-006). Over real sockets to the simulator's
 * `outage:<status>:<page>` fault.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LOCAL_MIDWIFE, startTestStack, type TestStack } from '../helpers/stack.ts';

// The SMSP error table's row for an outage (SMSP-ERR-003), written here, not read from the vocabulary file.
const UNREACHABLE = { status: 500, code: 'COULD_NOT_CONNECT_TO_SPINE', smspCode: 'SMSP-0004' };
const PAGES = ['html', 'xhtml', 'text', 'empty'] as const;

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ spineTimeoutMs: 2000 });
});
after(async () => {
  await stack?.close();
});

const ask = async (s: TestStack, user = LOCAL_MIDWIFE) => {
  const res = await s.request('/api/fgm-status', {
    token: s.signToken(user),
    json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
  });
  return { res, body: JSON.parse(res.body) };
};

describe('SMSP-PERF-006 SMSP-ERR-003 Spine down behind a proxy: an HTTP 5xx without a FHIR answer', () => {
  for (const [status, page] of [
    [502, 'html'],
    [503, 'xhtml'],
    [504, 'text'],
    [500, 'empty'],
    [503, 'html'],
  ] as const)
    it(`outage:${status}:${page} → 500 COULD_NOT_CONNECT_TO_SPINE (SMSP-0004), audited as not Spine's answer, the reason in the log`, async () => {
      stack.sim.setFault({ kind: 'outage', status, page });
      try {
        const audited = stack.auditRows().length;
        const logged = stack.logs.length;
        const sent = stack.sim.received.length;
        const { res, body } = await ask(stack);
        assert.equal(stack.sim.received.length, sent + 1, 'Spine (the proxy) was asked');
        assert.deepEqual(
          [res.status, body.code, body.smspCode],
          [UNREACHABLE.status, UNREACHABLE.code, UNREACHABLE.smspCode],
        );
        assert.equal(body.status, 'error');
        assert.equal(body.assessmentDate, null);
        const row = stack.auditRows()[audited]!;
        assert.deepEqual([row.outcomeCode, row.answeredBySpine], [UNREACHABLE.code, 0]);
        const line = stack.logs
          .slice(logged)
          .map((l) => JSON.parse(l))
          .find((l) => l.msg === 'request' && l.code === UNREACHABLE.code);
        assert.ok(line, 'the request is logged with its code');
        assert.match(JSON.stringify(line), new RegExp(`HTTP ${status} without a FHIR answer`), 'IT sees why');
      } finally {
        stack.sim.setFault(null);
      }
      assert.equal((await ask(stack)).body.code, 'SUCCESS', 'served again once Spine is back');
    });

  it('every page form parses as a simulator fault, and a status under 500 or an unknown page is refused', async () => {
    const { parseFault } = await import('../../demo/spine/faults.ts');
    for (const page of PAGES) assert.deepEqual(parseFault(`outage:502:${page}`), { kind: 'outage', status: 502, page });
    assert.throws(() => parseFault('outage:404:html'), /SPINE_SIM_FAULT: "outage:404:html"/);
    assert.throws(() => parseFault('outage:502:pdf'), /SPINE_SIM_FAULT: "outage:502:pdf"/);
    assert.throws(() => parseFault('outage:502'), /SPINE_SIM_FAULT/);
  });

  it("a 5xx carrying Spine's own FHIR answer is still read as Spine's answer, not as an outage", async () => {
    stack.sim.setFault({ kind: 'http-status', status: 500 });
    try {
      const { body } = await ask(stack);
      assert.notEqual(body.code, UNREACHABLE.code);
    } finally {
      stack.sim.setFault(null);
    }
  });
});

describe('SMSP-PERF-006 the outage opens the circuit breaker', () => {
  it('two callers meeting a proxy error page open it: /healthz says down and the next call is answered at once without asking Spine', async () => {
    const s = await startTestStack({
      configure: (r) => (r.spine.circuitBreaker = { failureThreshold: 2, coolDownMs: 600_000 }),
    });
    try {
      s.sim.setFault({ kind: 'outage', status: 502, page: 'html' });
      assert.equal(JSON.parse((await s.request('/healthz')).body).spine, 'up');
      assert.equal((await ask(s)).body.code, UNREACHABLE.code);
      assert.equal((await ask(s, { ...LOCAL_MIDWIFE, sub: 'bsmith', name: 'Bo Smith' })).body.code, UNREACHABLE.code);
      assert.equal(JSON.parse((await s.request('/healthz')).body).spine, 'down', 'the breaker is open');
      const sent = s.sim.received.length;
      const { res, body } = await ask(s, { ...LOCAL_MIDWIFE, sub: 'cdavis', name: 'Cy Davis' });
      assert.deepEqual([res.status, body.code], [500, UNREACHABLE.code]);
      assert.equal(s.sim.received.length, sent, 'failed fast: Spine not asked while the breaker is open');
    } finally {
      await s.close();
    }
  });
});
