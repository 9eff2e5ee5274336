import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseConfig } from './config.ts';

/** A complete, valid raw config; each test breaks one thing. */
function raw(): Record<string, any> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    smsp: { asid: '200000000111', odsCode: 'RX1' },
    spine: {
      endpoint: 'https://127.0.0.1:9443/fhir/fgm/query',
      asid: '990101234567',
      tls: { certFile: 'pki/gateway-client.crt', keyFile: 'pki/gateway-client.key', caFile: 'pki/ca.crt' },
      timeoutMs: 2000,
      rateLimit: { perSecond: 10, burst: 20 },
    },
    clients: [
      {
        id: 'epr',
        name: 'EPR',
        odsCode: 'RX1',
        origins: ['http://127.0.0.1:5173/'],
        token: {
          issuer: 'https://idp',
          audience: 'gw',
          publicKeyFile: 'idp.pem',
          algorithms: ['ES256'],
          maxLifetimeSeconds: 600,
        },
        claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
        roleActivities: { midwife: ['B0370'] },
        auditorRoles: [],
        priority: 'interactive',
      },
    ],
    audit: { sqliteFile: 'audit.sqlite', hmacKeyFile: 'hmac.key' },
  };
}

const fails = (r: unknown, message: RegExp) =>
  assert.throws(
    () => parseConfig(r, '/etc/fgm'),
    (e: Error) => e.name === 'ConfigError' && message.test(e.message) && !e.message.includes('\n'),
  );

describe('gateway config', () => {
  it('accepts a complete config, applies defaults and resolves paths against the config directory', () => {
    const c = parseConfig(raw(), '/etc/fgm');
    assert.equal(c.spine.tls.certFile, '/etc/fgm/pki/gateway-client.crt');
    assert.equal(c.clients[0]!.token!.publicKeyFile, '/etc/fgm/idp.pem');
    assert.equal(c.audit.sqliteFile, '/etc/fgm/audit.sqlite');
    assert.equal(c.listen.maxBodyBytes, 65_536);
    assert.deepEqual(c.clients[0]!.origins, ['http://127.0.0.1:5173']);
  });
  it('gateway/config/config.example.json is a valid config', () => {
    const example = JSON.parse(readFileSync(new URL('./config.example.json', import.meta.url), 'utf8'));
    assert.equal(parseConfig(example, '/srv').smsp.asid, '200000000111');
  });
  it('an unknown key stops start-up naming the key', () => {
    const r = raw();
    r.spine.retries = 3;
    fails(r, /^config: spine\.retries: /);
  });
  it('a typo in a required key is named as the unknown key, with the key it was probably meant to be', () => {
    const r = raw();
    r.spine.timeoutMS = r.spine.timeoutMs;
    delete r.spine.timeoutMs;
    fails(r, /^config: spine\.timeoutMS: unknown key; did you mean timeoutMs\? \(and 1 more: spine\.timeoutMs\)$/);
  });
  it("MSCA-FGMRISQR-08 spine.answerTimestamp.maxBehindSeconds above 86400 (24 h: the element keeps an answer at most 24 h after Spine's timestamp) stops start-up with one line saying so; 86400 is accepted", () => {
    const r = raw();
    r.spine.answerTimestamp = { maxAheadSeconds: 300, maxBehindSeconds: 86_401 };
    fails(r, /^config: spine\.answerTimestamp\.maxBehindSeconds: at most 86400 \(24 hours\)/);
    r.spine.answerTimestamp.maxBehindSeconds = 86_400;
    assert.equal(parseConfig(r, '/etc/fgm').spine.answerTimestamp.maxBehindSeconds, 86_400);
  });
  it('an http Spine endpoint says https is required, not "Invalid URL"', () => {
    const r = raw();
    r.spine.endpoint = 'http://127.0.0.1:9443/fhir/fgm/query';
    fails(r, /^config: spine\.endpoint: must be an https URL: Spine is reached only over TLS mutual authentication$/);
  });
  it('a missing key stops start-up naming the key', () => {
    const r = raw();
    delete r.clients[0].token.issuer;
    fails(r, /^config: clients\.0\.token\.issuer: /);
  });
  it('a wrong type stops start-up naming the key', () => {
    const r = raw();
    r.spine.timeoutMs = '2000';
    fails(r, /^config: spine\.timeoutMs: /);
  });
  it('none and HS256 are refused in an algorithm allow-list', () => {
    for (const alg of ['none', 'HS256']) {
      const r = raw();
      r.clients[0].token.algorithms = [alg];
      fails(r, /^config: clients\.0\.token\.algorithms\.0: /);
    }
  });
  it('a token needs exactly one of jwksUrl or publicKeyFile', () => {
    const r = raw();
    r.clients[0].token.jwksUrl = 'https://idp/jwks.json';
    fails(r, /^config: clients\.0\.token: give exactly one of jwksUrl or publicKeyFile/);
  });
  it('a Spine endpoint must be https', () => {
    const r = raw();
    r.spine.endpoint = 'http://127.0.0.1:9443/fhir/fgm/query';
    fails(r, /^config: spine\.endpoint: /);
  });
  it('two clients may not share an issuer (the issuer picks the key)', () => {
    const r = raw();
    r.clients.push({ ...r.clients[0], id: 'epr2' });
    fails(r, /^config: clients: two clients share a token issuer/);
  });
  it('a typo in an optional key (redisURL) is named with the key it was probably meant to be', () => {
    const r = raw();
    r.spine.rateLimit.redisURL = 'redis://127.0.0.1:6379';
    fails(r, /^config: spine\.rateLimit\.redisURL: unknown key; did you mean redisUrl\?$/);
    const t = raw();
    t.clients[0].token.audeince = t.clients[0].token.audience;
    delete t.clients[0].token.audience;
    fails(
      t,
      /^config: clients\.0\.token\.audeince: unknown key; did you mean audience\? \(and 1 more: clients\.0\.token\.audience\)$/,
    );
  });
  it('a renamed required key (fingerprint for fingerprint256) is named with the one that is missing', () => {
    const r = raw();
    r.clients[0].mtls = { fingerprint: Array(32).fill('ab').join(':') };
    fails(
      r,
      /^config: clients\.0\.mtls\.fingerprint: unknown key; did you mean fingerprint256\? \(and 1 more: clients\.0\.mtls\.fingerprint256\)$/,
    );
  });
  it('a key nothing resembles is named without a guess', () => {
    const r = raw();
    r.spine.retries = 3;
    fails(r, /^config: spine\.retries: unknown key$/);
  });
  it('a URL of the wrong kind says what the key allows, never "Invalid URL", once', () => {
    const cases: [(r: Record<string, any>) => void, RegExp][] = [
      [
        (r) => {
          r.clients[0].origins = ['portal.trust.nhs.uk'];
        },
        /^config: clients\.0\.origins\.0: an origin is the portal page's https:\/\/ \(or http:\/\/\) scheme, host and port/,
      ],
      [
        (r) => {
          r.spine.rateLimit.redisUrl = 'https://redis:6379';
          r.spine.rateLimit.localFallbackShare = 0.5;
        },
        /^config: spine\.rateLimit\.redisUrl: must be a redis:\/\/ or rediss:\/\/ \(TLS\) URL$/,
      ],
      [
        (r) => {
          r.audit.postgresUrl = 'mysql://db/fgm';
        },
        /^config: audit\.postgresUrl: must be a postgres:\/\/ or postgresql:\/\/ URL$/,
      ],
      [
        (r) => {
          delete r.clients[0].token.publicKeyFile;
          r.clients[0].token.jwksUrl = 'ftp://idp/jwks';
        },
        /^config: clients\.0\.token\.jwksUrl: a jwksUrl must be https \(http only for 127\.0\.0\.1, localhost or \[::1\]\)$/,
      ],
      [
        (r) => {
          r.clients[0].cis2 = { issuer: 'cis2.nhs.uk', clientId: 'x' };
        },
        /^config: clients\.0\.cis2\.issuer: a CIS2 URL must be https/,
      ],
    ];
    for (const [breakIt, message] of cases) {
      const r = raw();
      breakIt(r);
      fails(r, message);
      assert.throws(
        () => parseConfig(r, '/etc/fgm'),
        (e: Error) => !e.message.includes('Invalid URL'),
      );
    }
  });
  it('a key a map refuses says the rule it breaks, not "Invalid key in record"', () => {
    const r = raw();
    r.clients[0].roleActivities['senior midwife'] = ['B0370'];
    fails(r, /^config: clients\.0\.roleActivities\.senior midwife: not a valid key: a role name has no spaces/);
    const o = raw();
    o.clients[0].orgNames = { rx1: 'Trust' };
    fails(
      o,
      /^config: clients\.0\.orgNames\.rx1: not a valid key: an ODS code is 3 to 10 upper-case letters or digits$/,
    );
  });
  it('normalises an mTLS fingerprint to upper-case hex without colons', () => {
    const r = raw();
    r.clients[0].mtls = { fingerprint256: Array(32).fill('ab').join(':') };
    assert.equal(parseConfig(r, '/').clients[0]!.mtls!.fingerprint256, 'AB'.repeat(32));
  });
});

describe('gateway config: the scale-out engines', () => {
  it('redisUrl needs localFallbackShare, and the share means nothing without redisUrl', () => {
    const r = raw();
    r.spine.rateLimit.redisUrl = 'redis://127.0.0.1:6379';
    fails(r, /^config: spine\.rateLimit\.localFallbackShare: redisUrl needs localFallbackShare/);
    delete r.spine.rateLimit.redisUrl;
    r.spine.rateLimit.localFallbackShare = 0.5;
    fails(r, /^config: spine\.rateLimit\.localFallbackShare: localFallbackShare applies only with redisUrl/);
  });
  it('postgresUrl is a postgres:// URL, and a config names a SQLite file or PostgreSQL', () => {
    const r = raw();
    r.audit.postgresUrl = 'mysql://db/fgm';
    fails(r, /^config: audit\.postgresUrl: /);
    r.audit = { hmacKeyFile: 'hmac.key' };
    fails(r, /^config: audit\.sqliteFile: give sqliteFile or postgresUrl/);
    r.audit.postgresUrl = 'postgres://fgm_gateway@db/fgm';
    assert.equal(parseConfig(r, '/etc/fgm').audit.sqliteFile, undefined);
  });
});
