/**
 * @module auth/verify-key
 * Token verification keys imported into WebCrypto once, not on every request: given a PEM string
 * or a JWK, hono's verifier imports it afresh per call, which was the largest cost on the
 * gateway's hot path. Keys are cached per key and algorithm; a key that cannot serve an
 * algorithm (an RSA key asked to check ES256) rejects, and the token is refused.
 */
import { createPublicKey, webcrypto } from 'node:crypto';

type Alg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';

// The same parameters hono's verifier uses for each JOSE algorithm (asymmetric ones only).
const PARAMS: Record<Alg, webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  RS384: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' },
  RS512: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  PS384: { name: 'RSA-PSS', hash: 'SHA-384' },
  PS512: { name: 'RSA-PSS', hash: 'SHA-512' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  ES384: { name: 'ECDSA', namedCurve: 'P-384' },
  ES512: { name: 'ECDSA', namedCurve: 'P-521' },
  EdDSA: { name: 'Ed25519' },
};

const byKey = new WeakMap<object, Map<string, Promise<webcrypto.CryptoKey>>>();
const byPem = new Map<string, Map<string, Promise<webcrypto.CryptoKey>>>();

/** The WebCrypto public key for `key` (PEM or JWK) and `alg`, imported once. */
export function verifyKey(key: string | webcrypto.JsonWebKey, alg: string): Promise<webcrypto.CryptoKey> {
  const params = PARAMS[alg as Alg];
  if (!params) return Promise.reject(new Error(`algorithm ${alg} is not an asymmetric JOSE algorithm`));
  let perAlg = typeof key === 'string' ? byPem.get(key) : byKey.get(key);
  if (!perAlg) {
    perAlg = new Map();
    if (typeof key === 'string') byPem.set(key, perAlg);
    else byKey.set(key, perAlg);
  }
  let imported = perAlg.get(alg);
  if (!imported) {
    imported =
      typeof key === 'string'
        ? webcrypto.subtle.importKey('spki', createPublicKey(key).export({ type: 'spki', format: 'der' }), params, false, ['verify'])
        : webcrypto.subtle.importKey('jwk', key, params, false, ['verify']);
    perAlg.set(alg, imported);
  }
  return imported;
}
