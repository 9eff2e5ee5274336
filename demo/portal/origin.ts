/**
 * @module demo/portal/origin
 * Reads `--origin`: the portal's origin exactly as the browser sends it in the `Origin` header
 * (scheme, host, port). Anything else would be written into the gateway's CORS list and then
 * never match, so it is refused here with what to give instead.
 */

const EXAMPLE = 'http://localhost:5173';

/** The origin in its browser form (`new URL(x).origin`); throws a one-line Error saying what is wrong. */
export function parseOrigin(arg: string | undefined): string {
  if (!arg) throw new Error(`--origin is required: the origin your portal's pages are served from, e.g. ${EXAMPLE}`);
  let url: URL;
  try {
    url = new URL(arg);
  } catch {
    throw new Error(`--origin "${arg}" is not a URL; give scheme, host and port, e.g. ${EXAMPLE}`);
  }
  if (!arg.includes('://'))
    throw new Error(
      `--origin "${arg}" lacks its scheme: an origin is scheme, host and port, e.g. http://${arg.replace(/^\/+/, '')}`,
    );
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`--origin "${arg}" must be http: or https: (a browser page's origin), e.g. ${EXAMPLE}`);
  if (url.username || url.password) throw new Error(`--origin "${arg}" may not carry a user name or password`);
  // "http://localhost:5173/" is the same origin; "/app", "?x" or "#y" are not part of any origin.
  if (url.pathname !== '/' || url.search || url.hash || /[?#]/.test(arg)) {
    throw new Error(
      `--origin "${arg}" has a path, query or fragment; an origin is scheme, host and port only: ${url.origin}`,
    );
  }
  return url.origin;
}
