/**
 * @module test/gateway/gateway-client-faults
 * Issue 11, "survive every client": hundreds of clients that hang up at every stage of a request,
 * or reset the connection, against the BUILT gateway run as a process (`npm run build` first) and
 * a slow Spine simulator. Afterwards the process is still up, `/healthz` says the Spine link is
 * `up`, the breaker never opened, the next request is answered, and the audit trail (the real
 * SQLite file) says the client went away — not that Spine failed (SMSP-PERF-006, SMSP-AUDIT-001).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { createHttpsSpineClient } from '../../gateway/spine/client.ts';
import { builtGateway, listeningUrl } from '../helpers/built-gateway.ts';
import {
  GATEWAY_ASID,
  LOCAL_MIDWIFE,
  SPINE_ASID,
  startTestStack,
  validNhsNumbersIn,
  type TestStack,
} from '../helpers/stack.ts';

const NHS_NUMBER = '9990000018';
const BIRTH_DATE = '2014-03-02';
const SPINE_DELAY_MS = 3000;
const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;
const KEEP_ALIVE_TIMEOUT_MS = 500;

/** A gateway process started from the stack's own config file, with its own audit file and `edit`s. */
async function startChild(
  stack: TestStack,
  name: string,
  edit: (raw: Record<string, any>) => void = () => {},
  wrap: string[] = [],
) {
  const raw = JSON.parse(readFileSync(stack.configFile, 'utf8'));
  raw.audit.sqliteFile = `${name}-audit.sqlite`;
  edit(raw);
  const file = join(stack.dir, `${name}.config.json`);
  writeFileSync(file, JSON.stringify(raw));
  const [cmd, ...args] = [...wrap, process.execPath, ...builtGateway('main.js')];
  const child = spawn(cmd!, args, {
    env: { ...process.env, FGM_GATEWAY_CONFIG: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const url = await listeningUrl(child, name);
  return {
    child,
    url: new URL(url),
    stdout: () => out,
    stderr: () => err,
    auditRows: () => {
      const db = new Database(join(stack.dir, `${name}-audit.sqlite`), { readonly: true });
      try {
        return db.prepare("SELECT * FROM audit_event WHERE eventType = 'widget-query' ORDER BY seq").all() as Record<
          string,
          unknown
        >[];
      } finally {
        db.close();
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Resolves once the simulator has received `n` more queries: those requests are then really at
 * Spine. Rejects if they have not all arrived within 10 s (e.g. an open breaker stopped them).
 */
function spineQueries(stack: TestStack, n: number): Promise<void> {
  const received = stack.sim.received;
  const push = received.push.bind(received);
  let seen = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      received.push = push;
      reject(new Error(`only ${seen} of ${n} queries reached Spine`));
    }, 10_000);
    received.push = (...items) => {
      seen += items.length;
      if (seen >= n) {
        clearTimeout(timer);
        received.push = push;
        resolve();
      }
      return push(...items);
    };
  });
}

/** Waits for `check` to hold, looking every 50 ms, up to `ms`. */
async function until(check: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function rawRequest(token: string) {
  const body = JSON.stringify({ nhsNumber: NHS_NUMBER, birthDate: BIRTH_DATE });
  const head = `POST /api/fgm-status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  return { head, body };
}

/** A raw TCP connection to `url`, resolved once connected; errors (our own resets) are expected. */
async function open(url: URL): Promise<Socket> {
  const s = connect(Number(url.port), url.hostname);
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

/** Writes `data`, and once the kernel has it, hangs up: a FIN, or a TCP reset when `reset`. */
function writeThenHangUp(s: Socket, data: string, reset: boolean): Promise<void> {
  return new Promise((resolve) => {
    s.write(data, () => {
      if (reset) s.resetAndDestroy();
      else s.destroy();
      resolve();
    });
  });
}

function ask(url: URL, token: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL('/api/fgm-status', url),
      {
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ nhsNumber: NHS_NUMBER, birthDate: BIRTH_DATE }));
  });
}

async function healthz(url: URL) {
  const res = await fetch(new URL('/healthz', url));
  return { status: res.status, body: (await res.json()) as { status: string; spine: string } };
}

let stack: TestStack;
before(async () => {
  stack = await startTestStack({
    spineTimeoutMs: 10_000,
    configure: (r) => {
      Object.assign(r.listen, {
        headersTimeoutMs: HEADERS_TIMEOUT_MS,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
      });
      // Two counted failures would open the breaker, and it would stay open for the whole test.
      r.spine.circuitBreaker = { failureThreshold: 2, coolDownMs: 600_000 };
      r.spine.rateLimit = { perSecond: 10_000, burst: 10_000 };
    },
  });
});
after(async () => {
  await stack?.close();
});

describe('SMSP-PERF-006 hundreds of clients hang up at every stage against a slow Spine', () => {
  it(
    'the process stays up, the breaker stays closed, the next request is answered, and the audit says the client went away',
    { timeout: 120_000 },
    async () => {
      // One token for every request here: its in-flight bound is lifted, as this is about hang-ups, not one user's share.
      const gw = await startChild(stack, 'faults', (r) => (r.listen.maxInFlightPerUser = 1000));
      try {
        stack.sim.setFault({ kind: 'delay', ms: SPINE_DELAY_MS });
        const token = stack.signToken(LOCAL_MIDWIFE);
        const { head, body } = rawRequest(token);
        let reachedApp = 0;

        // Before the headers end: the request never reaches the app, so nothing is audited.
        for (let i = 0; i < 100; i++)
          await writeThenHangUp(await open(gw.url), head.slice(0, (i * 7) % (head.length - 4)), i % 2 === 1);

        // Mid-body: headers complete, body cut off.
        for (let i = 0; i < 100; i++) {
          await writeThenHangUp(await open(gw.url), head + body.slice(0, 1 + (i % (body.length - 1))), i % 2 === 1);
          reachedApp++;
        }

        // After authentication: the whole request, then straight away gone — the hang-up lands
        // anywhere from the token check to the start of the Spine call.
        for (let batch = 0; batch < 10; batch++) {
          await Promise.all(
            Array.from({ length: 20 }, async (_, i) => writeThenHangUp(await open(gw.url), head + body, i % 2 === 1)),
          );
          reachedApp += 20;
        }

        // During the Spine call: each batch is at Spine, then hangs up, while a well-behaved request
        // is at Spine too: what it gets must not change.
        const neighbours: ReturnType<typeof ask>[] = [];
        for (let batch = 0; batch < 5; batch++) {
          const atSpine = spineQueries(stack, 21);
          const sockets = await Promise.all(
            Array.from({ length: 20 }, async () => {
              const s = await open(gw.url);
              s.write(head + body);
              return s;
            }),
          );
          neighbours.push(ask(gw.url, token));
          await atSpine;
          sockets.forEach((s, i) => (i % 2 ? s.resetAndDestroy() : s.destroy()));
          reachedApp += 20;
        }
        for (const answer of await Promise.all(neighbours)) {
          assert.equal(answer.status, 200);
          assert.equal(answer.body.code, 'SUCCESS');
        }

        // While the answer is written: gone at the first byte of the answer. The audit record is
        // written before the answer goes out (SMSP-AUDIT-001), so it says what Spine answered.
        stack.sim.setFault({ kind: 'delay', ms: 50 });
        for (let batch = 0; batch < 3; batch++) {
          await Promise.all(
            Array.from({ length: 20 }, async (_, i) => {
              const s = await open(gw.url);
              s.write(head + body);
              await once(s, 'data');
              if (i % 2) s.resetAndDestroy();
              else s.destroy();
            }),
          );
        }
        const answered = 60;

        // The answered ones are each audited at once; the hang-ups before Spine beyond one user's
        // first 20 a minute are counted in a summary written when the gateway stops (audit.md).
        const successes = answered + 5; // + the neighbours
        await until(
          () => gw.auditRows().filter((r) => r.outcomeCode === 'SUCCESS').length >= successes,
          20_000,
          `${successes} SUCCESS audit records (${gw
            .auditRows()
            .map((r) => r.outcomeCode)
            .join()})`,
        );

        assert.equal(gw.child.exitCode, null, `the gateway is still running: ${gw.stderr()}`);
        assert.equal(gw.child.signalCode, null);
        const health = await healthz(gw.url);
        assert.equal(health.status, 200);
        assert.equal(health.body.spine, 'up');
        stack.sim.setFault(null);
        const next = await ask(gw.url, token);
        assert.equal(next.status, 200);
        assert.equal(next.body.code, 'SUCCESS');

        await gw.stop();
        const rows = gw.auditRows();
        const counted = (r: Record<string, unknown>) =>
          (JSON.parse((r.detail as string | null) ?? '{}') as { refusedAttempts?: { count: number } }).refusedAttempts
            ?.count ?? 1;
        const byOutcome = new Map<string, number>();
        for (const r of rows)
          byOutcome.set(String(r.outcomeCode), (byOutcome.get(String(r.outcomeCode)) ?? 0) + counted(r));
        assert.deepEqual(Object.fromEntries(byOutcome), {
          CLIENT_CLOSED_REQUEST: reachedApp,
          SUCCESS: answered + 5 + 1,
        });
        for (const r of rows.filter((x) => x.outcomeCode === 'CLIENT_CLOSED_REQUEST'))
          assert.equal(r.answeredBySpine, 0);

        const out = gw.stdout();
        assert.doesNotMatch(out, /"breaker":"open"/, 'the breaker never opened');
        assert.doesNotMatch(out, /COULD_NOT_CONNECT_TO_SPINE|unexpected error/, 'no log blames Spine or the gateway');
        assert.match(out, /"code":"CLIENT_CLOSED_REQUEST","reason":"client went away"/);
        assert.deepEqual(validNhsNumbersIn(out), []);
        assert.equal(gw.stderr(), '', 'nothing on stderr (no stack trace)');
      } finally {
        await gw.stop();
      }
    },
  );
});

/** Resolves when the server closes `s`, with how long that took and what it sent first. */
async function closedBy(s: Socket): Promise<{ ms: number; got: string }> {
  const started = performance.now();
  let got = '';
  s.on('data', (d: Buffer) => (got += d));
  await once(s, 'close');
  return { ms: performance.now() - started, got };
}

describe('deadlines: idle and slow connections are closed', () => {
  // Not before the deadline (a timer never fires early); that they close at all is the proof the
  // deadline acts (only the server can close them). No upper bound: a loaded machine is late.
  it('a connection that sends nothing is closed at the headers deadline', async () => {
    const { ms } = await closedBy(await open(new URL(stack.gatewayUrl)));
    assert.ok(ms >= HEADERS_TIMEOUT_MS - 50, `${Math.round(ms)} ms`);
  });
  it('a client that stops halfway through its headers is closed at the headers deadline', async () => {
    const s = await open(new URL(stack.gatewayUrl));
    s.write('POST /api/fgm-status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthori');
    const { ms, got } = await closedBy(s);
    assert.ok(ms >= HEADERS_TIMEOUT_MS - 50, `${Math.round(ms)} ms`);
    assert.match(got, /^(HTTP\/1\.1 408 |$)/);
  });
  it('a client that stops halfway through its body is closed at the request deadline', async () => {
    const s = await open(new URL(stack.gatewayUrl));
    const { head, body } = rawRequest(stack.signToken(LOCAL_MIDWIFE));
    s.write(head + body.slice(0, 5));
    const { ms } = await closedBy(s);
    assert.ok(ms >= REQUEST_TIMEOUT_MS - 50, `${Math.round(ms)} ms`);
  });
  it('an idle keep-alive connection is closed at the keep-alive deadline', async () => {
    const s = await open(new URL(stack.gatewayUrl));
    s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await once(s, 'data');
    const { ms } = await closedBy(s);
    assert.ok(ms >= KEEP_ALIVE_TIMEOUT_MS, `${Math.round(ms)} ms`);
  });
});

describe('a missing or invalid Host header', () => {
  const CASES = {
    'HTTP/1.1 without Host': 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n',
    'HTTP/1.0 without Host': 'GET /healthz HTTP/1.0\r\n\r\n',
    'a Host with a space': 'GET /healthz HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n',
    'a Host with a user part':
      'POST /api/fgm-status HTTP/1.1\r\nHost: 9990000018@x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    // RFC 9112 §3.2: more than one Host field is a 400, whichever one a proxy would have read.
    'two Host headers': 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: other.example\r\nConnection: close\r\n\r\n',
  };
  // The security headers the app puts on every API answer, read from a real one.
  const SECURITY =
    /^(content-security-policy|strict-transport-security|x-content-type-options|x-frame-options|referrer-policy|cross-origin-.*|origin-agent-cluster|x-dns-prefetch-control|x-download-options|x-permitted-cross-domain-policies|x-xss-protection)$/;
  for (const [name, text] of Object.entries(CASES)) {
    it(`SMSP-ERR-002 ${name}: 400 INPUT_MESSAGE_VALIDATION_ERROR in the vocabulary's JSON shape, logged, and the gateway serves on`, async () => {
      const logged = stack.logs.length;
      const s = await open(new URL(stack.gatewayUrl));
      s.write(text);
      const { got } = await closedBy(s);
      const [head, body] = got.split('\r\n\r\n');
      assert.match(head!, /^HTTP\/1\.[01] 400 /);
      assert.match(head!, /content-type: application\/json/i);
      const headers = Object.fromEntries(
        head!
          .split('\r\n')
          .slice(1)
          .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const expected = Object.entries((await stack.request('/healthz')).headers).filter(([k]) => SECURITY.test(k));
      assert.ok(expected.length >= 10, 'the app sets its security headers');
      for (const [k, v] of expected) assert.equal(headers[k], v, k);
      const row = JSON.parse(
        readFileSync(new URL('../../gateway/fhir/vocabulary.json', import.meta.url), 'utf8'),
      ).rows.find((r: { code: string }) => r.code === 'INPUT_MESSAGE_VALIDATION_ERROR');
      assert.deepEqual(JSON.parse(body!), {
        status: 'error',
        nhsNumber: null,
        assessmentDate: null,
        checkedAt: null,
        messageId: null,
        code: row.code,
        smspCode: row.smspCode,
        display: row.display,
      });
      const line = stack.logs.slice(logged).find((l) => l.includes('"code":"INPUT_MESSAGE_VALIDATION_ERROR"'));
      assert.ok(line, 'the refusal is logged');
      assert.match(line, /"status":400/);
      assert.deepEqual(validNhsNumbersIn(stack.logs.slice(logged).join('\n')), []);
      assert.equal((await healthz(new URL(stack.gatewayUrl))).status, 200);
    });
  }
});

describe('more idle connections than the file limit allows', () => {
  it('real requests are still served: the longest-idle connections make way', { timeout: 120_000 }, async () => {
    const FD_LIMIT = 256;
    const IDLE = 400;
    // Long deadlines, so only the connection bound can free anything during the test.
    const gw = await startChild(
      stack,
      'fd-limit',
      (r) => Object.assign(r.listen, { headersTimeoutMs: 60_000, requestTimeoutMs: 60_000, maxConnections: 150 }),
      ['prlimit', `--nofile=${FD_LIMIT}:${FD_LIMIT}`],
    );
    const idle: Socket[] = [];
    try {
      stack.sim.setFault(null);
      const token = stack.signToken(LOCAL_MIDWIFE);
      for (let i = 0; i < IDLE; i++) {
        const s = connect(Number(gw.url.port), gw.url.hostname);
        s.on('error', () => {});
        idle.push(s);
        await Promise.race([once(s, 'connect'), once(s, 'close')]).catch(() => {}); // refused or reset: it still tried
        // Half send nothing at all, half stop in the middle of their headers.
        if (i % 2) s.write('GET /healthz HTTP/1.1\r\nHo');
      }
      for (let i = 0; i < 20; i++) {
        const answer = await ask(gw.url, token);
        assert.equal(answer.status, 200);
        assert.equal(answer.body.code, 'SUCCESS');
      }
      assert.equal((await healthz(gw.url)).body.spine, 'up');
      assert.equal(gw.child.exitCode, null);
      assert.equal(gw.stderr(), '');
    } finally {
      idle.forEach((s) => s.destroy());
      await gw.stop();
    }
  });
});

describe('the Spine client when its caller has gone', () => {
  const query = () =>
    buildQueryBundle({
      nhsNumber: NHS_NUMBER,
      sourceAsid: GATEWAY_ASID,
      destinationAsid: SPINE_ASID,
      author: { kind: 'local', localId: 'ajones' },
      organization: { odsCode: 'RX1', name: 'Test' },
    }).xml;
  const client = () => {
    const file = (f: string) => readFileSync(join(stack.pkiDir, f), 'utf8');
    return createHttpsSpineClient({
      endpoint: stack.sim.endpoint,
      tls: { cert: file('gateway-client.crt'), key: file('gateway-client.key'), ca: file('ca.crt') },
      timeoutMs: 10_000,
      maxResponseBytes: 262_144,
    });
  };
  const uncaught: unknown[] = [];
  const keep = (e: unknown) => uncaught.push(e);
  before(() => process.on('uncaughtException', keep));
  after(() => process.off('uncaughtException', keep));

  it('an already aborted call sends nothing, ends as abandoned, and raises no unhandled error', async () => {
    stack.sim.setFault(null);
    const spine = client();
    try {
      const sent = stack.sim.received.length;
      const gone = new AbortController();
      gone.abort();
      assert.deepEqual(await spine.query(query(), { signal: gone.signal }), {
        kind: 'abandoned',
        code: 'CLIENT_CLOSED_REQUEST',
      });
      // A whole call afterwards: an error left behind by the first would have surfaced by now.
      assert.equal((await spine.query(query())).kind, 'answer');
      assert.equal(stack.sim.received.length, sent + 1, 'only the second call reached Spine');
      assert.deepEqual(uncaught, []);
    } finally {
      spine.close();
    }
  });

  it('an abort during the call ends it at once as abandoned, not as a Spine failure', async () => {
    // Spine holds its answer: the call can end only by the abort (abandoned) or its deadline (a failure).
    stack.sim.setFault({ kind: 'hold' });
    const spine = client();
    try {
      const atSpine = spineQueries(stack, 1);
      const leaving = new AbortController();
      const result = spine.query(query(), { signal: leaving.signal });
      await atSpine;
      leaving.abort();
      assert.deepEqual(
        await result,
        { kind: 'abandoned', code: 'CLIENT_CLOSED_REQUEST' },
        'ended by the abort, not at the deadline',
      );
      assert.deepEqual(uncaught, []);
    } finally {
      spine.close();
      stack.sim.setFault(null);
    }
  });
});

describe('SMSP-PERF-006 a half-open probe whose client hangs up', () => {
  it('is handed back: the next request probes, and its answer closes the breaker', async () => {
    let now = Date.now();
    const probing = await startTestStack({
      deps: { now: () => new Date(now) },
      configure: (r) => (r.spine.circuitBreaker = { failureThreshold: 1, coolDownMs: 60_000 }),
    });
    try {
      const token = probing.signToken(LOCAL_MIDWIFE);
      const url = new URL(probing.gatewayUrl);
      probing.sim.setFault({ kind: 'drop' });
      assert.equal((await ask(url, token)).body.code, 'COULD_NOT_CONNECT_TO_SPINE');
      assert.equal((await healthz(url)).body.spine, 'down');
      now += 60_000;
      assert.equal((await healthz(url)).body.spine, 'probing');

      // The probe reaches Spine, then its client hangs up.
      probing.sim.setFault({ kind: 'delay', ms: SPINE_DELAY_MS });
      const atSpine = spineQueries(probing, 1);
      const s = await open(url);
      const { head, body } = rawRequest(token);
      s.write(head + body);
      await atSpine;
      const audited = probing.auditRows().length;
      s.destroy();
      await until(() => probing.auditRows().length > audited, 5000, 'the probe audited');
      assert.equal(probing.auditRows().at(-1)!.outcomeCode, 'CLIENT_CLOSED_REQUEST');
      assert.equal((await healthz(url)).body.spine, 'probing', 'a hang-up says nothing about Spine');

      probing.sim.setFault(null);
      const next = await ask(url, token);
      assert.equal(next.body.code, 'SUCCESS', 'the next request was let through as the probe');
      assert.equal((await healthz(url)).body.spine, 'up');
    } finally {
      await probing.close();
    }
  });
});

describe('SMSP-AUDIT-001 the TLS listener: hang-ups during the handshake and mid-request', () => {
  it(
    'the gateway stays up and serves, and a request cut off mid-body is audited as the client gone',
    { timeout: 120_000 },
    async () => {
      const secure = await startTestStack({ tls: true });
      const uncaught: unknown[] = [];
      const keep = (e: unknown) => uncaught.push(e);
      process.on('uncaughtException', keep);
      try {
        const url = new URL(secure.gatewayUrl);
        const ca = readFileSync(join(secure.pkiDir, 'ca.crt'));
        const { head, body } = rawRequest(secure.signToken(LOCAL_MIDWIFE));
        // Mid-handshake: a few bytes of a ClientHello (or none), then gone.
        for (let i = 0; i < 50; i++)
          await writeThenHangUp(await open(url), '\x16\x03\x01\x02\x00\x01'.slice(0, i % 7), i % 2 === 1);
        // Mid-request over TLS: headers, or headers and half the body, then gone.
        const audited = secure.auditRows().length;
        let midBody = 0;
        for (let i = 0; i < 50; i++) {
          // TLS over a TCP socket of our own: a reset is sent on the TCP socket.
          const tcp = await open(url);
          const s = tlsConnect({ socket: tcp, ca, servername: 'localhost' });
          s.on('error', () => {});
          await once(s, 'secureConnect');
          const partial = i % 2 ? head + body.slice(0, 5) : head.slice(0, 40);
          // A reset may overtake the data it follows; a FIN never does.
          if (i % 4 === 1) midBody++;
          await new Promise<void>((resolve) => s.write(partial, () => resolve()));
          if (i % 4 < 2) s.destroy();
          else tcp.resetAndDestroy();
        }
        await until(() => secure.auditRows().length >= audited + midBody, 10_000, `${midBody} audit records`);
        assert.ok(secure.auditRows().length <= audited + 25, 'only requests whose headers arrived are audited');
        assert.deepEqual(
          new Set(
            secure
              .auditRows()
              .slice(audited)
              .map((r) => r.outcomeCode),
          ),
          new Set(['CLIENT_CLOSED_REQUEST']),
        );
        assert.equal((await secure.request('/healthz')).status, 200);
        const res = await secure.request('/api/fgm-status', {
          token: secure.signToken(LOCAL_MIDWIFE),
          json: { nhsNumber: NHS_NUMBER, birthDate: BIRTH_DATE },
        });
        assert.equal(JSON.parse(res.body).code, 'SUCCESS');
        assert.deepEqual(uncaught, []);
      } finally {
        process.off('uncaughtException', keep);
        await secure.close();
      }
    },
  );
});
