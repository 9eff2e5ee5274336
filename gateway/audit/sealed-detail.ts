/**
 * @module audit/sealed-detail
 * What Spine's answer looked like (the deviations the gateway transformed, or why it refused the
 * answer: SMSP-VAL-004) belongs on the audit record for IT, but it is also what Spine said about a
 * child: "Flag.period.start is a partial date" means she had an indicator. FGMISQR009 wants that
 * gone once she is 18, yet `detail` is chained (SMSP-AUDIT-009) and never changes.
 *
 * So that part of `detail` is sealed: AES-256-GCM under a key derived from the audit key, the
 * record's seq and its outcome salt. Erasure clears the salt (chain.ts), and with it the only way
 * to read the seal — even with the audit key (crypto-shredding). The plaintext is padded to one
 * fixed length first, so the seal's size cannot tell one answer from another either.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** The key in `detail` that holds the seal. */
export const SEALED_KEY = 'spineAnswer';
/** Every plaintext is padded to this many bytes: longer than any list of the fixed deviation phrases. */
const PADDED_BYTES = 2048;

const keyFor = (auditKey: Buffer, seq: number, salt: string) =>
  createHmac('sha256', auditKey)
    .update(JSON.stringify(['fgm-audit/sealed-detail', seq, salt]))
    .digest();

/**
 * Seals `plain` (JSON text) for record `seq` with its outcome salt: base64url of iv, ciphertext, tag.
 * A plaintext too long to pad is cut and marked (`{cut: true, start}`), never sealed at another length.
 */
export function seal(auditKey: Buffer, seq: number, salt: string, plain: string): string {
  let bytes = Buffer.from(plain, 'utf8');
  // Escaping can lengthen the cut text, so shorten it until the marked JSON fits.
  for (let keep = plain.length; bytes.length > PADDED_BYTES; keep = Math.floor(keep * 0.75)) {
    bytes = Buffer.from(JSON.stringify({ cut: true, start: plain.slice(0, keep) }), 'utf8');
  }
  const padded = Buffer.alloc(PADDED_BYTES, 0x20);
  bytes.copy(padded);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(auditKey, seq, salt), iv);
  // The seq is bound in as associated data too: a seal copied onto another record does not open.
  cipher.setAAD(Buffer.from(String(seq)));
  const body = Buffer.concat([cipher.update(padded), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The sealed JSON text, or undefined when it cannot be opened (salt erased, or not this record's seal). */
export function open(auditKey: Buffer, seq: number, salt: string | null, sealed: string): string | undefined {
  if (salt === null) return undefined;
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length !== 12 + PADDED_BYTES + 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(auditKey, seq, salt), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(String(seq)));
    decipher.setAuthTag(raw.subarray(12 + PADDED_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(12, 12 + PADDED_BYTES)), decipher.final()])
      .toString('utf8')
      .trimEnd();
  } catch {
    return undefined;
  }
}

/**
 * A stored row's `detail` as an auditor reads it: the seal opened in place while the outcome is
 * held, or `"erased"` once it is gone. Other detail is returned as stored.
 */
export function openDetail<R extends { seq: number; detail?: unknown; outcomeSalt?: unknown }>(
  auditKey: Buffer,
  row: R,
): R {
  if (typeof row.detail !== 'string' || !row.detail.includes(`"${SEALED_KEY}"`)) return row;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(row.detail) as Record<string, unknown>;
  } catch {
    return row;
  }
  const sealed = parsed[SEALED_KEY];
  if (typeof sealed !== 'string') return row;
  const plain = open(auditKey, Number(row.seq), typeof row.outcomeSalt === 'string' ? row.outcomeSalt : null, sealed);
  return {
    ...row,
    detail: JSON.stringify({
      ...parsed,
      [SEALED_KEY]: plain === undefined ? 'erased' : (JSON.parse(plain) as unknown),
    }),
  };
}
