/**
 * @module audit/reference-data
 * SMSP-AUDIT-008: what the start-up and reload records say about the reference data in force —
 * the vocabulary file's SHA-256 (the built-in one or the operator's) and which keys are in use,
 * each by a SHA-256 of its public part (never a private key; the audit HMAC key by a short id).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { GatewayConfig } from '../config/config.ts';
import { DEFAULT_VOCABULARY_FILE } from '../fhir/vocabulary.ts';
import type { KeyMaterial } from '../server/key-material.ts';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

export function referenceData(config: GatewayConfig, material: KeyMaterial) {
  const vocabularyFile = config.vocabularyFile ?? DEFAULT_VOCABULARY_FILE;
  return {
    vocabularyFile: config.vocabularyFile ?? 'built-in',
    vocabularySha256: sha256(readFileSync(vocabularyFile)),
    keys: {
      clientTokenKeys: Object.fromEntries(
        config.clients.map((c) => {
          const pem = material.clientKeys.get(c.id);
          // A CIS2 client has no key of its own: what confirms its users is its CIS2 environment.
          if (!c.token) return [c.id, `cis2:${c.cis2!.issuer ?? c.cis2!.userInfoEndpoint}`];
          return [c.id, pem ? `sha256:${sha256(pem)}` : `jwks:${c.token.jwksUrl}`];
        }),
      ),
      spineClientCertSha256: sha256(material.spineTls.cert),
      spineCaSha256: sha256(material.spineTls.ca),
      ...(material.listenTls && {
        listenCertSha256: sha256(material.listenTls.cert),
        clientCaSha256: sha256(material.listenTls.ca),
      }),
      // A hash of the secret key itself would be a guessing oracle for nobody (32 random bytes), but an id is all a reader needs.
      auditHmacKeyId: sha256(material.hmacKey).slice(0, 16),
    },
  };
}
