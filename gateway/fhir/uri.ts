/**
 * @module fhir/uri
 * RFC 3986 equivalence for the code-system and identifier-system URIs Spine and EPRs write: the
 * scheme and host are case-insensitive (so is a URN's `urn:` and namespace id), percent-encoded
 * unreserved characters are the characters themselves (§6.2.2.2), dot-segments are removed
 * (§6.2.2.3), a scheme's default port is no port (§6.2.3), a trailing slash adds nothing. The path
 * stays case-sensitive: `/Id/nhs-number` and `/id/NHS-NUMBER` differ. Linear in the input's length:
 * it reads what callers send (issue 21).
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

const DEFAULT_PORT: Record<string, string> = { http: '80', https: '443' };

/** §6.2.2.1–2: hex digits upper case, unreserved characters (A–Z a–z 0–9 - . _ ~) decoded. */
function percentNormal(s: string): string {
  return s.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /^[A-Za-z0-9\-._~]$/.test(c) ? c : `%${hex.toUpperCase()}`;
  });
}

/** §5.2.4 remove_dot_segments, one pass over the segments. */
function withoutDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  segments.forEach((seg, i) => {
    if (seg === '.') {
      if (i === segments.length - 1) out.push('');
    } else if (seg === '..') {
      if (out.length > 1) out.pop();
      if (i === segments.length - 1) out.push('');
    } else out.push(seg);
  });
  return out.join('/');
}

/**
 * The normal forms of the URIs seen lately: the same few systems are compared many times per
 * message. Bounded (emptied when full, short URIs only), so what callers send cannot grow it.
 */
const normalForms = new Map<string, string>();
const MEMO_SIZE = 256;
const MEMO_LENGTH = 256;

/** `uri` in the form it is compared in (see the module's note). */
export function normalUri(uri: string): string {
  if (uri.length > MEMO_LENGTH) return normalForm(uri);
  let v = normalForms.get(uri);
  if (v === undefined) {
    if (normalForms.size >= MEMO_SIZE) normalForms.clear();
    normalForms.set(uri, (v = normalForm(uri)));
  }
  return v;
}

function normalForm(uri: string): string {
  const v = percentNormal(withoutTrailingSlashes(uri.trim()));
  const web = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(.*)$/i.exec(v);
  if (web) {
    const scheme = web[1]!.toLowerCase();
    const at = web[2]!.lastIndexOf('@');
    const userinfo = at >= 0 ? web[2]!.slice(0, at + 1) : '';
    let host = web[2]!.slice(at + 1).toLowerCase();
    const colon = host.lastIndexOf(':');
    const port = colon >= 0 && !host.includes(']', colon) ? host.slice(colon + 1) : undefined;
    if (port !== undefined && /^\d*$/.test(port) && (port === '' || port === DEFAULT_PORT[scheme]))
      host = host.slice(0, colon);
    return withoutTrailingSlashes(`${scheme}://${userinfo}${host}${withoutDotSegments(web[3]!)}${web[4]}`);
  }
  const urn = /^(urn:[a-z0-9][a-z0-9-]*:)(.*)$/i.exec(v);
  return urn ? urn[1]!.toLowerCase() + urn[2] : v;
}

/** True when `a` and `b` name the same system under RFC 3986 (see normalUri). */
export const sameUri = (a: string | undefined, b: string): boolean => a !== undefined && normalUri(a) === normalUri(b);

const DSTU2_HOST = 'http://fhir.nhs.net/';
const NHS_ENGLAND_HOST = 'https://fhir.nhs.uk/';

/**
 * Which host `a` names the DSTU2 system `dstu2` under: the DSTU2 profiles' `http://fhir.nhs.net/…`,
 * or NHS England's `https://fhir.nhs.uk/…` with the same path (fgm-query-v2.md links the profiles
 * and value sets there): one system under two names. Undefined when `a` is neither.
 */
export function systemHost(a: string | undefined, dstu2: string): 'dstu2' | 'nhs-england' | undefined {
  if (sameUri(a, dstu2)) return 'dstu2';
  if (dstu2.startsWith(DSTU2_HOST) && sameUri(a, NHS_ENGLAND_HOST + dstu2.slice(DSTU2_HOST.length)))
    return 'nhs-england';
  return undefined;
}

/** True when `a` is the DSTU2 system `dstu2` under either host (see systemHost). */
export const sameSystem = (a: string | undefined, dstu2: string): boolean => systemHost(a, dstu2) !== undefined;
