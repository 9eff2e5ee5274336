import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { testPki } from '../test/helpers/pki.ts';
import { parseConfig } from './config.ts';
import { readKeyMaterial } from './key-material.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-keys-'));
const put = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

let pki: Awaited<ReturnType<typeof testPki>>;
before(async () => { pki = await testPki(); });

/** A config whose only variable is the first client's token key and algorithms. */
function configWith(publicKeyFile: string, algorithms: string[]) {
  return parseConfig({
    listen: { host: '127.0.0.1', port: 0 },
    smsp: { asid: '200000000111', odsCode: 'RX1' },
    spine: {
      endpoint: 'https://127.0.0.1:9443/fhir/fgm/query', asid: '990101234567', timeoutMs: 2000, rateLimit: { perSecond: 10, burst: 20 },
      tls: { certFile: pki.leaf['gateway-client'].cert, keyFile: pki.leaf['gateway-client'].key, caFile: pki.caCert },
    },
    clients: [{
      id: 'epr', name: 'EPR', odsCode: 'RX1', origins: ['https://epr.test'],
      token: { issuer: 'https://idp', audience: 'gw', publicKeyFile, algorithms, maxLifetimeSeconds: 600 },
      claims: { userId: 'sub', roles: 'roles', orgCode: 'org' }, roleActivities: { midwife: ['B0370'] }, auditorRoles: [], priority: 'interactive',
    }],
    audit: { sqliteFile: join(dir, 'audit.sqlite'), hmacKeyFile: put('hmac.key', 'k'.repeat(40)) },
  }, dir);
}
const refused = (file: string, algorithms: string[], message: RegExp) =>
  assert.throws(() => readKeyMaterial(configWith(file, algorithms)), (e: Error) => e.name === 'ConfigError' && /^config: clients\.0\.token\.publicKeyFile: /.test(e.message) && message.test(e.message));

describe('token verification keys are checked at start-up, naming the key', () => {
  it('an EC P-256 public key with ES256 starts', () => {
    assert.equal(readKeyMaterial(configWith(put('ec.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string), ['ES256'])).clientKeys.size, 1);
  });
  it('an RSA public key with only ES256 allowed stops start-up (every token would fail)', () => {
    refused(put('rsa.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string), ['ES256'], /RSA key, which none of algorithms \[ES256\] can verify \(it fits RS256/);
  });
  it('an EC P-256 key with only ES384 allowed stops start-up', () => {
    refused(put('ec2.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string), ['ES384'], /EC prime256v1 key/);
  });
  it("the identity provider's private key given as publicKeyFile stops start-up", () => {
    refused(put('idp-private.pem', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), ['ES256'], /is a private key/);
    refused(put('idp-private-rsa.pem', rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string), ['RS256'], /is a private key/);
  });
  it('a CA certificate given as publicKeyFile stops start-up', () => {
    refused(put('ca.pem', readFileSync(pki.caCert, 'utf8')), ['ES256', 'RS256'], /is a certificate/);
  });
  it('a file that is not a key at all stops start-up', () => {
    refused(put('junk.pem', 'hello\n'), ['ES256'], /is not a PEM public key/);
  });
});
