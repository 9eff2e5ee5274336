/**
 * @module test/spine/spine-answer-identity
 * Who Spine's answer names, and what contradicts it (issue 18, third hostile review), over real
 * sockets: the gateway on HTTPS asking for client certificates, the simulator (TLS-MA) answering
 * from the spec's example messages with one answer variant switched on. Another child named
 * anywhere (a Parameters entry, under the NHS-number OID) is refused, beside an indicator or
 * NO_RECORD_FOUND; an FGM risk code outside a Flag, or Spine's error code under another spelling of
 * its value sets, contradicts the answer; what is unambiguous (our number under the OID, a Patient
 * entry the subject names by its fullUrl, the question echoed) is shown and reported. Oracles: the
 * test patients' dates (demo/spine/patients.json), the simulator's own record of what it sent, and
 * the reasons' fixed phrases, hand-written. Its own stack: each file's requests stay within the
 * test stack's Spine burst, so no answer here is a 429.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { parseQueryResponse } from '../../gateway/fhir/response-bundle.ts';
import type { Fault } from '../../demo/spine/faults.ts';
import { GATEWAY_ASID, LOCAL_MIDWIFE, startTestStack, TEST_CLIENTS, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ tls: true });
});
after(async () => {
  await stack?.close();
});

/** 9990000018 has an indicator assessed 2019-12-10, 9990000026 no record (demo/spine/patients.json); the simulator names 9990000026 as the other child. */
async function widget(nhsNumber = '9990000018', birthDate = '2014-03-02') {
  const res = await stack.request('/api/fgm-status', {
    token: stack.signToken(LOCAL_MIDWIFE),
    json: { nhsNumber, birthDate },
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

/** What the simulator last sent: its HTTP status and body. */
const sent = () => stack.sim.received.at(-1)!.answer!;
const lastRequestLog = () => JSON.parse(stack.logs.filter((l) => l.includes('"msg":"request"')).at(-1)!);

const ANOTHER = 'answer carries a patient other than the one asked about';
const CODE_BESIDE = 'indicator beside a Spine error code';
/** Each refused variant, what Spine's answer says on its face, what the simulator put in it, and the safety core's reason. */
const REFUSED = [
  {
    kind: 'no-record-other-parameters',
    spine: 404,
    carries: /<Parameters>.*<value value="9990000026"\/>.*<\/Parameters>/s,
    reason: ANOTHER,
  },
  {
    kind: 'no-record-other-risk-indicator',
    spine: 404,
    carries: /<Parameters>.*<valueString value="CPIS"\/>.*<\/Parameters>/s,
    reason: 'answer echoes a risk indicator other than FGM',
  },
  {
    kind: 'patient-inactive',
    spine: 200,
    carries: /<\/identifier><active value="false"\/><\/Patient>/,
    reason: 'message carries a modifier element the gateway cannot read past',
  },
  {
    kind: 'patient-replaced',
    spine: 200,
    carries: /<link>.*<type value="replace"\/><\/link><\/Patient>/s,
    reason: 'message carries a modifier element the gateway cannot read past',
  },
  {
    kind: 'nhs-number-old',
    spine: 200,
    carries: /<identifier><use value="old"\/><system value="http:\/\/fhir\.nhs\.net\/Id\/nhs-number"\/>/,
    reason: "a patient's NHS number is marked old, temporary or secondary",
  },
  {
    kind: 'wrapped-modifier',
    spine: 200,
    carries: /<x:wrap [^>]*><modifierExtension xmlns="http:\/\/hl7\.org\/fhir" url=/,
    reason: 'indicator carries a modifier extension or implicit rules',
  },
  {
    kind: 'leap-second-off-minute',
    spine: 200,
    carries: /<period><start value="\d{4}-\d{2}-\d{2}T10:00:60Z"/,
    reason: 'assessment date is not a real date',
  },
  {
    kind: 'other-patient-parameters',
    spine: 200,
    carries: /<Parameters>.*<value value="9990000026"\/>.*<\/Parameters>/s,
    reason: ANOTHER,
  },
  {
    kind: 'other-patient-oid',
    spine: 200,
    carries: /urn:oid:2\.16\.840\.1\.113883\.2\.1\.4\.1"\/><value value="9990000026"/,
    reason: 'indicator is for another patient',
  },
  {
    kind: 'no-record-risk-basic',
    spine: 404,
    carries: /<Basic>.*<code value="FGM"\/>.*<\/Basic>/s,
    reason: 'FGM risk code beside an error outcome',
  },
  {
    kind: 'note-with-spine-code-1-0',
    spine: 200,
    carries: /spine-response-code-1-0"\/><code value="FGM-0001"/,
    reason: CODE_BESIDE,
  },
  {
    kind: 'note-with-spine-code-nhs-uk',
    spine: 200,
    carries: /fhir\.nhs\.uk\/ValueSet\/spine-response-code-2-0"\/><code value="NO_RECORD_FOUND"/,
    reason: CODE_BESIDE,
  },
  {
    kind: 'no-record-wrapped-patient',
    spine: 404,
    carries: /<x:wrap [^>]*><Patient xmlns="http:\/\/hl7\.org\/fhir">.*<value value="9990000026"\/>/s,
    reason: ANOTHER,
  },
  {
    kind: 'no-record-outcome-modifier',
    spine: 404,
    carries: /<OperationOutcome>.*<modifierExtension url=.*<\/OperationOutcome>/s,
    reason: 'outcome carries a modifier extension or implicit rules',
  },
  {
    kind: 'note-modifier',
    spine: 200,
    carries: /<OperationOutcome><id value="[^"]*"\/><modifierExtension url=/,
    reason: 'outcome carries a modifier extension or implicit rules',
  },
  {
    kind: 'patient-entry-modifier',
    spine: 200,
    carries: /<entry><resource><Patient><id value="[^"]*"\/><modifierExtension url=/,
    reason: 'a patient carries a modifier extension or implicit rules',
  },
] as const;

describe('SMSP-VAL-004 another child named anywhere, or what contradicts the answer, is an error IT can see, never an indicator or "no record"', () => {
  for (const r of REFUSED) {
    it(`SMSP-VAL-004 ${r.kind} (Spine: HTTP ${r.spine}) → 400 RESPONSE_MESSAGE_VALIDATION_ERROR with the reason in the log and audit`, async () => {
      const { res, body } = await withFault({ kind: r.kind }, () => widget());
      assert.equal(sent().status, r.spine, 'the simulator sent the answer under test');
      assert.match(sent().body, r.carries);
      assert.equal(res.status, 400, res.body);
      assert.deepEqual(
        [body.status, body.code, body.smspCode, body.assessmentDate],
        ['error', 'RESPONSE_MESSAGE_VALIDATION_ERROR', 'SMSP-0002', null],
      );
      assert.equal(lastRequestLog().reason, `unsafe Spine answer: ${r.reason}`);
      const row = stack.auditRows().at(-1)!;
      assert.deepEqual([row.outcomeCode, row.answeredBySpine], ['RESPONSE_MESSAGE_VALIDATION_ERROR', 0]);
      assert.equal(
        (stack.auditDetail(row).spineAnswer as { spineAnswerNotUsed: string }).spineAnswerNotUsed,
        `unsafe Spine answer: ${r.reason}`,
      );

      const f = await withFault({ kind: r.kind }, () => fhir());
      assert.equal(f.res.status, 400);
      assert.equal(
        f.answer.outcome.kind === 'operation-outcome' && f.answer.outcome.code,
        'RESPONSE_MESSAGE_VALIDATION_ERROR',
      );
      assert.doesNotMatch(f.res.body, /<Flag|NO_RECORD_FOUND/);
    });
  }
});

/** Each unambiguous variant, what the simulator put in it, and the profile path its deviation is reported under. */
const SHOWN = [
  {
    kind: 'nhs-number-oid',
    carries: /urn:oid:2\.16\.840\.1\.113883\.2\.1\.4\.1"\/><value value="9990000018"/,
    path: 'Patient.identifier.system',
  },
  {
    kind: 'subject-patient-entry',
    carries: /<reference value="urn:uuid:[^"]+"\/>/,
    absent: /<contained>/,
    path: 'Flag.subject.reference',
  },
  {
    kind: 'own-parameters',
    carries: /<Parameters>.*<value value="9990000018"\/>.*<\/Parameters>/s,
    path: 'Parameters',
  },
] as const;

describe('SMSP-VAL-004 what names only the child asked about is shown, and reported', () => {
  for (const s of SHOWN) {
    it(`SMSP-VAL-004 an indicator answer with ${s.kind} is shown with Spine's assessment date, the deviation audited`, async () => {
      const { res, body } = await withFault({ kind: s.kind }, () => widget());
      assert.match(sent().body, s.carries, 'the simulator sent the answer under test');
      if ('absent' in s) assert.doesNotMatch(sent().body, s.absent);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(
        [body.status, body.code, body.nhsNumber, body.assessmentDate],
        ['indicator', 'SUCCESS', '9990000018', '2019-12-10'],
      );
      const detail = stack.auditDetail(stack.auditRows().at(-1)!).spineAnswer as { spineAnswerDeviations: string[] };
      assert.ok(
        detail.spineAnswerDeviations.some((d) => d.startsWith(`${s.path} `)),
        `noted in the audit record: ${detail.spineAnswerDeviations}`,
      );

      const f = await withFault({ kind: s.kind }, () => fhir());
      assert.equal(f.res.status, 200, f.res.body);
      assert.deepEqual(f.answer.outcome, { kind: 'indicator', nhsNumber: '9990000018', assessmentDate: '2019-12-10' });
    });
  }
});

describe("SMSP-ERR-004 Spine's code under the fhir.nhs.uk URL of its value set is its code", () => {
  it('SMSP-ERR-004 NO_RECORD_FOUND under https://fhir.nhs.uk/ValueSet/spine-response-code-2-0 is 404 no-record (FGM-0001), answered by Spine, the deviation audited', async () => {
    const { res, body } = await withFault({ kind: 'spine-code-nhs-uk' }, () => widget('9990000026', '2016-07-19'));
    assert.match(
      sent().body,
      /fhir\.nhs\.uk\/ValueSet\/spine-response-code-2-0"\/><code value="NO_RECORD_FOUND"/,
      'the simulator sent the answer under test',
    );
    assert.deepEqual(
      [res.status, body.status, body.code, body.smspCode],
      [404, 'no-record', 'NO_RECORD_FOUND', 'FGM-0001'],
    );
    const row = stack.auditRows().at(-1)!;
    assert.deepEqual([row.outcomeCode, row.answeredBySpine], ['NO_RECORD_FOUND', 1]);
    const detail = stack.auditDetail(row).spineAnswer as { spineAnswerDeviations: string[] };
    assert.ok(
      detail.spineAnswerDeviations.some((d) => d.startsWith('OperationOutcome.issue.details.coding.system ')),
      String(detail.spineAnswerDeviations),
    );
  });
});
