/**
 * @module test/fairness/gateway-protection
 * Protecting Spine and surviving its outages, over real sockets: the rate limit and busy tone
 * (SMSP-PERF-001), interactive before batch (SMSP-PERF-007), the circuit breaker
 * (SMSP-PERF-006), taking a client out of service by a config reload (SMSP-SEC-001), /metrics on
 * its own listener.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, it } from 'node:test';
import { startSpineSimulator } from '../../demo/spine/server.ts';
import { CIS2_PEOPLE } from '../../demo/cis2/users.ts';
import { LOCAL_MIDWIFE, startTestStack, TEST_ORIGIN, validNhsNumbersIn, type TestStack } from '../helpers/stack.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// Any under-18 birth date: the gateway checks the age itself and Spine is asked by NHS number only.
const widget = (stack: TestStack, nhsNumber = '9990000018', token = stack.signToken(LOCAL_MIDWIFE)) =>
  stack.request('/api/fgm-status', {
    token,
    json: { nhsNumber, birthDate: '2014-03-02' },
    headers: { origin: TEST_ORIGIN },
  });
/** The smartcard GP's CIS2 access token, from the CIS2 double. */
const cis2Gp = (stack: TestStack) => stack.cis2Token(CIS2_PEOPLE.patel.uid, { roleId: '555021936108' });

/** Each user's own token: a test of the shares between clients or priorities is not one user's flood (issue 21). */
const user = (stack: TestStack, i: number) => stack.signToken({ ...LOCAL_MIDWIFE, sub: `midwife-${i}` });

/** The FHIR interface as the configured batch client system (bearer token), for user `localId`. */
async function batch(stack: TestStack, localId = 'chs-user') {
  const { buildQueryBundle } = await import('../../gateway/fhir/query-bundle.ts');
  const { xml } = buildQueryBundle({
    nhsNumber: '9990000018',
    sourceAsid: '300000000333',
    destinationAsid: '200000000111',
    author: { kind: 'local', localId },
    organization: { odsCode: 'RY2', name: 'Test CHS' },
  });
  return stack.request('/fhir/fgm/query', {
    token: stack.signToken({ sub: 'chs' }, { client: 'system' }),
    body: xml,
    headers: { 'content-type': 'application/fhir+xml' },
  });
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
            results.push({
              status: res.status,
              code: JSON.parse(res.body).code,
              ms: performance.now() - t0,
              ...(res.headers['retry-after'] && { retryAfter: String(res.headers['retry-after']) }),
            });
          }),
        );
        await new Promise((r) => setTimeout(r, 5)); // pacing the sender, not synchronising a test
      }
      await Promise.all(sends);
      const seconds = (performance.now() - started) / 1000;
      const reachedSpine = stack.sim.received.length;
      assert.ok(reachedSpine <= 20 * seconds + 6 + 1, `Spine got ${reachedSpine} in ${seconds.toFixed(2)} s`);
      const busy = results.filter((r) => r.status === 429);
      // Every request the budget did not allow got the busy tone: at least what rate × time + burst
      // leaves of the 300, however long a busy machine took to send them (no fixed count).
      assert.equal(busy.length + reachedSpine, 300, 'each request answered by Spine or refused busy');
      assert.ok(busy.length >= 300 - (20 * seconds + 6 + 1), `${busy.length} busy answers in ${seconds.toFixed(2)} s`);
      assert.equal(results.filter((r) => r.status === 200).length, reachedSpine);
      for (const b of busy) {
        assert.equal(b.code, 'SPINE_BUSY');
        assert.ok(Number(b.retryAfter) >= 1);
      }
      // One user's busy tones beyond the first 20 a minute are counted in a summary, written when the gateway stops.
      await stack.restart();
      const audit = stack.auditRows().filter((r) => r.outcomeCode === 'SPINE_BUSY');
      const counted = (r: Record<string, unknown>) =>
        (JSON.parse((r.detail as string | null) ?? '{}') as { refusedAttempts?: { count: number } }).refusedAttempts
          ?.count ?? 1;
      assert.equal(
        audit.reduce((n, r) => n + counted(r), 0),
        busy.length,
        'every busy tone is audited, as a row or in a count',
      );
    } finally {
      await stack.close();
    }
  });

  it("one user's burst on one client leaves another client its share of Spine, under the gateway-wide cap", async () => {
    const stack = await startTestStack({ configure: (r) => (r.spine.rateLimit = { perSecond: 30, burst: 29 }) });
    try {
      // Client B (smartcard EPR): one clinician, one request at a time, about 2 a second — under her
      // part (a quarter, userShare) of its default share (a third of 30 a second, as three clients are configured).
      const gp = await cis2Gp(stack);
      const other: number[] = [];
      let bursting = true;
      const clinician = (async () => {
        while (bursting) {
          other.push((await widget(stack, '9990000026', gp)).status);
          await new Promise((r) => setTimeout(r, 500)); // pacing the clinician, not synchronising
        }
      })();
      // Client A (local EPR): one user's burst of 400 requests in about 2 s, each with its own token.
      const started = performance.now();
      const burst: Promise<number>[] = [];
      for (let i = 0; i < 400; i++) {
        burst.push(widget(stack, '9990000018', stack.signToken(LOCAL_MIDWIFE)).then((r) => r.status));
        await new Promise((r) => setTimeout(r, 5)); // pacing the sender, not synchronising
      }
      const mine = await Promise.all(burst);
      bursting = false;
      await clinician;
      const seconds = (performance.now() - started) / 1000;
      assert.ok(mine.includes(429), 'the burst was over the limit');
      assert.ok(other.length >= 3, `the other client asked ${other.length} times`);
      assert.deepEqual(
        other.filter((s) => s !== 404),
        [],
        "every answer to the other client is Spine's",
      );
      assert.ok(
        stack.sim.received.length <= 30 * seconds + 30 + 1,
        `Spine got ${stack.sim.received.length} in ${seconds.toFixed(2)} s`,
      );
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
      assert.ok(
        grown < 4 * 1024 * 1024,
        `heap grew ${(grown / 1024 / 1024).toFixed(1)} MB over 1,000 refused requests`,
      );
    } finally {
      await stack.close();
    }
  });
});

describe('SMSP-PERF-007 interactive before batch', () => {
  it('when the bucket runs low, batch clients are refused first and interactive users, new ones beyond their parts too, are still served', async () => {
    // By hand, from rate-limiter.ts with userShare 0.25. Capacity 30, reserve 15 (half). The batch
    // client has spineShare 0.7 (its bucket 21 tokens, its newcomers' part half that, 10.5), each
    // widget client 0.15 (newcomers' part 2.25): a new id's first request and the first token of
    // its own part both come from its client's newcomers' part (issue 21), so without refill that
    // part is what a client's new users can take within their parts. The batch requests name their
    // originating user (sourceAsid/localId), so the per-user rule applies to them too. Floors: a
    // request within its part may take down to its priority's base (batch 15, interactive 0);
    // beyond it, only the upper half of that part (batch 15 + 7 = 22), and interactive, while batch
    // asks, half the reserve (7): before batch, which stops at the reserve.
    // One token in 50 s: the counts below do not move while the test runs.
    const stack = await startTestStack({
      configure: (r) => {
        r.spine.rateLimit = { perSecond: 0.02, burst: 29 };
        for (const c of r.clients) c.spineShare = c.priority === 'batch' ? 0.7 : 0.15;
      },
    });
    try {
      // One batch user: her first request and her own part's first token from the newcomers' part
      // (10.5 -> 8.5; bucket 30 -> 29), then that token (28), then spare tokens down to the batch
      // floor beyond a part (28 -> 22: 6). The 9th is refused with 22 left.
      const first: number[] = [];
      for (let i = 0; i < 9; i++) first.push((await batch(stack, 'chs-user-0')).status);
      assert.deepEqual(
        first,
        [...Array(8).fill(200), 429],
        'beyond her part, batch gets the upper half of its part only',
      );
      // Four more batch users, each asking twice (a request, then her own token): the newcomers'
      // part pays for all four (two tokens each, 8.5 -> 0.5), and they take the bucket down to the
      // interactive reserve (22 -> 15) in 7 requests; the 8th, within its part, finds only the reserve.
      const more: number[] = [];
      for (let i = 1; i <= 4; i++) for (let k = 0; k < 2; k++) more.push((await batch(stack, `chs-user-${i}`)).status);
      assert.deepEqual(more, [...Array(7).fill(200), 429], 'batch stops at the interactive reserve');
      // A clinician new to the gateway: test-epr's newcomers' part (2.25) pays for her request and
      // her own first token (0.25 left), from the reserve batch could not touch (15 -> 14 -> 13).
      const clinician = user(stack, 0);
      const interactive = [
        (await widget(stack, '9990000018', clinician)).status,
        (await widget(stack, '9990000018', clinician)).status,
      ];
      assert.deepEqual(interactive, [200, 200], 'the reserve serves interactive users');
      // More new clinicians find that part empty: beyond a part, they take test-epr's share and spare
      // tokens from the reserve down to half of it (13 -> 7: 6), before batch; the 7th hears the
      // busy tone (on the old rule already the first, beyond a part only above 15, as batch).
      const clinic: number[] = [];
      for (let i = 1; i <= 7; i++) clinic.push((await widget(stack, '9990000018', user(stack, i))).status);
      assert.deepEqual(clinic, [...Array(6).fill(200), 429], 'interactive users beyond their parts come before batch');
      assert.equal((await batch(stack, 'chs-user-5')).status, 429, 'batch is still refused');
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
      // An outage fails everyone: three clinicians (one user's failures alone never open it).
      for (let i = 0; i < 3; i++)
        assert.equal(
          JSON.parse((await widget(stack, '9990000018', user(stack, i))).body).code,
          'COULD_NOT_CONNECT_TO_SPINE',
        );
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

describe('SMSP-PERF-006 issue 18 review F1: one user cannot open the breaker for everyone', () => {
  it("one user asking again and again about a child whose answer never comes (Spine drops it) leaves the breaker closed: another clinician's indicator is answered", async () => {
    const stack = await startTestStack({
      configure: (r) => (r.spine.circuitBreaker = { failureThreshold: 3, coolDownMs: 30_000 }),
    });
    try {
      const flooder = user(stack, 1);
      // 9990000069: the simulator drops the connection for this child, every time.
      for (let i = 0; i < 10; i++)
        assert.equal(JSON.parse((await widget(stack, '9990000069', flooder)).body).code, 'COULD_NOT_CONNECT_TO_SPINE');
      assert.equal(JSON.parse((await stack.request('/healthz')).body).spine, 'up');
      const hers = await widget(stack, '9990000018', user(stack, 2));
      assert.equal(hers.status, 200, hers.body);
      assert.equal(JSON.parse(hers.body).assessmentDate, '2019-12-10');
    } finally {
      await stack.close();
    }
  });
});

describe('SMSP-SEC-001 taking a client out of service', () => {
  it("a config reload that leaves the budget's keys alone keeps the budget: the clinicians it knows keep their parts beside a flood rotating user ids (no fresh burst for the flood)", async () => {
    // So slow a refill that only the rules decide: the budget is the bucket's 30 tokens.
    const stack = await startTestStack({
      configure: (r) => {
        r.spine.rateLimit = { perSecond: 0.0001, burst: 29 };
        r.listen.maxInFlightPerUser = 1000;
        r.listen.maxInFlightPerClient = 1000;
      },
    });
    try {
      const known = user(stack, 0);
      assert.equal((await widget(stack, '9990000018', known)).status, 200, 'her first check makes her known');
      const rotate = async (from: number) =>
        Promise.all(Array.from({ length: 100 }, (_, i) => widget(stack, '9990000018', user(stack, from + i))));
      await rotate(1000);
      // A reload that changes nothing of the budget (a client's origins here).
      const raw = JSON.parse(readFileSync(stack.configFile, 'utf8'));
      raw.clients[0].origins = [...raw.clients[0].origins, 'https://another.portal.example'];
      writeFileSync(stack.configFile, JSON.stringify(raw));
      await stack.reload();
      const after = await rotate(2000);
      assert.equal(
        after.filter((r) => r.status === 200).length,
        0,
        'the flood finds the budget as it left it, not a fresh burst',
      );
      const hers = await widget(stack, '9990000018', known);
      assert.equal(hers.status, 200, hers.body);
      assert.equal(JSON.parse(hers.body).status, 'indicator');
    } finally {
      await stack.close();
    }
  });

  it('a config reload that changes the rate starts a budget that still knows her and stands where the old one stood: beside a flood rotating user ids she keeps her part, and the flood finds no fresh burst (hostile review atk21b F1, atk21c F5)', async () => {
    const stack = await startTestStack({
      configure: (r) => {
        r.spine.rateLimit = { perSecond: 0.0001, burst: 29 };
        r.listen.maxInFlightPerUser = 1000;
        r.listen.maxInFlightPerClient = 1000;
      },
    });
    try {
      const known = user(stack, 0);
      assert.equal((await widget(stack, '9990000018', known)).status, 200, 'her first check makes her known');
      const rotate = async (from: number) =>
        Promise.all(Array.from({ length: 100 }, (_, i) => widget(stack, '9990000018', user(stack, from + i))));
      await rotate(1000);
      const raw = JSON.parse(readFileSync(stack.configFile, 'utf8'));
      raw.spine.rateLimit = { perSecond: 0.0002, burst: 29 };
      writeFileSync(stack.configFile, JSON.stringify(raw));
      await stack.reload();
      const after = await rotate(2000);
      assert.equal(
        after.filter((r) => r.status === 200).length,
        0,
        'the new budget carries the levels the flood left: no fresh burst for it',
      );
      const hers = await widget(stack, '9990000018', known);
      assert.equal(hers.status, 200, hers.body);
      assert.equal(JSON.parse(hers.body).status, 'indicator');
    } finally {
      await stack.close();
    }
  });

  it("a config reload with enabled:false refuses the client's next request, and other clients carry on", async () => {
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
      const cis2 = await widget(stack, '9990000018', await cis2Gp(stack));
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

describe('/metrics on its own listener', () => {
  it('SMSP-PERF-002 counts outcomes, Spine latency, busy tones and the breaker state, without patient data', async () => {
    // By hand (rate-limiter.ts, test-epr's share 1/3, userShare 0.25): capacity 4, reserve 2; test-epr's
    // newcomers' part max(1, 1/6 × 4) = 1 token. The first new user takes it (4 -> 3); the second,
    // beyond a part, a spare token of the upper half (3 -> 2); the third and fourth find only the
    // lower half: busy. So Spine answers two (an indicator, no record) and two hear the busy tone.
    // One token in 50 s: the counts do not move while the test runs.
    const stack = await startTestStack({ configure: (r) => (r.spine.rateLimit = { perSecond: 0.02, burst: 3 }) });
    try {
      for (const [i, n] of ['9990000018', '9990000026', '9990000018', '9990000042'].entries())
        await widget(stack, n, user(stack, i));
      await widget(stack, '9990000019');
      const res = await fetch(stack.metricsUrl);
      assert.equal(res.status, 200);
      assert.match(String(res.headers.get('content-type')), /^text\/plain; version=0\.0\.4/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const text = await res.text();
      assert.match(text, /fgm_gateway_requests_total\{code="SUCCESS",route="\/api\/fgm-status",status="200"\} 1/);
      assert.match(
        text,
        /fgm_gateway_requests_total\{code="NO_RECORD_FOUND",route="\/api\/fgm-status",status="404"\} 1/,
      );
      assert.match(
        text,
        /fgm_gateway_requests_total\{code="INVALID_NHS_NUMBER",route="\/api\/fgm-status",status="400"\} 1/,
      );
      assert.match(text, /fgm_gateway_spine_rate_limited_total\{priority="interactive",client="test-epr"\} 2/);
      assert.match(text, /fgm_gateway_spine_request_seconds_count 2/);
      assert.match(text, /fgm_gateway_spine_breaker_state\{state="closed"\} 1/);
      // Names, labels and help text, not sample values: process_start_time_seconds is a 10-digit
      // epoch that passes modulus 11 about one run in eleven.
      assert.deepEqual(
        validNhsNumbersIn(
          text
            .split('\n')
            .map((l) => (l.startsWith('#') ? l : l.replace(/ \S+$/, '')))
            .join('\n'),
        ),
        [],
      );
      // The metrics listener serves nothing else.
      assert.equal(
        (await fetch(new URL('/api/fgm-status', stack.metricsUrl), { method: 'POST', body: '{}' })).status,
        404,
      );
      assert.equal((await fetch(new URL('/healthz', stack.metricsUrl))).status, 404);
    } finally {
      await stack.close();
    }
  });

  it("SMSP-IG-001 /metrics on the public listener is 404 in the vocabulary's shape", async () => {
    const stack = await startTestStack();
    try {
      const res = await stack.request('/metrics');
      assert.equal(res.status, 404);
      assert.equal(JSON.parse(res.body).code, 'NOT_FOUND');
      assert.doesNotMatch(res.body, /fgm_gateway_/);
    } finally {
      await stack.close();
    }
  });

  it("SMSP-IG-001 nothing an unauthenticated caller can read on the public listener changes with a query's outcome", async () => {
    const stack = await startTestStack();
    try {
      // Everything answerable without credentials by GET, as an outsider would probe after someone's query.
      const probe = async () =>
        Promise.all(
          ['/metrics', '/healthz', '/openapi.json', '/cds-services', '/admin/throughput', '/nope'].map(async (path) => {
            const res = await stack.request(path);
            return `${path} ${res.status} ${res.body}`;
          }),
        );
      const before = await probe();
      assert.equal((await widget(stack, '9990000018')).status, 200, 'an indicator');
      const afterIndicator = await probe();
      assert.equal((await widget(stack, '9990000026')).status, 404, 'no record');
      const afterNoRecord = await probe();
      assert.deepEqual(afterIndicator, before);
      assert.deepEqual(afterNoRecord, before);
    } finally {
      await stack.close();
    }
  });

  it('shuts down with the gateway, and a metrics port in use stops start-up with one line naming the key', async () => {
    const stack = await startTestStack();
    const taken = new URL(stack.metricsUrl).port;
    try {
      await assert.rejects(
        startTestStack({ configure: (r) => (r.metrics = { host: '127.0.0.1', port: Number(taken) }) }),
        (e: Error) =>
          e.name === 'ConfigError' &&
          new RegExp(`^config: metrics: cannot listen on 127\\.0\\.0\\.1:${taken}: EADDRINUSE$`).test(e.message),
      );
    } finally {
      await stack.close();
    }
    await assert.rejects(fetch(stack.metricsUrl), 'nothing listens on the metrics port any more');
  });
});
