/**
 * @module test/helpers/sealed-detail
 * Opens the sealed part of an audit record's `detail` the way docs/audit.md ("Erasure of outcomes") documents it, written out
 * here rather than imported, so a test does not read the product's seal with the product's code:
 * AES-256-GCM, key HMAC-SHA256(audit key, JSON ["fgm-audit/sealed-detail", seq, outcomeSalt]),
 * stored as base64url of the 12-byte IV, the ciphertext and the 16-byte tag, the seq as associated
 * data, the plaintext padded with spaces.
 */
import { createDecipheriv, createHmac } from 'node:crypto';

/** The record's `detail` object with `spineAnswer` opened (undefined when it cannot be). */
export function auditDetail(key: Buffer, row: Record<string, unknown>): Record<string, unknown> {
  const detail = JSON.parse(String(row.detail)) as Record<string, unknown>;
  if (typeof detail.spineAnswer !== 'string') return detail;
  if (typeof row.outcomeSalt !== 'string') return { ...detail, spineAnswer: undefined };
  const raw = Buffer.from(detail.spineAnswer, 'base64url');
  const k = createHmac('sha256', key)
    .update(JSON.stringify(['fgm-audit/sealed-detail', Number(row.seq), row.outcomeSalt]))
    .digest();
  const d = createDecipheriv('aes-256-gcm', k, raw.subarray(0, 12));
  d.setAAD(Buffer.from(String(Number(row.seq))));
  d.setAuthTag(raw.subarray(raw.length - 16));
  const plain = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
  return { ...detail, spineAnswer: JSON.parse(plain.trimEnd()) };
}
