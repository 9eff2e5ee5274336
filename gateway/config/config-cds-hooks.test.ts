import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from './config.ts';
import { loadCdsHooks } from '../routes/cds-hooks.ts';

function raw(cds: Record<string, unknown> = {}): Record<string, any> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    smsp: { asid: '200000000111', odsCode: 'RX1' },
    spine: {
      endpoint: 'https://127.0.0.1:9443/fhir/fgm/query',
      asid: '990101234567',
      tls: { certFile: 'a.crt', keyFile: 'a.key', caFile: 'ca.crt' },
      timeoutMs: 2000,
      rateLimit: { perSecond: 10, burst: 20 },
    },
    clients: [
      {
        id: 'portal',
        name: 'Portal',
        odsCode: 'RX1',
        origins: [],
        token: {
          issuer: 'https://idp',
          audience: 'gw',
          publicKeyFile: 'idp.pem',
          algorithms: ['ES256'],
          maxLifetimeSeconds: 600,
        },
        claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
        roleActivities: {},
        auditorRoles: [],
        priority: 'interactive',
      },
    ],
    audit: { sqliteFile: 'audit.sqlite', hmacKeyFile: 'hmac.key' },
    cdsHooks: {
      baseUrl: 'https://fgm.example.nhs.uk/',
      clients: [
        {
          id: 'epr',
          name: 'EPR',
          odsCode: 'RYJ',
          issuer: 'https://epr/',
          publicKeyFile: 'epr.pem',
          algorithms: ['ES384'],
          maxLifetimeSeconds: 300,
          priority: 'interactive',
          ...cds,
        },
      ],
    },
  };
}

const fails = (r: unknown, message: RegExp) =>
  assert.throws(
    () => parseConfig(r, '/etc/fgm'),
    (e: Error) => e.name === 'ConfigError' && message.test(e.message),
  );

describe('cdsHooks config (public contract)', () => {
  it("accepts a CDS client, resolves its key file and drops the base URL's trailing slash (the aud is built from it)", () => {
    const c = parseConfig(raw(), '/etc/fgm');
    assert.equal(c.cdsHooks!.baseUrl, 'https://fgm.example.nhs.uk');
    assert.equal(c.cdsHooks!.clients[0]!.publicKeyFile, '/etc/fgm/epr.pem');
  });
  it('SMSP-IG-002 a jwksUrl or jku allow-list entry must be https (http only for loopback)', () => {
    fails(raw({ publicKeyFile: undefined, jwksUrl: 'http://epr.example/jwks' }), /cdsHooks\.clients\.0\.jwksUrl/);
    fails(raw({ jkuAllowList: ['http://epr.example/jwks'] }), /cdsHooks\.clients\.0\.jkuAllowList\.0/);
    assert.ok(parseConfig(raw({ publicKeyFile: undefined, jwksUrl: 'http://127.0.0.1:8080/jwks' }), '/etc').cdsHooks);
  });
  it('exactly one of jwksUrl and publicKeyFile; asymmetric algorithms only', () => {
    fails(raw({ jwksUrl: 'https://epr/jwks' }), /exactly one of jwksUrl or publicKeyFile/);
    fails(raw({ algorithms: ['HS256'] }), /cdsHooks\.clients\.0\.algorithms\.0/);
  });
  it('SMSP-PERF-001 a CDS client has a part of the Spine budget: shares that leave none for it are refused', () => {
    const r = raw();
    r.clients[0].spineShare = 1;
    fails(r, /leave nothing of the Spine budget for the CDS clients/);
  });
  it('an unreadable publicKeyFile stops start-up with one line naming the key', async () => {
    await assert.rejects(
      loadCdsHooks(parseConfig(raw(), '/nonexistent')),
      (e: Error) =>
        e.name === 'ConfigError' && /^config: cdsHooks\.clients\.0\.publicKeyFile: .*ENOENT$/.test(e.message),
    );
  });
  it('SMSP-IG-002 fhirServers must be https and not loopback, unless allowInsecureFhirServers says so (tests, demo)', () => {
    assert.deepEqual(
      parseConfig(raw({ fhirServers: ['https://fhir.trust.example/R4/'] }), '/etc').cdsHooks!.clients[0]!.fhirServers,
      ['https://fhir.trust.example/R4'],
    );
    for (const u of [
      'http://fhir.trust.example/R4',
      'https://127.0.0.1/fhir',
      'https://localhost:8443/fhir',
      'https://[::1]/fhir',
      'http://127.0.0.1:9464',
      'https://[::ffff:127.0.0.1]/fhir',
      'https://[::ffff:7f00:1]/fhir',
      'https://[0:0:0:0:0:ffff:7f00:1]/fhir',
      'https://localhost./fhir',
      'https://LocalHost/fhir',
      'https://epr.localhost/fhir',
      'https://127.1/fhir',
      'https://0.0.0.0/fhir',
      'https://[::]/fhir',
      'https://[::ffff:0.0.0.0]/fhir',
    ]) {
      fails(raw({ fhirServers: [u] }), /cdsHooks\.clients: a fhirServers URL must be https and not loopback/);
      const r = raw({ fhirServers: [u] });
      r.cdsHooks.allowInsecureFhirServers = true;
      assert.ok(parseConfig(r, '/etc').cdsHooks, u);
    }
    // A mapped address outside 127/8 is not loopback.
    assert.ok(parseConfig(raw({ fhirServers: ['https://[::ffff:8.8.8.8]/fhir'] }), '/etc').cdsHooks);
    assert.equal(parseConfig(raw(), '/etc').cdsHooks!.allowInsecureFhirServers, false);
  });
  it("a portal token issuer or client id cannot be a CDS client's", () => {
    fails(raw({ issuer: 'https://idp' }), /CDS client issuer is also a client token issuer/);
    fails(raw({ id: 'portal' }), /CDS client id is also a client system id/);
  });
});
