/**
 * CDS Hooks with Redis lost (hostile review 21c of issue 21), over real sockets: Redis is "lost" by
 * cutting a TCP proxy in front of the real one. Cards still come, a replay to this gateway is still
 * refused, and /healthz and the log say the replay check is on this gateway's memory alone.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signJwt } from '../helpers/jwt.ts';
import { tcpProxy, testRedis, type TcpProxy, type TestRedis } from '../helpers/services.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const BASE_URL = 'https://fgm.example.nhs.uk';
const ISSUER = 'https://epr.trust.example/';
const eprKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const patient = {
  resourceType: 'Patient',
  id: 'p1',
  birthDate: '2014-03-02',
  identifier: [
    {
      system: 'https://fhir.nhs.uk/Id/nhs-number',
      value: '9990000018',
      extension: [
        {
          url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
          valueCodeableConcept: {
            coding: [
              { system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '01' },
            ],
          },
        },
      ],
    },
  ],
};

let redis: TestRedis;
let proxy: TcpProxy;
let stack: TestStack;

before(async () => {
  redis = await testRedis();
  proxy = await tcpProxy(redis.host, redis.port);
  const pem = join(mkdtempSync(join(tmpdir(), 'fgm-cds-redis-')), 'epr.pub.pem');
  writeFileSync(pem, eprKey.publicKey.export({ type: 'spki', format: 'pem' }));
  stack = await startTestStack({
    configure: (raw) => {
      raw.spine.rateLimit = {
        ...raw.spine.rateLimit,
        redisUrl: `redis://127.0.0.1:${proxy.port}`,
        redisKeyPrefix: redis.prefix,
        localFallbackShare: 0.5,
      };
      raw.cdsHooks = {
        baseUrl: BASE_URL,
        clients: [
          {
            id: 'trust-epr',
            name: 'Trust EPR',
            odsCode: 'RYJ',
            issuer: ISSUER,
            publicKeyFile: pem,
            algorithms: ['ES256'],
            maxLifetimeSeconds: 300,
            priority: 'interactive',
          },
        ],
      };
    },
  });
});

after(async () => {
  await stack?.close();
  await proxy?.close();
  await redis?.drop();
});

const cdsJwt = (jti = randomUUID()) => {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    { iss: ISSUER, aud: `${BASE_URL}/cds-services/fgm-is`, iat: now, exp: now + 60, jti },
    { alg: 'ES256', key: eprKey.privateKey, kid: 'epr-1' },
  );
};
const call = async (token: string) => {
  const res = await stack.request('/cds-services/fgm-is', {
    token,
    json: {
      hook: 'patient-view',
      hookInstance: randomUUID(),
      context: { userId: 'Practitioner/dr1', patientId: 'p1' },
      prefetch: { patient },
    },
  });
  return { status: res.status, cards: res.status === 200 ? (JSON.parse(res.body) as { cards: unknown[] }).cards : [] };
};
const health = async () => JSON.parse((await stack.request('/healthz')).body) as Record<string, string>;

describe('CDS Hooks with Redis lost (SMSP-IG-002)', () => {
  it("Redis cut: cards still come on this gateway's memory, a replay to it is still refused, /healthz and the log say so", async () => {
    assert.equal((await call(cdsJwt())).cards.length, 1);
    assert.equal((await health()).cdsReplayCheck, 'shared');
    proxy.cut();
    const token = cdsJwt();
    const during = await call(token);
    assert.deepEqual([during.status, during.cards.length], [200, 1]);
    assert.equal((await call(token)).status, 401, 'the same jti again, to the same gateway');
    const h = await health();
    assert.equal(h.cdsReplayCheck, 'local-fallback');
    assert.match(h.cdsReplayCheckReason!, /^Redis unreachable/);
    assert.ok(stack.logs.some((l) => l.includes("cds replay check: Redis unreachable, using this gateway's memory")));
  });
});
