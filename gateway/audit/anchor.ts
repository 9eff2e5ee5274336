/**
 * @module audit/anchor
 * Signed anchors: the chain's head (sequence, hash, time) signed with an Ed25519 key that the
 * gateway never holds. Kept somewhere else, an anchor proves the records up to it existed, so a
 * truncated tail is detectable too. Verification needs only the public key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Anchor {
  seq: number;
  hash: string;
  time: string;
  /** Ed25519 signature of `anchorPayload(...)`, base64. */
  signature: string;
}

const payload = (a: Pick<Anchor, 'seq' | 'hash' | 'time'>) =>
  Buffer.from(JSON.stringify({ seq: a.seq, hash: a.hash, time: a.time }));

/** Signs the head; `key` is an Ed25519 private key (PEM or KeyObject). */
export function signAnchor(head: { seq: number; hash: string }, key: string | KeyObject, time = new Date()): Anchor {
  const body = { seq: head.seq, hash: head.hash, time: time.toISOString() };
  const k = typeof key === 'string' ? createPrivateKey(key) : key;
  return { ...body, signature: sign(null, payload(body), k).toString('base64') };
}

export function anchorSignatureValid(a: Anchor, publicKey: string | KeyObject): boolean {
  try {
    return verify(
      null,
      payload(a),
      typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey,
      Buffer.from(a.signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/** Writes an anchor file (atomically) named by its sequence number; returns its path. */
export function writeAnchor(dir: string, a: Anchor): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `anchor-${String(a.seq).padStart(12, '0')}-${a.time.replace(/[:.]/g, '')}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(a, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Every anchor file in `dir`, in sequence order. A file that is not an anchor is reported by name. */
export function readAnchors(dir: string): Anchor[] {
  return readdirSync(dir)
    .filter((f) => /^anchor-.*\.json$/.test(f))
    .sort()
    .map((f) => {
      const a = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Anchor;
      if (!Number.isInteger(a.seq) || typeof a.hash !== 'string' || typeof a.signature !== 'string')
        throw new Error(`${f} is not an anchor file`);
      return a;
    });
}

/** A new Ed25519 key pair for anchors: the private key for whoever signs, the public one for the gateway's config. */
export function generateAnchorKeys(dir: string): { privateKeyFile: string; publicKeyFile: string } {
  mkdirSync(dir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyFile = join(dir, 'audit-anchor.key');
  const publicKeyFile = join(dir, 'audit-anchor.pub.pem');
  writeFileSync(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, {
    mode: 0o600,
    flag: 'wx',
  });
  writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }) as string, { flag: 'wx' });
  return { privateKeyFile, publicKeyFile };
}
