/**
 * @module audit/canonical
 * The one canonical form of audited text, applied before anything is hashed or stored, by the
 * writer of either store: what the chain hashes is then byte for byte what SQLite and PostgreSQL
 * keep, and verify recomputes the same hash from what it reads back.
 *
 * Decision (documented in docs/audit.md, "What the chain hashes"): a lone UTF-16 surrogate (`\ud800`, which no
 * UTF-8 store can hold) and U+0000 (which PostgreSQL's text cannot hold) become U+FFFD. The
 * request is never refused for it: a claim's or a CDS client's bytes must not stop a clinician
 * seeing a child's indicator, and a refusal would still need an audit record holding those bytes.
 * Every other character — controls, non-BMP characters — is kept as it is.
 */

// A high surrogate not followed by a low one, a low surrogate not preceded by a high one, or NUL.
const UNSTORABLE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\u0000/g;

/** `text` as the trail stores and hashes it: well-formed UTF-16 (so well-formed UTF-8), no NUL. */
export function canonicalText(text: string): string {
  return text.replace(UNSTORABLE, '\ufffd');
}

/** A stored value in canonical form: text canonicalised, numbers and null unchanged. */
export function canonicalValue<T extends string | number | null>(value: T): T {
  return (typeof value === 'string' ? canonicalText(value) : value) as T;
}
