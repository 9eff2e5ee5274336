/**
 * @module test/gateway-protection
 * Protecting Spine and surviving its outages, over real sockets: the rate limit and busy tone
 * (SMSP-PERF-001), interactive before batch (SMSP-PERF-007), the circuit breaker
 * (SMSP-PERF-006), taking a client out of service by a config reload (SMSP-SEC-001), /metrics.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, it } from 'node:test';
import { startSpineSimulator } from '../demo/spine/server.ts';
import { CIS2_GP, LOCAL_MIDWIFE, startTestStack, validNhsNumbersIn, type TestStack } from './helpers/stack.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const widget = (stack: TestStack, nhsNumber = '9990000018') =>
  stack.request('/api/fgm-status', { token: stack.signToken(LOCAL_MIDWIFE), json: { nhsNumber, birthDate: '2014-03-02' } });

/** The FHIR interface as the configured batch client system (bearer token). */
async function batch(stack: TestStack) {
  const { buildQueryBundle } = await import('../gateway/fhir/query-bundle.ts');
  const { xml } = buildQueryBundle({
    nhsNumber: '9990000018', sourceAsid: '300000000333', destinationAsid: '200000000111',
    author: { kind: 'local', localId: 'chs-user' }, organization: { odsCode: 'RY2', name: 'Test CHS' },
  });
  return stack.request('/fhir/fgm/query', { token: stack.signToken({ sub: 'chs' }, { client: 'system' }), body: xml, headers: { 'content-type': 'application/fhir+xml' } });
}

describe('SMSP-PERF-001 rate limit toward Spine', () => {
  it('at 10× the configured rate Spine never gets more than rate × time + burst; the rest get the busy tone at once', async () => {
    const stack = await startTestStack({ configure: (r) => (r.spine.rateLimit = { perSecond: 20, burst: 5 }) });
    try {
      const started = performance.now();
      const results: { status: number; retryAfter?: string; code: string; ms: number }[] = [];
      // 200 requests/s for 1.5 s, each sent without waiting for the previous one
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 300; i++) {
        const t0 = performance.now();
        sends.push(
          widget(stack).then((res) => {
            results.push({ status: res.status, code: JSON.parse(res.body).code, ms: performance.now() - t0, ...(res.headers['retry-after'] && { retryAfter: String(res.headers['retry-after']) }) });
          }),
        );
        await new Promise((r) => setTimeout(r, 5)); // pacing the sender, not synchronising a test
      }
      await Promise.all(sends);
      const seconds = (performance.now() - started) / 1000;
      const reachedSpine = stack.sim.received.length;
      assert.ok(reachedSpine <= 20 * seconds + 6 + 1, `Spine got ${reachedSpine} in ${seconds.toFixed(2)} s`);
      const busy = results.filter((r) => r.status === 429);
      assert.ok(busy.length >= 150, `${busy.length} busy answers`);
      assert.equal(results.filter((r) => r.status === 200).length, reachedSpine);
      for (const b of busy) {
        assert.equal(b.code, 'SPINE_BUSY');
        assert.ok(Number(b.retryAfter) >= 1);
      }
      const audit = stack.auditRows().filter((r) => r.outcomeCode === 'SPINE_BUSY');
      assert.equal(audit.length, busy.length, 'every busy tone is audited');
    } finally {
      await stack.close();
    }
  });

  it('memory stays flat while thousands of requests are refused', async () => {
    const stack = await startTestStack({ configure: (r) => (r.spine.rateLimit = { perSecond: 1, burst: 1 }) });
    try {
      const burst = async () => {
        for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 50 }, () => widget(stack)));
      };
      await burst();
      gc();
      const before = process.memoryUsage().heapUsed;
      await burst();
      gc();
      const grown = process.memoryUsage().heapUsed - before;
      // The test stack keeps every log line; 1,000 lines are well under 2 MB. A queue would hold far more.
      assert.ok(grown < 4 * 1024 * 1024, `heap grew ${(grown / 1024 / 1024).toFixed(1)} MB over 1,000 refused requests`);
    } finally {
      await stack.close();
    }
  });
});

describe('SMSP-PERF-007 interactive before batch', () => {
  it('when the bucket runs low, batch clients are refused first and interactive users are still served', async () => {
    // capacity 10, half kept for interactive traffic; a slow refill so the test is not a race
    const stack = await startTestStack({ configure: (r) => (r.spine.rateLimit = { perSecond: 0.2, burst: 9 }) });
    try {
      const batchStatuses: number[] = [];
      for (let i = 0; i < 8; i++) batchStatuses.push((await batch(stack)).status);
      assert.deepEqual(batchStatuses.slice(0, 5), [200, 200, 200, 200, 200]);
      assert.deepEqual(batchStatuses.slice(5), [429, 429, 429], 'batch stops at the interactive reserve');
      const interactive: number[] = [];
      for (let i = 0; i < 5; i++) interactive.push((await widget(stack)).status);
      assert.deepEqual(interactive, [200, 200, 200, 200, 200], 'the reserve serves interactive users');
      assert.equal((await widget(stack)).status, 429);
    } finally {
      await stack.close();
    }
  });
});

describe('SMSP-PERF-006 outage tolerance', () => {
  it('with Spine down the breaker opens, answers fail fast, /healthz says so, and it recovers by itself', async () => {
    let offsetMs = 0;
    const stack = await startTestStack({
      configure: (r) => (r.spine.circuitBreaker = { failureThreshold: 3, coolDownMs: 30_000 }),
      deps: { now: () => new Date(Date.now() + offsetMs) },
    });
    let revived: Awaited<ReturnType<typeof startSpineSimulator>> | undefined;
    try {
      assert.equal((await widget(stack)).status, 200);
      const port = stack.sim.port;
      await stack.sim.close();
      for (let i = 0; i < 3; i++) assert.equal(JSON.parse((await widget(stack)).body).code, 'COULD_NOT_CONNECT_TO_SPINE');
      assert.deepEqual(JSON.parse((await stack.request('/healthz')).body), { status: 'ok', spine: 'down' });

      // Spine is back, but the breaker is open: no traffic reaches it until the cool-down ends.
      revived = await startSpineSimulator({ pkiDir: stack.pkiDir, port });
      const open = await widget(stack);
      assert.equal(JSON.parse(open.body).code, 'COULD_NOT_CONNECT_TO_SPINE');
      assert.equal(revived.received.length, 0);
      assert.ok(stack.logs.some((l) => l.includes('circuit open')));

      offsetMs = 30_000;
      const probe = await widget(stack);
      assert.equal(probe.status, 200, 'one probe goes through and succeeds');
      assert.equal(revived.received.length, 1);
      assert.deepEqual(JSON.parse((await stack.request('/healthz')).body), { status: 'ok', spine: 'up' });
      assert.equal((await widget(stack)).status, 200);
    } finally {
      await revived?.close();
      await stack.close();
    }
  });
});

describe('SMSP-SEC-001 taking a client out of service', () => {
  it('a config reload with enabled:false refuses the client\'s next request, and other clients carry on', async () => {
    const stack = await startTestStack();
    try {
      assert.equal((await widget(stack)).status, 200);
      const raw = JSON.parse(readFileSync(stack.configFile, 'utf8'));
      raw.clients[0].enabled = false;
      writeFileSync(stack.configFile, JSON.stringify(raw));
      assert.deepEqual(await stack.reload(), [raw.clients[0].id]);
      const sent = stack.sim.received.length;
      const refused = await widget(stack);
      assert.equal(refused.status, 403);
      assert.equal(JSON.parse(refused.body).code, 'CLIENT_DISABLED');
      assert.equal(stack.sim.received.length, sent, 'Spine is not called');
      assert.equal(stack.auditRows().at(-1)!.outcomeCode, 'CLIENT_DISABLED');
      const cis2 = await stack.request('/api/fgm-status', { token: stack.signToken(CIS2_GP, { client: 'cis2' }), json: { nhsNumber: '9990000018', birthDate: '2014-03-02' } });
      assert.equal(cis2.status, 200);

      raw.clients[0].enabled = true;
      writeFileSync(stack.configFile, JSON.stringify(raw));
      await stack.reload();
      assert.equal((await widget(stack)).status, 200);
    } finally {
      await stack.close();
    }
  });
});

describe('/metrics', () => {
  it('counts outcomes, Spine latency, busy tones and the breaker state, without patient data', async () => {
    const stack = await startTestStack({ configure: (r) => (r.spine.rateLimit = { perSecond: 0.1, burst: 1 }) });
    try {
      for (const n of ['9990000018', '9990000026', '9990000018', '9990000042']) await widget(stack, n);
      await widget(stack, '9990000019');
      const res = await stack.request('/metrics');
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const text = res.body;
      assert.match(text, /fgm_gateway_requests_total\{code="SUCCESS",route="\/api\/fgm-status",status="200"\} 1/);
      assert.match(text, /fgm_gateway_requests_total\{code="NO_RECORD_FOUND",route="\/api\/fgm-status",status="404"\} 1/);
      assert.match(text, /fgm_gateway_requests_total\{code="INVALID_NHS_NUMBER",route="\/api\/fgm-status",status="400"\} 1/);
      assert.match(text, /fgm_gateway_spine_rate_limited_total\{priority="interactive"\} 2/);
      assert.match(text, /fgm_gateway_spine_request_seconds_count 2/);
      assert.match(text, /fgm_gateway_spine_breaker_state\{state="closed"\} 1/);
      assert.deepEqual(validNhsNumbersIn(text), []);
    } finally {
      await stack.close();
    }
  });
});
