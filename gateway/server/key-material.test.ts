import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { testPki } from '../../test/helpers/pki.ts';
import { parseConfig } from '../config/config.ts';
import { createCdsVerifier, memoryJtiStore } from '../auth/cds-client.ts';
import { readKeyMaterial } from './key-material.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-keys-'));
const put = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

let pki: Awaited<ReturnType<typeof testPki>>;
before(async () => {
  pki = await testPki();
});

/** A config whose only variables are the first client's token key and algorithms (and the anchors' key). */
function configWith(publicKeyFile: string, algorithms: string[], anchorPublicKeyFile?: string) {
  return parseConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      smsp: { asid: '200000000111', odsCode: 'RX1' },
      spine: {
        endpoint: 'https://127.0.0.1:9443/fhir/fgm/query',
        asid: '990101234567',
        timeoutMs: 2000,
        rateLimit: { perSecond: 10, burst: 20 },
        tls: { certFile: pki.leaf['gateway-client'].cert, keyFile: pki.leaf['gateway-client'].key, caFile: pki.caCert },
      },
      clients: [
        {
          id: 'epr',
          name: 'EPR',
          odsCode: 'RX1',
          origins: ['https://epr.test'],
          token: { issuer: 'https://idp', audience: 'gw', publicKeyFile, algorithms, maxLifetimeSeconds: 600 },
          claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
          roleActivities: { midwife: ['B0370'] },
          auditorRoles: [],
          priority: 'interactive',
        },
      ],
      audit: {
        sqliteFile: join(dir, 'audit.sqlite'),
        hmacKeyFile: put('hmac.key', 'k'.repeat(40)),
        ...(anchorPublicKeyFile && { anchorPublicKeyFile }),
      },
    },
    dir,
  );
}
const refused = (file: string, algorithms: string[], message: RegExp) =>
  assert.throws(
    () => readKeyMaterial(configWith(file, algorithms)),
    (e: Error) =>
      e.name === 'ConfigError' &&
      /^config: clients\.0\.token\.publicKeyFile: /.test(e.message) &&
      message.test(e.message),
  );

describe('token verification keys are checked at start-up, naming the key', () => {
  it('an EC P-256 public key with ES256 starts', () => {
    assert.equal(
      readKeyMaterial(
        configWith(put('ec.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string), ['ES256']),
      ).clientKeys.size,
      1,
    );
  });
  it('an RSA public key with only ES256 allowed stops start-up (every token would fail)', () => {
    refused(
      put('rsa.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string),
      ['ES256'],
      /RSA key, which none of algorithms \[ES256\] can verify \(it fits RS256/,
    );
  });
  it('a 1024-bit RSA public key with RS256 stops start-up (jose refuses it for every token)', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    refused(
      put('rsa1024.pem', small.publicKey.export({ type: 'spki', format: 'pem' }) as string),
      ['RS256'],
      /is a 1024-bit RSA key; tokens need RSA keys of at least 2048 bits/,
    );
  });
  it('an EC P-256 key with only ES384 allowed stops start-up', () => {
    refused(
      put('ec2.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string),
      ['ES384'],
      /EC prime256v1 key/,
    );
  });
  it("the identity provider's private key given as publicKeyFile stops start-up", () => {
    refused(
      put('idp-private.pem', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
      ['ES256'],
      /is a private key/,
    );
    refused(
      put('idp-private-rsa.pem', rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string),
      ['RS256'],
      /is a private key/,
    );
  });
  it('a CA certificate given as publicKeyFile stops start-up', () => {
    refused(put('ca.pem', readFileSync(pki.caCert, 'utf8')), ['ES256', 'RS256'], /is a certificate/);
  });
  it('a file that is not a key at all stops start-up', () => {
    refused(put('junk.pem', 'hello\n'), ['ES256'], /is not a PEM public key/);
  });
  it('an EC P-256 key with ES256 and RS256 allowed stops start-up naming RS256 (every RS256 token would fail)', () => {
    refused(
      put('ec3.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string),
      ['ES256', 'RS256'],
      /ec3\.pem is an EC prime256v1 key, which cannot verify RS256 of algorithms \[ES256, RS256\] \(it fits ES256\): take it out of algorithms$/,
    );
  });
  it('an Ed448 key with EdDSA stops start-up (EdDSA tokens are verified as Ed25519)', () => {
    const ed448 = generateKeyPairSync('ed448');
    refused(
      put('ed448.pem', ed448.publicKey.export({ type: 'spki', format: 'pem' }) as string),
      ['EdDSA'],
      /is an ED448 key, which none of algorithms \[EdDSA\] can verify$/,
    );
  });
  it('the private key as openssl ecparam -genkey writes it (EC PARAMETERS first) is named a private key, its content never printed', () => {
    const pem = `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string}`;
    const body = (ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string).split('\n')[1]!;
    assert.throws(
      () => readKeyMaterial(configWith(put('ecparam.pem', pem), ['ES256'])),
      (e: Error) =>
        /^config: clients\.0\.token\.publicKeyFile: .*ecparam\.pem is a private key; give the identity provider's public key/.test(
          e.message,
        ) && !e.message.includes(body.slice(0, 16)),
    );
  });
  it('a public key followed by its private key in one file stops start-up as a private key', () => {
    const both = `${ec.publicKey.export({ type: 'spki', format: 'pem' }) as string}${ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string}`;
    refused(put('both.pem', both), ['ES256'], /both\.pem is a private key/);
  });
  it('a JWK (JSON) given as publicKeyFile says to give PEM or jwksUrl', () => {
    refused(
      put('key.jwk', JSON.stringify(ec.publicKey.export({ format: 'jwk' }))),
      ['ES256'],
      /key\.jwk is JSON \(a JWK or key set\?\); give the identity provider's public key as PEM, or its key set's URL as jwksUrl$/,
    );
  });
  it("the anchor signer's private key given as audit.anchorPublicKeyFile stops start-up (the gateway could forge anchors)", () => {
    const ed = generateKeyPairSync('ed25519');
    const token = put('ec-ok.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    assert.throws(
      () =>
        readKeyMaterial(
          configWith(
            token,
            ['ES256'],
            put('anchor.key', ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
          ),
        ),
      (e: Error) =>
        /^config: audit\.anchorPublicKeyFile: .*anchor\.key is a private key; give the anchor signer's public key/.test(
          e.message,
        ),
    );
    assert.throws(
      () =>
        readKeyMaterial(
          configWith(
            token,
            ['ES256'],
            put('anchor-ec.pub', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string),
          ),
        ),
      (e: Error) =>
        /^config: audit\.anchorPublicKeyFile: .*anchor-ec\.pub is an EC prime256v1 key, which none of algorithms \[EdDSA\] can verify/.test(
          e.message,
        ),
    );
    assert.equal(
      readKeyMaterial(
        configWith(token, ['ES256'], put('anchor.pub', ed.publicKey.export({ type: 'spki', format: 'pem' }) as string)),
      ).clientKeys.size,
      1,
    );
  });
});

describe("a CDS client's publicKeyFile is checked the same way, naming the EPR's key", () => {
  const cds = (publicKeyFile: string, algorithms: ('ES256' | 'RS256')[]) => () =>
    createCdsVerifier({
      clients: [
        {
          id: 'trust-epr',
          name: 'EPR',
          odsCode: 'RYJ',
          issuer: 'https://epr.test',
          publicKeyFile,
          algorithms,
          maxLifetimeSeconds: 300,
          priority: 'interactive',
          allowUnverified: false,
        },
      ],
      baseUrl: 'https://fgm.test',
      jti: memoryJtiStore(),
    });
  it("the EPR's private key stops start-up: give the EPR's public key", () => {
    assert.throws(
      cds(put('epr.key', rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), ['RS256']),
      (e: Error) =>
        e.name === 'ConfigError' &&
        /^config: cdsHooks\.clients\.0\.publicKeyFile: .*epr\.key is a private key; give the EPR's public key/.test(
          e.message,
        ),
    );
  });
  it('an RSA key with ES256 stops start-up naming the key file and the algorithm', () => {
    assert.throws(
      cds(put('epr-rsa.pub', rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string), ['ES256']),
      (e: Error) =>
        /^config: cdsHooks\.clients\.0\.publicKeyFile: .*epr-rsa\.pub is an RSA key, which none of algorithms \[ES256\] can verify/.test(
          e.message,
        ),
    );
  });
});
