/**
 * @module test/helpers/jwt
 * Signs JWTs for the gateway's tests with node:crypto — including the hostile ones a verifier
 * must refuse (`alg: none`, HS256 keyed with the public key) — independently of the code under
 * test, so a test can fail if the verifier is wrong.
 */
import { createHmac, sign, constants, type KeyObject } from 'node:crypto';

export type TestAlg = 'ES256' | 'RS256' | 'PS256' | 'EdDSA' | 'HS256' | 'none';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/**
 * A compact JWS of `payload` with `header` (alg/typ/kid merged in). `key` is a private KeyObject
 * for asymmetric algs, the HMAC secret for HS256, ignored for `none` (empty signature).
 */
export function signJwt(
  payload: Record<string, unknown>,
  opts: { alg: TestAlg; key?: KeyObject | string | Buffer; kid?: string; header?: Record<string, unknown> },
): string {
  const header = { alg: opts.alg, typ: 'JWT', ...(opts.kid ? { kid: opts.kid } : {}), ...opts.header };
  const input = `${b64(header)}.${b64(payload)}`;
  const data = Buffer.from(input);
  let sig: Buffer;
  switch (opts.alg) {
    case 'none':
      sig = Buffer.alloc(0);
      break;
    case 'HS256':
      sig = createHmac('sha256', opts.key as string | Buffer)
        .update(data)
        .digest();
      break;
    case 'ES256':
      sig = sign('sha256', data, { key: opts.key as KeyObject, dsaEncoding: 'ieee-p1363' });
      break;
    case 'RS256':
      sig = sign('sha256', data, opts.key as KeyObject);
      break;
    case 'PS256':
      sig = sign('sha256', data, {
        key: opts.key as KeyObject,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
      break;
    case 'EdDSA':
      sig = sign(null, data, opts.key as KeyObject);
      break;
  }
  return `${input}.${sig.toString('base64url')}`;
}
