/**
 * @module fhir/uri
 * RFC 3986 equivalence for the code-system and identifier-system URIs Spine and EPRs write: the
 * scheme and host are case-insensitive (so is a URN's `urn:` and namespace id), a trailing slash
 * adds nothing. The path stays case-sensitive: `/Id/nhs-number` and `/id/NHS-NUMBER` differ.
 */

/**
 * `s` without its trailing slashes, in one pass from the end. Not `replace(/\/+$/, '')`: that regex
 * restarts at every slash of a run not at the end, quadratic on a caller's 60k slashes (issue 21).
 */
export function withoutTrailingSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x2f) end--;
  return s.slice(0, end);
}

/** `uri` in the form it is compared in: scheme and authority (or URN namespace) lower case, no trailing slash. */
export function normalUri(uri: string): string {
  const v = withoutTrailingSlashes(uri.trim());
  const web = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i.exec(v);
  if (web) return `${web[1]!.toLowerCase()}://${web[2]!.toLowerCase()}${web[3]}`;
  const urn = /^(urn:[a-z0-9][a-z0-9-]*:)(.*)$/i.exec(v);
  return urn ? urn[1]!.toLowerCase() + urn[2] : v;
}

/** True when `a` and `b` name the same system under RFC 3986 (see normalUri). */
export const sameUri = (a: string | undefined, b: string): boolean => a !== undefined && normalUri(a) === normalUri(b);
