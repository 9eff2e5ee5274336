/**
 * CDS Hooks 2.0 `patient-view` (issue 14), over real sockets: a CDS client written here signs its
 * own JWTs with its own keys (test/helpers/jwt.ts, not the gateway's library), serves its own JWK
 * Sets, and a FHIR server double answers the no-prefetch path. The spec's own JSON examples
 * (test/spec/cds-hooks/) are the oracle for the shapes.
 */
import assert from 'node:assert/strict';
import { deflateSync, gzipSync } from 'node:zlib';
import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCdsVerifier, redisJtiStore } from '../../gateway/auth/cds-client.ts';
import { validateMessage } from '../../gateway/fhir/profile-validator.ts';
import { signJwt, type TestAlg } from '../helpers/jwt.ts';
import { testRedis } from '../helpers/services.ts';
import { LOCAL_MIDWIFE, startTestStack, type TestStack } from '../helpers/stack.ts';

const spec = (f: string) => JSON.parse(readFileSync(new URL(`../spec/cds-hooks/${f}`, import.meta.url), 'utf8'));
const DISCOVERY_EXAMPLE = spec('discovery-example.json');
const REQUEST_EXAMPLE = spec('request-example.json');
const RESPONSE_EXAMPLE = spec('response-example.json');

const BASE_URL = 'https://fgm.example.nhs.uk';
const SERVICE = `${BASE_URL}/cds-services/fgm-is`;
const EPR = { id: 'epr-trust', name: 'Trust EPR', ods: 'RYJ', issuer: 'https://epr.trust.example/' };
const EPR2 = { id: 'epr-two', name: 'Second EPR', ods: 'RX2', issuer: 'https://epr-two.example/' };
/** The simulator's clock: an hour ago to the second, within the gateway's default skew (the safety core refuses stale answers). */
const SPINE_NOW = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
/** SPINE_NOW as D/MM/YYYY HH:MM:SS UK time, by Intl rather than the gateway's formatter. */
const SPINE_NOW_UK = (() => {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/London',
      day: 'numeric',
      month: '2-digit',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(SPINE_NOW)
      .map((x) => [x.type, x.value]),
  );
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}:${p.second}`;
})();
// 64 MB of spaces, deflated to about 64 KB: over the 1 MB cap only once inflated.
const BOMB = deflateSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const eprKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const epr2Key = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attackerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (k: KeyObject, kid: string, alg: string) => ({ ...k.export({ format: 'jwk' }), kid, alg, use: 'sig' });

let stack: TestStack;
let keys: Server;
let keysUrl: string;
/** Paths of the JWK Set requests the gateway made: the attacker's set must never be fetched. */
const keyFetches: string[] = [];
let fhir: Server;
let fhirUrl: string;
const fhirRequests: IncomingMessage[] = [];

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

before(async () => {
  keys = createServer((req, res) => {
    keyFetches.push(req.url!);
    res.setHeader('content-type', 'application/json');
    const k =
      req.url === '/attacker.json'
        ? jwk(attackerKey.publicKey, 'a1', 'ES256')
        : jwk(eprKey.publicKey, 'epr-1', 'ES256');
    res.end(JSON.stringify({ keys: [k] }));
  });
  keysUrl = await listen(keys);
  fhir = createServer((req, res) => {
    fhirRequests.push(req);
    if (req.url === '/hang/Patient/p1') return; // never answers: the deadline must
    if (req.url === '/hang/Patient/trickle') {
      // Headers at once, then a byte every 50 ms: only the gateway's deadline ends it (bounded).
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      let n = 0;
      const t = setInterval(() => (res.destroyed || n++ > 1200 ? (clearInterval(t), res.end()) : res.write(' ')), 50);
      return;
    }
    if (req.url === '/hang/Patient/bomb') {
      res.writeHead(200, {
        'content-type': 'application/fhir+json',
        'content-encoding': 'deflate',
        'content-length': BOMB.length,
      });
      return res.end(BOMB);
    }
    if (req.url === '/fhir/Patient/p1-gzip') {
      // A good Patient, compressed although the gateway asked for identity.
      res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' });
      return res.end(gzipSync(JSON.stringify(patient('9990000018', '2014-03-02', 'p1-gzip'))));
    }
    if (req.url !== '/fhir/Patient/p1' || req.headers.authorization !== 'Bearer fhir-access-token') {
      res.statusCode = 401;
      return res.end();
    }
    res.setHeader('content-type', 'application/fhir+json');
    res.end(JSON.stringify(patient('9990000018', '2014-03-02', 'p1')));
  });
  fhirUrl = await listen(fhir);
  const pem = join(mkdtempSync(join(tmpdir(), 'fgm-cds-')), 'epr-two.pub.pem');
  writeFileSync(pem, epr2Key.publicKey.export({ type: 'spki', format: 'pem' }));
  stack = await startTestStack({
    simulatorNow: () => SPINE_NOW,
    configure: (raw) => {
      raw.clients[0].smspAuditorRoles = ['smsp-auditor'];
      raw.cdsHooks = {
        baseUrl: `${BASE_URL}/`,
        // The FHIR server double is plain http on loopback: allowed only because the config says so.
        allowInsecureFhirServers: true,
        clients: [
          {
            id: EPR.id,
            name: EPR.name,
            odsCode: EPR.ods,
            issuer: EPR.issuer,
            jwksUrl: `${keysUrl}/epr.json`,
            jkuAllowList: [`${keysUrl}/epr-jku.json`],
            algorithms: ['ES256'],
            maxLifetimeSeconds: 300,
            priority: 'interactive',
            fhirServers: [`${fhirUrl}/fhir`, `${fhirUrl}/hang/`],
          },
          {
            id: EPR2.id,
            name: EPR2.name,
            odsCode: EPR2.ods,
            issuer: EPR2.issuer,
            publicKeyFile: pem,
            algorithms: ['RS256'],
            maxLifetimeSeconds: 300,
            priority: 'interactive',
            allowUnverified: true,
          },
        ],
      };
    },
  });
});

after(async () => {
  await stack?.close();
  keys?.close();
  fhir?.closeAllConnections();
  fhir?.close();
});

/** A UK Core Patient; its NHS number is verified (`01`) unless `verification` says otherwise (null: no status at all). */
function patient(nhsNumber: string, birthDate: string, id = '1288992', verification: string | null = '01') {
  return {
    resourceType: 'Patient',
    id,
    identifier: [
      {
        system: 'https://fhir.nhs.uk/Id/nhs-number',
        value: nhsNumber,
        ...(verification && {
          extension: [
            {
              url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
              valueCodeableConcept: {
                coding: [
                  {
                    system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland',
                    code: verification,
                  },
                ],
              },
            },
          ],
        }),
      },
    ],
    birthDate,
  };
}

interface CdsJwt {
  /** Default the EPR's issuer. */
  iss?: string;
  aud?: string | string[];
  /** Seconds from now (default 60). */
  lifetime?: number;
  /** Seconds from now of iat (default 0). */
  issuedAt?: number;
  jti?: string;
  alg?: TestAlg;
  key?: KeyObject | string;
  header?: Record<string, unknown>;
  /** Sign as the second EPR (RS256, key in a file). */
  second?: boolean;
}

/** The CDS client's JWT, as the spec's "Trusting CDS Clients" describes it. */
function cdsJwt(o: CdsJwt = {}): string {
  const now = Math.floor(Date.now() / 1000) + (o.issuedAt ?? 0);
  const payload = {
    iss: o.iss ?? (o.second ? EPR2.issuer : EPR.issuer),
    aud: o.aud ?? SERVICE,
    iat: now,
    exp: now + (o.lifetime ?? 60),
    jti: o.jti ?? randomUUID(),
    tenant: 'RYJ',
  };
  const alg = o.alg ?? (o.second ? 'RS256' : 'ES256');
  return signJwt(payload, {
    alg,
    key: o.key ?? (o.second ? epr2Key.privateKey : eprKey.privateKey),
    kid: o.second ? 'epr2-1' : 'epr-1',
    ...(o.header ? { header: o.header } : {}),
  });
}

/** The spec's example patient-view call, with our patient in the `patient` prefetch slot. */
function hookCall(pat: unknown, extra: Record<string, unknown> = {}) {
  const { prefetch: _unused, fhirServer: _fs, fhirAuthorization: _fa, ...call } = structuredClone(REQUEST_EXAMPLE);
  return {
    ...call,
    hookInstance: randomUUID(),
    ...(pat !== undefined ? { prefetch: { patient: pat } } : {}),
    ...extra,
  };
}

async function callService(body: unknown, token = cdsJwt()) {
  const started = performance.now();
  const res = await stack.request('/cds-services/fgm-is', { token, json: body });
  return {
    res,
    ms: performance.now() - started,
    json: res.headers['content-type']?.includes('json') ? JSON.parse(res.body) : undefined,
  };
}

const lastAudit = () => stack.auditRows().at(-1)!;

describe('CDS Hooks discovery', () => {
  it("GET /cds-services lists fgm-is on patient-view, shaped like the spec's discovery example", async () => {
    const res = await stack.request('/cds-services', { token: cdsJwt({ aud: `${BASE_URL}/cds-services` }) });
    assert.equal(res.status, 200, res.body);
    const body = JSON.parse(res.body);
    assert.deepEqual(Object.keys(body), Object.keys(DISCOVERY_EXAMPLE));
    assert.equal(body.services.length, 1);
    const ours = body.services[0];
    const example = DISCOVERY_EXAMPLE.services.find((s: { hook: string }) => s.hook === 'patient-view');
    // Every field the example's patient-view service has, with the same types; nothing the spec does not define.
    for (const [k, v] of Object.entries(example)) assert.equal(typeof ours[k], typeof v, k);
    for (const k of Object.keys(ours))
      assert.ok(['hook', 'title', 'description', 'id', 'prefetch', 'usageRequirements'].includes(k), k);
    assert.equal(ours.hook, 'patient-view');
    assert.equal(ours.id, 'fgm-is');
    assert.equal(ours.prefetch.patient, example.prefetch.patientToGreet, "the spec's patient template");
  });

  it('discovery needs the JWT too (the spec: every call), with aud naming the discovery URL', async () => {
    assert.equal((await stack.request('/cds-services')).status, 401);
    assert.equal(
      (await stack.request('/cds-services', { token: cdsJwt() })).status,
      401,
      'aud of the service is not the discovery URL',
    );
  });
});

describe('CDS Hooks patient-view cards (MSCA-FGMRISQR-03/04)', () => {
  it('an indicator is exactly one warning card with summary, Markdown detail, source and uuid', async () => {
    const { res, json } = await callService(hookCall(patient('9990000018', '2014-03-02')));
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(Object.keys(json), ['cards']);
    assert.equal(json.cards.length, 1);
    const card = json.cards[0];
    // Only attributes the spec's example cards use.
    const exampleKeys = new Set(RESPONSE_EXAMPLE.cards.flatMap((c: object) => Object.keys(c)));
    for (const k of Object.keys(card)) assert.ok(exampleKeys.has(k), k);
    assert.equal(card.indicator, 'warning');
    assert.ok(card.summary.length < 140, 'summary under 140 characters');
    assert.match(card.summary, /FGM/);
    assert.match(card.summary, /indicator/i);
    assert.match(card.detail, /10\/12\/2019/, 'assessment date D/MM/YYYY (assessed 2019-12-10)');
    assert.ok(card.detail.includes(SPINE_NOW_UK), "Spine's answer time D/MM/YYYY HH:MM:SS in UK time");
    assert.deepEqual(card.source, { label: 'NHS England FGM-IS (Spine)' });
    assert.match(card.uuid, UUID);
  });

  it('an indicator for the second EPR (key from a file) too', async () => {
    const { json } = await callService(hookCall(patient('9990000042', '2019-11-30')), cdsJwt({ second: true }));
    assert.equal(json.cards.length, 1);
    assert.match(json.cards[0].detail, /30\/06\/2024/);
  });

  it('no record → {"cards": []}, NO_RECORD_FOUND in the audit and the log', async () => {
    const { res, json } = await callService(hookCall(patient('9990000026', '2016-07-19')));
    assert.equal(res.status, 200);
    assert.deepEqual(json, { cards: [] });
    assert.equal(lastAudit().outcomeCode, 'NO_RECORD_FOUND');
    assert.equal(lastAudit().answeredBySpine, 1);
  });

  it('MSCA-FGMRISQ-04 an adult → {"cards": []} and Spine is not asked', async () => {
    const before = stack.sim.received.length;
    const { json } = await callService(hookCall(patient('9990000034', '2001-01-15')));
    assert.deepEqual(json, { cards: [] });
    assert.equal(stack.sim.received.length, before, 'no Spine call');
    assert.equal(lastAudit().outcomeCode, 'PATIENT_OVER_18');
  });

  it('SMSP-VAL-002 a bad NHS number → {"cards": []} and Spine is not asked', async () => {
    const before = stack.sim.received.length;
    const { json } = await callService(hookCall(patient('9990000019', '2014-03-02')));
    assert.deepEqual(json, { cards: [] });
    assert.equal(stack.sim.received.length, before, 'no Spine call');
    assert.equal(lastAudit().outcomeCode, 'INVALID_NHS_NUMBER');
  });

  it('an NHS number the resource marks unverified is not used', async () => {
    const before = stack.sim.received.length;
    const { json } = await callService(hookCall(patient('9990000018', '2014-03-02', '1288992', '02')));
    assert.deepEqual(json, { cards: [] });
    assert.equal(stack.sim.received.length, before, 'no Spine call');
    const verified = await callService(hookCall(patient('9990000018', '2014-03-02', '1288992', '01')));
    assert.equal(verified.json.cards.length, 1, 'verified (01) is used');
  });

  it('MSCA-FGMRISDQ-01 FGMISQ003 a Patient whose NHS number has no verification status is never asked about: no cards, reason for IT', async () => {
    const before = stack.sim.received.length;
    const logsBefore = stack.logs.length;
    const { res, json } = await callService(hookCall(patient('9990000018', '2014-03-02', '1288992', null)));
    assert.equal(res.status, 200);
    assert.deepEqual(json, { cards: [] });
    assert.equal(stack.sim.received.length, before, 'the simulator received no request');
    assert.equal(lastAudit().outcomeCode, 'PATIENT_DATA_UNAVAILABLE');
    assert.ok(
      stack.logs.slice(logsBefore).some((l) => /"reason":"NHS number not verified/.test(l)),
      'the reason is in the access log',
    );
  });

  it('a CDS client configured with allowUnverified (a recorded clinical-safety decision) is answered for an unverified number', async () => {
    const before = stack.sim.received.length;
    const { json } = await callService(
      hookCall(patient('9990000018', '2014-03-02', '1288992', null)),
      cdsJwt({ second: true }),
    );
    assert.equal(json.cards.length, 1);
    assert.equal(stack.sim.received.length, before + 1);
  });

  it('a Patient with two different NHS-number identifiers is 412 PATIENT_DATA_UNAVAILABLE, never a guess; Spine not asked', async () => {
    const before = stack.sim.received.length;
    const two = patient('9990000018', '2014-03-02');
    two.identifier.push({ ...two.identifier[0]!, value: '9990000042' });
    const { res, json } = await callService(hookCall(two));
    assert.equal(res.status, 412);
    assert.equal(json.code, 'PATIENT_DATA_UNAVAILABLE');
    assert.equal(stack.sim.received.length, before);
    const same = patient('9990000018', '2014-03-02');
    same.identifier.push({ ...same.identifier[0]!, value: '999 000 0018' });
    assert.equal(
      (await callService(hookCall(same))).json.cards.length,
      1,
      'the same number written twice is one number',
    );
  });

  it('FGMISQR009 the log line of an indicator and of a no-record answer differ only in request id and duration', async () => {
    const lineOf = async (nhsNumber: string, birthDate: string) => {
      const { res } = await callService(hookCall(patient(nhsNumber, birthDate)));
      assert.equal(res.status, 200);
      const id = res.headers['x-request-id'];
      const line = stack.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.requestId === id);
      assert.ok(line, `request ${id} was logged`);
      return { outcome: lastAudit().outcomeCode, line };
    };
    const indicator = await lineOf('9990000018', '2014-03-02');
    const noRecord = await lineOf('9990000026', '2016-07-19');
    assert.deepEqual([indicator.outcome, noRecord.outcome], ['SUCCESS', 'NO_RECORD_FOUND'], 'Spine answered both ways');
    const { requestId: _a, durationMs: _b, ...same } = indicator.line;
    const { requestId: _c, durationMs: _d, ...other } = noRecord.line;
    assert.deepEqual(same, other);
    assert.deepEqual([same.status, same.code, same.outcome], [null, null, 'answered']);
  });

  it('MSCA-FGMRISDQ-01 L4 verification fails closed: a status of another code system, a second status not 01, or a coding object instead of a list; Spine never asked, never a throw', async () => {
    const variants: [string, (p: ReturnType<typeof patient>) => void][] = [
      [
        '01 under another code system',
        (p) => {
          (p.identifier[0] as any).extension[0].valueCodeableConcept.coding[0].system =
            'https://example.org/verification';
        },
      ],
      [
        'a second coding 02',
        (p) => {
          (p.identifier[0] as any).extension[0].valueCodeableConcept.coding.push({
            system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland',
            code: '02',
          });
        },
      ],
      [
        'a second status extension 02',
        (p) => {
          const ext = (p.identifier[0] as any).extension;
          ext.push({
            url: ext[0].url,
            valueCodeableConcept: {
              coding: [
                { system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '02' },
              ],
            },
          });
        },
      ],
      [
        'a coding object, not a list, with 02',
        (p) => {
          const cc = (p.identifier[0] as any).extension[0].valueCodeableConcept;
          cc.coding = { ...cc.coding[0], code: '02' };
        },
      ],
    ];
    for (const [name, change] of variants) {
      const before = stack.sim.received.length;
      const p = patient('9990000018', '2014-03-02');
      change(p);
      const { res, json } = await callService(hookCall(p));
      assert.deepEqual([res.status, json], [200, { cards: [] }], name);
      assert.equal(stack.sim.received.length, before, `${name}: no Spine call`);
    }
    const object = patient('9990000018', '2014-03-02');
    const cc = (object.identifier[0] as any).extension[0].valueCodeableConcept;
    cc.coding = cc.coding[0];
    assert.equal(
      (await callService(hookCall(object))).json.cards.length,
      1,
      'a coding object with 01 is read, not a throw',
    );
  });

  it("H5 NHS numbers under http://fhir.nhs.net/Id/nhs-number count too: another child's there is 412, never a guess; ours there alone is asked about", async () => {
    const before = stack.sim.received.length;
    const two = patient('9990000018', '2014-03-02');
    two.identifier.push({ ...two.identifier[0]!, system: 'http://fhir.nhs.net/Id/nhs-number', value: '9990000042' });
    const { res, json } = await callService(hookCall(two));
    assert.deepEqual([res.status, json.code], [412, 'PATIENT_DATA_UNAVAILABLE']);
    assert.equal(stack.sim.received.length, before);
    const old = patient('9990000018', '2014-03-02');
    old.identifier[0]!.system = 'http://fhir.nhs.net/Id/nhs-number';
    assert.equal((await callService(hookCall(old))).json.cards.length, 1);
  });

  it("SMSP-VAL-004 RFC 3986: another child's number under HTTP://FHIR.NHS.NET/Id/nhs-number/ (capitals, trailing slash) is the same system: 412, Spine not asked", async () => {
    const before = stack.sim.received.length;
    const two = patient('9990000018', '2014-03-02');
    two.identifier.push({ ...two.identifier[0]!, system: 'HTTP://FHIR.NHS.NET/Id/nhs-number/', value: '9990000042' });
    const { res, json } = await callService(hookCall(two));
    assert.deepEqual([res.status, json.code], [412, 'PATIENT_DATA_UNAVAILABLE']);
    assert.equal(stack.sim.received.length, before);
    const upper = patient('9990000018', '2014-03-02');
    upper.identifier[0]!.system = 'HTTPS://FHIR.NHS.UK/Id/nhs-number/';
    assert.equal(
      (await callService(hookCall(upper))).json.cards.length,
      1,
      'ours alone under that form is asked about',
    );
  });

  it('an NHS-number identifier whose value is not a string is 412, never read past: Spine not asked', async () => {
    const before = stack.sim.received.length;
    const odd = patient('9990000018', '2014-03-02');
    (odd.identifier as unknown[]).push({ system: 'https://fhir.nhs.uk/Id/nhs-number', value: 9990000042 });
    const { res, json } = await callService(hookCall(odd));
    assert.deepEqual([res.status, json.code], [412, 'PATIENT_DATA_UNAVAILABLE']);
    assert.equal(stack.sim.received.length, before);
  });

  it('MSCA-FGMRISQ-04 a partial birthDate (YYYY, YYYY-MM, as FHIR allows) never stops the query: under 18 even at its earliest day is asked', async () => {
    for (const born of ['2014', '2014-03']) {
      const before = stack.sim.received.length;
      const { res, json } = await callService(hookCall(patient('9990000018', born)));
      assert.equal(res.status, 200, res.body);
      assert.equal(json.cards.length, 1, born);
      assert.equal(stack.sim.received.length, before + 1, `${born}: Spine asked`);
      assert.equal(lastAudit().outcomeCode, 'SUCCESS');
    }
  });

  it('MSCA-FGMRISQ-04 a partial birthDate: 18 or over even at its latest day is an adult (not asked); ambiguous is asked and Spine decides', async () => {
    const year = new Date().getUTCFullYear();
    const adult = stack.sim.received.length;
    // Born at the latest on 31 December 19 years ago: 18 or over today, whatever today is.
    assert.deepEqual((await callService(hookCall(patient('9990000034', String(year - 19))))).json, { cards: [] });
    assert.equal(stack.sim.received.length, adult, 'no Spine call');
    assert.equal(lastAudit().outcomeCode, 'PATIENT_OVER_18');
    // 18 years ago this year: 18 already if born in January, not yet if born in December (on 31 December there is no doubt left).
    if (!new Date().toISOString().slice(5, 10).startsWith('12-31')) {
      const asked = stack.sim.received.length;
      const { json } = await callService(hookCall(patient('9990000034', String(year - 18))));
      assert.deepEqual(json, { cards: [] });
      assert.equal(stack.sim.received.length, asked + 1, 'Spine asked');
      assert.equal(lastAudit().outcomeCode, 'PATIENT_OVER_18', "Spine's answer");
      assert.equal(lastAudit().answeredBySpine, 1);
    }
  });

  it('SMSP-VAL-001 SMSP-ERR-006 a birthDate that is no valid FHIR date, or wholly in the future, is rejected input: 400 INPUT_MESSAGE_VALIDATION_ERROR (SMSP-0001), Spine not asked', async () => {
    const next = String(new Date().getUTCFullYear() + 1);
    // Two days ahead in UTC is after today in the UK whatever the hour.
    const soon = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    for (const born of [
      '2014-13',
      '14',
      '2014-3',
      '2014-02-30',
      '2014-03-02T00:00:00Z',
      next,
      `${next}-01`,
      soon,
      20140302,
    ]) {
      const before = stack.sim.received.length;
      const p = patient('9990000018', '2014-03-02');
      (p as Record<string, unknown>).birthDate = born;
      const { res, json } = await callService(hookCall(p));
      assert.equal(res.status, 400, `${born}: ${res.body}`);
      // The SMSP error table's row for rejected input, written here, not read from the vocabulary file.
      assert.deepEqual([json.code, json.smspCode], ['INPUT_MESSAGE_VALIDATION_ERROR', 'SMSP-0001'], String(born));
      assert.equal(json.cards, undefined, `${born}: never the {"cards": []} of no record`);
      assert.equal(stack.sim.received.length, before, `${born}: no Spine call`);
      assert.equal(lastAudit().outcomeCode, 'INPUT_MESSAGE_VALIDATION_ERROR', String(born));
    }
  });

  it("MSCA-FGMRISDQ-01 FGMISQ003 F4 an NHS number under http://fhir.nhs.uk/Id/nhs-number (or the OID, or https://fhir.nhs.net) is an NHS number as the safety core reads it: another child's there is 412; ours there alone is asked about", async () => {
    for (const system of [
      'http://fhir.nhs.uk/Id/nhs-number',
      'https://fhir.nhs.net/Id/nhs-number',
      'urn:oid:2.16.840.1.113883.2.1.4.1',
    ]) {
      const before = stack.sim.received.length;
      const two = patient('9990000018', '2014-03-02');
      two.identifier.push({ ...two.identifier[0]!, system, value: '9990000042' });
      const { res, json } = await callService(hookCall(two));
      assert.deepEqual([res.status, json.code], [412, 'PATIENT_DATA_UNAVAILABLE'], system);
      assert.equal(stack.sim.received.length, before, `${system}: Spine not asked`);
      const alone = patient('9990000018', '2014-03-02');
      alone.identifier[0]!.system = system;
      assert.equal((await callService(hookCall(alone))).json.cards.length, 1, `${system}: ours alone is asked about`);
    }
  });

  it('MSCA-FGMRISDQ-01 FGMISQ003 F5 verified only when every NHS-number identifier says 01: a second one without a status, or a status without a code, fails closed (no cards, Spine not asked, reason for IT)', async () => {
    const STATUS_URL = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus';
    const variants: [string, (p: ReturnType<typeof patient>) => void][] = [
      [
        'the same number again under http://fhir.nhs.uk/Id/nhs-number without a status',
        (p) => p.identifier.push({ system: 'http://fhir.nhs.uk/Id/nhs-number', value: '9990000018' } as never),
      ],
      [
        'the same number again under the OID with status 02',
        (p) => {
          const again = structuredClone(p.identifier[0]!) as any;
          again.system = 'urn:oid:2.16.840.1.113883.2.1.4.1';
          again.extension[0].valueCodeableConcept.coding[0].code = '02';
          p.identifier.push(again);
        },
      ],
      [
        'a second status whose coding list is empty',
        (p) => (p.identifier[0] as any).extension.push({ url: STATUS_URL, valueCodeableConcept: { coding: [] } }),
      ],
      ['a second status with no CodeableConcept', (p) => (p.identifier[0] as any).extension.push({ url: STATUS_URL })],
    ];
    for (const [name, change] of variants) {
      const before = stack.sim.received.length;
      const logged = stack.logs.length;
      const p = patient('9990000018', '2014-03-02');
      change(p);
      const { res, json } = await callService(hookCall(p));
      assert.deepEqual([res.status, json], [200, { cards: [] }], name);
      assert.equal(stack.sim.received.length, before, `${name}: no Spine call`);
      assert.equal(lastAudit().outcomeCode, 'PATIENT_DATA_UNAVAILABLE', name);
      assert.ok(
        stack.logs.slice(logged).some((l) => /"reason":"NHS number not verified/.test(l)),
        `${name}: the reason is in the access log`,
      );
    }
    const both = patient('9990000018', '2014-03-02');
    both.identifier.push({ ...structuredClone(both.identifier[0]!), system: 'http://fhir.nhs.uk/Id/nhs-number' });
    assert.equal(
      (await callService(hookCall(both))).json.cards.length,
      1,
      'the same number twice, both verified 01, is asked about',
    );
  });

  // The statuses and SMSP codes are the SMSP error table's (SMSP-ERR-003/006), written here, not read from the vocabulary file.
  const UNREACHABLE = { code: 'COULD_NOT_CONNECT_TO_SPINE', status: 500, smspCode: 'SMSP-0004' };
  const UNUSABLE = { code: 'RESPONSE_MESSAGE_VALIDATION_ERROR', status: 400, smspCode: 'SMSP-0002' };
  const FAULTS = [
    { fault: { kind: 'drop' }, ...UNREACHABLE },
    { fault: { kind: 'delay', ms: 6000 }, ...UNREACHABLE },
    // A 500 whose body is no FHIR answer is Spine down behind a proxy (review 18f F3).
    { fault: { kind: 'http-500' }, ...UNREACHABLE },
    { fault: { kind: 'outage', status: 502, page: 'html' }, ...UNREACHABLE },
    { fault: { kind: 'garbage' }, ...UNUSABLE },
    { fault: { kind: 'wrong-content-type' }, ...UNUSABLE },
    { fault: { kind: 'invalid-flag' }, ...UNUSABLE },
    { fault: { kind: 'other-patient' }, ...UNUSABLE },
    {
      fault: { kind: 'invalid-parameter' },
      code: 'INPUT_MESSAGE_VALIDATION_ERROR',
      status: 400,
      smspCode: 'SMSP-0001',
    },
  ] as const;
  for (const f of FAULTS) {
    it(`MSCA-FGMRISQR-04 Spine fault ${f.fault.kind}: the check did not happen, so ${f.status} ${f.code}, never the {"cards": []} of no record; named in the log, metrics and audit`, async () => {
      stack.sim.setFault(f.fault as never);
      try {
        const logged = stack.logs.length;
        const { res, json } = await callService(hookCall(patient('9990000018', '2014-03-02')));
        assert.equal(res.status, f.status);
        assert.deepEqual(Object.keys(json).sort(), ['code', 'display', 'smspCode'], 'the CDS error body, no cards key');
        assert.deepEqual([json.code, json.smspCode], [f.code, f.smspCode]);
        assert.equal(lastAudit().eventType, 'cds-query');
        assert.equal(lastAudit().outcomeCode, f.code);
        assert.equal(lastAudit().answeredBySpine, 0);
        const line = stack.logs
          .slice(logged)
          .map((l) => JSON.parse(l))
          .find((l) => l.path === '/cds-services/fgm-is');
        assert.equal(line?.code, f.code, 'the access log names the error');
        assert.equal(line?.clientId, EPR.id, 'and the CDS client it came from');
        const metrics = await (await fetch(stack.metricsUrl)).text();
        assert.match(
          metrics,
          new RegExp(
            `route="/cds-services/fgm-is"[^\\n]*code="${f.code}"|code="${f.code}"[^\\n]*route="/cds-services/fgm-is"`,
          ),
        );
      } finally {
        stack.sim.setFault(null);
      }
    });
  }
});

describe('CDS Hooks: trusting CDS clients (SMSP-IG-002)', () => {
  const ATTACKS: { name: string; token: () => string }[] = [
    { name: 'alg none', token: () => cdsJwt({ alg: 'none' }) },
    {
      name: 'HMAC keyed with the public key',
      token: () => cdsJwt({ alg: 'HS256', key: JSON.stringify(jwk(eprKey.publicKey, 'epr-1', 'ES256')) }),
    },
    {
      name: "HMAC keyed with the file's PEM",
      token: () =>
        cdsJwt({
          second: true,
          alg: 'HS256',
          key: epr2Key.publicKey.export({ type: 'spki', format: 'pem' }) as string,
        }),
    },
    { name: "unknown iss (signed with the EPR's own key)", token: () => cdsJwt({ iss: 'https://rogue.example/' }) },
    {
      name: 'jku off the allow-list',
      token: () => cdsJwt({ key: attackerKey.privateKey, header: { kid: 'a1', jku: `${keysUrl}/attacker.json` } }),
    },
    { name: 'signed by a key the EPR does not hold', token: () => cdsJwt({ key: attackerKey.privateKey }) },
    // CDS Hooks 2.0 (specification.md, "kid REQUIRED"); the signature is the EPR's own.
    { name: 'no kid', token: () => cdsJwt({ header: { kid: undefined } }) },
    { name: 'wrong aud (another service)', token: () => cdsJwt({ aud: `${BASE_URL}/cds-services/other` }) },
    {
      name: "wrong aud (the gateway's own address)",
      token: () => cdsJwt({ aud: `${stack.gatewayUrl}/cds-services/fgm-is` }),
    },
    { name: 'aud among others', token: () => cdsJwt({ aud: [SERVICE, 'https://elsewhere.example/'] }) },
    { name: 'expired', token: () => cdsJwt({ issuedAt: -200, lifetime: 100 }) },
    { name: 'over-long lifetime', token: () => cdsJwt({ lifetime: 3600 }) },
    { name: 'issued in the future', token: () => cdsJwt({ issuedAt: 600 }) },
    { name: "a portal user's session token", token: () => stack.signToken(LOCAL_MIDWIFE) },
  ];
  for (const a of ATTACKS) {
    it(`refuses ${a.name} before Spine is called`, async () => {
      const before = stack.sim.received.length;
      const { res } = await callService(hookCall(patient('9990000018', '2014-03-02')), a.token());
      assert.equal(res.status, 401, res.body);
      assert.equal(stack.sim.received.length, before, 'no Spine call');
      assert.equal(lastAudit().outcomeCode, 'AUTHOR_CREDENTIALS_ERROR');
      assert.equal(lastAudit().eventType, 'cds-query');
    });
  }

  it("the attacker's jku is never fetched", () => {
    assert.ok(!keyFetches.includes('/attacker.json'), keyFetches.join(','));
  });

  it('a replayed jti is refused before Spine is called', async () => {
    const token = cdsJwt();
    const first = await callService(hookCall(patient('9990000018', '2014-03-02')), token);
    assert.equal(first.json.cards.length, 1);
    const before = stack.sim.received.length;
    const again = await callService(hookCall(patient('9990000018', '2014-03-02')), token);
    assert.equal(again.res.status, 401);
    assert.equal(stack.sim.received.length, before, 'no Spine call');
  });

  it('a jku on the allow-list is used', async () => {
    const { json } = await callService(
      hookCall(patient('9990000018', '2014-03-02')),
      cdsJwt({ header: { jku: `${keysUrl}/epr-jku.json` } }),
    );
    assert.equal(json.cards.length, 1);
    assert.ok(keyFetches.includes('/epr-jku.json'));
  });

  it('while Redis is unreachable the replay check refuses, never waves a token through', async () => {
    const store = await redisJtiStore('redis://127.0.0.1:1', 'fgm-test:');
    try {
      const verify = createCdsVerifier({ clients: stack.config.cdsHooks!.clients, baseUrl: BASE_URL, jti: store });
      await assert.rejects(verify(cdsJwt(), '/cds-services/fgm-is'), /replay check unavailable/);
    } finally {
      await store.close();
    }
  });

  it('a jti seen by one gateway is refused by another sharing Redis', async () => {
    const redis = await testRedis();
    const stores = [await redisJtiStore(redis.url, redis.prefix), await redisJtiStore(redis.url, redis.prefix)];
    try {
      const clients = stack.config.cdsHooks!.clients;
      const [a, b] = stores.map((jti) => createCdsVerifier({ clients, baseUrl: BASE_URL, jti }));
      const token = cdsJwt();
      assert.equal((await a!(token, '/cds-services/fgm-is')).id, EPR.id);
      await assert.rejects(b!(token, '/cds-services/fgm-is'), /jti replayed/);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await redis.drop();
    }
  });
});

describe("CDS Hooks: the patient from the EPR's FHIR server (the spec's 412)", () => {
  it('a missing prefetch is fetched from the FHIR server with the access token', async () => {
    const seen = fhirRequests.length;
    const { res, json } = await callService(
      hookCall(undefined, {
        context: { userId: 'Practitioner/example', patientId: 'p1' },
        fhirServer: `${fhirUrl}/fhir`,
        fhirAuthorization: { ...REQUEST_EXAMPLE.fhirAuthorization, access_token: 'fhir-access-token' },
      }),
    );
    assert.equal(res.status, 200, res.body);
    assert.equal(json.cards.length, 1);
    assert.equal(fhirRequests.length, seen + 1);
    assert.equal(fhirRequests.at(-1)!.url, '/fhir/Patient/p1');
  });

  it("an unreachable FHIR server → 412 by the fetch's own deadline, Spine not asked", { timeout: 10_000 }, async () => {
    const before = stack.sim.received.length;
    const hanging = fhirRequests.length;
    const { res } = await callService(
      hookCall(undefined, {
        context: { userId: 'Practitioner/example', patientId: 'p1' },
        fhirServer: `${fhirUrl}/hang`,
        fhirAuthorization: { ...REQUEST_EXAMPLE.fhirAuthorization, access_token: 'fhir-access-token' },
      }),
    );
    assert.equal(res.status, 412, res.body);
    // By order, not by the clock: the FHIR server never answered, and the gateway gave up on it
    // (closed its request) rather than waiting for the CDS call's own socket to time out.
    assert.equal(fhirRequests.length, hanging + 1);
    const socket = fhirRequests.at(-1)!.socket;
    if (!socket.destroyed) await once(socket, 'close');
    assert.equal(stack.sim.received.length, before);
  });

  it(
    "a trickling FHIR server after a compressed answer → 412 by the fetch's own deadline; the gateway asks for identity encoding",
    { timeout: 20_000 },
    async () => {
      const before = stack.sim.received.length;
      for (const patientId of ['bomb', 'trickle']) {
        const seen = fhirRequests.length;
        const { res } = await callService(
          hookCall(undefined, {
            context: { userId: 'Practitioner/example', patientId },
            fhirServer: `${fhirUrl}/hang`,
            fhirAuthorization: { ...REQUEST_EXAMPLE.fhirAuthorization, access_token: 'fhir-access-token' },
          }),
        );
        assert.equal(res.status, 412, res.body);
        assert.equal(fhirRequests.length, seen + 1);
        assert.equal(fhirRequests.at(-1)!.headers['accept-encoding'], 'identity');
      }
      // The trickle was cut off by the gateway, not finished by the server.
      const socket = fhirRequests.at(-1)!.socket;
      if (!socket.destroyed) await once(socket, 'close');
      assert.equal(stack.sim.received.length, before);
    },
  );

  it('a compressed Patient, although identity was asked for, is refused unread: 412, Spine not asked', async () => {
    const before = stack.sim.received.length;
    const { res } = await callService(
      hookCall(undefined, {
        context: { userId: 'Practitioner/example', patientId: 'p1-gzip' },
        fhirServer: `${fhirUrl}/fhir`,
        fhirAuthorization: { ...REQUEST_EXAMPLE.fhirAuthorization, access_token: 'fhir-access-token' },
      }),
    );
    assert.equal(res.status, 412, res.body);
    assert.equal(stack.sim.received.length, before);
  });

  it("a fhirServer not on the CDS client's fhirServers is never sent the access token (412, Spine not asked)", async () => {
    const before = stack.sim.received.length;
    const seen = fhirRequests.length;
    for (const fhirServer of [`${fhirUrl}/other`, `${fhirUrl}`, stack.metricsUrl.replace(/\/metrics$/, '')]) {
      const { res } = await callService(
        hookCall(undefined, {
          context: { userId: 'Practitioner/example', patientId: 'p1' },
          fhirServer,
          fhirAuthorization: { ...REQUEST_EXAMPLE.fhirAuthorization, access_token: 'fhir-access-token' },
        }),
      );
      assert.equal(res.status, 412, res.body);
    }
    assert.equal(fhirRequests.length, seen, 'the FHIR server double got no request');
    assert.equal(stack.sim.received.length, before);
    const line = stack.logs
      .map((l) => JSON.parse(l))
      .filter((l) => l.path === '/cds-services/fgm-is')
      .at(-1);
    assert.equal(line.reason, "fhirServer is not one of the CDS client's fhirServers");
    assert.equal(line.clientId, EPR.id);
  });

  it("a prefetched Patient that is not the context's patient is not used (412, Spine not asked)", async () => {
    const before = stack.sim.received.length;
    const { res } = await callService(hookCall(patient('9990000018', '2014-03-02', 'someone-else')));
    assert.equal(res.status, 412);
    assert.equal(stack.sim.received.length, before);
  });

  it('a Patient without an NHS number → 412, Spine not asked', async () => {
    const before = stack.sim.received.length;
    const { res } = await callService(hookCall({ ...patient('9990000018', '2014-03-02'), identifier: [] }));
    assert.equal(res.status, 412);
    assert.equal(stack.sim.received.length, before);
  });

  it('no prefetch and no FHIR server → 412', async () => {
    const { res } = await callService(hookCall(undefined));
    assert.equal(res.status, 412);
    assert.equal(lastAudit().outcomeCode, 'PATIENT_DATA_UNAVAILABLE');
  });
});

describe('CDS Hooks: author, Spine message and audit (SMSP-IG-003, SMSP-AUDIT-004/005)', () => {
  it('SMSP-AUDIT-005 the SDS user and role profile from the prefetched PractitionerRole author the Spine query and the audit record', async () => {
    const user = {
      resourceType: 'PractitionerRole',
      id: 'r9',
      identifier: [{ system: 'https://fhir.nhs.uk/Id/sds-role-profile-id', value: '555021935107' }],
      practitioner: { identifier: { system: 'https://fhir.nhs.uk/Id/sds-user-id', value: '555021929103' } },
    };
    const call = {
      ...hookCall(undefined),
      context: { userId: 'PractitionerRole/r9', patientId: '1288992' },
      prefetch: { patient: patient('9990000018', '2014-03-02'), user },
    };
    const { json } = await callService(call);
    assert.equal(json.cards.length, 1);
    const sent = stack.sim.received.at(-1)!.request!;
    assert.deepEqual(sent.author, { kind: 'sds', userId: '555021929103', roleProfileId: '555021935107' });
    assert.deepEqual(
      validateMessage(stack.sim.received.at(-1)!.xml),
      [],
      'SMSP-IG-001 the message to Spine keeps the profiles',
    );
    assert.equal(sent.organization?.odsCode, EPR.ods);
    assert.equal(sent.sourceAsid, '200000000111', "the SMSP's own ASID");
    const row = lastAudit();
    assert.equal(row.userId, '555021929103');
    assert.equal(row.roleProfileId, '555021935107');
  });

  it('SMSP-AUDIT-005 a prefetched SDS user id over 255 characters is refused as input before Spine is asked, audited by its length and SHA-256', async () => {
    const long = '5'.repeat(4000);
    const user = {
      resourceType: 'PractitionerRole',
      id: 'r9',
      identifier: [{ system: 'https://fhir.nhs.uk/Id/sds-role-profile-id', value: '555021935107' }],
      practitioner: { identifier: { system: 'https://fhir.nhs.uk/Id/sds-user-id', value: long } },
    };
    const before = stack.sim.received.length;
    const call = {
      ...hookCall(undefined),
      context: { userId: 'PractitionerRole/r9', patientId: '1288992' },
      prefetch: { patient: patient('9990000018', '2014-03-02'), user },
    };
    const { res } = await callService(call);
    assert.equal(res.status, 400, res.body);
    assert.equal(stack.sim.received.length, before, 'Spine not asked');
    const row = lastAudit();
    assert.deepEqual(
      [row.outcomeCode, row.userId, row.clientMessageId],
      ['INPUT_MESSAGE_VALIDATION_ERROR', null, call.hookInstance],
    );
    assert.deepEqual(JSON.parse(row.detail as string).refusedValue, {
      element: 'prefetch.user identifier.value',
      length: 4000,
      sha256: createHash('sha256').update(long).digest('hex'),
      start: '5'.repeat(32),
    });
  });

  it("SMSP-FGMRI-006 without SDS ids the user is a local identifier with the EPR's ODS code", async () => {
    const { json } = await callService(hookCall(patient('9990000018', '2014-03-02')));
    assert.equal(json.cards.length, 1);
    const sent = stack.sim.received.at(-1)!.request!;
    assert.deepEqual(sent.author, { kind: 'local', localId: REQUEST_EXAMPLE.context.userId });
    assert.deepEqual(
      validateMessage(stack.sim.received.at(-1)!.xml),
      [],
      'SMSP-IG-001 the message to Spine keeps the profiles',
    );
    assert.equal(sent.organization?.odsCode, EPR.ods);
    assert.equal(sent.organization?.name, EPR.name);
  });

  it('SMSP-AUDIT-004 each CDS call is audited like the other interfaces and found by NHS number', async () => {
    const hookInstance = randomUUID();
    await callService({ ...hookCall(patient('9990000042', '2019-11-30')), hookInstance });
    const row = lastAudit();
    assert.equal(row.eventType, 'cds-query');
    assert.equal(row.clientId, EPR.id);
    assert.equal(row.clientMessageId, hookInstance);
    assert.equal(row.nhsNumber, '9990000042');
    assert.equal(row.orgCode, EPR.ods);
    assert.equal(row.outcomeCode, 'SUCCESS');
    assert.equal(row.answeredBySpine, 1);
    assert.ok(row.spineMessageId);
    const res = await stack.request('/admin/audit?nhsNumber=9990000042', {
      token: stack.signToken({ sub: 'ig', roles: ['smsp-auditor'], org: 'RX1' }),
    });
    assert.equal(res.status, 200, res.body);
    const found = JSON.parse(res.body).records.filter((r: { eventType: string }) => r.eventType === 'cds-query');
    assert.ok(found.some((r: { clientMessageId: string }) => r.clientMessageId === hookInstance));
  });

  it("no patient data in the gateway's logs", () => {
    const text = stack.logs.join('\n');
    for (const nhs of ['9990000018', '9990000042', '9990000026', '2014-03-02']) assert.ok(!text.includes(nhs), nhs);
  });
});

describe('CDS Hooks not configured', () => {
  it('without cdsHooks the routes are not served', async () => {
    const plain = await startTestStack();
    try {
      assert.equal(
        (await plain.request('/cds-services', { token: cdsJwt({ aud: `${BASE_URL}/cds-services` }) })).status,
        404,
      );
      assert.equal(
        (
          await plain.request('/cds-services/fgm-is', {
            token: cdsJwt(),
            json: hookCall(patient('9990000018', '2014-03-02')),
          })
        ).status,
        404,
      );
    } finally {
      await plain.close();
    }
  });
});
