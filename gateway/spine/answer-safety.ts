/**
 * @module spine/answer-safety
 * The safety core: decides whether an answer from Spine may be used at all, reading the parsed
 * tree for the few facts that change what a clinician is told. It is the answer to our request
 * (`response.identifier`, both ASIDs, event FGMQueryResponse_2_0), sent recently by Spine's clock
 * (within the configured skew of ours), and either an indicator — for the NHS number we asked
 * about, the FGM risk code, status active, a real assessment date not after Spine's timestamp —
 * or an error carrying a code of the vocabulary. No modifier (modifierExtension, implicitRules) may
 * sit on the Flag or its Patient, and the dates must make sense: not before the child's birth (or
 * 2000 when unknown), no ended period. Whitespace, case of our message id, a coding beside FGM,
 * the newer NHS-number system and a partial date are read, and reported as core deviations.
 * Nothing else here refuses an answer: what the
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
  /** The child's birth date (YYYY-MM-DD) when the asking interface knows it: no assessment before it is plausible. */
  birthDate?: string;
}

/** An indicator: `assessmentDate` as Spine wrote it; `assessmentDay` its UK calendar date (YYYY-MM-DD), or the partial date (YYYY, YYYY-MM) as written. */
export type SafeOutcome = { kind: 'indicator'; assessmentDate: string; assessmentDay: string } | { kind: 'error'; code: string };

export type Verdict =
  | { usable: true; spineMessageId: string | null; timestamp: string; outcome: SafeOutcome; deviations: CoreDeviation[] }
  | { usable: false; spineMessageId: string | null; reason: string };

/** The only FHIR child `name` of `el`: absent or repeated is undefined, never a guess between two. */
const single = (el: XmlElement | undefined, name: string): XmlElement | undefined => {
  const found = el ? all(el, name) : [];
  return found.length === 1 ? found[0] : undefined;
};

/** The raw `value` at a path of single children, e.g. `rawAt(header, 'response', 'identifier')`. */
const rawAt = (el: XmlElement | undefined, ...path: string[]): string | undefined => path.reduce((at, name) => single(at, name), el)?.attrs.value;

/** Each entry's one resource. */
const resourcesOf = (bundle: XmlElement): XmlElement[] =>
  all(bundle, 'entry').flatMap((e) => {
    const inner = single(e, 'resource')?.children.filter(isFhir) ?? [];
    return inner.length === 1 ? [inner[0]!] : [];
  });

/** A transformation the core made to read the answer: a profile path and a fixed phrase, never a value. */
export interface CoreDeviation {
  path: string;
  message: string;
}

/** Both systems NHS numbers are written under: the DSTU2 profiles' and the later NHS England one. */
const NHS_NUMBER_SYSTEMS = [SYSTEM.nhsNumber, 'https://fhir.nhs.uk/Id/nhs-number'];
/** Before this no FGM-IS assessment is plausible when the child's birth date is unknown (FGM-IS began in 2014). */
const EARLIEST_ASSESSMENT = '2000-01-01';
const PARTIAL_DATE = /^\d{4}(-(0[1-9]|1[0-2]))?$/;

/** Milliseconds of an instant; a leap second (`:60`, which FHIR allows) reads as the second before. */
const ms = (v: string) => Date.parse(v.replace(/:60(?=(\.\d+)?(Z|[+-]))/, ':59'));

/** The UK calendar date of a dateTime with a time, the date itself otherwise (full or partial), or undefined when not a real DSTU2 dateTime. */
function dayOf(v: string): string | undefined {
  if (PARTIAL_DATE.test(v)) return v;
  if (!FULL_DATE_TIME.test(v)) return undefined;
  return v.length > 10 ? ukToday(new Date(ms(v))) : v;
}

/** True when a (possibly partial) day is after `bound` (YYYY-MM-DD), compared at the day's own precision. */
const after = (day: string, bound: string) => day > bound.slice(0, day.length);

/** Reads the Flag; `note` records each transformation made to read it. */
function indicator(flag: XmlElement, expect: AnswerExpectation, note: (d: CoreDeviation) => void, at: (path: string, el: XmlElement | undefined, ...names: string[]) => string | undefined): Extract<SafeOutcome, { kind: 'indicator' }> | string {
  // FHIR forbids ignoring a modifier: an answer we cannot fully understand is never shown as if we did.
  if (hasModifier(flag)) return 'indicator carries a modifier extension or implicit rules';
  if (at('Flag.status', flag, 'status') !== 'active') return 'indicator status is not active';
  const codings = all(single(flag, 'code') ?? flag, 'coding').map((c) => ({ system: at('Flag.code.coding.system', c, 'system'), code: at('Flag.code.coding.code', c, 'code') }));
  const risk = codings.filter((c) => c.system === SYSTEM.riskIndicatorType);
  if (!single(flag, 'code') || !risk.some((c) => c.code === FGM) || risk.some((c) => c.code !== FGM)) return 'indicator is not the FGM risk indicator';
  if (risk.length < codings.length) note({ path: 'Flag.code.coding', message: 'codings of other systems beside the FGM risk indicator ignored' });
  const ref = at('Flag.subject.reference', flag, 'subject', 'reference');
  const patients = all(flag, 'contained').flatMap((c) => all(c, 'Patient')).filter((p) => `#${at('Patient.id', p, 'id')}` === ref);
  const ids = patients.length === 1 ? all(patients[0]!, 'identifier').map((i) => ({ system: at('Patient.identifier.system', i, 'system'), value: rawAt(i, 'value') })) : [];
  const numbers = ids.filter((i) => NHS_NUMBER_SYSTEMS.includes(i.system ?? ''));
  if (numbers.length === 0) return 'indicator names no patient by NHS number';
  const values = numbers.map((i) => i.value?.replace(/\s/g, ''));
  if (values.some((v) => v !== expect.nhsNumber)) return 'indicator is for another patient';
  if (numbers.some((i, n) => i.value !== values[n])) note({ path: 'Patient.identifier.value', message: 'whitespace removed from the NHS number' });
  if (!numbers.some((i) => i.system === SYSTEM.nhsNumber)) note({ path: 'Patient.identifier.system', message: 'NHS number only under https://fhir.nhs.uk/Id/nhs-number' });
  const start = at('Flag.period.start', flag, 'period', 'start');
  const day = start === undefined ? undefined : dayOf(start);
  if (start === undefined || day === undefined) return 'assessment date is not a real date';
  if (day.length < 10) note({ path: 'Flag.period.start', message: 'assessment date is a partial date' });
  return { kind: 'indicator', assessmentDate: start, assessmentDay: day };
}

/** True when `el` or any FHIR element under it is a `modifierExtension` or `implicitRules`. */
const hasModifier = (el: XmlElement): boolean => el.children.some((c) => isFhir(c) && (c.name === 'modifierExtension' || c.name === 'implicitRules' || hasModifier(c)));

/**
 * Whether Spine's answer (its parsed tree) can be used, and what it says.
 * @example checkAnswer(tree, { messageId, nhsNumber, smspAsid, spineAsid, httpStatus: 200, now: new Date(), maxAheadMs: 300_000, maxBehindMs: 86_400_000, isKnownCode }).usable
 */
export function checkAnswer(root: XmlElement, expect: AnswerExpectation): Verdict {
  const deviations: CoreDeviation[] = [];
  const note = (d: CoreDeviation) => {
    if (!deviations.some((x) => x.path === d.path && x.message === d.message)) deviations.push(d);
  };
  // Whitespace around an id, code or status changes nothing it says: read trimmed, and say so.
  const at = (path: string, el: XmlElement | undefined, ...names: string[]) => {
    const v = rawAt(el, ...names);
    if (v !== undefined && v !== v.trim()) note({ path, message: 'whitespace around the value removed' });
    return v?.trim();
  };
  const resources = root.name === 'Bundle' && isFhir(root) ? resourcesOf(root) : [];
  const headers = resources.filter((r) => r.name === 'MessageHeader');
  const header = headers.length === 1 ? headers[0] : undefined;
  const spineMessageId = at('MessageHeader.id', header, 'id') ?? null;
  const refuse = (reason: string): Verdict => ({ usable: false, spineMessageId, reason });
  if (!header) return refuse('answer has no single MessageHeader');
  if (at('MessageHeader.event.code', header, 'event', 'code') !== RESPONSE_EVENT) return refuse('event is not FGMQueryResponse_2_0');
  // Message ids are UUIDs: upper and lower case name the same one.
  if (at('MessageHeader.response.identifier', header, 'response', 'identifier')?.toLowerCase() !== expect.messageId.toLowerCase()) return refuse('response is for another request');
  if (at('MessageHeader.source.endpoint', header, 'source', 'endpoint') !== ASID_PREFIX + expect.spineAsid || at('MessageHeader.destination.endpoint', header, 'destination', 'endpoint') !== ASID_PREFIX + expect.smspAsid) {
    return refuse('response ASIDs do not match');
  }
  const timestamp = at('MessageHeader.timestamp', header, 'timestamp');
  if (timestamp === undefined || !INSTANT.test(timestamp)) return refuse('timestamp is not a real instant');
  const skew = ms(timestamp) - expect.now.getTime();
  if (skew > expect.maxAheadMs) return refuse('timestamp is ahead of the gateway clock by more than the allowed skew');
  if (-skew > expect.maxBehindMs) return refuse('timestamp is behind the gateway clock by more than the allowed skew');

  const payload = resources.filter((r) => r.name === 'Flag' || r.name === 'OperationOutcome');
  if (payload.length !== 1) return refuse('answer has no single Flag or OperationOutcome');
  const target = payload[0]!;
  if (target.name === 'Flag') {
    const read = indicator(target, expect, note, at);
    if (typeof read === 'string') return refuse(read);
    // A date-only assessment cannot be placed in a zone: the later of Spine's written and UK dates bounds it, and a dateTime's UK date is held to the same bound.
    const uk = ukToday(new Date(ms(timestamp)));
    const written = timestamp.slice(0, 10);
    if (after(read.assessmentDay, written > uk ? written : uk)) return refuse('assessment date is after the timestamp');
    const floor = expect.birthDate ?? EARLIEST_ASSESSMENT;
    if (read.assessmentDay < floor.slice(0, read.assessmentDay.length)) return refuse(expect.birthDate ? 'assessment date is before the child was born' : 'assessment date is implausibly early');
    const end = at('Flag.period.end', target, 'period', 'end');
    if (end !== undefined) {
      const endDay = dayOf(end);
      if (endDay === undefined) return refuse('period end is not a real date');
      // An end date runs to the end of that day; an ended period is not a current risk.
      if (end.length > 10 ? ms(end) <= ms(timestamp) : endDay < uk.slice(0, endDay.length)) return refuse('indicator period has ended');
    }
    if (expect.httpStatus !== 200 || at('MessageHeader.response.code', header, 'response', 'code') !== 'ok') return refuse('indicator with an error status');
    return { usable: true, spineMessageId, timestamp, outcome: read, deviations };
  }
  const coding = single(single(all(target, 'issue')[0], 'details'), 'coding');
  const code = at('OperationOutcome.issue.details.coding.code', coding, 'code');
  if (code === undefined || code === 'SUCCESS' || !expect.isKnownCode(code)) return refuse('unknown outcome code');
  // response.code alone cannot tell: Spine writes `ok` for a not-found outcome.
  if (expect.httpStatus < 400) return refuse('error outcome with a success status');
  return { usable: true, spineMessageId, timestamp, outcome: { kind: 'error', code }, deviations };
}
