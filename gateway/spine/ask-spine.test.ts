/**
 * The answer mapping of the core (askSpine) with a fake protected Spine whose answers are written
 * by the simulator's templates (demo/spine/answers.ts, from the spec's example messages), not by
 * the gateway's builder: each kind of answer maps to the vocabulary code the table in docs/api.md ("Codes") names.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  errorAnswer,
  HARMLESS_VARIANTS,
  HIDING_VARIANTS,
  indicatorAnswer,
  SPINE_ASID,
} from '../../demo/spine/answers.ts';
import { loadVocabulary } from '../fhir/vocabulary.ts';
import { parseXml } from '../fhir/xml.ts';
import { askSpine, MAX_REPORTED_DEVIATIONS, type AskSpineDeps } from './ask-spine.ts';
import type { ProtectedSpine } from './protected-spine.ts';

const SMSP_ASID = '200000000111';
const NOW = new Date('2026-07-01T13:14:15.000Z');
const vocabulary = loadVocabulary();
const QUESTION = {
  nhsNumber: '9990000018',
  author: { kind: 'local' as const, localId: 'ajones' },
  organization: { odsCode: 'RX1', name: 'Trust' },
  priority: 'interactive' as const,
  clientId: 'epr',
};

type Reply = (messageId: string) => Awaited<ReturnType<ProtectedSpine['query']>>;
/** An answer as text, parsed the way the client parses it. */
const tree = (xml: string) => {
  const r = parseXml(xml);
  assert.ok(r.ok);
  return r.value;
};
const addressed = (respondsTo: string, timestamp = NOW) => ({ respondsTo, destinationAsid: SMSP_ASID, timestamp });
const rowOf = (code: string) => vocabulary.get(code);

function ask(reply: Reply, over: Partial<AskSpineDeps> = {}) {
  const counted: string[] = [];
  const logged: Record<string, unknown>[] = [];
  const spine: ProtectedSpine = { query: async (xml) => reply(/<MessageHeader><id value="([^"]+)"/.exec(xml)![1]!) };
  const deps: AskSpineDeps = {
    spine,
    vocabulary,
    smspAsid: SMSP_ASID,
    spineAsid: SPINE_ASID,
    now: () => NOW,
    deviationCounter: { inc: ({ path }) => counted.push(path) },
    log: (f) => logged.push(f),
    ...over,
  };
  return askSpine(deps, QUESTION).then((outcome) => ({ outcome, counted, logged }));
}

describe('askSpine: mapping what Spine answered', () => {
  test("SMSP-FGMRI-001 a usable indicator is SUCCESS with the assessment date, Spine's time and ids, answered by Spine", async () => {
    let sent = '';
    const { outcome, counted, logged } = await ask(
      (id) => (
        (sent = id),
        { kind: 'answer', httpStatus: 200, tree: tree(indicatorAnswer(addressed(id), '9990000018', '2019-12-10')) }
      ),
    );
    assert.equal(outcome.code, 'SUCCESS');
    assert.equal(outcome.assessmentDate, '2019-12-10');
    assert.equal(outcome.checkedAt, NOW.toISOString());
    assert.equal(outcome.answeredBySpine, true);
    assert.equal(outcome.spineMessageId, sent);
    assert.match(outcome.spineResponseId!, /^[0-9a-f-]{36}$/);
    assert.notEqual(outcome.spineResponseId, sent);
    assert.deepEqual(outcome.deviations, []);
    assert.equal(outcome.reason, undefined);
    assert.deepEqual([counted, logged], [[], []], 'a conforming answer reports nothing');
  });
  test("issue 18 review F6 Spine's MessageHeader.id is kept for the audit only when it is a FHIR id: 60 KB or a name beside a number is dropped and reported, and the indicator still shown", async () => {
    for (const id of ['x'.repeat(60_000), 'Jane Doe 9990000026 born 2015-01-01', 'a'.repeat(65)]) {
      const { outcome, counted } = await ask((sent) => ({
        kind: 'answer',
        httpStatus: 200,
        tree: tree(
          indicatorAnswer(addressed(sent), '9990000018', '2019-12-10').replace(
            /(<MessageHeader><id value=")[^"]+"/,
            `$1${id}"`,
          ),
        ),
      }));
      assert.equal(outcome.code, 'SUCCESS', id.slice(0, 40));
      assert.equal(outcome.spineResponseId, null);
      assert.ok(counted.includes('MessageHeader.id'), id.slice(0, 40));
    }
    const { outcome } = await ask((sent) => ({
      kind: 'answer',
      httpStatus: 200,
      tree: tree(
        indicatorAnswer(addressed(sent), '9990000018', '2019-12-10').replace(
          /(<MessageHeader><id value=")[^"]+"/,
          `$1${'a'.repeat(64)}"`,
        ),
      ),
    }));
    assert.equal(outcome.spineResponseId, 'a'.repeat(64), '64 characters is an id');
  });
  test('SMSP-VAL-004 a deviating answer is used, and each deviation counted by path and logged as a fixed phrase', async () => {
    const { outcome, counted, logged } = await ask((id) => ({
      kind: 'answer',
      httpStatus: 200,
      tree: tree(HARMLESS_VARIANTS['no-meta-profile'](indicatorAnswer(addressed(id), '9990000018', '2019-12-10'))),
    }));
    assert.equal(outcome.code, 'SUCCESS');
    assert.deepEqual(counted.sort(), [
      'Bundle.meta.profile',
      'Flag.meta.profile',
      'MessageHeader.meta.profile',
      'Patient.meta.profile',
    ]);
    assert.equal(outcome.deviations!.length, 4);
    assert.ok(
      outcome.deviations!.every((d) =>
        / declares no profile: read by the profile its type has in this message$/.test(d),
      ),
    );
    assert.deepEqual(logged.map((l) => l.path).sort(), counted);
    for (const l of logged)
      assert.deepEqual(
        { ...l, path: 'any' },
        {
          level: 'warn',
          msg: 'Spine answer deviates from the profiles; used as transformed',
          path: 'any',
          deviation: 'declares no profile: read by the profile its type has in this message',
        },
      );
  });
  test("SMSP-VAL-004 an unsafe answer is RESPONSE_MESSAGE_VALIDATION_ERROR, not answered by Spine, with the safety core's reason", async () => {
    const { outcome } = await ask((id) => ({
      kind: 'answer',
      httpStatus: 200,
      tree: tree(indicatorAnswer(addressed(id), '9990000026', '2019-12-10')),
    }));
    assert.deepEqual(
      [outcome.code, outcome.answeredBySpine, outcome.assessmentDate, outcome.checkedAt, outcome.reason],
      ['RESPONSE_MESSAGE_VALIDATION_ERROR', false, null, null, 'unsafe Spine answer: indicator is for another patient'],
    );
    assert.match(outcome.spineResponseId!, /^[0-9a-f-]{36}$/, "Spine's message id is still recorded");
    assert.deepEqual(outcome.deviations, []);
  });
  test('the configured skew is the one applied; without one, 5 minutes ahead and 24 hours behind', async () => {
    const behind = (seconds: number) => (id: string) => ({
      kind: 'answer' as const,
      httpStatus: 200,
      tree: tree(indicatorAnswer(addressed(id, new Date(NOW.getTime() - seconds * 1000)), '9990000018', '2019-12-10')),
    });
    const ahead = (seconds: number) => (id: string) => ({
      kind: 'answer' as const,
      httpStatus: 200,
      tree: tree(indicatorAnswer(addressed(id, new Date(NOW.getTime() + seconds * 1000)), '9990000018', '2019-12-10')),
    });
    assert.equal((await ask(behind(86_400))).outcome.code, 'SUCCESS');
    assert.equal((await ask(behind(86_401))).outcome.code, 'RESPONSE_MESSAGE_VALIDATION_ERROR');
    assert.equal((await ask(ahead(300))).outcome.code, 'SUCCESS');
    assert.equal((await ask(ahead(301))).outcome.code, 'RESPONSE_MESSAGE_VALIDATION_ERROR');
    const skew = { answerSkew: { maxAheadSeconds: 10, maxBehindSeconds: 60 } };
    assert.equal((await ask(behind(60), skew)).outcome.code, 'SUCCESS');
    assert.equal((await ask(behind(61), skew)).outcome.code, 'RESPONSE_MESSAGE_VALIDATION_ERROR');
    assert.equal((await ask(ahead(10), skew)).outcome.code, 'SUCCESS');
    assert.equal((await ask(ahead(11), skew)).outcome.code, 'RESPONSE_MESSAGE_VALIDATION_ERROR');
  });
  test("SMSP-ERR-004 Spine's business codes are replicated, answered by Spine", async () => {
    for (const code of ['NO_RECORD_FOUND', 'PATIENT_OVER_18', 'ASID_CHECK_FAILED', 'INVALID_NHS_NUMBER']) {
      const { outcome } = await ask((id) => ({
        kind: 'answer',
        httpStatus: rowOf(code).httpStatus,
        tree: tree(errorAnswer(addressed(id), rowOf(code))),
      }));
      assert.deepEqual(
        [outcome.code, outcome.answeredBySpine, outcome.assessmentDate, outcome.checkedAt, outcome.reason],
        [code, true, null, NOW.toISOString(), undefined],
        code,
      );
    }
  });
  test("SMSP-ERR-006 Spine's INVALID_PARAMETER is rejected input: INPUT_MESSAGE_VALIDATION_ERROR (SMSP-0001), with Spine's code in the reason", async () => {
    const { outcome } = await ask((id) => ({
      kind: 'answer',
      httpStatus: 400,
      tree: tree(errorAnswer(addressed(id), rowOf('INVALID_PARAMETER'))),
    }));
    assert.deepEqual(
      [outcome.code, outcome.answeredBySpine, outcome.reason],
      ['INPUT_MESSAGE_VALIDATION_ERROR', false, 'Spine refused our message: INVALID_PARAMETER'],
    );
    assert.equal(vocabulary.get(outcome.code).smspCode, 'SMSP-0001');
    assert.equal(outcome.checkedAt, NOW.toISOString());
  });
  test("SMSP-ERR-006 Spine's MESSAGE_NOT_WELL_FORMED is the SMSP's own fault, not the client's input: SMSP-9999", async () => {
    const { outcome } = await ask((id) => ({
      kind: 'answer',
      httpStatus: 400,
      tree: tree(errorAnswer(addressed(id), rowOf('MESSAGE_NOT_WELL_FORMED'))),
    }));
    assert.deepEqual(
      [outcome.code, outcome.answeredBySpine, outcome.reason],
      [
        'GENERIC_SPINE_MINI_SERVICE_PROVIDER_SOFTWARE_FAILURE',
        false,
        'Spine refused our message: MESSAGE_NOT_WELL_FORMED',
      ],
    );
    assert.equal(vocabulary.get(outcome.code).smspCode, 'SMSP-9999');
  });
  test("SMSP-ERR-004 an SMSP or local code from Spine is not Spine's answer: RESPONSE_MESSAGE_VALIDATION_ERROR (SMSP-0002)", async () => {
    for (const code of [
      'INPUT_MESSAGE_VALIDATION_ERROR',
      'COULD_NOT_CONNECT_TO_SPINE',
      'SPINE_BUSY',
      'RESPONSE_MESSAGE_VALIDATION_ERROR',
    ]) {
      const { outcome } = await ask((id) => ({
        kind: 'answer',
        httpStatus: 400,
        tree: tree(errorAnswer(addressed(id), { ...rowOf('INVALID_PARAMETER'), code })),
      }));
      assert.deepEqual(
        [outcome.code, outcome.reason],
        ['RESPONSE_MESSAGE_VALIDATION_ERROR', 'unsafe Spine answer: unknown outcome code'],
        code,
      );
    }
  });
  test('an error code outside the vocabulary is RESPONSE_MESSAGE_VALIDATION_ERROR', async () => {
    const { outcome } = await ask((id) => ({
      kind: 'answer',
      httpStatus: 400,
      tree: tree(errorAnswer(addressed(id), { ...rowOf('INVALID_PARAMETER'), code: 'MADE_UP_CODE' })),
    }));
    assert.deepEqual(
      [outcome.code, outcome.reason],
      ['RESPONSE_MESSAGE_VALIDATION_ERROR', 'unsafe Spine answer: unknown outcome code'],
    );
  });
  test('without a counter or a logger (deps are optional), a deviating answer is still used', async () => {
    const { outcome } = await ask(
      (id) => ({
        kind: 'answer',
        httpStatus: 200,
        tree: tree(HARMLESS_VARIANTS['xsi-attributes'](indicatorAnswer(addressed(id), '9990000018', '2019-12-10'))),
      }),
      { deviationCounter: undefined, log: undefined },
    );
    assert.equal(outcome.code, 'SUCCESS');
    assert.ok(outcome.deviations!.length > 0);
  });
  test('the question reaches Spine with its priority, client, user and signal; the gateway clock is the default', async () => {
    const seen: unknown[] = [];
    const spine: ProtectedSpine = {
      query: async (xml, opts) => (
        seen.push(opts),
        {
          kind: 'answer',
          httpStatus: 200,
          tree: tree(
            indicatorAnswer(
              addressed(/<MessageHeader><id value="([^"]+)"/.exec(xml)![1]!, new Date()),
              '9990000018',
              '2019-12-10',
            ),
          ),
        }
      ),
    };
    const signal = new AbortController().signal;
    const base = { spine, vocabulary, smspAsid: SMSP_ASID, spineAsid: SPINE_ASID };
    assert.equal(
      (await askSpine(base, { ...QUESTION, signal })).code,
      'SUCCESS',
      "no clock given: the gateway clock, and Spine's answer of just now is fresh",
    );
    await askSpine(base, { ...QUESTION, priority: 'batch', clientId: 'chs' });
    // Fair shares inside a client (issue 21): the user reaches the rate limiter when the interface knows one.
    await askSpine(base, { ...QUESTION, userId: 'ajones' });
    assert.deepEqual(seen, [
      { priority: 'interactive', clientId: 'epr', signal },
      { priority: 'batch', clientId: 'chs' },
      { priority: 'interactive', clientId: 'epr', userId: 'ajones' },
    ]);
  });
  test('no answer: busy, unreachable, unusable, abandoned', async () => {
    const busy = (await ask(() => ({ kind: 'busy', code: 'SPINE_BUSY', retryAfterSeconds: 3 }))).outcome;
    assert.deepEqual(
      [busy.code, busy.answeredBySpine, busy.retryAfterSeconds, busy.reason],
      ['SPINE_BUSY', false, 3, 'rate limit toward Spine'],
    );
    const down = (await ask(() => ({ kind: 'failure', code: 'COULD_NOT_CONNECT_TO_SPINE', reason: 'timeout' })))
      .outcome;
    assert.deepEqual([down.code, down.answeredBySpine, down.reason], ['COULD_NOT_CONNECT_TO_SPINE', false, 'timeout']);
    const bad = (
      await ask(() => ({ kind: 'failure', code: 'RESPONSE_MESSAGE_VALIDATION_ERROR', reason: 'wrong content type' }))
    ).outcome;
    assert.deepEqual(
      [bad.code, bad.answeredBySpine, bad.reason],
      ['RESPONSE_MESSAGE_VALIDATION_ERROR', false, 'wrong content type'],
    );
    const gone = (await ask(() => ({ kind: 'abandoned', code: 'CLIENT_CLOSED_REQUEST' }))).outcome;
    assert.deepEqual(
      [gone.code, gone.answeredBySpine, gone.reason],
      ['CLIENT_CLOSED_REQUEST', false, 'client went away'],
    );
    for (const o of [busy, down, bad, gone])
      assert.deepEqual([o.spineResponseId, o.checkedAt, o.assessmentDate, o.deviations], [null, null, null, undefined]);
  });
});

/** Cases the mutation run of 2 December 2026 showed untested; oracles hand-written. */
describe('askSpine: what reaches the safety core, and what it reports', () => {
  const found = (id: string) => indicatorAnswer(addressed(id), '9990000018', '2019-12-10');
  test("SMSP-VAL-004 M2 the birth date the interface knows reaches the safety core: an assessment the day before it is shown and reported (the client's date is unverified)", async () => {
    const asked = (birthDate: string) =>
      askSpine(
        {
          spine: {
            query: async (xml) => ({
              kind: 'answer',
              httpStatus: 200,
              tree: tree(found(/<MessageHeader><id value="([^"]+)"/.exec(xml)![1]!)),
            }),
          },
          vocabulary,
          smspAsid: SMSP_ASID,
          spineAsid: SPINE_ASID,
          now: () => NOW,
        },
        { ...QUESTION, birthDate },
      );
    const before = await asked('2019-12-11');
    assert.deepEqual([before.code, before.assessmentDay], ['SUCCESS', '2019-12-10']);
    assert.ok(
      before.deviations!.includes('Flag.period.start assessment date before the birth date the client gave'),
      String(before.deviations),
    );
    const born = await asked('2019-12-10');
    assert.ok(!born.deviations!.some((d) => d.includes('birth date')), 'the day of birth');
  });
  test("SMSP-ERR-004 SMSP-FGMRI-001 Spine's NO_RECORD_FOUND under HTTP 200 is no record (as under 404), the deviation counted and logged", async () => {
    const { outcome, counted, logged } = await ask((id) => ({
      kind: 'answer',
      httpStatus: 200,
      tree: tree(errorAnswer(addressed(id), rowOf('NO_RECORD_FOUND'))),
    }));
    assert.deepEqual([outcome.code, outcome.answeredBySpine, outcome.assessmentDate], ['NO_RECORD_FOUND', true, null]);
    assert.ok(
      outcome.deviations!.includes(
        'OperationOutcome.issue.details.coding.code NO_RECORD_FOUND with a success HTTP status',
      ),
      String(outcome.deviations),
    );
    assert.ok(counted.includes('OperationOutcome.issue.details.coding.code'));
    assert.ok(logged.some((l) => l.deviation === 'NO_RECORD_FOUND with a success HTTP status'));
  });
  test("SMSP-VAL-004 the transport's and the safety core's deviations are counted, logged and listed beside the profiles'", async () => {
    const transport = { path: 'HTTP Content-Type', message: 'an XML content type other than application/xml+fhir' };
    const { outcome, counted, logged } = await ask((id) => ({
      kind: 'answer',
      httpStatus: 200,
      tree: tree(HARMLESS_VARIANTS.whitespace(found(id))),
      deviations: [transport],
    }));
    assert.equal(outcome.code, 'SUCCESS');
    // The transport's (from the client), the safety core's (H2 whitespace) and the profiles' (the padded id), each once.
    for (const d of [
      'HTTP Content-Type an XML content type other than application/xml+fhir',
      'Patient.identifier.value whitespace removed from the NHS number',
      'MessageHeader.response.identifier whitespace around the value removed',
      'MessageHeader.response.identifier is not a valid id',
    ]) {
      assert.equal(outcome.deviations!.filter((x) => x === d).length, 1, d);
    }
    assert.ok(
      counted.includes('HTTP Content-Type') && counted.includes('Patient.identifier.value'),
      JSON.stringify(counted),
    );
    assert.equal(logged.length, counted.length);
  });
  test("SMSP-VAL-004 the transport's deviations are reported for an answer that is not used too; the safety core's are not", async () => {
    const transport = { path: 'HTTP Content-Encoding', message: 'a gzip body decompressed' };
    const { outcome, counted } = await ask((id) => ({
      kind: 'answer',
      httpStatus: 200,
      tree: tree(indicatorAnswer(addressed(id), '9990000026', '2019-12-10')),
      deviations: [transport],
    }));
    assert.equal(outcome.code, 'RESPONSE_MESSAGE_VALIDATION_ERROR');
    assert.deepEqual(
      [outcome.deviations, counted],
      [['HTTP Content-Encoding a gzip body decompressed'], ['HTTP Content-Encoding']],
    );
  });
  test('SMSP-VAL-004 a refused answer\'s deviations are logged as not used, never "used as transformed", counted, and listed for the audit record', async () => {
    // Spine's not-found with the Flag for our child in an entry beside a Basic, and no meta: refused, and the profiles' deviations seen.
    const hidden = (id: string) =>
      HIDING_VARIANTS['no-record-flag-entry'](
        HARMLESS_VARIANTS['no-meta-profile'](errorAnswer(addressed(id), rowOf('NO_RECORD_FOUND'))),
        found(id),
      );
    const { outcome, counted, logged } = await ask((id) => ({
      kind: 'answer',
      httpStatus: 404,
      tree: tree(hidden(id)),
    }));
    assert.deepEqual(
      [outcome.code, outcome.reason],
      ['RESPONSE_MESSAGE_VALIDATION_ERROR', 'unsafe Spine answer: an entry does not hold exactly one resource'],
    );
    assert.ok(
      outcome.deviations!.includes('Bundle.entry.resource must hold exactly one resource'),
      String(outcome.deviations),
    );
    assert.ok(
      outcome.deviations!.includes(
        'OperationOutcome.meta.profile declares no profile: read by the profile its type has in this message',
      ),
      String(outcome.deviations),
    );
    assert.equal(logged.length, outcome.deviations!.length);
    for (const l of logged)
      assert.equal(l.msg, 'Spine answer deviates from the profiles; not used (refused as unsafe)');
    assert.deepEqual(
      counted,
      logged.map((l) => l.path),
      'each counted under its path',
    );
  });
  test("SMSP-VAL-004 SMSP-FGMRI-001 NO_RECORD_FOUND beside our child's complete FGM Flag in another namespace is RESPONSE_MESSAGE_VALIDATION_ERROR, never no record", async () => {
    const flagOf = (xml: string) => /<Flag>.*?<\/Flag>/s.exec(xml)![0];
    const wraps: [string, (flag: string) => string][] = [
      ['an entry in another namespace', (f) => `<entry xmlns="urn:example:x"><resource>${f}</resource></entry>`],
      [
        'a foreign wrapper after the entries',
        (f) => `<x:ext xmlns:x="urn:example:x">${f.replace('<Flag>', '<Flag xmlns="urn:example:x">')}</x:ext>`,
      ],
    ];
    for (const [name, wrap] of wraps) {
      const { outcome } = await ask((id) => ({
        kind: 'answer',
        httpStatus: 404,
        tree: tree(
          errorAnswer(addressed(id), rowOf('NO_RECORD_FOUND')).replace(
            '</Bundle>',
            `${wrap(flagOf(found(id)))}</Bundle>`,
          ),
        ),
      }));
      assert.deepEqual(
        [outcome.code, outcome.answeredBySpine, outcome.reason],
        ['RESPONSE_MESSAGE_VALIDATION_ERROR', false, 'unsafe Spine answer: FGM risk code beside an error outcome'],
        name,
      );
    }
  });
  test("SMSP-VAL-004 a leap-second timestamp is passed on as the second before (checkedAt 2026-06-30T23:59:59Z for Spine's 23:59:60Z)", async () => {
    const { outcome } = await ask((id) => ({
      kind: 'answer',
      httpStatus: 200,
      tree: tree(HARMLESS_VARIANTS['leap-second-timestamp'](found(id))),
    }));
    assert.deepEqual([outcome.code, outcome.checkedAt], ['SUCCESS', '2026-06-30T23:59:59Z']);
  });
});

describe('askSpine: what one answer costs to report is bounded (issue 18 review F2)', () => {
  /** The indicator with `n` valued extensions after the Flag's code: each out of DSTU2 element order. */
  const withExtensions = (id: string, n: number) =>
    indicatorAnswer(addressed(id), '9990000018', '2019-12-10').replace(
      '</Flag>',
      `${Array.from({ length: n }, (_, i) => `<extension url="https://example.org/x${i}"><valueString value="x"/></extension>`).join('')}</Flag>`,
    );
  /** As the client parses it: Spine's answers are capped by spine.maxResponseBytes, not the 64 KB of a client's message. */
  const big = (xml: string) => {
    const r = parseXml(xml, { maxBytes: Number.POSITIVE_INFINITY });
    assert.ok(r.ok);
    return r.value;
  };
  test('SMSP-VAL-004 100 or 2,400 extensions out of order are one deviation: the same log lines, counter increments and audit entries for both', async () => {
    const runs = [];
    for (const n of [100, 2400]) {
      const { outcome, counted, logged } = await ask((id) => ({
        kind: 'answer',
        httpStatus: 200,
        tree: big(withExtensions(id, n)),
      }));
      assert.equal(outcome.code, 'SUCCESS');
      runs.push({ deviations: outcome.deviations, counted: counted.length, logged: logged.length });
    }
    assert.deepEqual(runs[0], runs[1]);
    assert.deepEqual(runs[1]!.deviations, ['Flag.extension is out of order (DSTU2 element order)']);
    assert.deepEqual([runs[1]!.counted, runs[1]!.logged], [1, 1]);
  });
  test('SMSP-VAL-004 more distinct deviations than MAX_REPORTED_DEVIATIONS: that many reported, then one "and N more" line, each counted and logged once', async () => {
    const many = Array.from({ length: MAX_REPORTED_DEVIATIONS + 8 }, (_, i) => ({
      path: `HTTP Header ${i}`,
      message: 'a transport deviation',
    }));
    const { outcome, counted, logged } = await ask((id) => ({
      kind: 'answer',
      httpStatus: 200,
      tree: tree(indicatorAnswer(addressed(id), '9990000018', '2019-12-10')),
      deviations: [...many, ...many],
    }));
    assert.equal(outcome.code, 'SUCCESS');
    assert.equal(outcome.deviations!.length, MAX_REPORTED_DEVIATIONS + 1);
    assert.equal(outcome.deviations!.at(-1), 'Bundle and 8 more deviations, not listed');
    assert.deepEqual([counted.length, logged.length], [MAX_REPORTED_DEVIATIONS + 1, MAX_REPORTED_DEVIATIONS + 1]);
  });
});

describe('askSpine: what the mutation run of 4 December found untested', () => {
  const withHeaderId = (sent: string, id: string | undefined) => {
    const xml = indicatorAnswer(addressed(sent), '9990000018', '2019-12-10');
    return xml.replace(
      /<MessageHeader><id value="[^"]+"\/>/,
      id === undefined ? '<MessageHeader>' : `<MessageHeader><id value="${id}"/>`,
    );
  };
  const DROPPED = 'MessageHeader.id not a FHIR id: not kept in the audit record';
  test("SMSP-AUDIT-004 Spine's MessageHeader.id that is no FHIR id is reported as dropped from the audit record; a FHIR id, or none, is not", async () => {
    const answer = (id: string | undefined) =>
      ask((sent) => ({ kind: 'answer', httpStatus: 200, tree: tree(withHeaderId(sent, id)) })).then((r) => r.outcome);
    const dropped = await answer('Jane Doe 9990000026');
    assert.deepEqual([dropped.code, dropped.spineResponseId], ['SUCCESS', null]);
    assert.ok(dropped.deviations!.includes(DROPPED), String(dropped.deviations));
    const kept = await answer('a'.repeat(64));
    assert.ok(!kept.deviations!.includes(DROPPED), String(kept.deviations));
    const none = await answer(undefined);
    assert.deepEqual([none.code, none.spineResponseId], ['SUCCESS', null]);
    assert.ok(!none.deviations!.includes(DROPPED), String(none.deviations));
  });
  test('SMSP-AUDIT-006 the busy tone says the message was never sent to Spine; an answer, a failure or a client gone away does not', async () => {
    const busy = (await ask(() => ({ kind: 'busy', code: 'SPINE_BUSY', retryAfterSeconds: 3 }))).outcome;
    assert.equal(busy.notSent, true);
    const down = (await ask(() => ({ kind: 'failure', code: 'COULD_NOT_CONNECT_TO_SPINE', reason: 'timeout' })))
      .outcome;
    const gone = (await ask(() => ({ kind: 'abandoned', code: 'CLIENT_CLOSED_REQUEST' }))).outcome;
    assert.deepEqual([down.notSent, gone.notSent], [undefined, undefined]);
  });
});
