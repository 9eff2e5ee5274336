/**
 * @module spine/answer-safety
 * The safety core: decides whether an answer from Spine may be used at all, reading the parsed
 * tree for the few facts that change what a clinician is told. It is the answer to our request
 * (`response.identifier`, both ASIDs, event FGMQueryResponse_2_0), sent recently by Spine's clock
 * (within the configured skew of ours), and either an indicator — for the NHS number we asked
 * about, the FGM risk code, status active, a real assessment date not after Spine's timestamp —
 * or an error carrying a code of the vocabulary. Nothing else here refuses an answer: what the
 * profiles would flag beyond this (a missing `meta.profile`, `xsi:` attributes, extra elements,
 * element order) is the deviation report's business, never a reason to hide an indicator
 * (SMSP-VAL-004). Reasons are fixed phrases: safe to log, never a value from the answer.
 */
import { ukToday } from '../../widget/rules/age.ts';
import { ASID_PREFIX, FGM, RESPONSE_EVENT, SYSTEM } from '../fhir/constants.ts';
import { all, FULL_DATE_TIME, INSTANT } from '../fhir/read.ts';
import { isFhir, type XmlElement } from '../fhir/xml.ts';

/** The skew allowed when the config names none: Spine a little ahead, or up to a day behind (config `spine.answerTimestamp`). */
export const DEFAULT_SKEW = { maxAheadSeconds: 300, maxBehindSeconds: 86_400 } as const;

export interface AnswerExpectation {
  /** MessageHeader.id of the query we sent. */
  messageId: string;
  nhsNumber: string;
  smspAsid: string;
  spineAsid: string;
  httpStatus: number;
  /** The gateway's clock when the answer arrived. */
  now: Date;
  /** How far Spine's timestamp may be ahead of, or behind, the gateway's clock. */
  maxAheadMs: number;
  maxBehindMs: number;
  /** Whether a Details.Code is one of the vocabulary's rows (SUCCESS is never an error code). */
  isKnownCode: (code: string) => boolean;
}

export type SafeOutcome = { kind: 'indicator'; assessmentDate: string } | { kind: 'error'; code: string };

export type Verdict =
  | { usable: true; spineMessageId: string | null; timestamp: string; outcome: SafeOutcome }
  | { usable: false; spineMessageId: string | null; reason: string };

/** The only FHIR child `name` of `el`: absent or repeated is undefined, never a guess between two. */
const single = (el: XmlElement | undefined, name: string): XmlElement | undefined => {
  const found = el ? all(el, name) : [];
  return found.length === 1 ? found[0] : undefined;
};

/** The `value` at a path of single children, e.g. `valueAt(header, 'response', 'identifier')`. */
const valueAt = (el: XmlElement | undefined, ...path: string[]): string | undefined => path.reduce((at, name) => single(at, name), el)?.attrs.value;

/** Each entry's one resource. */
const resourcesOf = (bundle: XmlElement): XmlElement[] =>
  all(bundle, 'entry').flatMap((e) => {
    const inner = single(e, 'resource')?.children.filter(isFhir) ?? [];
    return inner.length === 1 ? [inner[0]!] : [];
  });

/** True when the assessment date is not after Spine's timestamp: by the instant, or for a date by the later of the timestamp's written and UK dates. */
function notAfter(assessment: string, timestamp: string): boolean {
  if (assessment.length > 10) return Date.parse(assessment) <= Date.parse(timestamp);
  const written = timestamp.slice(0, 10);
  const uk = ukToday(new Date(timestamp));
  return assessment <= (written > uk ? written : uk);
}

function indicator(flag: XmlElement, expect: AnswerExpectation): Extract<SafeOutcome, { kind: 'indicator' }> | string {
  if (valueAt(flag, 'status') !== 'active') return 'indicator status is not active';
  const codings = all(single(flag, 'code') ?? flag, 'coding');
  if (!single(flag, 'code') || codings.length === 0 || codings.some((c) => valueAt(c, 'system') !== SYSTEM.riskIndicatorType || valueAt(c, 'code') !== FGM)) {
    return 'indicator is not the FGM risk indicator';
  }
  const ref = valueAt(flag, 'subject', 'reference');
  const patients = all(flag, 'contained').flatMap((c) => all(c, 'Patient')).filter((p) => `#${valueAt(p, 'id')}` === ref);
  const numbers = patients.length === 1 ? all(patients[0]!, 'identifier').filter((i) => valueAt(i, 'system') === SYSTEM.nhsNumber) : [];
  if (numbers.length === 0) return 'indicator names no patient by NHS number';
  if (numbers.some((i) => valueAt(i, 'value') !== expect.nhsNumber)) return 'indicator is for another patient';
  const start = valueAt(flag, 'period', 'start');
  if (start === undefined || !FULL_DATE_TIME.test(start)) return 'assessment date is not a real date';
  return { kind: 'indicator', assessmentDate: start };
}

/**
 * Whether Spine's answer (its parsed tree) can be used, and what it says.
 * @example checkAnswer(tree, { messageId, nhsNumber, smspAsid, spineAsid, httpStatus: 200, now: new Date(), maxAheadMs: 300_000, maxBehindMs: 86_400_000, isKnownCode }).usable
 */
export function checkAnswer(root: XmlElement, expect: AnswerExpectation): Verdict {
  const resources = root.name === 'Bundle' && isFhir(root) ? resourcesOf(root) : [];
  const headers = resources.filter((r) => r.name === 'MessageHeader');
  const header = headers.length === 1 ? headers[0] : undefined;
  const spineMessageId = valueAt(header, 'id') ?? null;
  const refuse = (reason: string): Verdict => ({ usable: false, spineMessageId, reason });
  if (!header) return refuse('answer has no single MessageHeader');
  if (valueAt(header, 'event', 'code') !== RESPONSE_EVENT) return refuse('event is not FGMQueryResponse_2_0');
  if (valueAt(header, 'response', 'identifier') !== expect.messageId) return refuse('response is for another request');
  if (valueAt(header, 'source', 'endpoint') !== ASID_PREFIX + expect.spineAsid || valueAt(header, 'destination', 'endpoint') !== ASID_PREFIX + expect.smspAsid) {
    return refuse('response ASIDs do not match');
  }
  const timestamp = valueAt(header, 'timestamp');
  if (timestamp === undefined || !INSTANT.test(timestamp)) return refuse('timestamp is not a real instant');
  const skew = Date.parse(timestamp) - expect.now.getTime();
  if (skew > expect.maxAheadMs) return refuse('timestamp is ahead of the gateway clock by more than the allowed skew');
  if (-skew > expect.maxBehindMs) return refuse('timestamp is behind the gateway clock by more than the allowed skew');

  const payload = resources.filter((r) => r.name === 'Flag' || r.name === 'OperationOutcome');
  if (payload.length !== 1) return refuse('answer has no single Flag or OperationOutcome');
  const target = payload[0]!;
  if (target.name === 'Flag') {
    const read = indicator(target, expect);
    if (typeof read === 'string') return refuse(read);
    if (!notAfter(read.assessmentDate, timestamp)) return refuse('assessment date is after the timestamp');
    if (expect.httpStatus !== 200 || valueAt(header, 'response', 'code') !== 'ok') return refuse('indicator with an error status');
    return { usable: true, spineMessageId, timestamp, outcome: read };
  }
  const code = valueAt(single(single(all(target, 'issue')[0], 'details'), 'coding'), 'code');
  if (code === undefined || code === 'SUCCESS' || !expect.isKnownCode(code)) return refuse('unknown outcome code');
  // response.code alone cannot tell: Spine writes `ok` for a not-found outcome.
  if (expect.httpStatus < 400) return refuse('error outcome with a success status');
  return { usable: true, spineMessageId, timestamp, outcome: { kind: 'error', code } };
}
