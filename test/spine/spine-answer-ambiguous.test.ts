/**
 * @module test/spine/spine-answer-ambiguous
 * Answers the safety core cannot read unambiguously (issue 18, second and third hostile reviews), over real
 * sockets: the gateway on HTTPS asking for client certificates, the simulator (TLS-MA) answering
 * from the spec's example messages with one answer variant switched on. An FGM Flag for the child
 * asked about that Spine sends beside NO_RECORD_FOUND (in an entry, contained, in a narrative or a
 * foreign wrapper) is never "no record", an indicator beside an outcome the core does not read, or
 * with an element the core reads as one written twice, is never shown, and the refusal is an error IT can see, its
 * deviations logged as not used. Instants with ten fraction digits are read. Oracles: the test
 * patients' dates (demo/spine/patients.json), the simulator's own record of what it sent, and the
 * reasons' fixed phrases, hand-written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { parseQueryResponse } from '../../gateway/fhir/response-bundle.ts';
import type { Fault } from '../../demo/spine/faults.ts';
import { fhirAnswerViolations } from '../helpers/fhir-answer.ts';
import { GATEWAY_ASID, LOCAL_MIDWIFE, startTestStack, TEST_CLIENTS, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ tls: true });
});
after(async () => {
  await stack?.close();
});

/** 9990000018 has an indicator assessed 2019-12-10 (demo/spine/patients.json). */
async function widget() {
  const res = await stack.request('/api/fgm-status', {
    token: stack.signToken(LOCAL_MIDWIFE),
    json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
  });
  return { res, body: JSON.parse(res.body) };
}

/** The FHIR interface, as a client system with its certificate, read as a client system reads this SMSP's answers. */
async function fhir() {
  const xml = buildQueryBundle({
    nhsNumber: '9990000018',
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

const withFault = async <T>(fault: Fault, run: () => Promise<T>): Promise<T> => {
  stack.sim.setFault(fault);
  try {
    return await run();
  } finally {
    stack.sim.setFault(null);
  }
};

/** What the simulator last sent: its HTTP status and a value attribute of its body. */
const sent = () => stack.sim.received.at(-1)!.answer!;
const spineSaid = (element: string) => new RegExp(`<${element} value="([^"]*)"`).exec(sent().body)?.[1];
const lastRequestLog = () => JSON.parse(stack.logs.filter((l) => l.includes('"msg":"request"')).at(-1)!);

const ENTRY = 'an entry does not hold exactly one resource';
const UNREAD = 'a MessageHeader, Flag or OperationOutcome sits where the core does not read it';
const REPEATED = 'an element the core reads as one appears more than once';
/** Each variant, what Spine's answer says on its face (404 no record, or 200 with an indicator), and the safety core's reason. */
const AMBIGUOUS = [
  { kind: 'no-record-contained-flag', spine: 404, reason: UNREAD },
  { kind: 'no-record-flag-entry', spine: 404, reason: ENTRY },
  { kind: 'error-outcome-entry', spine: 200, reason: ENTRY },
  { kind: 'second-header-entry', spine: 200, reason: ENTRY },
  { kind: 'note-with-spine-code', spine: 200, reason: 'indicator beside a Spine error code' },
  { kind: 'other-patient-contained', spine: 200, reason: 'answer carries a patient other than the one asked about' },
  { kind: 'no-record-narrative-flag', spine: 404, reason: UNREAD },
  { kind: 'no-record-wrapped-flag', spine: 404, reason: UNREAD },
  { kind: 'no-record-foreign-entry-flag', spine: 404, reason: 'FGM risk code beside an error outcome' },
  { kind: 'other-patient-system-twice', spine: 200, reason: REPEATED },
  { kind: 'parameters-value-twice', spine: 200, reason: REPEATED },
  { kind: 'note-code-twice', spine: 200, reason: REPEATED },
  { kind: 'note-details-twice', spine: 200, reason: REPEATED },
  { kind: 'ended-period-twice', spine: 200, reason: REPEATED },
] as const;

describe('SMSP-VAL-004 an answer the safety core cannot read unambiguously is an error IT can see, never "no record" and never an indicator', () => {
  for (const a of AMBIGUOUS) {
    it(`SMSP-VAL-004 ${a.kind} (Spine: HTTP ${a.spine}, our child's FGM Flag inside) → 400 RESPONSE_MESSAGE_VALIDATION_ERROR with the reason in the log and audit`, async () => {
      const logs = stack.logs.length;
      const { res, body } = await withFault({ kind: a.kind }, () => widget());
      assert.equal(sent().status, a.spine, 'the simulator sent the answer under test');
      assert.match(
        sent().body,
        /<Flag[ >].*<value value="9990000018"\/>.*<\/Flag>/s,
        'with the FGM Flag for the child asked about',
      );
      assert.equal(res.status, 400, res.body);
      assert.deepEqual(
        [body.status, body.code, body.smspCode, body.assessmentDate],
        ['error', 'RESPONSE_MESSAGE_VALIDATION_ERROR', 'SMSP-0002', null],
      );
      assert.equal(lastRequestLog().reason, `unsafe Spine answer: ${a.reason}`);
      const row = stack.auditRows().at(-1)!;
      assert.deepEqual([row.outcomeCode, row.answeredBySpine], ['RESPONSE_MESSAGE_VALIDATION_ERROR', 0]);
      assert.equal(
        (stack.auditDetail(row).spineAnswer as { spineAnswerNotUsed: string }).spineAnswerNotUsed,
        `unsafe Spine answer: ${a.reason}`,
      );
      assert.ok(
        !stack.logs.slice(logs).some((l) => l.includes('used as transformed')),
        'no deviation of a refused answer is logged as used',
      );

      const f = await withFault({ kind: a.kind }, () => fhir());
      assert.equal(f.res.status, 400);
      assert.equal(
        f.answer.outcome.kind === 'operation-outcome' && f.answer.outcome.code,
        'RESPONSE_MESSAGE_VALIDATION_ERROR',
      );
      assert.doesNotMatch(f.res.body, /<Flag|NO_RECORD_FOUND/);
    });
  }

  it("SMSP-VAL-004 a refused answer's profile deviations are logged as not used, counted, and listed in its audit record beside the reason", async () => {
    const logs = stack.logs.length;
    await withFault({ kind: 'no-record-flag-entry' }, () => widget());
    const lines = stack.logs
      .slice(logs)
      .map((l) => JSON.parse(l))
      .filter((l) => l.deviation);
    assert.ok(
      lines.some((l) => l.path === 'Bundle.entry.resource'),
      JSON.stringify(lines),
    );
    for (const l of lines) assert.equal(l.msg, 'Spine answer deviates from the profiles; not used (refused as unsafe)');
    const metrics = await (await fetch(stack.metricsUrl)).text();
    assert.match(metrics, /^fgm_spine_answer_deviations_total\{path="Bundle\.entry\.resource"\} [1-9]/m);
    const detail = stack.auditDetail(stack.auditRows().at(-1)!).spineAnswer as {
      spineAnswerDeviations: string[];
      spineAnswerNotUsed: string;
    };
    assert.ok(
      detail.spineAnswerDeviations.includes('Bundle.entry.resource must hold exactly one resource'),
      String(detail.spineAnswerDeviations),
    );
    assert.equal(detail.spineAnswerNotUsed, `unsafe Spine answer: ${ENTRY}`);
  });
});

describe('SMSP-VAL-004 fractions of a second: DSTU2 bounds none', () => {
  it("SMSP-VAL-004 an indicator whose timestamp and assessment carry ten fraction digits is shown, with Spine's time, and sent on FHIR as a valid DSTU2 answer", async () => {
    const { res, body } = await withFault({ kind: 'long-fraction' }, () => widget());
    const [timestamp, start] = [spineSaid('timestamp'), spineSaid('start')];
    assert.match(timestamp ?? '', /\.\d{10}Z$/, 'the simulator sent ten digits');
    assert.equal(start, '2019-12-10T10:00:00.1234567891Z');
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(
      [body.status, body.code, body.nhsNumber, body.assessmentDate, body.checkedAt],
      ['indicator', 'SUCCESS', '9990000018', '2019-12-10', timestamp],
    );

    const f = await withFault({ kind: 'long-fraction' }, () => fhir());
    assert.equal(f.res.status, 200, f.res.body);
    assert.deepEqual(fhirAnswerViolations(f.res.body), []);
    assert.deepEqual(f.answer.outcome, {
      kind: 'indicator',
      nhsNumber: '9990000018',
      assessmentDate: '2019-12-10T10:00:00.1234567891Z',
    });
    // The FHIR interface writes Spine's instant in UTC to the millisecond, as for every answer.
    assert.equal(Date.parse(f.answer.timestamp), Date.parse(spineSaid('timestamp')!), "Spine's time");
  });
});
