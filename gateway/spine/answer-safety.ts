/**
 * @module spine/answer-safety
 * The safety core: decides whether an answer from Spine may be used at all, reading the parsed
 * tree for the few facts that change what a clinician is told. It is the answer to our request
 * (`response.identifier`, both ASIDs, event FGMQueryResponse_2_0), sent recently by Spine's clock
 * (within the configured skew of ours), and either an indicator — for the NHS number we asked
 * about, the FGM risk code, status active, a real assessment date not after Spine's timestamp —
 * or an error carrying a code of the vocabulary ("no record", "over 18", "invalid number" only as
 * Spine's business answer: its own HTTP status, response code and issue types). It is read only
 * where it can be read without a guess: no entry holds two resources (one holding none is read past
 * beside an indicator, never beside an error), and no MessageHeader, Flag or OperationOutcome sits
 * anywhere else (contained, nested), so an indicator is never hidden behind "no record"; Spine's
 * own error code (under any spelling of its value sets, 1-0 included) beside an indicator, at any
 * severity, is Spine contradicting itself, and so is an FGM risk code outside a Flag beside an
 * error. Every NHS number anywhere in it (any identifier under an NHS-number system, its OID
 * included, or a Parameters `NHSNumber`) is that one, and every Patient is named by it. The Flag's
 * subject is resolved within the Bundle as DSTU2 resolves references. No
 * modifier (modifierExtension, implicitRules) may sit on the Flag, an OperationOutcome or any
 * Patient, and the dates must make sense: not before the child's birth (or 2000 when unknown), no ended period.
 * Whitespace, case of our message id, a coding beside FGM, the newer NHS-number system and a
 * partial date are read, and reported as core deviations. Nothing else here refuses an answer:
 * what the profiles would flag beyond this (a missing `meta.profile`, `xsi:` attributes, extra elements,
 * element order) is the deviation report's business, never a reason to hide an indicator
 * (SMSP-VAL-004). Reasons are fixed phrases: safe to log, never a value from the answer.
 * "Anywhere else" takes in a foreign or XHTML element (a wrapper, a narrative) holding one; and an
 * element the core reads as one, written twice, is refused too: never a guess, never read as absent.
 */
import { ukToday } from '../audit/uk-today.ts';
import { ASID_PREFIX, FGM, ORIGINAL_CODE, RESPONSE_EVENT, SYSTEM } from '../fhir/constants.ts';
import { modifierPaths } from '../fhir/profile-snapshots.ts';
import { all, FULL_DATE_TIME, INSTANT } from '../fhir/read.ts';
import { normalUri, sameSystem, sameUri, systemHost } from '../fhir/uri.ts';
import { isFhir, type XmlElement } from '../fhir/xml.ts';
import { isValidNhsNumber } from '@fgm-status/element/rules/nhs-number';

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
export type SafeOutcome =
  { kind: 'indicator'; assessmentDate: string; assessmentDay: string } | { kind: 'error'; code: string };

export type Verdict =
  | {
      usable: true;
      spineMessageId: string | null;
      timestamp: string;
      outcome: SafeOutcome;
      deviations: CoreDeviation[];
    }
  | { usable: false; spineMessageId: string | null; reason: string };

/**
 * Thrown where the core reads one element and finds several: which one Spine meant would be a
 * guess, and reading none would skip a check (another child's number, Spine's code), so the answer
 * is refused (checkAnswer catches it).
 */
class Repeated extends Error {}
const REPEATED = 'an element the core reads as one appears more than once';
const ENTRY_NOT_ONE = 'an entry does not hold exactly one resource';

/** The only FHIR child `name` of `el`, undefined when absent; repeated throws Repeated, never read as absent. */
const single = (el: XmlElement | undefined, name: string): XmlElement | undefined => {
  // A scan, not all(): the core reads thousands of single children per answer.
  if (!el) return undefined;
  let found: XmlElement | undefined;
  for (const c of el.children) {
    if (c.name !== name || !isFhir(c)) continue;
    if (found) throw new Repeated();
    found = c;
  }
  return found;
};

/**
 * The raw `value` at a path of one or two single children, e.g. `rawAt(header, 'response', 'identifier')`.
 * Two names, not a rest array: it runs several times for every element of every answer (issue 22).
 */
const rawAt = (el: XmlElement | undefined, name: string, then?: string): string | undefined => {
  const at = single(el, name);
  return (then === undefined ? at : single(at, then))?.attrs.value;
};

/** An entry's FHIR resources: FHIR allows one, and one is the only form the core reads. */
const resourcesIn = (entry: XmlElement): XmlElement[] =>
  all(entry, 'resource').flatMap((r) => r.children.filter(isFhir));

/** What says what the answer is: read only as an entry's one resource. */
const OUTCOME_RESOURCES = ['MessageHeader', 'Flag', 'OperationOutcome'];

/**
 * True when a FHIR MessageHeader, Flag or OperationOutcome sits under `el` other than as one of the
 * entries' resources (`read`): contained, nested, beside a resource, or inside an element of any
 * other namespace (a wrapper, a narrative's XHTML) — a Flag wrapped is still a Flag Spine sent.
 */
const misplacedOutcome = (el: XmlElement, read: ReadonlySet<XmlElement>): boolean => {
  for (const c of el.children)
    if ((isFhir(c) && OUTCOME_RESOURCES.includes(c.name) && !read.has(c)) || misplacedOutcome(c, read)) return true;
  return false;
};

/** A transformation the core made to read the answer: a profile path and a fixed phrase, never a value. */
export interface CoreDeviation {
  path: string;
  message: string;
}

/**
 * Every system the core compares is read by one rule (sameSystem): the DSTU2 profiles' system and
 * NHS England's https://fhir.nhs.uk name for it are one system, in any RFC 3986 spelling. The NHS
 * number has a third name, its OID (the RIS Patient profiles' comments name it).
 */
const NEW_NHS_NUMBER = 'https://fhir.nhs.uk/Id/nhs-number';
const NHS_NUMBER_OID = 'urn:oid:2.16.840.1.113883.2.1.4.1';
/** The exact spellings read without a deviation for the spelling itself. */
const NHS_NUMBER_SYSTEMS = [SYSTEM.nhsNumber, NEW_NHS_NUMBER, NHS_NUMBER_OID];
/**
 * The same two names under the other scheme (`http://fhir.nhs.uk/Id/nhs-number`,
 * `https://fhir.nhs.net/Id/nhs-number`): no registered system, but nothing else than the NHS number
 * either, so a number under one is read as an NHS number — another child's there is another patient
 * (issue 18 review F9: a RelatedPerson's under http://fhir.nhs.uk was missed).
 */
const OTHER_SCHEME_NHS_NUMBER = ['http://fhir.nhs.uk/Id/nhs-number', 'https://fhir.nhs.net/Id/nhs-number'];
/** An NHS number as people write it (`999 000 0018`, `999-000-0018`): the digits are the number. */
const SEPARATORS = /[\s-]/g;
const digitsOf = (v: string | undefined) => v?.replace(SEPARATORS, '');
/**
 * `HTTP://FHIR.NHS.NET/Id/nhs-number/` is the same system, and may hold another child's number.
 * Exported so CDS Hooks reads a Patient's NHS numbers by the same rule (review 18f F4).
 */
export const isNhsNumberSystem = (system: string | undefined) => {
  // No system is none of them (sameUri of undefined is false): most elements have none, and the
  // comparisons below build strings (issue 22).
  if (system === undefined) return false;
  if (sameSystem(system, SYSTEM.nhsNumber) || sameUri(system, NHS_NUMBER_OID)) return true;
  for (const s of OTHER_SCHEME_NHS_NUMBER) if (sameUri(system, s)) return true;
  return false;
};
/**
 * Spine's response-code value sets: 2-0, and the older 1-0, whose codes (FGM-0001, …) are all
 * errors but not the 2-0 vocabulary's: one under 1-0 is kept apart (SPINE_1_0_CODE), never read as
 * a 2-0 code, unless it is the original code of the 2-0 code beside it (ORIGINAL_CODE).
 */
const SPINE_1_0_SYSTEM = 'http://fhir.nhs.net/ValueSet/spine-response-code-1-0';
const SPINE_1_0_CODE = (code: string) => `spine-response-code-1-0|${code}`;
/** True when a coding carries the FGM risk code, its system under either host. */
const isFgmCoding = (el: XmlElement) =>
  sameSystem(rawAt(el, 'system'), SYSTEM.riskIndicatorType) && rawAt(el, 'code')?.trim() === FGM;
/**
 * Before this no FGM-IS assessment is plausible (FGM-IS began in 2014, and Spine answers only for
 * children), whatever birth date the client gave: the floor rests on nothing the client says.
 */
const EARLIEST_ASSESSMENT = '2000-01-01';
/** HTTP statuses an indicator may come under: the spec's 200, and 201 (success too, reported). */
const SUCCESS_STATUSES = [200, 201];
/** Issue severities that say nothing went wrong: an OperationOutcome of only these beside a Flag is a note, not an error. */
const BENIGN_SEVERITIES = ['information', 'warning'];
/** NHS England's name of the risk-indicator system, exactly as written: reported under its own phrase. */
const NHS_ENGLAND_RISK = 'https://fhir.nhs.uk/ValueSet/risk-indicator-type-1-0';
const PARTIAL_DATE = /^\d{4}(-(0[1-9]|1[0-2]))?$/;

/** A dateTime with a time but no zone (`2024-01-05T10:00:00`): the date, and what follows it. */
const ZONELESS = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
/** A dateTime at midnight in any zone (`2024-01-05T00:00:00+01:00`): the date written. */
const MIDNIGHT = /^(\d{4}-\d{2}-\d{2})T00:00(:00(\.0+)?)?(Z|[+-]\d{2}:\d{2})$/;
/** An instant written to the minute (`2026-12-03T10:15+00:00`): the date and time, and the zone. */
const TO_THE_MINUTE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(Z|[+-]\d{2}:\d{2})$/;

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

/** A FHIR element of the message and its path from the nearest resource (`Patient.identifier`). */
interface Placed {
  el: XmlElement;
  path: string;
}
/**
 * Every FHIR element under `el`, wherever it sits (entries, contained, parameters, inside a foreign
 * or XHTML element: a Patient wrapped is still one Spine sent); a resource's element name starts with a capital.
 */
const elementsIn = (root: XmlElement): Placed[] => {
  let placed = placedIn.get(root);
  if (!placed) placedIn.set(root, (placed = walkElements(root, '')));
  return placed;
};
/** Several checks read every element of one message: the walk is done once per parsed tree (never changed after parsing). */
const placedIn = new WeakMap<XmlElement, Placed[]>();
/** A resource's element name starts with a capital. */
const RESOURCE_NAME = /^[A-Z]/;
/** Pushed into one array in pre-order: a copy per level of depth otherwise (issue 22). */
const walkElements = (el: XmlElement, path: string, out: Placed[] = []): Placed[] => {
  for (const c of el.children) {
    if (!isFhir(c)) {
      walkElements(c, path, out);
      continue;
    }
    const at = RESOURCE_NAME.test(c.name) ? c.name : `${path}.${c.name}`;
    out.push({ el: c, path: at });
    walkElements(c, at, out);
  }
  return out;
};

/** A Parameters parameter, or a part of one at any depth: an echo there is read as the top-level one. */
const PARAMETER = /^Parameters\.parameter(\.part)*$/;

type At = (path: string, el: XmlElement | undefined, name: string, then?: string) => string | undefined;

/**
 * True when the message names anyone but the child asked about: any identifier under an NHS-number
 * system (a Patient's, a RelatedPerson's, a Parameters' valueIdentifier, …) holding another number
 * or none, a Parameters `NHSNumber` (the request's own form) with another, or a Patient not named
 * by an NHS number at all, even unreferenced — an answer that holds another child may be about that child.
 */
function carriesAnotherPatient(
  root: XmlElement,
  asked: string,
  at: At,
  isOld: (identifier: XmlElement) => boolean | undefined,
  note: (d: CoreDeviation) => void,
): boolean {
  const placed = elementsIn(root);
  const ours = (v: string | undefined) => digitsOf(v) === asked;
  const nhsIds = (patient: XmlElement) =>
    all(patient, 'identifier').filter((i) => isNhsNumberSystem(rawAt(i, 'system')));
  // A Patient is named by our child's number when it is on a current identifier: another number on
  // one of its old identifiers (ended, or marked old) is an old number of the same child, not another
  // child (issue 18 review 18f F8). A Patient named by no current NHS number may be anyone.
  const patients = placed.filter(({ el }) => el.name === 'Patient');
  const named = patients.filter(({ el }) => nhsIds(el).some((i) => !isOld(i) && ours(rawAt(i, 'value'))));
  if (named.length < patients.length) return true;
  const oldNumbers = new Set(named.flatMap(({ el }) => nhsIds(el).filter((i) => isOld(i) && !ours(rawAt(i, 'value')))));
  if (oldNumbers.size > 0)
    note({
      path: 'Patient.identifier',
      message: 'another NHS number on an old identifier of our child read as her old number',
    });
  // Read through `at` only once it is an NHS number, so whitespace is reported where it was read.
  const nhsNumber = ({ el, path }: Placed) =>
    isNhsNumberSystem(rawAt(el, 'system')) && isNhsNumberSystem(at(`${path}.system`, el, 'system'));
  if (placed.some((p) => nhsNumber(p) && !ours(rawAt(p.el, 'value')) && !oldNumbers.has(p.el))) return true;
  const echoes = placed.filter(({ el, path }) => PARAMETER.test(path) && namedParameter(el, 'NHSNumber'));
  // An echo holding no value names nobody (a part that only holds parts, say).
  return echoes.some(({ el }) => {
    const value = parameterValue(el);
    return value !== undefined && !ours(value);
  });
}
/**
 * A parameter (or part) named `name` however it is spaced or cased (`nhsNumber`, `NHS Number`,
 * `nhs_number`): it can mean nothing else, and another child's number under such a name beside
 * "no record" was believed (atk18c F1, atk18d F1).
 */
const namedParameter = (el: XmlElement, name: string) =>
  rawAt(el, 'name')
    ?.replace(/[\s_-]/g, '')
    .toLowerCase() === name.toLowerCase();
/** Values that are ids (Spine's FHIR ids), never a person's number. */
const ID_VALUE = /\.id$/;
/**
 * An NHS number as written in text: ten digits, in groups separated by up to two spaces (any
 * white space), dots, slashes or dashes; not part of a longer number or a word (a UUID's hex, say).
 */
const WRITTEN_NHS_NUMBER =
  /(?<!\w|\d[\s./\u2010-\u2015-]{1,2})\d(?:[\s./\u2010-\u2015-]{0,2}\d){9}(?!\w|[\s./\u2010-\u2015-]{1,2}\d)/g;
const NOT_DIGIT = /\D/g;
/** True when `value` writes a valid NHS number other than `asked`. */
const namesAnotherNumber = (value: string | undefined, asked: string) => {
  if (value === undefined) return false;
  // exec from the start, not matchAll: no iterator, no copy of the expression per value (issue 22).
  WRITTEN_NHS_NUMBER.lastIndex = 0;
  for (let m = WRITTEN_NHS_NUMBER.exec(value); m; m = WRITTEN_NHS_NUMBER.exec(value)) {
    const digits = m[0].replace(NOT_DIGIT, '');
    if (digits !== asked && isValidNhsNumber(digits)) return true;
  }
  return false;
};
/**
 * The path of a value naming a valid NHS number other than the child's, if any, in any value but
 * the ids: "no record" about another child may be said in a diagnostics, an issue's location, an
 * extension's string, a reference (atk18c F1, atk18d F1).
 */
const valueNamingAnotherNumber = (root: XmlElement, asked: string) => {
  // Values under an NHS-number system are carriesAnotherPatient's to judge (an old number of our child's, say).
  const placed = elementsIn(root);
  const judged = new Set<XmlElement>();
  for (const { el } of placed)
    if (isNhsNumberSystem(rawAt(el, 'system')))
      for (const c of el.children) if (c.name === 'value' && isFhir(c)) judged.add(c);
  for (const { el, path } of placed)
    if (!ID_VALUE.test(path) && !judged.has(el) && namesAnotherNumber(el.attrs.value, asked)) return path;
  return undefined;
};
/**
 * Whether an identifier is an old one by Spine's clock (`timestamp`, its UK date `uk`): marked
 * `old`, or its period ended — a date runs to the end of that UK day, as the Flag's period does.
 * Undefined when its period end is no real date: whether the number is still hers cannot be told.
 */
const oldIdentifier =
  (timestamp: string, uk: string) =>
  (identifier: XmlElement): boolean | undefined => {
    if (rawAt(identifier, 'use')?.trim() === 'old') return true;
    const end = rawAt(identifier, 'period', 'end')?.trim();
    if (end === undefined) return false;
    const day = dayOf(end);
    if (day === undefined) return undefined;
    return end.length > 10 ? ms(end) <= ms(timestamp) : day < uk.slice(0, day.length);
  };
/** True when a Patient's NHS-number identifier has a period end that is no real date (oldIdentifier cannot tell). */
const numberEndUnreadable = (root: XmlElement, isOld: (identifier: XmlElement) => boolean | undefined) =>
  elementsIn(root).some(
    ({ el, path }) =>
      path === 'Patient.identifier' && isNhsNumberSystem(rawAt(el, 'system')) && isOld(el) === undefined,
  );
/**
 * True when a Parameters `RiskIndicator` (the request's own form, echoed) names anything but FGM:
 * the answer may then be about another risk indicator, and its "no record" not about FGM.
 */
const echoesAnotherRiskIndicator = (root: XmlElement): boolean =>
  elementsIn(root).some(
    ({ el, path }) =>
      PARAMETER.test(path) && namedParameter(el, 'RiskIndicator') && parameterValue(el)?.trim().toUpperCase() !== FGM,
  );
/** The value[x] forms an echo of the request may take: the request's own string, and those that carry a code or an identifier. */
const PARAMETER_VALUES = ['valueString', 'valueCode', 'valueIdentifier', 'valueCoding'] as const;
/**
 * A parameter's value[x] as written: a string or code, an identifier's value or a coding's code.
 * One choice element, so two written is one element twice. A code echoed as `valueCode` or
 * `valueCoding` is the same echo (atk18d F3: read only as a string, FGM looked like another risk).
 */
function parameterValue(parameter: XmlElement): string | undefined {
  const present = PARAMETER_VALUES.filter((v) => single(parameter, v));
  if (present.length > 1) throw new Repeated();
  if (present[0] === 'valueIdentifier') return rawAt(parameter, 'valueIdentifier', 'value');
  if (present[0] === 'valueCoding') return rawAt(parameter, 'valueCoding', 'code');
  return present[0] && rawAt(parameter, present[0]);
}
/**
 * True when a Patient anywhere in the message carries a modifier: though named by our child's
 * number, it may say the record is not hers (entered in error, say), and FHIR forbids reading past it.
 */
const patientModified = (root: XmlElement) =>
  elementsIn(root).some(({ el }) => el.name === 'Patient' && hasModifier(el));
const PATIENT_MODIFIED = 'a patient carries a modifier extension or implicit rules';
/** The resources the core reads; a modifier on any other changes only what the core ignores. */
const READ_RESOURCES = /^(Patient|Flag|OperationOutcome|MessageHeader)\./;
/** Modifier elements the core reads itself, each checked where it is read (Patient.identifier.use by `identifierInUse`). */
const INTERPRETED = new Set([
  'Flag.status',
  'OperationOutcome.issue.severity',
  'MessageHeader.event',
  'MessageHeader.response',
  'MessageHeader.response.code',
  'Patient.identifier.use',
]);
/**
 * Elements below a resource the core reads: a modifier directly on the resource or on one of these
 * may change what the core concludes; one under anything else (a name's `use`, say) changes only an
 * element the core never looks at, as FHIR allows a reader that ignores that element.
 */
const READ_ELEMENTS = ['Patient.identifier'];
/** Whether `path`'s parent (the path up to `dot`) is one of READ_ELEMENTS, compared in place: no substring per element. */
const underReadElement = (path: string, dot: number) => {
  for (const e of READ_ELEMENTS) if (e.length === dot && path.startsWith(e)) return true;
  return false;
};
/**
 * A modifier element's value that changes nothing, where the snapshot gives no default: the RIS
 * Patient snapshot's comment on deceased[x] says an absent value is read as alive, and `false`
 * says just that. Snapshot defaults (Patient.active true) come from modifierPaths.
 */
const NEUTRAL_VALUES = new Map([['Patient.deceasedBoolean', 'false']]);
/** The snapshots' modifier paths, split once: exact paths with their defaults, and `[x]` choices as their stems. */
let modifierIndex: { exact: ReadonlyMap<string, string | undefined>; stems: string[] } | undefined;
const modifiers = () => {
  if (modifierIndex) return modifierIndex;
  const exact = new Map<string, string | undefined>();
  const stems: string[] = [];
  for (const [m, value] of modifierPaths()) {
    if (m.endsWith('.modifierExtension')) continue; // hasModifier's
    if (m.endsWith('[x]')) stems.push(m.slice(0, -3));
    else exact.set(m, value);
  }
  return (modifierIndex = { exact, stems });
};
/** What a choice element's name adds to its stem: a type (`deceased` + `Boolean`). */
const CHOICE_TYPE = /^[A-Z][A-Za-z]*$/;
/**
 * Whether an element is a modifier the core does not interpret (`unread`), one written at the value
 * that changes nothing (`neutral`: the default, or NEUTRAL_VALUES), or no modifier of concern.
 * Modifier paths come from the profile snapshots (the oracle, not a hand list).
 */
const unreadModifier = ({ el, path }: Placed): { neutral: boolean; profilePath: string } | undefined => {
  if (!READ_RESOURCES.test(path) || INTERPRETED.has(path)) return undefined;
  const dot = path.lastIndexOf('.');
  if (path.indexOf('.') < dot && !underReadElement(path, dot)) return undefined;
  const { exact, stems } = modifiers();
  let stem: string | undefined;
  if (!exact.has(path))
    for (const s of stems)
      if (path.startsWith(s) && CHOICE_TYPE.test(path.slice(s.length))) {
        stem = s;
        break;
      }
  if (!exact.has(path) && stem === undefined) return undefined;
  const neutral = exact.get(path) ?? NEUTRAL_VALUES.get(path);
  return {
    neutral: neutral !== undefined && el.attrs.value?.trim() === neutral,
    profilePath: stem === undefined ? path : `${stem}[x]`,
  };
};
/**
 * True when a resource the core reads carries a modifier element the core does not interpret
 * (`Patient.active` false, `deceased[x]` true or a date, `animal`, `link`): FHIR forbids reading
 * past one. One at the value that changes nothing (active true, deceasedBoolean false) is read
 * past, and reported (SMSP-VAL-004).
 */
const carriesUnreadModifier = (root: XmlElement, note: (d: CoreDeviation) => void): boolean =>
  elementsIn(root).some((p) => {
    const read = unreadModifier(p);
    if (read?.neutral)
      note({ path: read.profilePath, message: 'modifier element at the value that changes nothing read past' });
    return read !== undefined && !read.neutral;
  });
const UNREAD_MODIFIER = 'message carries a modifier element the gateway cannot read past';
/**
 * An NHS number marked `old`, `temp` or `secondary` is not the child's number now: an answer naming
 * her by it is not read. `official` and `usual` (or no use) say the number is hers.
 */
const numberOutOfUse = (root: XmlElement, asked: string): boolean =>
  elementsIn(root).some(({ el, path }) => {
    if (path !== 'Patient.identifier' || !isNhsNumberSystem(rawAt(el, 'system'))) return false;
    const use = rawAt(el, 'use')?.trim();
    // Another number marked old is an old number (carriesAnotherPatient judges it with the ended ones).
    if (use === 'old' && digitsOf(rawAt(el, 'value')) !== asked) return false;
    return !['official', 'usual', undefined].includes(use);
  });
const NUMBER_OUT_OF_USE = "a patient's NHS number is marked old, temporary or secondary";
/** Refused like an indicator for another patient: the same code, log line and audit detail, a phrase of its own. */
const ANOTHER_PATIENT = 'answer carries a patient other than the one asked about';

/** Reads the Flag; `note` records each transformation made to read it. */
function indicator(
  root: XmlElement,
  flag: XmlElement,
  expect: AnswerExpectation,
  note: (d: CoreDeviation) => void,
  at: At,
  isOld: (identifier: XmlElement) => boolean | undefined,
): Extract<SafeOutcome, { kind: 'indicator' }> | string {
  // FHIR forbids ignoring a modifier: an answer we cannot fully understand is never shown as if we did.
  if (hasModifier(flag)) return 'indicator carries a modifier extension or implicit rules';
  if (at('Flag.status', flag, 'status') !== 'active') return 'indicator status is not active';
  const codings = all(single(flag, 'code') ?? flag, 'coding').map((c) => ({
    system: at('Flag.code.coding.system', c, 'system'),
    code: at('Flag.code.coding.code', c, 'code'),
  }));
  const risk = codings.filter((c) => sameSystem(c.system, SYSTEM.riskIndicatorType));
  if (!single(flag, 'code') || !risk.some((c) => c.code === FGM) || risk.some((c) => c.code !== FGM))
    return 'indicator is not the FGM risk indicator';
  if (risk.length < codings.length)
    note({ path: 'Flag.code.coding', message: 'codings of other systems beside the FGM risk indicator ignored' });
  if (risk.some((c) => systemHost(c.system, SYSTEM.riskIndicatorType) === 'nhs-england'))
    note({ path: 'Flag.code.coding.system', message: 'risk-indicator system under https://fhir.nhs.uk' });
  if (risk.some((c) => c.system !== SYSTEM.riskIndicatorType && c.system !== NHS_ENGLAND_RISK))
    note({
      path: 'Flag.code.coding.system',
      message: 'risk-indicator system written in another case or with a trailing slash',
    });
  const patient = subjectOf(root, flag, note, at);
  if (patient === OTHER_VERSION) return 'indicator subject names another version of its Patient';
  if (patient && hasModifier(patient)) return 'indicator carries a modifier extension or implicit rules';
  const ids = patient
    ? all(patient, 'identifier').map((i) => ({
        system: at('Patient.identifier.system', i, 'system'),
        value: rawAt(i, 'value'),
        old: isOld(i),
      }))
    : [];
  const numbers = ids.filter((i) => isNhsNumberSystem(i.system));
  if (numbers.length === 0) return 'indicator names no patient by NHS number';
  // Her number now is on a current identifier; another number on an old one is her old number
  // (carriesAnotherPatient reports it). Ours only on an old identifier may mean the number was
  // taken from this child (a confused identity resolved): which child has it now Spine does not
  // say, so the indicator is refused, an error IT can see (docs/api.md; issue 18 review 18f F8).
  const current = numbers.filter((i) => !i.old).map((i) => digitsOf(i.value));
  if (current.some((v) => v !== expect.nhsNumber)) return 'indicator is for another patient';
  if (current.length === 0)
    return numbers.some((i) => digitsOf(i.value) === expect.nhsNumber)
      ? 'the NHS number asked about is on an ended identifier only'
      : 'indicator is for another patient';
  if (numbers.some((i) => /\s/.test(i.value ?? '')))
    note({ path: 'Patient.identifier.value', message: 'whitespace removed from the NHS number' });
  if (numbers.some((i) => i.value?.includes('-')))
    note({ path: 'Patient.identifier.value', message: 'hyphens removed from the NHS number' });
  const others = [NEW_NHS_NUMBER, NHS_NUMBER_OID, ...OTHER_SCHEME_NHS_NUMBER].filter((s) =>
    numbers.some((i) => sameUri(i.system, s)),
  );
  if (!numbers.some((i) => sameUri(i.system, SYSTEM.nhsNumber)))
    note({ path: 'Patient.identifier.system', message: `NHS number only under ${others.join(' and ')}` });
  if (
    numbers.some(
      (i) => !NHS_NUMBER_SYSTEMS.includes(i.system ?? '') && !OTHER_SCHEME_NHS_NUMBER.includes(i.system ?? ''),
    )
  )
    note({
      path: 'Patient.identifier.system',
      message: 'NHS-number system written in another case or with a trailing slash',
    });
  const start = at('Flag.period.start', flag, 'period', 'start');
  // A time without a zone is no DSTU2 dateTime, but its date is the one written: read as that date
  // (sent on as that date, so our own answers stay valid), reported (issue 18 review F7).
  const zoneless = start === undefined ? null : ZONELESS.exec(start);
  if (zoneless && FULL_DATE_TIME.test(`${start}Z`)) {
    note({ path: 'Flag.period.start', message: 'assessment date-time without a zone read as its date' });
    return { kind: 'indicator', assessmentDate: zoneless[1]!, assessmentDay: zoneless[1]! };
  }
  // Midnight is a date written as a date-time: under an offset east of the UK its UK day is the day
  // before the one written, which Spine never meant. The date written is the day, reported.
  const midnight = start === undefined || !FULL_DATE_TIME.test(start) ? null : MIDNIGHT.exec(start);
  const day = start === undefined ? undefined : (midnight?.[1] ?? dayOf(start));
  if (start === undefined || day === undefined) return 'assessment date is not a real date';
  if (midnight && day !== dayOf(start))
    note({ path: 'Flag.period.start', message: 'assessment date-time at midnight read as the date written' });
  if (day.length < 10) note({ path: 'Flag.period.start', message: 'assessment date is a partial date' });
  return { kind: 'indicator', assessmentDate: start, assessmentDay: day };
}

/** A version-specific reference, relative or absolute: `…/_history/[vid]`. */
const VERSIONED = /^(.+)\/_history\/([A-Za-z0-9\-.]{1,64})$/;
/** The birth date of the Patient the Flag names, as its UK day (or partial date); 'unreadable' when it is no real date. */
function spineBirthDate(root: XmlElement, flag: XmlElement, at: At): string | undefined {
  // The subject was resolved (and its deviations noted) by indicator(): resolved again, quietly.
  const patient = subjectOf(root, flag, () => {}, at);
  if (!patient || patient === OTHER_VERSION) return undefined;
  const written = at('Patient.birthDate', patient, 'birthDate');
  if (written === undefined) return undefined;
  return dayOf(written) ?? 'unreadable';
}

/** subjectOf's answer when the one resource found is not the version the reference names. */
const OTHER_VERSION = 'other-version';
const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;
/** A RESTful fullUrl `[base]/[type]/[id]`: its base is what a relative reference in that entry is relative to. */
const RESTFUL = /^(https?:\/\/.+\/)[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/i;

/**
 * The Patient the Flag's subject names, resolved as DSTU2 resolves references in a Bundle
 * (bundle.html#references): `#id` a resource contained in the Flag; an absolute URL or URN the
 * entry whose fullUrl it is; `Type/id` the entry at that path under the base of the Flag entry's
 * RESTful fullUrl, or an entry of that type and id with no RESTful fullUrl of its own (the
 * messaging form, as MessageHeader.data names `Flag/id`). A version-specific reference is matched
 * without its version, then against the resource's meta.versionId where it has one (a mismatch is
 * OTHER_VERSION). Undefined unless exactly one resource answers and it is a Patient: nothing else
 * is shown to be the child.
 */
function subjectOf(
  root: XmlElement,
  flag: XmlElement,
  note: (d: CoreDeviation) => void,
  at: At,
): XmlElement | typeof OTHER_VERSION | undefined {
  const written = at('Flag.subject.reference', flag, 'subject', 'reference');
  if (written === undefined) return undefined;
  const versioned = written.startsWith('#') ? null : VERSIONED.exec(written);
  const ref = versioned ? versioned[1]! : written;
  const idOf = (r: XmlElement) => at(`${r.name}.id`, r, 'id');
  let found: XmlElement[];
  if (ref.startsWith('#')) {
    found = all(flag, 'contained')
      .flatMap((c) => c.children.filter(isFhir))
      .filter((r) => `#${idOf(r)}` === ref);
  } else {
    const index = entryIndex(root);
    const relative = RELATIVE.exec(ref);
    const base = RESTFUL.exec(index.ofResource.get(flag)?.fullUrl ?? '')?.[1];
    const absolute = relative ? (base === undefined ? undefined : base + ref) : ref;
    // Both ways a reference names an entry, each one lookup; an entry answering both is one entry.
    const byId = (relative ? (index.byTypeId.get(`${relative[1]}/${relative[2]}`) ?? []) : []).filter(
      (e) => !RESTFUL.test(e.fullUrl ?? ''),
    );
    // Named by its id, the id is read as one (two ids on it are never a guess), whitespace reported.
    for (const e of byId) idOf(e.resource);
    const matches = new Set([...(absolute === undefined ? [] : byFullUrl(index, absolute)), ...byId]);
    found = [...matches].map((e) => e.resource);
    if (found.length === 1)
      note({
        path: 'Flag.subject.reference',
        message: 'subject is a Patient entry of the Bundle, not a contained Patient',
      });
    if (versioned && found.length === 1) {
      const version = at(`${found[0]!.name}.meta.versionId`, found[0], 'meta', 'versionId');
      if (version !== undefined && version !== versioned[2]) return OTHER_VERSION;
      note({
        path: 'Flag.subject.reference',
        message:
          version === undefined
            ? 'version-specific subject resolved without a version to match'
            : 'version-specific subject resolved and its version matched',
      });
    }
  }
  return found.length === 1 && found[0]!.name === 'Patient' ? found[0] : undefined;
}

/** A resource's id as MessageHeader.data may name it: `Type/id`, `#id`, `urn:uuid:id` or a full URL ending in `/Type/id`. */
const namesResource = (reference: string, type: string, id: string) =>
  reference === id ||
  reference === `#${id}` ||
  reference.toLowerCase() === `urn:uuid:${id.toLowerCase()}` ||
  reference === `${type}/${id}` ||
  reference.endsWith(`/${type}/${id}`);
const namesFlag = (reference: string, id: string) => namesResource(reference, 'Flag', id);
/**
 * True when a MessageHeader.data reference names a resource the message carries (by its entry's
 * fullUrl or by the resource's id, as namesResource reads it), a version-specific one without its
 * version. An entry holding no resource carries nothing. Each form is one lookup in the answer's
 * index. An id holding `/` (no FHIR id does) is named only as itself or `#id`, never as
 * `…/Type/id`: at worst an error answer more is refused, never one less.
 */
function carried(root: XmlElement, written: string): boolean {
  const reference = VERSIONED.exec(written)?.[1] ?? written;
  const index = entryIndex(root);
  const parts = reference.split('/');
  return (
    byFullUrl(index, reference).length > 0 ||
    index.ids.has(reference) ||
    (reference.startsWith('#') && index.ids.has(reference.slice(1))) ||
    (/^urn:uuid:/i.test(reference) && index.lowerIds.has(reference.slice('urn:uuid:'.length).toLowerCase())) ||
    (parts.length >= 2 && index.byTypeId.has(parts.slice(-2).join('/')))
  );
}

/** A Bundle entry that holds a resource, as references name it: its fullUrl (trimmed) and its resource. */
interface Entry {
  fullUrl: string | undefined;
  resource: XmlElement;
}
/**
 * The entries by every name a reference may give them, built once per answer (the tree is never
 * changed after parsing): each reference is then a lookup, not a scan of every entry, so thousands
 * of entries named by thousands of references cost O(n), not O(n²) (issue 18 review 18f F13).
 * `byUri` by the fullUrl's RFC 3986 form, `byUuid` a urn:uuid fullUrl in lower case (RFC 4122),
 * `byTypeId` by `Type/id`, `ids` and `lowerIds` by the resource's id alone; a resource with several
 * ids under each.
 */
interface EntryIndex {
  ofResource: Map<XmlElement, Entry>;
  byUri: Map<string, Entry[]>;
  byUuid: Map<string, Entry[]>;
  byTypeId: Map<string, Entry[]>;
  ids: Set<string>;
  lowerIds: Set<string>;
}
const indexes = new WeakMap<XmlElement, EntryIndex>();
const push = <K, V>(map: Map<K, V[]>, key: K, v: V) => {
  const list = map.get(key);
  if (list) list.push(v);
  else map.set(key, [v]);
};
function entryIndex(root: XmlElement): EntryIndex {
  const known = indexes.get(root);
  if (known) return known;
  const index: EntryIndex = {
    ofResource: new Map(),
    byUri: new Map(),
    byUuid: new Map(),
    byTypeId: new Map(),
    ids: new Set(),
    lowerIds: new Set(),
  };
  for (const e of all(root, 'entry')) {
    const resource = resourcesIn(e)[0];
    if (resource === undefined) continue;
    const entry = { fullUrl: rawAt(e, 'fullUrl')?.trim(), resource };
    index.ofResource.set(resource, entry);
    if (entry.fullUrl !== undefined) {
      push(index.byUri, normalUri(entry.fullUrl), entry);
      if (/^urn:uuid:/i.test(entry.fullUrl)) push(index.byUuid, entry.fullUrl.toLowerCase(), entry);
    }
    for (const idEl of all(resource, 'id')) {
      const id = idEl.attrs.value?.trim();
      if (id === undefined) continue;
      push(index.byTypeId, `${resource.name}/${id}`, entry);
      index.ids.add(id);
      index.lowerIds.add(id.toLowerCase());
    }
  }
  indexes.set(root, index);
  return index;
}
/** The entries whose fullUrl a reference names, as sameReference compares them: a UUID in any case, a URL by RFC 3986. */
const byFullUrl = (index: EntryIndex, reference: string): Entry[] =>
  (/^urn:uuid:/i.test(reference) ? index.byUuid.get(reference.toLowerCase()) : index.byUri.get(normalUri(reference))) ??
  [];

/**
 * True when any FHIR element under `el` is a `modifierExtension` or `implicitRules`, a foreign
 * wrapper descended into as elementsIn does (a FHIR element wrapped is still one Spine sent); a
 * foreign element that is merely named so is not one.
 */
const hasModifier = (el: XmlElement): boolean => {
  for (const c of el.children)
    if ((isFhir(c) && (c.name === 'modifierExtension' || c.name === 'implicitRules')) || hasModifier(c)) return true;
  return false;
};

/** A modifier on the Bundle or its entries (not inside their resources, which are checked on their own). */
const bundleModified = (bundle: XmlElement): boolean =>
  bundle.children.some(
    (c) =>
      isFhir(c) &&
      (c.name === 'entry'
        ? c.children.some(
            (e) => isFhir(e) && e.name !== 'resource' && (e.name === 'modifierExtension' || hasModifier(e)),
          )
        : c.name === 'modifierExtension' || c.name === 'implicitRules' || hasModifier(c)),
  );

/** Whether an instant-bearing dateTime carries a time (and so a zone): `YYYY-MM-DDThh:mm…`. */
const hasTime = (v: string) => v.length > 10;

/**
 * The distinct codes under Spine's error-code systems in any issue's details, each trimmed; a 1-0
 * code as SPINE_1_0_CODE, except the original code (fgm-query-v2.md's table) of a 2-0 code beside
 * it: the two codings of one outcome, read as the 2-0 code (reported).
 */
function spineCodes(outcome: XmlElement, note: (d: CoreDeviation) => void, at: At): string[] {
  const path = 'OperationOutcome.issue.details.coding.system';
  const codings = all(outcome, 'issue')
    .flatMap((issue) => all(single(issue, 'details') ?? issue, 'coding'))
    .flatMap((c) => {
      const system = at(path, c, 'system');
      const code = at('OperationOutcome.issue.details.coding.code', c, 'code');
      const host2 = systemHost(system, SYSTEM.spineResponseCode);
      const host1 = systemHost(system, SPINE_1_0_SYSTEM);
      if (code === undefined || (host1 ?? host2) === undefined) return [];
      if ((host1 ?? host2) === 'nhs-england')
        note({
          path,
          message: `Spine response code under https://fhir.nhs.uk/ValueSet/spine-response-code-${host2 ? '2' : '1'}-0`,
        });
      return [{ code, v1: host1 !== undefined }];
    });
  const v2 = new Set(codings.filter((c) => !c.v1).map((c) => c.code));
  const originals = new Set([...v2].map((c) => ORIGINAL_CODE.get(c)));
  const codes = codings.flatMap(({ code, v1 }) => {
    if (!v1) return [code];
    if (!originals.has(code)) return [SPINE_1_0_CODE(code)];
    note({
      path: 'OperationOutcome.issue.details.coding',
      message: 'original 1-0 code beside its 2-0 code read as the 2-0 code',
    });
    return [];
  });
  return [...new Set(codes)];
}

/**
 * Spine's codes that say there is nothing to show for this child — no record, over 18, not a
 * valid number: CDS Hooks answers each with no card (routes/cds-hooks.ts, SPINE_NOTHING_TO_SHOW)
 * and the element shows no alert, so each hides an indicator as surely as "no record" and is
 * believed only where the whole answer agrees (businessAnswer). With each, the HTTP statuses of
 * its ordinary business answer: the spec's error table (fgm-query-v2.md), written here by hand so
 * an operator's vocabulary file cannot widen it; "no record" also under 200 (the spec's success
 * example) and 201 (a success, RFC 9110), reported. Spine's other codes (ASID_CHECK_FAILED,
 * INVALID_PARAMETER, …) are errors the client shows as errors: replicated under any error status (SMSP-ERR-004).
 */
const NOTHING_TO_SHOW: ReadonlyMap<string, readonly number[]> = new Map([
  ['NO_RECORD_FOUND', [404, 200, 201]],
  ['INVALID_NHS_NUMBER', [400]],
  ['PATIENT_OVER_18', [400]],
]);
/** `response.code` of a business answer: Spine writes `ok` for "no record", `fatal-error` for a refusal; the profile requires one. */
const BUSINESS_RESPONSE_CODES = ['ok', 'fatal-error'];
/** Issue types (OperationOutcome.issue.code) of the spec's business rows: `exception`, `transient`, `timeout`, `throttled` … say something failed. */
const BUSINESS_ISSUE_TYPES = ['not-found', 'invalid', 'structure', 'forbidden', 'informational'];

/**
 * Why Spine's error code cannot be believed as its business answer, or undefined when it can: an
 * HTTP 500/502/503, `transient-error`, an `exception` issue carrying NO_RECORD_FOUND is something
 * failing, and "no record" (or "over 18") read from it would hide an indicator that may exist
 * (issue 18 review 18f F1). Refused, it is an error IT can see.
 */
function businessAnswer(
  code: string,
  httpStatus: number,
  header: XmlElement,
  outcome: XmlElement,
  note: (d: CoreDeviation) => void,
  at: At,
): string | undefined {
  const statuses = NOTHING_TO_SHOW.get(code);
  if (statuses === undefined) return httpStatus < 400 ? 'error outcome with a success status' : undefined;
  if (!statuses.includes(httpStatus))
    return httpStatus < 400 ? 'error outcome with a success status' : 'error outcome under an HTTP status not its own';
  const responseCode = at('MessageHeader.response.code', header, 'response', 'code');
  if (!BUSINESS_RESPONSE_CODES.includes(responseCode?.toLowerCase() ?? ''))
    return 'error outcome with a response code other than ok or fatal-error';
  if (responseCode !== responseCode?.toLowerCase())
    note({ path: 'MessageHeader.response.code', message: 'response code written in another case' });
  const types = all(outcome, 'issue').map((i) => at('OperationOutcome.issue.code', i, 'code'));
  if (types.some((t) => !BUSINESS_ISSUE_TYPES.includes(t ?? '')))
    return 'error outcome with an issue type that is not a business answer';
  if (httpStatus < 400)
    note({ path: 'OperationOutcome.issue.details.coding.code', message: 'NO_RECORD_FOUND with a success HTTP status' });
  return undefined;
}

/**
 * True when a coding anywhere in the message carries the FGM risk code: beside an error, an
 * indicator Spine did not send as its Flag. A coding of any namespace counts: a Flag whose entry,
 * wrapper or own element declares another namespace has no FHIR element left in it, yet it is
 * still our child's indicator, and "no record" beside it would hide it.
 */
const carriesRiskCode = (root: XmlElement) =>
  elementsIn(root).some(({ el }) => isFgmCoding(el)) || foreignRiskCode(root);
const XHTML_NS = 'http://www.w3.org/1999/xhtml';
/** An attribute named `value` whatever its prefix (`x:value` is kept by its prefixed name): a writer may qualify every attribute (atk-today F1). */
const anyValue = (el: XmlElement): string | undefined => {
  if (el.attrs.value !== undefined) return el.attrs.value;
  for (const k in el.attrs) if (k.endsWith(':value') || k.endsWith('}value')) return el.attrs[k];
  return undefined;
};
/**
 * An element of any namespace with a `system` and a `code` child (of any namespace) saying FGM's
 * risk code, read loosely: it only refuses. The reader keeps no text, so a foreign `system` or
 * `code` holding text (or CDATA) may be such a coding written otherwise: beside an error it is not
 * believed either (atk-today F2). XHTML's own `<code>` (a narrative's) is markup, not a coding.
 */
const foreignRiskCode = (el: XmlElement): boolean => {
  for (const c of el.children) {
    if (c.text && (c.name === 'system' || c.name === 'code') && !isFhir(c) && c.ns !== XHTML_NS) return true;
    const has = (name: string, ok: (v: string) => boolean) =>
      c.children.some((v) => {
        const value = v.name === name ? anyValue(v) : undefined;
        return value !== undefined && ok(value);
      });
    if (has('system', (v) => sameSystem(v, SYSTEM.riskIndicatorType)) && has('code', (v) => v.trim() === FGM))
      return true;
    if (foreignRiskCode(c)) return true;
  }
  return false;
};

/**
 * Whether Spine's answer (its parsed tree) can be used, and what it says.
 * @example checkAnswer(tree, { messageId, nhsNumber, smspAsid, spineAsid, httpStatus: 200, now: new Date(), maxAheadMs: 300_000, maxBehindMs: 86_400_000, isKnownCode }).usable
 */
export function checkAnswer(root: XmlElement, expect: AnswerExpectation): Verdict {
  let spineMessageId: string | null = null;
  try {
    return judge(root, expect, (id) => (spineMessageId = id));
  } catch (e) {
    if (!(e instanceof Repeated)) throw e;
    return { usable: false, spineMessageId, reason: REPEATED };
  }
}

/** checkAnswer's reading; `seen` learns Spine's message id as soon as it is read, for a refusal thrown later. */
function judge(root: XmlElement, expect: AnswerExpectation, seen: (spineMessageId: string | null) => void): Verdict {
  const deviations: CoreDeviation[] = [];
  const note = (d: CoreDeviation) => {
    if (!deviations.some((x) => x.path === d.path && x.message === d.message)) deviations.push(d);
  };
  // Whitespace around an id, code or status changes nothing it says: read trimmed, and say so.
  const at = (path: string, el: XmlElement | undefined, name: string, then?: string) => {
    const v = rawAt(el, name, then);
    if (v !== undefined && v !== v.trim()) note({ path, message: 'whitespace around the value removed' });
    return v?.trim();
  };
  const entries = (root.name === 'Bundle' && isFhir(root) ? all(root, 'entry') : []).map(resourcesIn);
  const resources = entries.flat();
  // An entry with no resource (or an empty `<resource/>`) says nothing: read past beside an indicator
  // (issue 18 review 18f F6), but never left to stand beside "no record" (see the error branch).
  const emptyEntries = entries.filter((r) => r.length === 0).length;
  const headers = resources.filter((r) => r.name === 'MessageHeader');
  const header = headers.length === 1 ? headers[0] : undefined;
  const spineMessageId = at('MessageHeader.id', header, 'id') ?? null;
  seen(spineMessageId);
  const refuse = (reason: string): Verdict => ({ usable: false, spineMessageId, reason });
  // An indicator (or an error) the core does not read must never leave "no record" as the answer.
  if (entries.some((r) => r.length > 1)) return refuse(ENTRY_NOT_ONE);
  if (!header) return refuse('answer has no single MessageHeader');
  if (misplacedOutcome(root, new Set(resources)))
    return refuse('a MessageHeader, Flag or OperationOutcome sits where the core does not read it');
  if (at('MessageHeader.event.code', header, 'event', 'code') !== RESPONSE_EVENT)
    return refuse('event is not FGMQueryResponse_2_0');
  // Message ids are UUIDs: upper and lower case name the same one.
  if (
    at('MessageHeader.response.identifier', header, 'response', 'identifier')?.toLowerCase() !==
    expect.messageId.toLowerCase()
  )
    return refuse('response is for another request');
  // An ASID is digits under a URN: `URN:NHS:ADDRESSING:ASID:` in capitals is the same system.
  const source = at('MessageHeader.source.endpoint', header, 'source', 'endpoint');
  // A message may go to several destinations (FHIR allows it, the profile says one): it is ours when
  // we are among them, and only one that does not name us is someone else's (issue 18 review 18f F6).
  const destinations = all(header, 'destination').map((d) => at('MessageHeader.destination.endpoint', d, 'endpoint'));
  const destination = destinations.find((d) => d?.toLowerCase() === ASID_PREFIX + expect.smspAsid);
  if (source?.toLowerCase() !== ASID_PREFIX + expect.spineAsid || destination === undefined) {
    return refuse('response ASIDs do not match');
  }
  if (destinations.length > 1)
    note({ path: 'MessageHeader.destination', message: 'destinations beside ours read past' });
  if (!source.startsWith(ASID_PREFIX) || !destination.startsWith(ASID_PREFIX))
    note({ path: 'MessageHeader.source.endpoint', message: 'ASID system written in another case' });
  // FHIR forbids ignoring a modifier, wherever in the message it sits.
  if (hasModifier(header) || bundleModified(root))
    return refuse('message carries a modifier extension or implicit rules');
  if (carriesUnreadModifier(root, note)) return refuse(UNREAD_MODIFIER);
  if (numberOutOfUse(root, expect.nhsNumber)) return refuse(NUMBER_OUT_OF_USE);
  const written = at('MessageHeader.timestamp', header, 'timestamp');
  // DSTU2's instant requires seconds; a time to the minute means one instant only (:00), so it is read as that, reported.
  const minute = written === undefined ? null : TO_THE_MINUTE.exec(written);
  const timestamp = minute ? `${minute[1]}:00${minute[2]}` : written;
  if (timestamp === undefined || !INSTANT.test(timestamp)) return refuse('timestamp is not a real instant');
  if (minute) note({ path: 'MessageHeader.timestamp', message: 'timestamp without seconds read as :00' });
  const skew = ms(timestamp) - expect.now.getTime();
  if (skew > expect.maxAheadMs) return refuse('timestamp is ahead of the gateway clock by more than the allowed skew');
  if (-skew > expect.maxBehindMs) return refuse('timestamp is behind the gateway clock by more than the allowed skew');

  // fgm-query-v2.md gives 203 one meaning: data from a local store while Spine is unavailable. A
  // stored answer is not Spine's answer now (SMSP-FGMRI-003): an indicator may have been set or
  // cleared since, so neither it nor a stored "no record" is shown.
  if (expect.httpStatus === 203) return refuse('HTTP 203: a stored copy, not a current answer from Spine');
  const flags = resources.filter((r) => r.name === 'Flag');
  const outcomes = resources.filter((r) => r.name === 'OperationOutcome');
  // Reported only if the answer is used: by then it names no child but ours (carriesAnotherPatient).
  if (resources.some((r) => r.name === 'Parameters'))
    note({ path: 'Parameters', message: 'Parameters entry beside the answer ignored' });
  if (echoesAnotherRiskIndicator(root)) return refuse('answer echoes a risk indicator other than FGM');
  // Spine contradicting itself: its own error code (NO_RECORD_FOUND, say) beside the indicator, whatever the severity.
  if (flags.length > 0 && outcomes.some((o) => spineCodes(o, note, at).some((c) => c !== 'SUCCESS')))
    return refuse('indicator beside a Spine error code');
  // One Flag beside notes only (every issue information or warning) is an indicator; beside an error it is ambiguous.
  const benign = (o: XmlElement) =>
    all(o, 'issue').length > 0 &&
    all(o, 'issue').every((i) =>
      BENIGN_SEVERITIES.includes(at('OperationOutcome.issue.severity', i, 'severity') ?? ''),
    );
  const flagAlone = flags.length === 1 && outcomes.every(benign);
  if (!flagAlone && flags.length + outcomes.length !== 1)
    return refuse('answer has no single Flag or OperationOutcome');
  if (flagAlone && outcomes.length > 0)
    note({ path: 'OperationOutcome', message: 'informational OperationOutcome beside the indicator ignored' });
  // A modifier we do not know may turn an error, or a note beside the indicator, into something else (FHIR forbids ignoring one).
  if (outcomes.some(hasModifier)) return refuse('outcome carries a modifier extension or implicit rules');
  const target = flags.length === 1 ? flags[0]! : outcomes[0]!;
  // An NHS number's identifier ended (or marked old) is judged by Spine's clock, as the Flag's period is.
  const uk = ukToday(new Date(ms(timestamp)));
  const isOld = oldIdentifier(timestamp, uk);
  if (numberEndUnreadable(root, isOld))
    return refuse("a patient's NHS-number identifier period end is not a real date");
  if (target.name === 'Flag') {
    if (emptyEntries > 0) note({ path: 'Bundle.entry', message: 'entry without a resource read past' });
    const read = indicator(root, target, expect, note, at, isOld);
    if (typeof read === 'string') return refuse(read);
    const born = spineBirthDate(root, target, at);
    if (born === 'unreadable') note({ path: 'Patient.birthDate', message: 'birth date is not a real date, ignored' });
    else if (born !== undefined) {
      // Spine's own birth date (the profile requires one): a child not born yet is an impossible
      // answer; one that contradicts the assessment or the age Spine serves is reported, never a
      // reason to hide the indicator (atk18 finding 1; the hazard log's H1).
      if (after(born, uk)) return refuse("patient's birth date is after the timestamp");
      if (read.assessmentDay < born.slice(0, read.assessmentDay.length))
        note({ path: 'Patient.birthDate', message: "assessment date before Spine's birth date" });
      if (born.length === 10 && `${Number(born.slice(0, 4)) + 18}${born.slice(4)}` <= uk)
        note({ path: 'Patient.birthDate', message: "Spine's birth date makes the patient 18 or over" });
    }
    if (carriesAnotherPatient(root, expect.nhsNumber, at, isOld, note)) return refuse(ANOTHER_PATIENT);
    if (patientModified(root)) return refuse(PATIENT_MODIFIED);
    // Beside the Flag for our child, a note's text naming another number takes nothing from it.
    const text = valueNamingAnotherNumber(root, expect.nhsNumber);
    if (text !== undefined) note({ path: text, message: 'text names another NHS number beside the indicator' });
    const flagId = at('Flag.id', target, 'id');
    const data = all(header, 'data').map((d) => at('MessageHeader.data.reference', d, 'reference'));
    if (data.length > 0 && !data.some((r) => r !== undefined && flagId !== undefined && namesFlag(r, flagId)))
      note({ path: 'MessageHeader.data', message: 'names another resource than the Flag found' });
    // Two instants compare as instants. A date-only assessment is a UK calendar date: on or before
    // the UK date of Spine's timestamp (issue 18 review 18f F12: 23:30 UTC in summer is already the
    // next UK day, in winter it is not), never the date written in the timestamp's own offset.
    // Spine's clock is already held within spine.answerTimestamp of the gateway's, so a day Spine's
    // clock has reached a few minutes before ours, across midnight, is not refused (atk18 finding 3).
    if (hasTime(read.assessmentDate) ? ms(read.assessmentDate) > ms(timestamp) : after(read.assessmentDay, uk))
      return refuse('assessment date is after the timestamp');
    const early = (floor: string) => read.assessmentDay < floor.slice(0, read.assessmentDay.length);
    if (early(EARLIEST_ASSESSMENT)) return refuse('assessment date is implausibly early');
    // The client's birth date is local and unverified: a wrong one in the EPR must not hide a real indicator.
    if (expect.birthDate && early(expect.birthDate))
      note({ path: 'Flag.period.start', message: 'assessment date before the birth date the client gave' });
    const end = at('Flag.period.end', target, 'period', 'end');
    if (end !== undefined) {
      const endDay = dayOf(end);
      if (endDay === undefined) return refuse('period end is not a real date');
      // An end date runs to the end of that day; an ended period is not a current risk.
      if (end.length > 10 ? ms(end) <= ms(timestamp) : endDay < uk.slice(0, endDay.length))
        return refuse('indicator period has ended');
    }
    // `OK` is `ok` in another case: one meaning, read and reported (issue 18 review F8). 201 is a
    // success status (RFC 9110) over an answer the core has read whole: read as 200, reported.
    const responseCode = at('MessageHeader.response.code', header, 'response', 'code');
    // No response code says nothing an HTTP success and the Flag for our child do not already say:
    // read as ok and reported; only a code that says otherwise refuses (atk18 finding 2).
    if (
      !SUCCESS_STATUSES.includes(expect.httpStatus) ||
      (responseCode !== undefined && responseCode.toLowerCase() !== 'ok')
    )
      return refuse('indicator with an error status');
    if (expect.httpStatus !== 200) note({ path: 'HTTP status', message: 'HTTP 201 read as 200 OK' });
    if (responseCode === undefined)
      note({ path: 'MessageHeader.response.code', message: 'no response code beside an indicator, read as ok' });
    else if (responseCode !== 'ok')
      note({ path: 'MessageHeader.response.code', message: 'response code ok written in another case' });
    return { usable: true, spineMessageId, timestamp, outcome: read, deviations };
  }
  // An entry holding nothing may have held the indicator (stripped on the way): never "no record" beside it.
  if (emptyEntries > 0) return refuse(ENTRY_NOT_ONE);
  // An error about another child (NO_RECORD_FOUND, say) would hide our child's indicator.
  if (carriesAnotherPatient(root, expect.nhsNumber, at, isOld, note)) return refuse(ANOTHER_PATIENT);
  if (valueNamingAnotherNumber(root, expect.nhsNumber) !== undefined)
    return refuse('error answer text names another NHS number');
  if (patientModified(root)) return refuse(PATIENT_MODIFIED);
  // An FGM risk code on a Basic, a Condition, anything not the Flag, contradicts "no record".
  if (carriesRiskCode(root)) return refuse('FGM risk code beside an error outcome');
  // Spine's business code is the coding in its error-code system, in whichever issue carries it.
  const codes = spineCodes(target, note, at);
  if (codes.length > 1) return refuse('outcome carries several Spine codes');
  const code = codes[0];
  if (code === undefined || code === 'SUCCESS' || !expect.isKnownCode(code)) return refuse('unknown outcome code');
  // An error naming a resource it does not carry (a Flag, say) is ambiguous: the spec's error
  // example names none, and the indicator's names the Flag it carries. Any code, not only "no
  // record": PATIENT_OVER_18 or INVALID_NHS_NUMBER hide an indicator as surely (CDS shows no card).
  // Beside another error, naming a Parameters is read as naming our request's (Spine echoing it).
  const absent = all(header, 'data').flatMap((d) => {
    const r = at('MessageHeader.data.reference', d, 'reference');
    return r !== undefined && !carried(root, r) ? [r] : [];
  });
  if (code === 'NO_RECORD_FOUND' && absent.length > 0)
    return refuse('no-record answer names a resource it does not carry');
  const namesParameters = (r: string) => {
    const parts = r.trim().split('/');
    return parts.length >= 2 && parts.at(-2) === 'Parameters' && parts.at(-1) !== '';
  };
  if (absent.some((r) => !namesParameters(r))) return refuse('error answer names a resource it does not carry');
  const business = businessAnswer(code, expect.httpStatus, header, target, note, at);
  if (business !== undefined) return refuse(business);
  return { usable: true, spineMessageId, timestamp, outcome: { kind: 'error', code }, deviations };
}
