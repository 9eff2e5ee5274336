/**
 * @module demo/epr/idp
 * The demo EPR's identity provider: it signs real ES256 session tokens that the gateway verifies
 * exactly as it would a production portal's. The key pair is made once under the data folder.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DemoIdp {
  publicKeyFile: string;
  /** Signs `claims` as a short-lived session token from `issuer` for `audience`. */
  issue(claims: Record<string, unknown>, issuer: string, audience: string, lifetimeSeconds?: number): string;
}

/** Loads the demo IdP key pair from `dir`, creating it (atomically) the first time. */
export function loadDemoIdp(dir: string): DemoIdp {
  const keyFile = join(dir, 'demo-idp.key');
  const publicKeyFile = join(dir, 'demo-idp.pub.pem');
  if (!existsSync(keyFile) || !existsSync(publicKeyFile)) {
    mkdirSync(dir, { recursive: true });
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeAtomically(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
    writeAtomically(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
  }
  const privateKey = createPrivateKey(readFileSync(keyFile));
  const kid = createPublicKey(privateKey).export({ format: 'jwk' }).x!.slice(0, 16);
  return {
    publicKeyFile,
    issue: (claims, issuer, audience, lifetimeSeconds = 300) => {
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        ...claims,
        iss: issuer,
        aud: audience,
        iat: now,
        nbf: now,
        exp: now + lifetimeSeconds,
        jti: randomUUID(),
      };
      return signEs256({ alg: 'ES256', typ: 'JWT', kid }, payload, privateKey);
    },
  };
}

/** A compact JWS with an ES256 signature in the JOSE (r‖s) form. */
export function signEs256(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const encode = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${encode(header)}.${encode(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

function writeAtomically(file: string, content: string, mode: number) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, file);
}
