/**
 * @module spine/answer-safety
 * The safety core: decides whether an answer from Spine may be used at all, reading the parsed
 * tree for the few facts that change what a clinician is told. It is the answer to our request
 * (`response.identifier`, both ASIDs, event FGMQueryResponse_2_0), sent recently by Spine's clock
 * (within the configured skew of ours), and either an indicator — for the NHS number we asked
 * about, the FGM risk code, status active, a real assessment date not after Spine's timestamp —
 * or an error carrying a code of the vocabulary. It is read only where it can be read without a
 * guess: each entry holds exactly one resource, and no MessageHeader, Flag or OperationOutcome sits
 * anywhere else (contained, nested), so an indicator is never hidden behind "no record"; Spine's
 * own error code beside an indicator, at any severity, is Spine contradicting itself. Every
 * Patient anywhere in it, referenced or not, is named by that NHS number and no other. No
 * modifier (modifierExtension, implicitRules) may sit on the Flag or its Patient, and the dates
 * must make sense: not before the child's birth (or 2000 when unknown), no ended period.
 * Whitespace, case of our message id, a coding beside FGM, the newer NHS-number system and a
 * partial date are read, and reported as core deviations. Nothing else here refuses an answer:
 * what the profiles would flag beyond this (a missing `meta.profile`, `xsi:` attributes, extra elements,
 * element order) is the deviation report's business, never a reason to hide an indicator
 * (SMSP-VAL-004). Reasons are fixed phrases: safe to log, never a value from the answer.
 */
import { ukToday } from '../uk-today.ts';
import { ASID_PREFIX, FGM, RESPONSE_EVENT, SYSTEM } from '../fhir/constants.ts';
import { all, FULL_DATE_TIME, INSTANT } from '../fhir/read.ts';
import { sameUri } from '../fhir/uri.ts';
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

/** An entry's FHIR resources: FHIR allows one, and one is the only form the core reads. */
const resourcesIn = (entry: XmlElement): XmlElement[] => all(entry, 'resource').flatMap((r) => r.children.filter(isFhir));

/** What says what the answer is: read only as an entry's one resource. */
const OUTCOME_RESOURCES = ['MessageHeader', 'Flag', 'OperationOutcome'];

/** True when one of OUTCOME_RESOURCES sits under `el` other than as one of the entries' resources (`read`): contained, nested, beside a resource. */
const misplacedOutcome = (el: XmlElement, read: ReadonlySet<XmlElement>): boolean =>
  el.children.some((c) => isFhir(c) && ((OUTCOME_RESOURCES.includes(c.name) && !read.has(c)) || misplacedOutcome(c, read)));

/** A transformation the core made to read the answer: a profile path and a fixed phrase, never a value. */
export interface CoreDeviation {
  path: string;
  message: string;
}

/** Both systems NHS numbers are written under: the DSTU2 profiles' and the later NHS England one. */
const NHS_NUMBER_SYSTEMS = [SYSTEM.nhsNumber, 'https://fhir.nhs.uk/Id/nhs-number'];
/**
 * Before this no FGM-IS assessment is plausible (FGM-IS began in 2014, and Spine answers only for
 * children), whatever birth date the client gave: the floor rests on nothing the client says.
 */
const EARLIEST_ASSESSMENT = '2000-01-01';
/** Issue severities that say nothing went wrong: an OperationOutcome of only these beside a Flag is a note, not an error. */
const BENIGN_SEVERITIES = ['information', 'warning'];
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

/** Every FHIR Patient in the message, wherever it sits: an entry's resource, or contained in any resource. */
const patientsIn = (el: XmlElement): XmlElement[] => el.children.filter(isFhir).flatMap((c) => (c.name === 'Patient' ? [c, ...patientsIn(c)] : patientsIn(c)));

type At = (path: string, el: XmlElement | undefined, ...names: string[]) => string | undefined;

/**
 * True when the message carries a Patient not shown to be the child asked about: one with another
 * NHS number (under either system), or with none, even unreferenced — an answer that holds another
 * child's record may be about that child.
 */
const carriesAnotherPatient = (root: XmlElement, asked: string, at: At): boolean =>
  patientsIn(root).some((p) => {
    const numbers = all(p, 'identifier').filter((i) => NHS_NUMBER_SYSTEMS.some((s) => sameUri(at('Patient.identifier.system', i, 'system'), s)));
    return numbers.length === 0 || numbers.some((i) => rawAt(i, 'value')?.replace(/\s/g, '') !== asked);
  });
/** Refused like an indicator for another patient: the same code, log line and audit detail, a phrase of its own. */
const ANOTHER_PATIENT = 'answer carries a patient other than the one asked about';

/** Reads the Flag; `note` records each transformation made to read it. */
function indicator(flag: XmlElement, expect: AnswerExpectation, note: (d: CoreDeviation) => void, at: At): Extract<SafeOutcome, { kind: 'indicator' }> | string {
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
  // RFC 3986: `HTTP://FHIR.NHS.NET/Id/nhs-number/` is the same system, and may hold another child's number.
  const numbers = ids.filter((i) => NHS_NUMBER_SYSTEMS.some((s) => sameUri(i.system, s)));
  if (numbers.length === 0) return 'indicator names no patient by NHS number';
  const values = numbers.map((i) => i.value?.replace(/\s/g, ''));
  if (values.some((v) => v !== expect.nhsNumber)) return 'indicator is for another patient';
  if (numbers.some((i, n) => i.value !== values[n])) note({ path: 'Patient.identifier.value', message: 'whitespace removed from the NHS number' });
  if (!numbers.some((i) => sameUri(i.system, SYSTEM.nhsNumber))) note({ path: 'Patient.identifier.system', message: 'NHS number only under https://fhir.nhs.uk/Id/nhs-number' });
  if (numbers.some((i) => !NHS_NUMBER_SYSTEMS.includes(i.system ?? ''))) note({ path: 'Patient.identifier.system', message: 'NHS-number system written in another case or with a trailing slash' });
  const start = at('Flag.period.start', flag, 'period', 'start');
  const day = start === undefined ? undefined : dayOf(start);
  if (start === undefined || day === undefined) return 'assessment date is not a real date';
  if (day.length < 10) note({ path: 'Flag.period.start', message: 'assessment date is a partial date' });
  return { kind: 'indicator', assessmentDate: start, assessmentDay: day };
}

/** The Flag's id as MessageHeader.data may name it: `Flag/id`, `#id`, `urn:uuid:id` or a full URL ending in `/Flag/id`. */
const namesFlag = (reference: string, id: string) => reference === id || reference === `#${id}` || reference.toLowerCase() === `urn:uuid:${id.toLowerCase()}` || reference === `Flag/${id}` || reference.endsWith(`/Flag/${id}`);

/** True when `el` or any FHIR element under it is a `modifierExtension` or `implicitRules`. */
const hasModifier = (el: XmlElement): boolean => el.children.some((c) => isFhir(c) && (c.name === 'modifierExtension' || c.name === 'implicitRules' || hasModifier(c)));

/** A modifier on the Bundle or its entries (not inside their resources, which are checked on their own). */
const bundleModified = (bundle: XmlElement): boolean =>
  bundle.children.some((c) => isFhir(c) && (c.name === 'entry' ? c.children.some((e) => isFhir(e) && e.name !== 'resource' && (e.name === 'modifierExtension' || hasModifier(e))) : c.name === 'modifierExtension' || c.name === 'implicitRules' || hasModifier(c)));

/** Whether an instant-bearing dateTime carries a time (and so a zone): `YYYY-MM-DDThh:mm…`. */
const hasTime = (v: string) => v.length > 10;

/** The distinct codes under Spine's error-code system in any issue's details, each trimmed. */
function spineCodes(outcome: XmlElement, at: At): string[] {
  const codes = all(outcome, 'issue')
    .flatMap((issue) => all(single(issue, 'details') ?? issue, 'coding'))
    .filter((c) => sameUri(at('OperationOutcome.issue.details.coding.system', c, 'system'), SYSTEM.spineResponseCode))
    .map((c) => at('OperationOutcome.issue.details.coding.code', c, 'code'));
  return [...new Set(codes.filter((c): c is string => c !== undefined))];
}

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
  const entries = (root.name === 'Bundle' && isFhir(root) ? all(root, 'entry') : []).map(resourcesIn);
  const resources = entries.flat();
  const headers = resources.filter((r) => r.name === 'MessageHeader');
  const header = headers.length === 1 ? headers[0] : undefined;
  const spineMessageId = at('MessageHeader.id', header, 'id') ?? null;
  const refuse = (reason: string): Verdict => ({ usable: false, spineMessageId, reason });
  // An indicator (or an error) the core does not read must never leave "no record" as the answer.
  if (entries.some((r) => r.length !== 1)) return refuse('an entry does not hold exactly one resource');
  if (!header) return refuse('answer has no single MessageHeader');
  if (misplacedOutcome(root, new Set(resources))) return refuse('a MessageHeader, Flag or OperationOutcome sits where the core does not read it');
  if (at('MessageHeader.event.code', header, 'event', 'code') !== RESPONSE_EVENT) return refuse('event is not FGMQueryResponse_2_0');
  // Message ids are UUIDs: upper and lower case name the same one.
  if (at('MessageHeader.response.identifier', header, 'response', 'identifier')?.toLowerCase() !== expect.messageId.toLowerCase()) return refuse('response is for another request');
  // An ASID is digits under a URN: `URN:NHS:ADDRESSING:ASID:` in capitals is the same system.
  const source = at('MessageHeader.source.endpoint', header, 'source', 'endpoint');
  const destination = at('MessageHeader.destination.endpoint', header, 'destination', 'endpoint');
  if (source?.toLowerCase() !== ASID_PREFIX + expect.spineAsid || destination?.toLowerCase() !== ASID_PREFIX + expect.smspAsid) {
    return refuse('response ASIDs do not match');
  }
  if (!source.startsWith(ASID_PREFIX) || !destination.startsWith(ASID_PREFIX)) note({ path: 'MessageHeader.source.endpoint', message: 'ASID system written in another case' });
  // FHIR forbids ignoring a modifier, wherever in the message it sits.
  if (hasModifier(header) || bundleModified(root)) return refuse('message carries a modifier extension or implicit rules');
  const timestamp = at('MessageHeader.timestamp', header, 'timestamp');
  if (timestamp === undefined || !INSTANT.test(timestamp)) return refuse('timestamp is not a real instant');
  const skew = ms(timestamp) - expect.now.getTime();
  if (skew > expect.maxAheadMs) return refuse('timestamp is ahead of the gateway clock by more than the allowed skew');
  if (-skew > expect.maxBehindMs) return refuse('timestamp is behind the gateway clock by more than the allowed skew');

  const flags = resources.filter((r) => r.name === 'Flag');
  const outcomes = resources.filter((r) => r.name === 'OperationOutcome');
  // Spine contradicting itself: its own error code (NO_RECORD_FOUND, say) beside the indicator, whatever the severity.
  if (flags.length > 0 && outcomes.some((o) => spineCodes(o, at).some((c) => c !== 'SUCCESS'))) return refuse('indicator beside a Spine error code');
  // One Flag beside notes only (every issue information or warning) is an indicator; beside an error it is ambiguous.
  const benign = (o: XmlElement) => all(o, 'issue').length > 0 && all(o, 'issue').every((i) => BENIGN_SEVERITIES.includes(at('OperationOutcome.issue.severity', i, 'severity') ?? ''));
  const flagAlone = flags.length === 1 && outcomes.every(benign);
  if (!flagAlone && flags.length + outcomes.length !== 1) return refuse('answer has no single Flag or OperationOutcome');
  if (flagAlone && outcomes.length > 0) note({ path: 'OperationOutcome', message: 'informational OperationOutcome beside the indicator ignored' });
  const target = flags.length === 1 ? flags[0]! : outcomes[0]!;
  if (target.name === 'Flag') {
    const read = indicator(target, expect, note, at);
    if (typeof read === 'string') return refuse(read);
    if (carriesAnotherPatient(root, expect.nhsNumber, at)) return refuse(ANOTHER_PATIENT);
    const flagId = at('Flag.id', target, 'id');
    const data = all(header, 'data').map((d) => at('MessageHeader.data.reference', d, 'reference'));
    if (data.length > 0 && !data.some((r) => r !== undefined && flagId !== undefined && namesFlag(r, flagId))) note({ path: 'MessageHeader.data', message: 'names another resource than the Flag found' });
    // Two instants compare as instants; a date-only assessment cannot be placed in a zone: the later of Spine's written and UK dates bounds it.
    const uk = ukToday(new Date(ms(timestamp)));
    const written = timestamp.slice(0, 10);
    if (hasTime(read.assessmentDate) ? ms(read.assessmentDate) > ms(timestamp) : after(read.assessmentDay, written > uk ? written : uk)) return refuse('assessment date is after the timestamp');
    const early = (floor: string) => read.assessmentDay < floor.slice(0, read.assessmentDay.length);
    if (early(EARLIEST_ASSESSMENT)) return refuse('assessment date is implausibly early');
    // The client's birth date is local and unverified: a wrong one in the EPR must not hide a real indicator.
    if (expect.birthDate && early(expect.birthDate)) note({ path: 'Flag.period.start', message: 'assessment date before the birth date the client gave' });
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
  // An error about another child (NO_RECORD_FOUND, say) would hide our child's indicator.
  if (carriesAnotherPatient(root, expect.nhsNumber, at)) return refuse(ANOTHER_PATIENT);
  // Spine's business code is the coding in its error-code system, in whichever issue carries it.
  const codes = spineCodes(target, at);
  if (codes.length > 1) return refuse('outcome carries several Spine codes');
  const code = codes[0];
  if (code === undefined || code === 'SUCCESS' || !expect.isKnownCode(code)) return refuse('unknown outcome code');
  // response.code alone cannot tell: Spine writes `ok` for a not-found outcome. Not found under a
  // success status still means one thing only (no indicator); any other error code does not.
  if (expect.httpStatus < 400) {
    if (code !== 'NO_RECORD_FOUND') return refuse('error outcome with a success status');
    note({ path: 'OperationOutcome.issue.details.coding.code', message: 'NO_RECORD_FOUND with a success HTTP status' });
  }
  return { usable: true, spineMessageId, timestamp, outcome: { kind: 'error', code }, deviations };
}
