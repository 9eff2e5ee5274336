/**
 * @module demo/spine/server
 * A Spine FGM-IS simulator: a real HTTPS server that demands a client certificate from the dev CA
 * (TLS mutual authentication, TLS 1.2+) and answers `POST /fhir/fgm/query` as Spine does — it
 * refuses an FGMQuery_2_0 bundle the profile snapshots refuse, checks the ASIDs, and answers
 * from the test patients with the spec's status codes and a response made from the spec's example
 * messages (answers.ts), checked against the profiles before sending. From the gateway it takes
 * only the profile validator and the vocabulary's data: its reading of requests (read-request.ts)
 * and its answers are its own, so the gateway is tested against answers it did not write.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { isUnder18, ukToday } from '../../widget/rules/age.ts';
import { validateMessage, type Violation } from '../../gateway/fhir/profile-validator.ts';
import { isValidNhsNumber } from '../../widget/rules/nhs-number.ts';
import { deflateSync, gzipSync } from 'node:zlib';
import {
  errorAnswer,
  HARMLESS_VARIANTS,
  HIDING_VARIANTS,
  indicatorAnswer,
  SPINE_ASID,
  UNSAFE_VARIANTS,
  type Addressing,
  type ErrorRow,
  type HidingVariant,
} from './answers.ts';
import type { Fault } from './faults.ts';
import { createTeardown } from '../../gateway/server/teardown.ts';
import { loadPatients, type Patient } from './patients.ts';
import { readRequest, type SimRequest } from './read-request.ts';

/** Spine refuses requests far larger than an FGM-IS query (a few KB). */
const MAX_XML_BYTES = 64 * 1024;

/** The vocabulary's rows, as data (the gateway's file): the simulator answers with Spine's codes. */
const VOCABULARY = new Map(
  (
    JSON.parse(readFileSync(new URL('../../gateway/fhir/vocabulary.json', import.meta.url), 'utf8')) as {
      rows: (ErrorRow & { httpStatus: number })[];
    }
  ).rows.map((r) => [r.code, r]),
);
const row = (code: string) => VOCABULARY.get(code)!;

/** The demo gateway's ASID; other senders must be listed in `asids` / SPINE_SIM_ASIDS. */
export const DEMO_GATEWAY_ASID = '200000000111';
export const QUERY_PATH = '/fhir/fgm/query';
const CONTENT_TYPE = 'application/xml+fhir; charset=utf-8';
/** What a proxy in front of a Spine that is down sends (the `outage` fault): pages, never FHIR. */
const OUTAGE_PAGES = {
  html: {
    type: 'text/html; charset=utf-8',
    body: '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>The upstream server is unavailable.</p></body></html>',
  },
  xhtml: {
    type: 'application/xhtml+xml; charset=utf-8',
    body: '<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>',
  },
  text: { type: 'text/plain', body: 'upstream connect error or disconnect/reset before headers' },
  empty: { type: null, body: '' },
} as const;
const RECEIVED_CAP = 1000;

export interface SpineSimulatorOptions {
  host?: string;
  /** 9443 by default; 0 picks a free port. */
  port?: number;
  /** Folder with ca.crt, spine.crt and spine.key (the dev PKI). */
  pkiDir: string;
  /** Source ASIDs accepted besides the demo gateway's. */
  asids?: readonly string[];
  patients?: Map<string, Patient>;
  fault?: Fault | null;
  now?: () => Date;
  /** One line per request: method, path, status, milliseconds — never message content. */
  log?: (line: string) => void;
}

export interface ReceivedRequest {
  xml: string;
  request?: SimRequest;
  at: Date;
  clientCertSubject?: string;
  contentType?: string;
  /** What the simulator answered (after any fault): for tests that trace the gateway's data to Spine's answer. */
  answer?: { status: number; body: string };
  soapAction?: string;
}

/** A message that broke the profiles: a request the simulator refused, or an answer it would not send. */
export interface ProfileFailure {
  message: 'request' | 'answer';
  violations: Violation[];
  at: Date;
}

export interface SpineSimulator {
  /** Base URL, e.g. `https://127.0.0.1:9443`. */
  url: string;
  /** The query endpoint: `${url}/fhir/fgm/query`. */
  endpoint: string;
  port: number;
  /** What the simulator was sent, oldest first (the last 1000). */
  received: ReceivedRequest[];
  /** Every profile failure so far, oldest first (the last 1000): tests fail a run that has one they did not cause. */
  profileFailures: ProfileFailure[];
  setFault(fault: Fault | null): void;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  xml: string;
}

/** What the handler shares with the running simulator: what it was sent, and the faults it applies. */
interface SimState {
  received: ReceivedRequest[];
  profileFailures: ProfileFailure[];
  /** The fault set by setFault; it overrides any patient's own. */
  fault: Fault | null;
  /** Answers kept by the `hold` fault, sent when the fault changes. */
  held: (() => void)[];
  /** Answers a `delay` fault is holding back; cleared at close. */
  timers: Set<NodeJS.Timeout>;
}

/** The request handler: Spine's decision for each request, then the fault in force applied to its answer. */
function createHandler(
  opts: SpineSimulatorOptions,
  state: SimState,
): (req: IncomingMessage, res: ServerResponse) => void {
  const patients = opts.patients ?? loadPatients();
  const allowed = new Set([DEMO_GATEWAY_ASID, ...(opts.asids ?? [])]);
  const now = opts.now ?? (() => new Date());
  const { received, profileFailures, timers } = state;
  const recordFailure = (message: ProfileFailure['message'], violations: Violation[]) => {
    profileFailures.push({ message, violations, at: now() });
    if (profileFailures.length > RECEIVED_CAP) profileFailures.shift();
    // Profile paths and fixed phrases only: safe to log.
    for (const v of violations) opts.log?.(`profile violation in the ${message}: ${v.path} ${v.message}`);
  };
  /** Spine never sends what its profiles forbid; neither does the simulator (its variants are applied after). */
  function checked(status: number, xml: string): Answer {
    const violations = validateMessage(xml);
    if (violations.length) {
      recordFailure('answer', violations);
      return { status: 500, xml: 'the simulator built an answer its profiles refuse' };
    }
    return { status, xml };
  }

  const addressing = (respondsTo: string, destinationAsid: string, destinationName?: string): Addressing => ({
    respondsTo,
    destinationAsid,
    destinationName,
    timestamp: now(),
  });
  const error = (a: Addressing, code: string) => checked(row(code).httpStatus, errorAnswer(a, row(code)));

  /** What Spine could still read of a refused request, to address the error answer. */
  function refuse(body: string, code: string): Answer {
    const respondsTo = /<MessageHeader[^>]*>\s*<(?:\w+:)?id\s+value="([^"]{1,64})"/.exec(body)?.[1] ?? randomUUID();
    const source = /urn:nhs:addressing:asid:(\d{1,12})/.exec(body)?.[1] ?? '0';
    return error(addressing(respondsTo, source), code);
  }

  /** Spine's decision for a request body, and the test patient it concerns (for per-patient faults). */
  function decide(body: string): { answer: Answer; patient?: Patient; request?: SimRequest } {
    // The profiles first, as Spine applies them. A broken parameter is INVALID_PARAMETER; any other
    // structural fault is MESSAGE_NOT_WELL_FORMED.
    const violations = validateMessage(body);
    const request = violations.length ? undefined : readRequest(body);
    if (!request) {
      // A profile violation is a profile path and a fixed phrase: safe to log.
      const found = violations.length ? violations : [{ path: 'Bundle', message: 'could not be read' }];
      recordFailure('request', found);
      return {
        answer: refuse(
          body,
          found.some((v) => v.path.startsWith('Parameters')) ? 'INVALID_PARAMETER' : 'MESSAGE_NOT_WELL_FORMED',
        ),
      };
    }
    const a = addressing(request.messageId, request.sourceAsid, request.sourceName);
    if (!allowed.has(request.sourceAsid) || request.destinationAsid !== SPINE_ASID)
      return { request, answer: error(a, 'ASID_CHECK_FAILED') };
    if (!isValidNhsNumber(request.nhsNumber)) return { request, answer: error(a, 'INVALID_NHS_NUMBER') };
    const patient = patients.get(request.nhsNumber);
    if (!patient) return { request, answer: error(a, 'NO_RECORD_FOUND') };
    if (!isUnder18(patient.birthDate, ukToday(now()))) return { request, patient, answer: error(a, 'PATIENT_OVER_18') };
    const answer = patient.fgm
      ? checked(200, indicatorAnswer(a, patient.nhsNumber, patient.fgm.assessmentDate))
      : error(a, 'NO_RECORD_FOUND');
    return { request, patient, answer };
  }

  const entryOf = new WeakMap<ServerResponse, ReceivedRequest>();
  function send(
    res: ServerResponse,
    status: number,
    body: string,
    /** `null`: no Content-Type header at all. */
    contentType: string | null = CONTENT_TYPE,
    encoding?: 'gzip' | 'deflate' | 'utf-16',
  ) {
    if (res.destroyed) return;
    const entry = entryOf.get(res);
    if (entry) entry.answer = { status, body };
    const bytes =
      encoding === 'gzip'
        ? gzipSync(body)
        : encoding === 'deflate'
          ? deflateSync(body)
          : encoding === 'utf-16'
            ? Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, 'utf16le')])
            : Buffer.from(body, 'utf8');
    res.writeHead(status, {
      ...(contentType !== null && { 'Content-Type': contentType }),
      'Content-Length': bytes.length,
      ...(encoding && encoding !== 'utf-16' && { 'Content-Encoding': encoding }),
    });
    res.end(bytes);
  }

  function respond(
    req: IncomingMessage,
    res: ServerResponse,
    a: Answer,
    f: Fault | null,
    request: SimRequest | undefined,
    patientDate: string | undefined,
    /** The patient's own fault, which a simulator-wide `hold` keeps for when it releases the answer. */
    own: Fault | null = null,
  ) {
    if (!f) return send(res, a.status, a.xml);
    switch (f.kind) {
      case 'delay': {
        const t = setTimeout(() => {
          timers.delete(t);
          send(res, a.status, a.xml);
        }, f.ms);
        timers.add(t);
        return;
      }
      case 'hold':
        // Released as the patient's own fault would answer (a `hold` of its own is released plain).
        state.held.push(() => respond(req, res, a, own?.kind === 'hold' ? null : own, request, patientDate));
        return;
      case 'drop':
        return req.socket.destroy();
      case 'http-500':
        return send(res, 500, 'Internal Server Error', 'text/plain');
      case 'outage':
        return send(res, f.status, OUTAGE_PAGES[f.page].body, OUTAGE_PAGES[f.page].type);
      case 'garbage':
        return send(res, 200, '<<<this is not { xml', CONTENT_TYPE);
      case 'no-namespace':
        return send(res, a.status, a.xml.replace(' xmlns="http://hl7.org/fhir"', ''));
      case 'wrong-content-type':
        return send(res, a.status, a.xml, 'text/html; charset=utf-8');
      case 'text-xml':
        return send(res, a.status, a.xml, 'text/xml; charset=utf-8');
      case 'content-type':
        return send(res, a.status, a.xml, f.type);
      case 'no-content-type':
        return send(res, a.status, a.xml, null);
      case 'json-body':
        return send(res, 200, '{"resourceType":"Bundle","type":"message"}', 'text/plain');
      case 'http-status':
        return send(res, f.status, a.xml);
      case 'gzip':
      case 'deflate':
        return send(res, a.status, a.xml, CONTENT_TYPE, f.kind);
      case 'utf-16':
        return send(
          res,
          a.status,
          a.xml.replace(/^(<\?xml[^>]*encoding=["'])UTF-8/, '$1UTF-16'),
          'application/xml+fhir; charset=utf-16',
          'utf-16',
        );
      case 'invalid-parameter':
      case 'message-not-well-formed':
      case 'smsp-code': {
        const code =
          f.kind === 'invalid-parameter'
            ? 'INVALID_PARAMETER'
            : f.kind === 'smsp-code'
              ? 'INPUT_MESSAGE_VALIDATION_ERROR'
              : 'MESSAGE_NOT_WELL_FORMED';
        const refused = error(
          addressing(request?.messageId ?? randomUUID(), request?.sourceAsid ?? '0', request?.sourceName),
          code,
        );
        return send(res, refused.status, refused.xml);
      }
      default: {
        const asked = request?.nhsNumber ?? '0';
        if (Object.hasOwn(HARMLESS_VARIANTS, f.kind))
          return send(res, a.status, HARMLESS_VARIANTS[f.kind as keyof typeof HARMLESS_VARIANTS](a.xml, asked));
        // An unsafe variant of an indicator for the NHS number asked about, whatever the patient file says.
        const to = addressing(request?.messageId ?? randomUUID(), request?.sourceAsid ?? '0', request?.sourceName);
        const flag = indicatorAnswer(to, asked, patientDate ?? '2020-01-01');
        if (Object.hasOwn(HIDING_VARIANTS, f.kind)) {
          const none = error(to, 'NO_RECORD_FOUND');
          return send(res, none.status, HIDING_VARIANTS[f.kind as HidingVariant](none.xml, flag, asked));
        }
        return send(res, 200, UNSAFE_VARIANTS[f.kind as keyof typeof UNSAFE_VARIANTS](flag, asked));
      }
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse) {
    const started = performance.now();
    res.on('close', () =>
      opts.log?.(`${req.method} ${req.url} ${res.statusCode} ${Math.round(performance.now() - started)}ms`),
    );
    if (req.url !== QUERY_PATH) return send(res, 404, 'Not Found', 'text/plain');
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return send(res, 405, 'Method Not Allowed', 'text/plain');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_XML_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      const body = tooLarge ? '' : Buffer.concat(chunks).toString('utf8');
      const { answer: a, patient, request } = decide(body);
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      const entry: ReceivedRequest = {
        xml: body,
        ...(request && { request }),
        at: now(),
        ...(peer?.subject?.CN && { clientCertSubject: String(peer.subject.CN) }),
        ...(req.headers['content-type'] && { contentType: req.headers['content-type'] }),
        ...(typeof req.headers.soapaction === 'string' && { soapAction: req.headers.soapaction }),
      };
      received.push(entry);
      entryOf.set(res, entry);
      if (received.length > RECEIVED_CAP) received.shift();
      const own = patient?.fault ?? null;
      respond(req, res, a, state.fault ?? own, request, patient?.fgm?.assessmentDate, own);
    });
  }

  return handle;
}

/** The simulator's TLS: the dev CA's Spine certificate, and a client certificate from that CA demanded (mutual TLS, 1.2+). */
function tlsOptions(pkiDir: string) {
  return {
    key: readFileSync(join(pkiDir, 'spine.key')),
    cert: readFileSync(join(pkiDir, 'spine.crt')),
    ca: readFileSync(join(pkiDir, 'ca.crt')),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2' as const,
  };
}

/** Listens; resolves once listening, rejects if the port is refused. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

/**
 * Starts the simulator.
 * @example const sim = await startSpineSimulator({ pkiDir: '.data/pki', port: 0 }); … await sim.close();
 */
export async function startSpineSimulator(opts: SpineSimulatorOptions): Promise<SpineSimulator> {
  const state: SimState = { received: [], profileFailures: [], fault: opts.fault ?? null, held: [], timers: new Set() };
  const server: Server = createServer(tlsOptions(opts.pkiDir), createHandler(opts, state));
  // Open connections, destroyed at close so that it does not wait on a client's keep-alive, nor
  // on a TCP connection that never starts its TLS handshake (tracked from 'connection', not 'secureConnection').
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = opts.host ?? '127.0.0.1';
  await listen(server, opts.port ?? 9443, host);
  const teardown = createTeardown();
  teardown.add('listener', async () => {
    const closed = once(server, 'close');
    server.close();
    sockets.forEach((s) => s.destroy());
    await closed;
  });
  teardown.add('delayed answers', () => state.timers.forEach(clearTimeout));
  const { port } = server.address() as AddressInfo;
  const url = `https://${host}:${port}`;
  return {
    url,
    endpoint: `${url}${QUERY_PATH}`,
    port,
    received: state.received,
    profileFailures: state.profileFailures,
    setFault: (f) => {
      state.fault = f;
      if (f?.kind === 'hold') return;
      const release = state.held;
      state.held = [];
      release.forEach((answer) => answer());
    },
    close: () => teardown.close(),
  };
}
