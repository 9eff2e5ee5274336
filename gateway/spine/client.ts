/**
 * @module spine/client
 * The gateway's one way to Spine: an HTTPS POST of the FGMQuery_2_0 bundle with TLS mutual
 * authentication over ONE keep-alive agent. Every answer is parsed once, defensively, into the
 * tree the safety core, the deviation report and the mapping all read (SMSP-VAL-004); nothing is cached (SMSP-FGMRI-003) and nothing is retried — the
 * implementation guide leaves retries to the querying party.
 */
import { Agent, request } from 'node:https';
import { createSecureContext } from 'node:tls';
import { urlToHttpOptions } from 'node:url';
import { gunzipSync, inflateSync } from 'node:zlib';
import { FHIR_NS } from '../fhir/constants.ts';
import { decodeXml, parseXml, type XmlElement } from '../fhir/xml.ts';
import type { TlsMaterial } from '../server/key-material.ts';

export const SOAP_ACTION = 'urn:nhs:names:services:clinicals-sync:FGMQuery_2_0';

/** Spine answered with well-formed FHIR XML (any HTTP status): whether it can be used is the safety core's call. */
export interface SpineAnswer {
  kind: 'answer';
  httpStatus: number;
  tree: XmlElement;
  /** How the transport departed from what we asked for (another XML content type, a compressed body): fixed labels and phrases. */
  deviations?: { path: string; message: string }[];
}

/**
 * Spine could not be asked or its answer cannot be used. `reason` is a fixed phrase for logs.
 * - COULD_NOT_CONNECT_TO_SPINE: no connection, TLS failure, dropped connection or deadline passed;
 *   and an HTTP 5xx whose body is no FHIR answer (a proxy's HTML error page, text, nothing): that is
 *   Spine, or the way to it, down, not an answer Spine wrote (issue 18 review 18f F3), so IT is
 *   told Spine could not be reached and the circuit breaker counts it.
 * - RESPONSE_MESSAGE_VALIDATION_ERROR: any other answer that is not a valid FGM-IS response
 *   (wrong content type, too large, not well-formed XML).
 */
export interface SpineFailure {
  kind: 'failure';
  code: 'COULD_NOT_CONNECT_TO_SPINE' | 'RESPONSE_MESSAGE_VALIDATION_ERROR';
  reason: string;
  httpStatus?: number;
}

/**
 * The caller's signal aborted (its client went away) before Spine answered: the call was ended
 * at once, and it says nothing about Spine.
 */
export interface SpineAbandoned {
  kind: 'abandoned';
  code: 'CLIENT_CLOSED_REQUEST';
}

export interface SpineClient {
  query(xml: string, opts?: { signal?: AbortSignal }): Promise<SpineAnswer | SpineFailure | SpineAbandoned>;
}

export interface HttpsSpineClientOptions {
  endpoint: string;
  tls: TlsMaterial;
  /** Overall deadline for connect + headers + body. */
  timeoutMs: number;
  maxResponseBytes: number;
}

// DSTU2 registered application/xml+fhir; later FHIR versions use application/fhir+xml.
const FHIR_XML = /^\s*application\/(fhir\+xml|xml\+fhir)\s*(;|$)/i;
// Any other XML type (text/xml, application/xml, …+xml) is still XML: read it, and report it (SMSP-VAL-004).
const ANY_XML = /^\s*[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]*\+)?xml\s*(;|$)/i;
// No type, or one that says nothing of the body's format (a proxy's default): read as XML when the
// body is XML, reported (issue 18 review F3). text/html and JSON still say what the body is: refused.
const UNTYPED = /^\s*(text\/plain|application\/octet-stream)?\s*(;|$)/i;
/**
 * A root Spine could answer with: a Bundle (or a bare OperationOutcome) in FHIR's namespace, or in
 * none (Spine's own examples are written both ways). `<html>`, a SOAP fault or any other XML is not.
 */
const isFhirResource = (root: XmlElement) =>
  (root.ns === FHIR_NS || root.ns === '') && (root.name === 'Bundle' || root.name === 'OperationOutcome');
/** An XML document's first character, after any leading whitespace (decodeXml has taken off the BOM). */
const STARTS_AS_XML = /^[ \t\r\n]*</;

/**
 * Creates the real Spine client. Call `close()` on shutdown to end the kept-alive connections.
 * @example const spine = createHttpsSpineClient({ endpoint, tls, timeoutMs: 10_000, maxResponseBytes: 262_144 }); await spine.query(xml)
 */
export function createHttpsSpineClient({
  endpoint,
  tls,
  timeoutMs,
  maxResponseBytes,
}: HttpsSpineClientOptions): SpineClient & { close(): void } {
  const agent = new Agent({
    keepAlive: true,
    // One context for every connection: given cert, key and CA, each new socket would parse them again.
    secureContext: createSecureContext({ cert: tls.cert, key: tls.key, ca: tls.ca, minVersion: 'TLSv1.2' }),
    minVersion: 'TLSv1.2',
    maxSockets: 32,
  });
  // Read once: given the URL, each request converted it to request options again.
  const target = urlToHttpOptions(new URL(endpoint));

  function query(
    xml: string,
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<SpineAnswer | SpineFailure | SpineAbandoned> {
    // Nobody is waiting for the answer: do not even open a request.
    if (signal?.aborted) return Promise.resolve({ kind: 'abandoned', code: 'CLIENT_CLOSED_REQUEST' });
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: SpineAnswer | SpineFailure | SpineAbandoned) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const fail = (code: SpineFailure['code'], reason: string, httpStatus?: number) =>
        done({ kind: 'failure', code, reason, ...(httpStatus ? { httpStatus } : {}) });
      // An answer that cannot be read as FHIR: under a 5xx, an outage page, not Spine's answer (F3).
      const unusable = (reason: string, httpStatus: number) =>
        httpStatus >= 500
          ? fail('COULD_NOT_CONNECT_TO_SPINE', `HTTP ${httpStatus} without a FHIR answer: ${reason}`, httpStatus)
          : fail('RESPONSE_MESSAGE_VALIDATION_ERROR', reason, httpStatus);
      const body = Buffer.from(xml, 'utf8');
      // Hostname verification is node's default checkServerIdentity; rejectUnauthorized stays true.
      const req = request({
        ...target,
        method: 'POST',
        agent,
        // As the spec's example request (fgm-query-v2.md) shows them.
        headers: {
          'Content-Type': 'text/xml; charset=utf-8',
          SOAPAction: `"${SOAP_ACTION}"`,
          'Content-Length': body.length,
          // Spine's answers are small; a proxy that compresses anyway is decompressed below.
          'Accept-Encoding': 'identity',
        },
      });
      // First, before anything can destroy the request: an 'error' without a listener ends the process.
      req.on('error', (e: NodeJS.ErrnoException) =>
        fail('COULD_NOT_CONNECT_TO_SPINE', `connection: ${e.code ?? e.name}`),
      );
      // A timer and one listener, not AbortSignal.timeout/any: those cost the gateway about 5% of
      // its CPU per request under load.
      const deadline = setTimeout(() => {
        fail('COULD_NOT_CONNECT_TO_SPINE', 'timeout');
        req.destroy();
      }, timeoutMs);
      const onAbort = () => {
        done({ kind: 'abandoned', code: 'CLIENT_CLOSED_REQUEST' });
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const type = res.headers['content-type'] ?? '';
        const deviations: NonNullable<SpineAnswer['deviations']> = [];
        const untyped = !FHIR_XML.test(type) && !ANY_XML.test(type) && UNTYPED.test(type);
        if (!FHIR_XML.test(type) && !untyped) {
          if (!ANY_XML.test(type)) {
            res.destroy();
            return unusable('wrong content type', status);
          }
          deviations.push({
            path: 'HTTP Content-Type',
            message: 'an XML content type other than application/xml+fhir',
          });
        }
        const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
        if (!['identity', 'gzip', 'x-gzip', 'deflate'].includes(encoding)) {
          res.destroy();
          return unusable('unsupported content encoding', status);
        }
        if (encoding !== 'identity')
          deviations.push({ path: 'HTTP Content-Encoding', message: 'a compressed answer, decompressed' });
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) {
            res.destroy();
            return unusable('response too large', status);
          }
          chunks.push(chunk);
        });
        res.on('error', () => fail('COULD_NOT_CONNECT_TO_SPINE', 'connection lost during response', status));
        res.on('close', () => {
          if (!res.complete) fail('COULD_NOT_CONNECT_TO_SPINE', 'connection lost during response', status);
        });
        // Nothing Spine sends may throw out of this handler: there it would end the process, and
        // every clinician's alert with it (review 18f F2). A throw is an unusable answer.
        res.on('end', () => {
          try {
            read();
          } catch {
            unusable('response unreadable', status);
          }
        });
        const read = () => {
          let raw = Buffer.concat(chunks);
          if (encoding !== 'identity') {
            try {
              // The same cap on what the body expands to: no decompression bomb.
              raw =
                encoding === 'deflate'
                  ? inflateSync(raw, { maxOutputLength: maxResponseBytes })
                  : gunzipSync(raw, { maxOutputLength: maxResponseBytes });
            } catch {
              return unusable('response not decompressible within the size limit', status);
            }
          }
          // UTF-16 from Spine or a proxy is XML as much as UTF-8 is (SMSP-VAL-004): decoded, and reported.
          const decoded = decodeXml(raw, type);
          if (untyped && !(decoded.ok && STARTS_AS_XML.test(decoded.text)))
            return unusable('wrong content type', status);
          if (!decoded.ok) return unusable(`response ${decoded.message}`, status);
          if (untyped)
            deviations.push({ path: 'HTTP Content-Type', message: 'a content type that is not XML, read as XML' });
          for (const message of decoded.deviations) deviations.push({ path: 'XML encoding', message });
          // The byte cap was applied to the bytes received and to what they expanded to; the text
          // decoded from them (in UTF-16 code units, no more than the bytes) is not capped again in
          // UTF-8 bytes, which would refuse 200 KB of UTF-16 that re-encodes to 300 KB.
          const parsed = parseXml(decoded.text, { maxBytes: Number.POSITIVE_INFINITY, nearFhir: true });
          if (!parsed.ok) return unusable('response not-well-formed', status);
          // Well-formed XML under a 5xx is Spine's only when it is FHIR: an XHTML error page or a
          // SOAP fault from a proxy is the outage's page (F3). Under other statuses the safety core judges.
          if (status >= 500 && !isFhirResource(parsed.value)) return unusable('not a FHIR resource', status);
          if (parsed.nearFhir)
            deviations.push({
              path: 'XML namespace',
              message: "a namespace near FHIR's (a trailing slash, https or another case) read as FHIR's",
            });
          done({ kind: 'answer', httpStatus: status, tree: parsed.value, ...(deviations.length && { deviations }) });
        };
      });
      req.end(body);
    });
  }

  return { query, close: () => agent.destroy() };
}
