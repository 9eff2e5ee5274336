import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { parseQueryResponse } from '../../gateway/fhir/response-bundle.ts';
import type { QueryInput } from '../../gateway/fhir/types.ts';
import { ensureDevPki, type DevPki } from '../../demo/pki.ts';
import { parseFault } from '../../demo/spine/faults.ts';
import { startSpineSimulator, type SpineSimulator } from '../../demo/spine/server.ts';
import { newPki, testPki } from '../helpers/pki.ts';
import { example } from '../helpers/fhir-fixtures.ts';

let pki: DevPki;
let foreign: DevPki;
let sim: SpineSimulator;
const TODAY = new Date('2026-11-24T12:00:00Z');

before(async () => {
  [pki, foreign] = await Promise.all([testPki(), newPki('some other CA')]);
  sim = await startSpineSimulator({ pkiDir: pki.dir, port: 0, asids: ['200000000222'], now: () => TODAY });
});
after(() => sim.close());

interface Reply {
  status: number;
  contentType: string;
  body: string;
}

function post(
  xml: string,
  o: { client?: { cert: string; key: string } | null; method?: string; path?: string } = {},
): Promise<Reply> {
  const client = o.client === undefined ? pki.leaf['gateway-client'] : o.client;
  return new Promise((resolve, reject) => {
    const req = request(
      `${sim.url}${o.path ?? '/fhir/fgm/query'}`,
      {
        method: o.method ?? 'POST',
        agent: false,
        ca: readFileSync(pki.caCert),
        ...(client && { cert: readFileSync(client.cert), key: readFileSync(client.key) }),
        headers: { 'content-type': 'application/xml+fhir' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            contentType: String(res.headers['content-type']),
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(xml);
  });
}

const AUTHORS: Record<string, QueryInput['author']> = {
  sds: { kind: 'sds', userId: '555021935107', roleProfileId: '555021936108' },
  local: { kind: 'local', localId: 'ajones' },
};
const query = (nhsNumber: string, over: Partial<QueryInput> = {}) =>
  buildQueryBundle({
    nhsNumber,
    sourceAsid: '200000000111',
    destinationAsid: '990101234567',
    author: AUTHORS.local!,
    organization: { odsCode: 'RX1', name: 'Demo Trust' },
    ...over,
  });

describe('TLS mutual authentication', () => {
  test('a client without a certificate is refused in the handshake', async () => {
    await assert.rejects(post(query('9990000018').xml, { client: null }), (e: NodeJS.ErrnoException) =>
      /ECONNRESET|alert|handshake|certificate/i.test(`${e.code} ${e.message}`),
    );
  });
  test('a client certificate from another CA is refused in the handshake', async () => {
    await assert.rejects(post(query('9990000018').xml, { client: foreign.leaf['gateway-client'] }), (e: Error) =>
      /ECONNRESET|alert|unknown ca|certificate/i.test(`${(e as NodeJS.ErrnoException).code} ${e.message}`),
    );
    assert.equal(sim.received.filter((r) => r.xml.includes('foreign')).length, 0);
  });
  test('TLS 1.1 is refused', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = connect(
          {
            host: '127.0.0.1',
            port: sim.port,
            maxVersion: 'TLSv1.1',
            minVersion: 'TLSv1',
            ca: readFileSync(pki.caCert),
            ciphers: 'DEFAULT@SECLEVEL=0',
            ...pkiClient(),
          },
          () => resolve(s),
        );
        s.on('error', reject);
      }),
    );
  });
  test('the dev gateway client certificate is accepted', async () => {
    const before = sim.received.length;
    const r = await post(query('9990000018').xml);
    assert.equal(r.status, 200);
    assert.equal(sim.received.length, before + 1);
    assert.equal(sim.received.at(-1)!.clientCertSubject, 'fgm-gateway.spine-client');
  });
});

function pkiClient() {
  return { cert: readFileSync(pki.leaf['gateway-client'].cert), key: readFileSync(pki.leaf['gateway-client'].key) };
}

describe('the documented test patients', () => {
  const cases = [
    {
      nhs: '9990000018',
      status: 200,
      outcome: { kind: 'indicator', nhsNumber: '9990000018', assessmentDate: '2019-12-10' },
    },
    { nhs: '9990000026', status: 404, code: 'NO_RECORD_FOUND' },
    { nhs: '9990000034', status: 400, code: 'PATIENT_OVER_18' },
    {
      nhs: '9990000042',
      status: 200,
      outcome: { kind: 'indicator', nhsNumber: '9990000042', assessmentDate: '2024-06-30' },
    },
    { nhs: '9434765919', status: 404, code: 'NO_RECORD_FOUND' },
    { nhs: '9990000019', status: 400, code: 'INVALID_NHS_NUMBER' },
  ] as const;
  for (const c of cases) {
    for (const kind of ['sds', 'local']) {
      test(`FGMQuery_2_0 ${c.nhs} from a ${kind} author gets ${c.status} ${'code' in c ? c.code : 'a Flag'}`, async () => {
        const q = query(c.nhs, { author: AUTHORS[kind]! });
        const r = await post(q.xml);
        assert.equal(r.status, c.status);
        assert.match(r.contentType, /^application\/xml\+fhir/);
        const parsed = parseQueryResponse(r.body);
        assert.ok(parsed.ok, !parsed.ok ? parsed.error.message : '');
        assert.equal(parsed.value.respondsTo, q.messageId);
        assert.equal(parsed.value.sourceAsid, '990101234567');
        assert.equal(parsed.value.destinationAsid, '200000000111');
        if ('outcome' in c) assert.deepEqual(parsed.value.outcome, c.outcome);
        else assert.equal(parsed.value.outcome.kind === 'operation-outcome' && parsed.value.outcome.code, c.code);
        assert.deepEqual(sim.received.at(-1)!.request?.author, AUTHORS[kind]);
      });
    }
  }
});

describe('ASID checks and bad requests', () => {
  test('ASID_CHECK_FAILED for an unknown source ASID', async () => {
    const r = await post(query('9990000018', { sourceAsid: '123456789012' }).xml);
    assert.equal(r.status, 403);
    const p = parseQueryResponse(r.body);
    assert.ok(p.ok);
    assert.equal(p.value.outcome.kind === 'operation-outcome' && p.value.outcome.code, 'ASID_CHECK_FAILED');
  });
  test('ASID_CHECK_FAILED when the destination is not Spine', async () => {
    const r = await post(query('9990000018', { destinationAsid: '111111111111' }).xml);
    assert.equal(r.status, 403);
  });
  test('an ASID listed in the options is admitted', async () => {
    const r = await post(query('9990000018', { sourceAsid: '200000000222' }).xml);
    assert.equal(r.status, 200);
  });
  for (const [name, body, code] of [
    ['garbage', 'not xml at all', 'MESSAGE_NOT_WELL_FORMED'],
    ['a DOCTYPE', '<!DOCTYPE x [<!ENTITY a "b">]><Bundle/>', 'MESSAGE_NOT_WELL_FORMED'],
    [
      'no RiskIndicator parameter',
      query('9990000018').xml.replace(
        /<parameter><name value="RiskIndicator"\/><valueString value="FGM"\/><\/parameter>/,
        '',
      ),
      'INVALID_PARAMETER',
    ],
  ] as const) {
    test(`${code} for ${name}`, async () => {
      const r = await post(body);
      assert.equal(r.status, 400);
      const p = parseQueryResponse(r.body);
      assert.ok(p.ok, !p.ok ? p.error.message : '');
      assert.equal(p.value.outcome.kind === 'operation-outcome' && p.value.outcome.code, code);
    });
  }
  test('only POST is allowed, only on the query path', async () => {
    assert.equal((await post('', { method: 'GET' })).status, 405);
    assert.equal((await post('', { path: '/other' })).status, 404);
  });
});

describe('the profiles, as Spine applies them', () => {
  const refusedFor = async (xml: string) => {
    const failures = sim.profileFailures.length;
    const r = await post(xml);
    assert.equal(r.status, 400);
    const p = parseQueryResponse(r.body);
    assert.ok(p.ok, !p.ok ? p.error.message : '');
    assert.equal(p.value.outcome.kind === 'operation-outcome' && p.value.outcome.code, 'MESSAGE_NOT_WELL_FORMED');
    return sim.profileFailures.slice(failures);
  };

  test('a Practitioner.name (max 0 in spine-practitioner-2-0) is refused over TLS-MA', async () => {
    const named = query('9990000018').xml.replace(
      '<practitionerRole>',
      '<name><text value="Alex Jones"/></name><practitionerRole>',
    );
    const failures = await refusedFor(named);
    assert.deepEqual(
      failures.map((f) => [f.message, f.violations]),
      [['request', [{ path: 'Practitioner.name', message: 'is not allowed (max 0)' }]]],
    );
  });

  test("the spec's own example request is refused for its MessageHeader.author.display (max 0)", async () => {
    const failures = await refusedFor(example('query-request-2-0'));
    assert.deepEqual(
      failures.map((f) => f.violations),
      [[{ path: 'MessageHeader.author.display', message: 'is not allowed (max 0)' }]],
    );
  });

  test('an answer the profiles refuse is never sent: the simulator records it and answers 500', async () => {
    const broken = await startSpineSimulator({
      pkiDir: pki.dir,
      port: 0,
      now: () => TODAY,
      patients: new Map([
        ['9990000018', { nhsNumber: '9990000018', birthDate: '2014-03-02', fgm: { assessmentDate: '2019-13-45' } }],
      ]),
    });
    try {
      const res = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${broken.endpoint}`,
          { method: 'POST', agent: false, ca: readFileSync(pki.caCert), ...pkiClient() },
          (r) => {
            r.resume();
            resolve(r.statusCode!);
          },
        );
        req.on('error', reject);
        req.end(query('9990000018').xml);
      });
      assert.equal(res, 500);
      assert.deepEqual(
        broken.profileFailures.map((f) => [f.message, f.violations]),
        [['answer', [{ path: 'Flag.period.start', message: 'is not a valid dateTime' }]]],
      );
    } finally {
      await broken.close();
    }
  });
});

describe('fault modes', () => {
  after(() => sim.setFault(null));
  test('delay: the answer comes no sooner than asked', async () => {
    sim.setFault({ kind: 'delay', ms: 300 });
    const started = performance.now();
    const r = await post(query('9990000018').xml);
    assert.ok(performance.now() - started >= 290);
    assert.equal(r.status, 200);
  });
  test('hold: every answer waits until the fault changes, then all are sent', async () => {
    sim.setFault({ kind: 'hold' });
    const before = sim.received.length;
    const push = sim.received.push.bind(sim.received);
    const bothIn = new Promise<void>((resolve) => {
      sim.received.push = (...items) => {
        const n = push(...items);
        if (sim.received.length >= before + 2) resolve();
        return n;
      };
    });
    let answered = 0;
    const posts = [post(query('9990000018').xml), post(query('9990000026').xml)].map((p) =>
      p.then((r) => (answered++, r)),
    );
    // Both are in (received), none is answered: the order a test relies on.
    await bothIn;
    sim.received.push = push;
    assert.equal(answered, 0);
    sim.setFault(null);
    assert.deepEqual(
      (await Promise.all(posts)).map((r) => r.status),
      [200, 404],
    );
  });
  test('drop: the connection is destroyed without an answer', async () => {
    sim.setFault({ kind: 'drop' });
    await assert.rejects(post(query('9990000018').xml), /socket hang up|ECONNRESET/);
  });
  test('http-500, garbage, wrong content type, invalid flag, no namespace', async () => {
    sim.setFault({ kind: 'http-500' });
    assert.equal((await post(query('9990000018').xml)).status, 500);
    sim.setFault({ kind: 'garbage' });
    const g = await post(query('9990000018').xml);
    assert.equal(parseQueryResponse(g.body).ok, false);
    sim.setFault({ kind: 'wrong-content-type' });
    assert.match((await post(query('9990000018').xml)).contentType, /^text\/html/);
    sim.setFault({ kind: 'invalid-flag' });
    const f = parseQueryResponse((await post(query('9990000018').xml)).body);
    assert.equal(!f.ok && f.error.element, 'Flag.status');
    sim.setFault({ kind: 'no-namespace' });
    const n = await post(query('9990000018').xml);
    assert.doesNotMatch(n.body, /xmlns=/);
    assert.equal(parseQueryResponse(n.body).ok, true);
  });
  test("hold: a held answer is released with its patient's own fault, not plain", async () => {
    sim.setFault({ kind: 'hold' });
    const before = sim.received.length;
    const push = sim.received.push.bind(sim.received);
    const inAtSpine = new Promise<void>((resolve) => {
      sim.received.push = (...items) => {
        const n = push(...items);
        if (sim.received.length >= before + 2) resolve();
        return n;
      };
    });
    const posts = [post(query('9990000107').xml), post(query('9990000123').xml)];
    await inAtSpine;
    sim.received.push = push;
    sim.setFault(null);
    const [html, padded] = await Promise.all(posts);
    assert.match(html!.contentType, /^text\/html/);
    // 60,000 empty elements counted by hand, not by the gateway's reader.
    assert.equal(padded!.body.split('<p/>').length - 1, 60_000);
    assert.ok(padded!.body.length < 262_144, `${padded!.body.length} bytes, under spine.maxResponseBytes`);
  });
  test('utf-16: the answer is UTF-16LE after a BOM, its declaration and charset saying so', async () => {
    sim.setFault({ kind: 'utf-16' });
    try {
      const r = await post(query('9990000018').xml);
      assert.equal(r.contentType, 'application/xml+fhir; charset=utf-16');
      // post() read the bytes as UTF-8: the BOM FF FE is two replacement characters, and every other byte is 0.
      assert.ok(
        r.body.startsWith('\ufffd\ufffd<\u0000?\u0000x\u0000m\u0000l\u0000'),
        JSON.stringify(r.body.slice(0, 12)),
      );
      assert.match(r.body.replace(/\u0000/g, ''), /^\ufffd\ufffd<\?xml version="1.0" encoding="UTF-16"\?>/);
    } finally {
      sim.setFault(null);
    }
  });
  test('fault patients misbehave on their own', async () => {
    sim.setFault(null);
    assert.equal((await post(query('9990000050').xml)).status, 500);
    await assert.rejects(post(query('9990000069').xml));
    assert.match((await post(query('9990000107').xml)).contentType, /^text\/html/);
  });
  test('SPINE_SIM_FAULT values parse, and a bad one is named', () => {
    assert.deepEqual(parseFault('delay:5000'), { kind: 'delay', ms: 5000 });
    assert.deepEqual(parseFault('drop'), { kind: 'drop' });
    assert.deepEqual(parseFault('hold'), { kind: 'hold' });
    assert.throws(() => parseFault('explode'), /SPINE_SIM_FAULT: "explode"/);
  });
});

describe('dev PKI', () => {
  test('ensureDevPki is idempotent and keeps keys private', async () => {
    const dir = join(pki.dir, '..', 'again');
    const first = await ensureDevPki(dir);
    const bytes = readFileSync(first.leaf.spine.key);
    const second = await ensureDevPki(dir);
    assert.deepEqual(readFileSync(second.leaf.spine.key), bytes);
    for (const f of [first.caKey, ...Object.values(first.leaf).map((l) => l.key)])
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
  });
});

test('the simulator closes at once although a client holds a TCP connection that never starts TLS (Ctrl-C on npm start)', async () => {
  const own = await startSpineSimulator({ pkiDir: pki.dir, port: 0 });
  const raw = netConnect(own.port, '127.0.0.1');
  await once(raw, 'connect');
  const closedRaw = once(raw, 'close');
  // Resolves only if the silent socket is destroyed: before, close() waited for it (2 minutes).
  await own.close();
  await closedRaw;
});
