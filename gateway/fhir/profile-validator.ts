/**
 * @module fhir/profile-validator
 * Checks a FHIR DSTU2 XML message against the FGM-IS StructureDefinition snapshots: cardinality
 * (including `max = 0`), fixed values, DSTU2 element order, elements the profile does not define,
 * slicing, and the DSTU2 formats of primitive values. The message is a Bundle
 * (spine-message-bundle-1-0) whose resources each name their profile in `meta.profile`.
 *
 * Strict by default: what the gateway sends must declare its profiles. For what others send,
 * `inferProfiles` reads a resource without `meta.profile` by the profile its type has in that kind
 * of message (`meta` is optional in every FGM-IS profile, min 0) and notes INFERRED_PROFILE; a
 * resource that declares a profile other than the expected one is still reported as such.
 *
 * It is the independent check on what the codec builds and reads: the rules come from the
 * snapshot files, not from the codec. Violations name the profile's own element paths and say
 * what is wrong in fixed phrases — never a value or an element name from the message, so they
 * are safe to log.
 */
import { PROFILE } from './constants.ts';
import {
  childrenOf,
  fixedAt,
  isKnownType,
  isPrimitive,
  loadProfiles,
  type ElementDef,
  type Profile,
} from './profile-snapshots.ts';
import { isFhir, parseXml, type XmlElement } from './xml.ts';

export interface Violation {
  /** The profile's path of the element at fault, e.g. `Practitioner.name`. */
  path: string;
  message: string;
}

const XHTML = 'http://www.w3.org/1999/xhtml';

/** The note for a resource read by its inferred profile: a deviation to report, not a fault. */
export const INFERRED_PROFILE = 'declares no profile: read by the profile its type has in this message';

/** Which profile each resource type has in a request and in an answer (MessageHeader differs). */
const PROFILE_FOR: Record<'request' | 'response', ReadonlyMap<string, string>> = {
  request: new Map(
    Object.entries({
      Bundle: PROFILE.bundle,
      MessageHeader: PROFILE.requestHeader,
      Parameters: PROFILE.parameters,
      Practitioner: PROFILE.practitioner,
      Organization: PROFILE.organization,
    }),
  ),
  response: new Map(
    Object.entries({
      Bundle: PROFILE.bundle,
      MessageHeader: PROFILE.responseHeader,
      Flag: PROFILE.flag,
      Patient: PROFILE.patient,
      OperationOutcome: PROFILE.operationOutcome,
    }),
  ),
};

/**
 * Where to find a schema, which XML Schema lets any element carry and a schema validator reads as
 * a hint only (SMSP-VAL-001 validates a client's request against the schema): reported, so what we
 * send never carries one and Spine's use is counted, but a client's request is not refused for it.
 */
const SCHEMA_HINTS: ReadonlySet<string> = new Set(['xsi:schemaLocation', 'xsi:noNamespaceSchemaLocation']);
export const SCHEMA_HINT = 'has an XML Schema location hint, which FHIR XML does not use';

export interface ValidateOptions {
  /** Read resources without `meta.profile` as the profile their type has in this kind of message. */
  inferProfiles?: 'request' | 'response';
}

// DSTU2 primitive formats (hl7.org/fhir/DSTU2/datatypes.html).
const DATE = /^-?\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;
const ZONE = '(Z|[+-]((0\\d|1[0-3]):[0-5]\\d|14:00))';
const FORMATS: Record<string, RegExp> = {
  boolean: /^(true|false)$/,
  integer: /^-?(0|[1-9]\d*)$/,
  positiveInt: /^\+?[1-9]\d*$/,
  unsignedInt: /^(0|[1-9]\d*)$/,
  decimal: /^-?(0|[1-9]\d*)(\.\d+)?$/,
  date: DATE,
  dateTime: new RegExp(
    `^-?\\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\\d|3[01])(T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d+)?${ZONE})?)?)?$`,
  ),
  instant: new RegExp(
    `^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d+)?${ZONE}$`,
  ),
  id: /^[A-Za-z0-9\-.]{1,64}$/,
  code: /^[^\s]+( [^\s]+)*$/,
  oid: /^urn:oid:[0-2](\.[1-9]\d*)+$/,
};

/** Whether `v` is written in the DSTU2 form of primitive `type` (dateTime, instant, …): what the gateway may send. */
export const isDstu2Primitive = (type: keyof typeof FORMATS, v: string): boolean => FORMATS[type]?.test(v) ?? false;

const capitalised = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);

/**
 * One element definition compiled for validation (issue 22): the walk looks a child element up by
 * its XML name instead of searching the definitions, and reads the slices' discriminator values
 * instead of walking the snapshot for them, per message.
 */
interface Rule {
  def: ElementDef;
  /** Whether this is its profile's root (where a `Resource` type is the resource itself). */
  root: boolean;
  known: boolean;
  /** What the element adds to its parent's path as a child: `.name`. */
  step: string;
  children: Rule[];
  /** A child element's XML name -> the index of its rule and the type the name selects (`valueString` -> `string`). */
  byName: Map<string, Named>;
  /** For a sliced element: the most members its slices allow, each slice with its discriminator values, and the discriminator paths split. */
  max: number;
  slices: { rule: Rule; keys: (string | undefined)[]; step: string }[];
  discriminator: string[][];
  /** Whether the element, or one of its slices, is required: only then can its absence be reported. */
  required: boolean;
}

/** A child element's name as its parent's rule reads it: the index of the child's rule, and the type the name selects. */
interface Named {
  at: number;
  type: string;
}

/** A profile compiled once: its resource type and its root rule. */
interface Plan {
  type: string;
  root: Rule;
}

/** Elements whose children the walk never reads: primitives, extensions, resources held by another. */
const leaf = (def: ElementDef, root: boolean) =>
  def.types.length === 1 &&
  (isPrimitive(def.types[0]!) || def.types[0] === 'Extension' || (def.types[0] === 'Resource' && !root));

/** Compiles `def` and what is below it; `rules` makes a shared definition (a nameReference) one rule. */
function compile(def: ElementDef, profile: Profile, rules: Map<ElementDef, Rule>): Rule {
  const done = rules.get(def);
  if (done) return done;
  const root = def === profile.root;
  // The slicing entry's max, unless its own slices allow more: some FGM-IS profiles write 1 for a pair of slices.
  const max = def.slicing
    ? Math.max(
        def.max,
        def.slices.reduce((n, sl) => n + sl.max, 0),
      )
    : def.max;
  const rule: Rule = {
    def,
    root,
    known: isKnownType(def),
    step: `.${def.name}`,
    children: [],
    byName: new Map(),
    max,
    slices: [],
    discriminator: def.slicing ? def.slicing.discriminator.map((d) => d.split('.')) : [],
    required: def.min > 0 || def.slices.some((sl) => sl.min > 0),
  };
  rules.set(def, rule);
  if (!leaf(def, root)) {
    childrenOf(def, profile).forEach((d, at) => {
      // Several types on a non-choice element are Reference targets; no type is a nameReference.
      const names: [string, string][] = d.name.endsWith('[x]')
        ? d.types.map((t) => [d.name.slice(0, -3) + capitalised(t), t])
        : [[d.name, d.types[0] ?? '']];
      // The first definition a name selects is the one it belongs to.
      for (const [name, type] of names) if (!rule.byName.has(name)) rule.byName.set(name, { at, type });
      rule.children.push(compile(d, profile, rules));
    });
  }
  for (const sl of def.slices)
    rule.slices.push({
      rule: compile(sl, profile, rules),
      keys: def.slicing!.discriminator.map((d) => fixedAt(sl, d)),
      step: `[${sl.sliceName}]`,
    });
  return rule;
}

let plans: Map<string, Plan> | undefined;

/**
 * The profiles compiled into rules, once: the gateway calls it at start so that no request pays
 * for it; validateMessage calls it too.
 */
export function compileProfiles(): Map<string, Plan> {
  if (plans) return plans;
  const compiled = new Map<string, Plan>();
  for (const [url, profile] of loadProfiles())
    compiled.set(url, { type: profile.type, root: compile(profile.root, profile, new Map()) });
  plans = compiled;
  return compiled;
}

const cardinality = (min: number, max: number, count: number, path: string, report: (v: Violation) => void) => {
  if (count < min) report({ path, message: count === 0 ? 'is required' : `must appear at least ${min} times` });
  else if (count > max)
    report({ path, message: max === 0 ? 'is not allowed (max 0)' : `appears more than ${max} times` });
};

/**
 * The elements of one group, without an array per group (issue 22: the walk runs for every element
 * of every message): the children `j` of one element whose `keys[j]` is `key`, each of the type
 * `named[j]` gives it.
 */
interface Group {
  children: readonly XmlElement[];
  named: readonly (Named | undefined)[];
  keys: readonly number[];
  key: number;
}

class Walker {
  readonly out: Violation[] = [];
  /**
   * Each violation once (`path` and phrase), however often the message repeats it: 2,400
   * extensions out of order are one deviation, not 2,400 log lines and audit entries (issue 18
   * review F2).
   */
  private readonly seen = new Set<string>();
  readonly report = (v: Violation): void => {
    const key = `${v.path}\u0000${v.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.out.push(v);
  };
  constructor(
    readonly plans: Map<string, Plan>,
    readonly infer?: ReadonlyMap<string, string>,
  ) {}

  /** A resource against the profile it declares (`expect`: the profile it must declare, if any). */
  resource(el: XmlElement, path: string, expect?: string) {
    // The first meta's profiles, as declared: one array, no closures (issue 22).
    const declared: string[] = [];
    const meta = el.children.find((c) => c.name === 'meta' && isFhir(c));
    if (meta) for (const c of meta.children) if (c.name === 'profile' && isFhir(c)) declared.push(c.attrs.value ?? '');
    const inferred = declared.length === 0 ? this.plans.get(this.infer?.get(el.name) ?? '') : undefined;
    if (inferred) {
      this.report({ path: `${inferred.type}.meta.profile`, message: INFERRED_PROFILE });
      return this.element(el, inferred.root, inferred.type, inferred.root.def.types[0]!);
    }
    if (expect && !declared.includes(expect))
      return this.report({ path, message: `must declare the profile ${expect}` });
    let plan: Plan | undefined;
    for (const u of declared) if ((plan = this.plans.get(u))) break;
    if (!plan) return this.report({ path, message: 'declares no FGM-IS profile' });
    if (plan.type !== el.name)
      return this.report({ path: plan.type, message: 'is not the resource type its declared profile constrains' });
    this.element(el, plan.root, plan.type, plan.root.def.types[0]!);
  }

  element(el: XmlElement, rule: Rule, path: string, type: string) {
    const { def } = rule;
    if (type !== 'xhtml') this.markup(el, path, type);
    if (isPrimitive(type)) return this.primitive(el, def, path, type);
    if (type === 'Resource' && !rule.root) return this.contained(el, path);
    if (type === 'Extension') {
      if (def.name === 'modifierExtension')
        this.report({ path, message: 'is a modifier extension no FGM-IS profile defines' });
      else if (!el.attrs.url) this.report({ path, message: 'has no url' });
      return;
    }
    if (!rule.known) return this.report({ path, message: 'is of a type the validator cannot check' });
    if (el.attrs.value !== undefined) this.report({ path, message: 'is not a primitive and cannot have a value' });
    // Each child's rule once, in two arrays for the whole element: a rule has tens of children, an element a few.
    const children = el.children;
    const named = new Array<Named | undefined>(children.length);
    const keys = new Array<number>(children.length);
    let last = -1;
    let unknown = false;
    for (let j = 0; j < children.length; j++) {
      const child = children[j]!;
      // Narrative.div is the one element outside the FHIR namespace: XHTML.
      const found =
        isFhir(child) || (type === 'Narrative' && child.name === 'div' && child.ns === XHTML)
          ? rule.byName.get(child.name)
          : undefined;
      named[j] = found;
      keys[j] = found ? found.at : -1;
      if (!found) {
        unknown = true;
        continue;
      }
      if (found.at < last)
        this.report({
          path: path + rule.children[found.at]!.step,
          message: 'is out of order (DSTU2 element order)',
        });
      last = Math.max(last, found.at);
    }
    if (unknown) this.report({ path, message: 'contains an element the profile does not define' });
    // Paths are the profile's, with the slice they are in: Practitioner.identifier[Local Identifier].value.
    // The rules present are visited in the profile's order: `next` is the least present index after `i`.
    const members: Group = { children, named, keys, key: -1 };
    let next = nextKey(keys, -1);
    for (let i = 0; i < rule.children.length; i++) {
      const r = rule.children[i]!;
      const present = i === next;
      if (present) next = nextKey(keys, i);
      // Absent and not required: nothing to check, nothing to report.
      else if (!r.required) continue;
      members.key = i;
      if (r.def.slicing) this.sliced(members, r, path + r.step);
      else this.group(members, r, path + r.step);
    }
  }

  group(members: Group, rule: Rule, path: string) {
    const { children, named, keys, key } = members;
    let count = 0;
    for (let j = 0; j < keys.length; j++) if (keys[j] === key) count++;
    cardinality(rule.def.min, rule.def.max, count, path, this.report);
    if (rule.def.max === 0) return;
    for (let j = 0; j < keys.length; j++) if (keys[j] === key) this.element(children[j]!, rule, path, named[j]!.type);
  }

  /** Each member goes to the slice whose fixed discriminator values it carries. */
  sliced(members: Group, rule: Rule, path: string) {
    const { ordered, closed } = rule.def.slicing!;
    const { children, named, keys, key } = members;
    let count = 0;
    for (let j = 0; j < keys.length; j++) if (keys[j] === key) count++;
    cardinality(rule.def.min, rule.max, count, path, this.report);
    // Each member's slice, read once; -1 for a child outside the group or in no slice.
    const sliceOf = new Array<number>(keys.length).fill(-1);
    let last = -1;
    for (let j = 0; j < keys.length; j++) {
      if (keys[j] !== key) continue;
      const el = children[j]!;
      const at = sliceFor(el, rule);
      if (at < 0) {
        if (closed) this.report({ path, message: "matches none of the profile's slices" });
        else this.element(el, rule, path, named[j]!.type);
        continue;
      }
      if (ordered && at < last)
        this.report({
          path: path + rule.slices[at]!.step,
          message: 'is out of order (the slicing is ordered)',
        });
      last = Math.max(last, at);
      sliceOf[j] = at;
    }
    const inSlice: Group = { children, named, keys: sliceOf, key: -1 };
    for (let i = 0; i < rule.slices.length; i++) {
      const s = rule.slices[i]!;
      inSlice.key = i;
      this.group(inSlice, s.rule, path + s.step);
    }
  }

  /**
   * DSTU2 XML: values are attributes, so no FHIR element holds text (only the XHTML div does), and
   * its only attributes are `id`, `value` and an extension's `url` (namespace declarations aside).
   */
  markup(el: XmlElement, path: string, type: string) {
    if (el.text) this.report({ path, message: 'holds text, which FHIR XML allows only in the narrative div' });
    const allowed = type === 'Extension' ? 'url' : 'value';
    let hint = false;
    let other = false;
    // The own attributes, as Object.keys lists them, without the array (this runs for every element).
    for (const a in el.attrs) {
      if (!Object.hasOwn(el.attrs, a)) continue;
      if (SCHEMA_HINTS.has(a)) hint = true;
      else if (a !== 'id' && a !== allowed) other = true;
    }
    if (hint) this.report({ path, message: SCHEMA_HINT });
    if (other) this.report({ path, message: 'has an attribute FHIR XML does not allow' });
  }

  primitive(el: XmlElement, def: ElementDef, path: string, type: string) {
    if (type === 'xhtml') return;
    for (const c of el.children)
      if (!(c.name === 'extension' && isFhir(c))) {
        this.report({ path, message: 'is a primitive and cannot hold elements' });
        break;
      }
    const v = el.attrs.value;
    if (v === undefined) {
      if (!el.children.length) this.report({ path, message: 'has no value' });
      return;
    }
    if (v.trim() === '') this.report({ path, message: 'has an empty value' });
    else if (def.fixed !== undefined && v !== def.fixed) this.report({ path, message: `must be ${def.fixed}` });
    else if (FORMATS[type] && !FORMATS[type].test(v)) this.report({ path, message: `is not a valid ${type}` });
  }

  /** Bundle.entry.resource and DomainResource.contained hold one resource, checked by its own profile. */
  contained(el: XmlElement, path: string) {
    const inner = el.children[0];
    if (el.children.length !== 1 || !isFhir(inner!))
      return this.report({ path, message: 'must hold exactly one resource' });
    this.resource(inner!, path);
  }
}

/** The least key above `after`, or -1 when there is none. */
function nextKey(keys: readonly number[], after: number): number {
  let least = -1;
  for (let j = 0; j < keys.length; j++) {
    const k = keys[j]!;
    if (k > after && (least < 0 || k < least)) least = k;
  }
  return least;
}

/** The first slice of `rule` whose fixed discriminator values `el` carries, or -1. */
function sliceFor(el: XmlElement, rule: Rule): number {
  slices: for (let i = 0; i < rule.slices.length; i++) {
    const { keys } = rule.slices[i]!;
    for (let d = 0; d < rule.discriminator.length; d++)
      if (valueAt(el, rule.discriminator[d]!) !== keys[d]) continue slices;
    return i;
  }
  return -1;
}

/** The value at a discriminator path (split at compile time), through the first FHIR child of each name. */
function valueAt(el: XmlElement, steps: readonly string[]): string | undefined {
  let at: XmlElement | undefined = el;
  for (const step of steps) {
    const from: XmlElement = at;
    at = undefined;
    for (const c of from.children)
      if (c.name === step && isFhir(c)) {
        at = c;
        break;
      }
    if (!at) return undefined;
  }
  return at.attrs.value;
}

/**
 * Validates an FGM-IS message (a spine-message-bundle-1-0 Bundle, XML text or parsed) and every
 * resource in it against its declared profile. An empty list means the message conforms.
 * @example validateMessage(xml) // [{ path: 'MessageHeader.author.display', message: 'is not allowed (max 0)' }]
 */
export function validateMessage(message: string | XmlElement, { inferProfiles }: ValidateOptions = {}): Violation[] {
  let root: XmlElement;
  if (typeof message === 'string') {
    const parsed = parseXml(message);
    if (!parsed.ok) return [{ path: 'Bundle', message: 'is not a well-formed FHIR XML message' }];
    root = parsed.value;
  } else root = message;
  if (root.name !== 'Bundle' || !isFhir(root))
    return [{ path: 'Bundle', message: 'the root element must be a FHIR Bundle' }];
  const walker = new Walker(compileProfiles(), inferProfiles && PROFILE_FOR[inferProfiles]);
  walker.resource(root, 'Bundle', PROFILE.bundle);
  // A message Bundle starts with its MessageHeader (DSTU2 Bundle, type message).
  const first = root.children
    .find((c) => c.name === 'entry' && isFhir(c))
    ?.children.find((c) => c.name === 'resource')
    ?.children.find(isFhir);
  if (first && first.name !== 'MessageHeader')
    walker.out.push({ path: 'Bundle.entry', message: 'the first entry must be a MessageHeader' });
  return walker.out;
}
