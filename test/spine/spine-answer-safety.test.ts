/**
 * @module test/spine/spine-answer-safety
 * Strict on what we send, safe-lenient on what Spine sends (issue 18), over real sockets: the
 * gateway on HTTPS asking for client certificates, the simulator (TLS-MA) answering from the
 * spec's example messages with its answer variants switched on. Every harmless deviation is still
 * shown as the indicator with Spine's assessment date, and counted, logged and audited for IT;
 * every unsafe answer is an error IT can see (code, log reason) and never an indicator. The
 * oracles are hand-written: the test patients' dates and the reasons' fixed phrases.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseQueryResponse } from '../../gateway/fhir/response-bundle.ts';
import { createHttpsSpineClient } from '../../gateway/spine/client.ts';
import { fhirAnswerViolations } from '../helpers/fhir-answer.ts';
import type { Fault } from '../../demo/spine/faults.ts';
import {
  GATEWAY_ASID,
  LOCAL_MIDWIFE,
  SPINE_ASID,
  startTestStack,
  TEST_CLIENTS,
  type TestStack,
} from '../helpers/stack.ts';

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ tls: true });
});
after(async () => {
  await stack?.close();
});

async function widget(nhsNumber = '9990000018', birthDate = '2014-03-02') {
  const res = await stack.request('/api/fgm-status', {
    token: stack.signToken(LOCAL_MIDWIFE),
    json: { nhsNumber, birthDate },
  });
  return { res, body: JSON.parse(res.body) };
}

/**
 * The FHIR interface, as a client system with its certificate; read as a client system reads this SMSP's answers.
 * Its author is a local user: these tests are about Spine's answers, and SDS authors need a CIS2 token (gateway-cis2.test.ts).
 */
async function fhir(nhsNumber = '9990000018') {
  const xml = buildQueryBundle({
    nhsNumber,
    sourceAsid: '918999198993',
    destinationAsid: GATEWAY_ASID,
    author: { kind: 'local', localId: 'chs-user-18' },
    organization: { odsCode: TEST_CLIENTS.system.ods, name: 'Test Child Health System' },
  }).xml;
  const res = await stack.request('/fhir/fgm/query', {
    body: xml,
    headers: { 'content-type': 'application/fhir+xml' },
    clientCert: true,
  });
  const parsed = parseQueryResponse(res.body, { localCodes: true });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  return { res, answer: parsed.value };
}

/** `fgm_spine_answer_deviations_total` by path, from the metrics listener. */
async function deviationCounts(): Promise<Map<string, number>> {
  const text = await (await fetch(stack.metricsUrl)).text();
  return new Map(
    [...text.matchAll(/^fgm_spine_answer_deviations_total\{path="([^"]+)"\} (\d+)$/gm)].map((m) => [
      m[1]!,
      Number(m[2]),
    ]),
  );
}

/** The access-log line of the last request. */
const lastRequestLog = () => JSON.parse(stack.logs.filter((l) => l.includes('"msg":"request"')).at(-1)!);

const withFault = async <T>(fault: Fault, run: () => Promise<T>): Promise<T> => {
  stack.sim.setFault(fault);
  try {
    return await run();
  } finally {
    stack.sim.setFault(null);
  }
};

/** Each harmless variant, and a profile path its deviation must be counted under (read off the profiles by hand). */
const HARMLESS = [
  { kind: 'no-meta-profile', path: 'Flag.meta.profile' },
  { kind: 'xsi-attributes', path: 'Bundle' },
  { kind: 'extra-elements', path: 'Flag.category' },
  { kind: 'reordered', path: 'Flag.status' },
  { kind: 'no-response-code', path: 'MessageHeader.response.code' },
] as const;

describe("SMSP-VAL-004 harmless deviations in Spine's answer are transformed, never a reason to hide an indicator", () => {
  for (const h of HARMLESS) {
    it(`SMSP-VAL-004 an indicator answer with ${h.kind} is shown with Spine's assessment date, and the deviation counted, logged and audited`, async () => {
      const before = await deviationCounts();
      const logs = stack.logs.length;
      const { res, body } = await withFault({ kind: h.kind }, () => widget());
      assert.equal(res.status, 200, res.body);
      assert.deepEqual([body.status, body.code, body.assessmentDate], ['indicator', 'SUCCESS', '2019-12-10']);
      const after = await deviationCounts();
      assert.ok(
        (after.get(h.path) ?? 0) > (before.get(h.path) ?? 0),
        `counted under ${h.path}: ${JSON.stringify([...after])}`,
      );
      assert.ok(
        stack.logs
          .slice(logs)
          .some((l) => l.includes('Spine answer deviates from the profiles') && l.includes(`"path":"${h.path}"`)),
        'logged for IT',
      );
      const row = stack.auditRows().at(-1)!;
      assert.equal(row.outcomeCode, 'SUCCESS');
      assert.equal(row.answeredBySpine, 1);
      const detail = stack.auditDetail(row).spineAnswer as { spineAnswerDeviations: string[] };
      assert.ok(
        detail.spineAnswerDeviations.some((d: string) => d.startsWith(`${h.path} `)),
        'noted in the audit record',
      );
      assert.ok(!stack.logs.slice(logs).some((l) => l.includes('9990000018')), 'no NHS number in the deviation log');

      const f = await withFault({ kind: h.kind }, () => fhir());
      assert.equal(f.res.status, 200);
      assert.deepEqual(f.answer.outcome, { kind: 'indicator', nhsNumber: '9990000018', assessmentDate: '2019-12-10' });
    });
  }

  it("SMSP-VAL-004 SMSP-ERR-004 Spine's own error answers without meta keep their codes: NO_RECORD_FOUND, PATIENT_OVER_18", async () => {
    const none = await withFault({ kind: 'no-meta-profile' }, () => widget('9990000026', '2016-07-19'));
    assert.deepEqual([none.res.status, none.body.code, none.body.status], [404, 'NO_RECORD_FOUND', 'no-record']);
    // The gateway's own under-18 rule never lets the simulator's over-18 patient through the widget API.
    const over = await withFault({ kind: 'no-meta-profile' }, () => fhir('9990000034'));
    assert.equal(over.res.status, 400);
    assert.equal(over.answer.outcome.kind === 'operation-outcome' && over.answer.outcome.code, 'PATIENT_OVER_18');
  });
});

/** Forms Spine or a proxy may send (issue 18 review H1-H6, M4): each shown, with the day the element shows, and reported under a fixed label. */
/** `fhirDate`: what the FHIR interface passes on when it differs from the day the element shows. */
const READABLE: readonly { kind: Fault['kind']; path: string | null; day: string; fhirDate?: string }[] = [
  { kind: 'text-xml', path: 'HTTP Content-Type', day: '2019-12-10' },
  { kind: 'gzip', path: 'HTTP Content-Encoding', day: '2019-12-10' },
  { kind: 'deflate', path: 'HTTP Content-Encoding', day: '2019-12-10' },
  // M1: the element is given the UK calendar day; FHIR clients get Spine's dateTime as written.
  { kind: 'datetime-assessment', path: null, day: '2019-12-10', fhirDate: '2019-12-10T10:00:00+00:00' },
  { kind: 'whitespace', path: 'Patient.identifier.value', day: '2019-12-10' },
  { kind: 'snomed-coding', path: 'Flag.code.coding', day: '2019-12-10' },
  { kind: 'nhs-number-new-system', path: 'Patient.identifier.system', day: '2019-12-10' },
  { kind: 'partial-date', path: 'Flag.period.start', day: '2019-12' },
  { kind: 'large-narrative', path: null, day: '2019-12-10' },
  { kind: 'doctype-in-comment', path: null, day: '2019-12-10' },
  // The hostile review of issue 18 (C2): unambiguous, safe forms are used and reported.
  { kind: 'info-outcome', path: 'OperationOutcome', day: '2019-12-10' },
  { kind: 'data-other-flag', path: 'MessageHeader.data', day: '2019-12-10' },
  { kind: 'asid-upper-case', path: 'MessageHeader.source.endpoint', day: '2019-12-10' },
  { kind: 'nhs-number-system-case', path: 'Patient.identifier.system', day: '2019-12-10' },
  // The review of the XML reading (issue 18): real writers' namespaces and encodings, and a timestamp to the minute.
  { kind: 'jaxb-prefixes', path: null, day: '2019-12-10' },
  { kind: 'default-ns-every-element', path: null, day: '2019-12-10' },
  { kind: 'utf-16', path: 'XML encoding', day: '2019-12-10' },
  { kind: 'minute-timestamp', path: 'MessageHeader.timestamp', day: '2019-12-10' },
] as const;

describe('SMSP-VAL-004 what Spine (or a proxy) may send is read, never a reason to hide an indicator', () => {
  for (const r of READABLE) {
    it(`SMSP-VAL-004 an indicator answer with ${r.kind} is shown, and the deviation counted and audited`, async () => {
      const before = await deviationCounts();
      const { res, body } = await withFault({ kind: r.kind } as Fault, () => widget());
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(
        [body.status, body.code, body.nhsNumber, body.assessmentDate],
        ['indicator', 'SUCCESS', '9990000018', r.day],
      );
      // A narrative and a dateTime are allowed: no deviation to count (the narrative's size is spine.maxResponseBytes' business, not the 64 KB cap).
      if (r.path) {
        const after = await deviationCounts();
        assert.ok(
          (after.get(r.path) ?? 0) > (before.get(r.path) ?? 0),
          `counted under ${r.path}: ${JSON.stringify([...after])}`,
        );
        const detail = stack.auditDetail(stack.auditRows().at(-1)!).spineAnswer as { spineAnswerDeviations: string[] };
        assert.ok(
          detail.spineAnswerDeviations.some((d: string) => d.startsWith(`${r.path} `)),
          `noted in the audit record: ${detail.spineAnswerDeviations}`,
        );
      }
      const f = await withFault({ kind: r.kind } as Fault, () => fhir());
      assert.equal(f.res.status, 200);
      assert.deepEqual(f.answer.outcome, {
        kind: 'indicator',
        nhsNumber: '9990000018',
        assessmentDate: r.fhirDate ?? r.day,
      });
    });
  }
  it('SMSP-VAL-004 whitespace in the NHS number is never logged as another patient', async () => {
    const logs = stack.logs.length;
    await withFault({ kind: 'whitespace' }, () => widget());
    assert.ok(!stack.logs.slice(logs).some((l) => l.includes('another patient')));
  });
});

const UNSAFE = [
  { kind: 'other-patient', reason: 'indicator is for another patient' },
  { kind: 'impossible-date', reason: 'assessment date is not a real date' },
  { kind: 'date-after-timestamp', reason: 'assessment date is after the timestamp' },
  { kind: 'timestamp-ahead', reason: 'timestamp is ahead of the gateway clock by more than the allowed skew' },
  { kind: 'timestamp-behind', reason: 'timestamp is behind the gateway clock by more than the allowed skew' },
  { kind: 'other-risk-code', reason: 'indicator is not the FGM risk indicator' },
  { kind: 'invalid-flag', reason: 'indicator status is not active' },
  { kind: 'not-our-request', reason: 'response is for another request' },
  { kind: 'wrong-event', reason: 'event is not FGMQueryResponse_2_0' },
  { kind: 'modifier-extension', reason: 'indicator carries a modifier extension or implicit rules' },
  { kind: 'ended-period', reason: 'indicator period has ended' },
  // 1999 is before FGM-IS could have recorded anything: refused whatever birth date the client gave.
  { kind: 'assessment-before-birth', reason: 'assessment date is implausibly early' },
  { kind: 'other-patient-new-system', reason: 'indicator is for another patient' },
  { kind: 'other-patient-system-case', reason: 'indicator is for another patient' },
  { kind: 'header-modifier', reason: 'message carries a modifier extension or implicit rules' },
  { kind: 'bundle-implicit-rules', reason: 'message carries a modifier extension or implicit rules' },
  { kind: 'other-patient-entry', reason: 'answer carries a patient other than the one asked about' },
  { kind: 'born-after-timestamp', reason: "patient's birth date is after the timestamp" },
] as const;

describe('SMSP-VAL-004 the safety core: an unsafe answer is an error IT can see, never an indicator', () => {
  for (const u of UNSAFE) {
    it(`SMSP-VAL-004 ${u.kind} → 400 RESPONSE_MESSAGE_VALIDATION_ERROR with the reason in the log and audit, no indicator`, async () => {
      const { res, body } = await withFault({ kind: u.kind }, () => widget());
      assert.equal(res.status, 400);
      assert.deepEqual(
        [body.status, body.code, body.smspCode, body.assessmentDate],
        ['error', 'RESPONSE_MESSAGE_VALIDATION_ERROR', 'SMSP-0002', null],
      );
      assert.equal(lastRequestLog().reason, `unsafe Spine answer: ${u.reason}`);
      const row = stack.auditRows().at(-1)!;
      assert.deepEqual([row.outcomeCode, row.answeredBySpine], ['RESPONSE_MESSAGE_VALIDATION_ERROR', 0]);
      assert.equal(
        (stack.auditDetail(row).spineAnswer as { spineAnswerNotUsed: string }).spineAnswerNotUsed,
        `unsafe Spine answer: ${u.reason}`,
      );

      const f = await withFault({ kind: u.kind }, () => fhir());
      assert.equal(f.res.status, 400);
      assert.equal(f.answer.outcome.kind, 'operation-outcome');
      assert.equal(
        f.answer.outcome.kind === 'operation-outcome' && f.answer.outcome.code,
        'RESPONSE_MESSAGE_VALIDATION_ERROR',
      );
    });
  }
});

describe('SMSP-VAL-004 the birth date the client gave is unverified: it never hides a real indicator', () => {
  it("SMSP-VAL-004 an assessment before the birth date the EPR sent is shown with Spine's date, and the deviation counted and audited", async () => {
    const before = await deviationCounts();
    // The test patient's assessment is 2019-12-10 (demo/spine/patients.json); the EPR says she was born in 2020.
    const { res, body } = await widget('9990000018', '2020-01-01');
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(
      [body.status, body.code, body.nhsNumber, body.assessmentDate],
      ['indicator', 'SUCCESS', '9990000018', '2019-12-10'],
    );
    const after = await deviationCounts();
    assert.equal((after.get('Flag.period.start') ?? 0) - (before.get('Flag.period.start') ?? 0), 1);
    const detail = stack.auditDetail(stack.auditRows().at(-1)!).spineAnswer as { spineAnswerDeviations: string[] };
    assert.ok(
      detail.spineAnswerDeviations.includes('Flag.period.start assessment date before the birth date the client gave'),
      String(detail.spineAnswerDeviations),
    );
  });
});

/** Assessment dateTimes the safety core reads but DSTU2 cannot carry, and what our FHIR answer sends instead (hand-written). */
const UNSENDABLE = [
  { kind: 'minute-assessment', sent: '2019-12-10T10:00Z', fhirDate: '2019-12-10T10:00:00Z' },
  { kind: 'leap-second-assessment', sent: '2019-12-10T23:59:60Z', fhirDate: '2019-12-10T23:59:59Z' },
] as const;

describe('SMSP-VAL-001 our FHIR answer passes our own profiles, whatever dateTime form Spine wrote', () => {
  for (const u of UNSENDABLE) {
    it(`SMSP-VAL-001 SMSP-VAL-004 an assessment written ${u.sent} is shown (widget: ${u.fhirDate.slice(0, 10)}) and sent on FHIR as ${u.fhirDate}, a valid DSTU2 dateTime`, async () => {
      const { res, body } = await withFault({ kind: u.kind }, () => widget());
      assert.equal(res.status, 200, res.body);
      assert.equal(spineSaid(stack.sim.received.at(-1), 'start'), u.sent, 'the simulator sent the form under test');
      assert.deepEqual([body.status, body.assessmentDate], ['indicator', '2019-12-10']);
      const f = await withFault({ kind: u.kind }, () => fhir());
      assert.equal(f.res.status, 200, f.res.body);
      assert.deepEqual(fhirAnswerViolations(f.res.body), []);
      assert.deepEqual(f.answer.outcome, { kind: 'indicator', nhsNumber: '9990000018', assessmentDate: u.fhirDate });
    });
  }
});

describe('SMSP-ERR-006 rejected input is SMSP-0001, whoever rejects it', () => {
  it("SMSP-ERR-006 Spine's INVALID_PARAMETER reaches the widget API and FHIR clients as SMSP-0001", async () => {
    const w = await withFault({ kind: 'invalid-parameter' }, () => widget());
    assert.deepEqual(
      [w.res.status, w.body.code, w.body.smspCode, w.body.status],
      [400, 'INPUT_MESSAGE_VALIDATION_ERROR', 'SMSP-0001', 'error'],
    );
    const f = await withFault({ kind: 'invalid-parameter' }, () => fhir());
    assert.equal(f.res.status, 400);
    assert.equal(
      f.answer.outcome.kind === 'operation-outcome' && f.answer.outcome.code,
      'INPUT_MESSAGE_VALIDATION_ERROR',
    );
    assert.match(f.res.body, /<display value="Input message validation error"\/>/);
  });
});

describe('H6 the Spine client: one size cap on what arrives and on what it expands to', () => {
  const client = (maxResponseBytes: number) => {
    const file = (f: string) => readFileSync(join(stack.pkiDir, f), 'utf8');
    return createHttpsSpineClient({
      endpoint: stack.sim.endpoint,
      tls: { cert: file('gateway-client.crt'), key: file('gateway-client.key'), ca: file('ca.crt') },
      timeoutMs: 10_000,
      maxResponseBytes,
    });
  };
  const query = () =>
    buildQueryBundle({
      nhsNumber: '9990000018',
      sourceAsid: GATEWAY_ASID,
      destinationAsid: SPINE_ASID,
      author: { kind: 'local', localId: 'ajones' },
      organization: { odsCode: 'RX1', name: 'Test' },
    }).xml;
  it('SMSP-VAL-004 a gzip answer that expands past spine.maxResponseBytes is refused as too large, though its compressed bytes fit', async () => {
    const spine = client(1024);
    try {
      const r = await withFault({ kind: 'gzip' }, () => spine.query(query()));
      assert.deepEqual(r.kind === 'failure' ? [r.code, r.reason] : r.kind, [
        'RESPONSE_MESSAGE_VALIDATION_ERROR',
        'response not decompressible within the size limit',
      ]);
      const plain = await withFault({ kind: 'gzip' }, () => client(262_144).query(query()));
      assert.equal(plain.kind, 'answer', 'within the cap it is read');
    } finally {
      spine.close();
    }
  });
});

describe('SMSP-ERR-006 SMSP-ERR-004 which Spine codes are passed on', () => {
  it("SMSP-ERR-006 Spine's MESSAGE_NOT_WELL_FORMED is the SMSP's own fault: SMSP-9999 on the widget API and the FHIR interface, never SMSP-0001", async () => {
    const w = await withFault({ kind: 'message-not-well-formed' }, () => widget());
    assert.deepEqual(
      [w.res.status, w.body.code, w.body.smspCode, w.body.status],
      [500, 'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE', 'SMSP-9999', 'error'],
    );
    assert.equal(lastRequestLog().reason, 'Spine refused our message: MESSAGE_NOT_WELL_FORMED');
    const f = await withFault({ kind: 'message-not-well-formed' }, () => fhir());
    assert.equal(
      f.answer.outcome.kind === 'operation-outcome' && f.answer.outcome.code,
      'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE',
    );
  });
  it('SMSP-ERR-004 an SMSP code from Spine (INPUT_MESSAGE_VALIDATION_ERROR) is not an answer Spine gives: SMSP-0002', async () => {
    const w = await withFault({ kind: 'smsp-code' }, () => widget());
    assert.deepEqual(
      [w.res.status, w.body.code, w.body.smspCode],
      [400, 'RESPONSE_MESSAGE_VALIDATION_ERROR', 'SMSP-0002'],
    );
    assert.equal(lastRequestLog().reason, 'unsafe Spine answer: unknown outcome code');
  });
});

/** A value attribute in Spine's answer as the simulator sent it (test oracle: the simulator's own record). */
const spineSaid = (entry: { answer?: { body: string } } | undefined, element: string) =>
  new RegExp(`<${element} value="([^"]*)"`).exec(entry?.answer?.body ?? '')?.[1];

describe('where the data comes from, and what is recorded', () => {
  it("SMSP-FGMRI-004 the FHIR answer carries only Spine's answer to this request: its date and time, and nothing when Spine gives nothing", async () => {
    const { answer } = await fhir('9990000042');
    const sent = stack.sim.received.at(-1)!;
    assert.equal(
      answer.outcome.kind === 'indicator' && answer.outcome.assessmentDate,
      spineSaid(sent, 'start'),
      'the assessment date Spine sent',
    );
    assert.equal(answer.timestamp, spineSaid(sent, 'timestamp'), 'the time Spine answered');
    // The same question again, Spine now unreachable or unsafe: no indicator from anywhere else.
    const down = await withFault({ kind: 'drop' }, () => fhir('9990000042'));
    assert.deepEqual(
      [down.res.status, down.answer.outcome.kind === 'operation-outcome' && down.answer.outcome.code],
      [500, 'COULD_NOT_CONNECT_TO_SPINE'],
    );
    const unsafe = await withFault({ kind: 'other-patient' }, () => fhir('9990000042'));
    assert.equal(unsafe.answer.outcome.kind, 'operation-outcome');
    assert.doesNotMatch(unsafe.res.body, /<Flag/);
  });

  it("MSCA-FGMRISA-01 every query submitted and every response received is audited: one record each, with Spine's message ids and the outcome given", async () => {
    const asked = [
      { nhs: '9990000018', born: '2014-03-02', fault: null, code: 'SUCCESS' },
      { nhs: '9990000026', born: '2016-07-19', fault: null, code: 'NO_RECORD_FOUND' },
      {
        nhs: '9990000018',
        born: '2014-03-02',
        fault: { kind: 'not-our-request' },
        code: 'RESPONSE_MESSAGE_VALIDATION_ERROR',
      },
      {
        nhs: '9990000018',
        born: '2014-03-02',
        fault: { kind: 'invalid-parameter' },
        code: 'INPUT_MESSAGE_VALIDATION_ERROR',
      },
      { nhs: '9990000018', born: '2014-03-02', fault: { kind: 'drop' }, code: 'COULD_NOT_CONNECT_TO_SPINE' },
    ] as const;
    for (const a of asked) {
      const rows = stack.auditRows().length;
      const queries = stack.sim.received.length;
      const { body } = a.fault
        ? await withFault(a.fault as Fault, () => widget(a.nhs, a.born))
        : await widget(a.nhs, a.born);
      assert.equal(body.code, a.code);
      const records = stack.auditRows().slice(rows);
      assert.equal(records.length, 1, `one record for ${a.code}`);
      const [r] = records as Record<string, unknown>[];
      const query = stack.sim.received[queries]!;
      assert.equal(stack.sim.received.length, queries + 1, 'one query submitted');
      assert.deepEqual(
        [r!.nhsNumber, r!.outcomeCode, r!.spineMessageId],
        [a.nhs, a.code, query.request?.messageId],
        'the query submitted',
      );
      // The response received: Spine's own MessageHeader id, whether or not the answer could be used.
      const responseId =
        query.answer && /<MessageHeader>\s*(?:<!--[^>]*-->)?\s*<id value="([^"]+)"/.exec(query.answer.body)?.[1];
      assert.equal(r!.spineResponseId, a.fault?.kind === 'drop' ? null : responseId, 'the response received');
    }
  });

  it('SMSP-ERR-001 business errors are in the payload with 4xx and severity error; technical errors are 5xx with severity fatal', async () => {
    // Hand-written from the spec's vocabulary table (test/spec/fgm-query-v2.md).
    const business = [
      { nhs: '9990000026', status: 404, code: 'NO_RECORD_FOUND' },
      { nhs: '9990000034', status: 400, code: 'PATIENT_OVER_18' },
      { nhs: '9990000019', status: 400, code: 'INVALID_NHS_NUMBER' },
    ];
    for (const b of business) {
      const { res, answer } = await fhir(b.nhs);
      assert.equal(res.status, b.status, b.code);
      assert.deepEqual(answer.outcome.kind === 'operation-outcome' && [answer.outcome.code, answer.outcome.severity], [
        b.code,
        'error',
      ]);
    }
    for (const fault of [{ kind: 'drop' }, { kind: 'delay', ms: 60_000 }] as const) {
      const started = stack.sim.received.length;
      const { res, answer } = await withFault(fault, () => fhir('9990000018'));
      assert.equal(stack.sim.received.length, started + 1);
      assert.equal(res.status, 500, fault.kind);
      assert.deepEqual(answer.outcome.kind === 'operation-outcome' && [answer.outcome.code, answer.outcome.severity], [
        'COULD_NOT_CONNECT_TO_SPINE',
        'fatal',
      ]);
    }
  });
});

/**
 * Content types an XML answer may carry (hand-written; RFC 7303 XML media types, and DSTU2's
 * application/xml+fhir beside the later application/fhir+xml): each is read as FHIR XML, and only
 * a type other than FHIR's is a transport deviation. `null`: no deviation to count.
 */
const XML_TYPES = [
  { type: 'application/xml', path: 'HTTP Content-Type' },
  { type: 'application/fhir+xml;charset=utf-8', path: null },
  { type: 'application/vnd.nhs.spine+xml; charset=UTF-8', path: 'HTTP Content-Type' },
] as const;

describe('SMSP-VAL-004 an answer in any XML content type is used', () => {
  for (const t of XML_TYPES) {
    it(`SMSP-VAL-004 an indicator answer served as ${t.type} is shown with Spine's assessment date${t.path ? ', and the type counted as a deviation' : ''}`, async () => {
      const before = await deviationCounts();
      const fault = { kind: 'content-type', type: t.type } as const;
      const { res, body } = await withFault(fault, () => widget());
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(
        [body.status, body.code, body.nhsNumber, body.assessmentDate],
        ['indicator', 'SUCCESS', '9990000018', '2019-12-10'],
      );
      assert.equal(stack.sim.received.at(-1)!.answer?.status, 200, 'the simulator answered');
      const after = await deviationCounts();
      const counted = (after.get('HTTP Content-Type') ?? 0) - (before.get('HTTP Content-Type') ?? 0);
      assert.equal(counted, t.path ? 1 : 0, `HTTP Content-Type deviations: ${JSON.stringify([...after])}`);
      const f = await withFault(fault, () => fhir());
      assert.equal(f.res.status, 200);
      assert.deepEqual(f.answer.outcome, { kind: 'indicator', nhsNumber: '9990000018', assessmentDate: '2019-12-10' });
    });
  }
});

describe('SMSP-VAL-004 a Spine timestamp on a leap second', () => {
  // The simulator writes 23:59:60Z at the end of the UTC day before its clock's. Its clock two
  // minutes ahead puts that second at most a day less two minutes behind the gateway's (or, in the
  // last two minutes of a UTC day, under two minutes ahead): inside the default skew (24 h behind,
  // the most the config allows, and 5 minutes ahead), whatever the time of day the test runs.
  let leap: TestStack;
  before(async () => {
    leap = await startTestStack({ tls: true, simulatorNow: () => new Date(Date.now() + 120_000) });
  });
  after(async () => {
    await leap?.close();
  });

  it("SMSP-VAL-004 an indicator answer timestamped ...T23:59:60Z within the skew is accepted and shown, Spine's time as the second before (a DSTU2 instant stops at :59)", async () => {
    leap.sim.setFault({ kind: 'leap-second-timestamp' });
    try {
      const res = await leap.request('/api/fgm-status', {
        token: leap.signToken(LOCAL_MIDWIFE),
        json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
      });
      const body = JSON.parse(res.body);
      const day = /^(\d{4}-\d{2}-\d{2})T23:59:60Z$/.exec(spineSaid(leap.sim.received.at(-1), 'timestamp') ?? '')?.[1];
      assert.ok(day, 'the simulator sent a leap second');
      assert.equal(res.status, 200, res.body);
      // Hand-written: the last second of Spine's day, which the element can read and show.
      assert.deepEqual(
        [body.status, body.code, body.assessmentDate, body.checkedAt],
        ['indicator', 'SUCCESS', '2019-12-10', `${day}T23:59:59Z`],
      );

      const xml = buildQueryBundle({
        nhsNumber: '9990000018',
        sourceAsid: '918999198993',
        destinationAsid: GATEWAY_ASID,
        author: { kind: 'local', localId: 'chs-user-18' },
        organization: { odsCode: TEST_CLIENTS.system.ods, name: 'Test Child Health System' },
      }).xml;
      const f = await leap.request('/fhir/fgm/query', {
        body: xml,
        headers: { 'content-type': 'application/fhir+xml' },
        clientCert: true,
      });
      assert.equal(f.status, 200, f.body);
      const parsed = parseQueryResponse(f.body, { localCodes: true });
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
      assert.deepEqual(parsed.value.outcome, {
        kind: 'indicator',
        nhsNumber: '9990000018',
        assessmentDate: '2019-12-10',
      });
      assert.equal(
        Date.parse(parsed.value.timestamp),
        Date.parse(`${day}T23:59:59Z`),
        "the FHIR answer carries Spine's time, as the second before",
      );
    } finally {
      leap.sim.setFault(null);
    }
  });
});
