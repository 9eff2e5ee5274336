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
import { childrenOf, fixedAt, isKnownType, isPrimitive, loadProfiles, type ElementDef, type Profile } from './profile-snapshots.ts';
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
  request: new Map(Object.entries({ Bundle: PROFILE.bundle, MessageHeader: PROFILE.requestHeader, Parameters: PROFILE.parameters, Practitioner: PROFILE.practitioner, Organization: PROFILE.organization })),
  response: new Map(Object.entries({ Bundle: PROFILE.bundle, MessageHeader: PROFILE.responseHeader, Flag: PROFILE.flag, Patient: PROFILE.patient, OperationOutcome: PROFILE.operationOutcome })),
};

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
  dateTime: new RegExp(`^-?\\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\\d|3[01])(T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d+)?${ZONE})?)?)?$`),
  instant: new RegExp(`^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d+)?${ZONE}$`),
  id: /^[A-Za-z0-9\-.]{1,64}$/,
  code: /^[^\s]+( [^\s]+)*$/,
  oid: /^urn:oid:[0-2](\.[1-9]\d*)+$/,
};

/** Whether `v` is written in the DSTU2 form of primitive `type` (dateTime, instant, …): what the gateway may send. */
export const isDstu2Primitive = (type: keyof typeof FORMATS, v: string): boolean => FORMATS[type]?.test(v) ?? false;

/** The type a child element's name selects: `valueString` under `value[x]` is a `string`. */
function typeFor(def: ElementDef, name: string): string | undefined {
  // Several types on a non-choice element are Reference targets; no type is a nameReference.
  if (!def.name.endsWith('[x]')) return def.name === name ? (def.types[0] ?? '') : undefined;
  const stem = def.name.slice(0, -3);
  if (!name.startsWith(stem)) return undefined;
  const rest = name.slice(stem.length);
  return def.types.find((t) => t.charAt(0).toUpperCase() + t.slice(1) === rest);
}

const cardinality = (def: ElementDef, count: number, path: string, out: Violation[]) => {
  if (count < def.min) out.push({ path, message: count === 0 ? 'is required' : `must appear at least ${def.min} times` });
  else if (count > def.max) out.push({ path, message: def.max === 0 ? 'is not allowed (max 0)' : `appears more than ${def.max} times` });
};

/** The slicing entry's max, unless its own slices allow more: some FGM-IS profiles write 1 for a pair of slices. */
const slicedMax = (def: ElementDef) => Math.max(def.max, def.slices.reduce((n, s) => n + s.max, 0));

class Walker {
  readonly out: Violation[] = [];
  constructor(
    readonly profiles: Map<string, Profile>,
    readonly infer?: ReadonlyMap<string, string>,
  ) {}

  /** A resource against the profile it declares (`expect`: the profile it must declare, if any). */
  resource(el: XmlElement, path: string, expect?: string) {
    const declared = el.children.find((c) => c.name === 'meta' && isFhir(c))?.children.filter((c) => c.name === 'profile' && isFhir(c)).map((c) => c.attrs.value ?? '') ?? [];
    const inferred = declared.length === 0 ? this.profiles.get(this.infer?.get(el.name) ?? '') : undefined;
    if (inferred) {
      this.out.push({ path: `${inferred.type}.meta.profile`, message: INFERRED_PROFILE });
      return this.element(el, inferred.root, inferred.type, inferred.root.types[0]!, inferred);
    }
    if (expect && !declared.includes(expect)) return this.out.push({ path, message: `must declare the profile ${expect}` });
    const profile = declared.map((u) => this.profiles.get(u)).find((p) => p !== undefined);
    if (!profile) return this.out.push({ path, message: 'declares no FGM-IS profile' });
    if (profile.type !== el.name) return this.out.push({ path: profile.type, message: 'is not the resource type its declared profile constrains' });
    this.element(el, profile.root, profile.type, profile.root.types[0]!, profile);
  }

  element(el: XmlElement, def: ElementDef, path: string, type: string, profile: Profile) {
    if (type !== 'xhtml') this.markup(el, path, type);
    if (isPrimitive(type)) return this.primitive(el, def, path, type);
    if (type === 'Resource' && def !== profile.root) return this.contained(el, path);
    if (type === 'Extension') {
      if (def.name === 'modifierExtension') this.out.push({ path, message: 'is a modifier extension no FGM-IS profile defines' });
      else if (!el.attrs.url) this.out.push({ path, message: 'has no url' });
      return;
    }
    if (!isKnownType(def)) return this.out.push({ path, message: 'is of a type the validator cannot check' });
    if (el.attrs.value !== undefined) this.out.push({ path, message: 'is not a primitive and cannot have a value' });
    const defs = childrenOf(def, profile);
    const groups = defs.map(() => [] as { el: XmlElement; type: string }[]);
    let last = -1;
    let unknown = false;
    for (const child of el.children) {
      // Narrative.div is the one element outside the FHIR namespace: XHTML.
      if (!isFhir(child) && !(type === 'Narrative' && child.name === 'div' && child.ns === XHTML)) {
        unknown = true;
        continue;
      }
      const at = defs.findIndex((d) => typeFor(d, child.name) !== undefined);
      if (at < 0) {
        unknown = true;
        continue;
      }
      if (at < last) this.out.push({ path: `${path}.${defs[at]!.name}`, message: 'is out of order (DSTU2 element order)' });
      last = Math.max(last, at);
      groups[at]!.push({ el: child, type: typeFor(defs[at]!, child.name)! });
    }
    if (unknown) this.out.push({ path, message: 'contains an element the profile does not define' });
    // Paths are the profile's, with the slice they are in: Practitioner.identifier[Local Identifier].value.
    defs.forEach((d, i) => (d.slicing ? this.sliced(groups[i]!, d, `${path}.${d.name}`, profile) : this.group(groups[i]!, d, `${path}.${d.name}`, profile)));
  }

  group(members: { el: XmlElement; type: string }[], def: ElementDef, path: string, profile: Profile) {
    cardinality(def, members.length, path, this.out);
    if (def.max === 0) return;
    for (const m of members) this.element(m.el, def, path, m.type, profile);
  }

  /** Each member goes to the slice whose fixed discriminator values it carries. */
  sliced(members: { el: XmlElement; type: string }[], def: ElementDef, path: string, profile: Profile) {
    const { discriminator, ordered, closed } = def.slicing!;
    cardinality({ ...def, max: slicedMax(def) }, members.length, path, this.out);
    const bySlice = def.slices.map(() => [] as typeof members);
    let last = -1;
    for (const m of members) {
      const at = def.slices.findIndex((s) => discriminator.every((d) => valueAt(m.el, d) === fixedAt(s, d)));
      if (at < 0) {
        if (closed) this.out.push({ path, message: "matches none of the profile's slices" });
        else this.element(m.el, def, path, m.type, profile);
        continue;
      }
      if (ordered && at < last) this.out.push({ path: `${path}[${def.slices[at]!.sliceName}]`, message: 'is out of order (the slicing is ordered)' });
      last = Math.max(last, at);
      bySlice[at]!.push(m);
    }
    def.slices.forEach((s, i) => this.group(bySlice[i]!, s, `${path}[${s.sliceName}]`, profile));
  }

  /**
   * DSTU2 XML: values are attributes, so no FHIR element holds text (only the XHTML div does), and
   * its only attributes are `id`, `value` and an extension's `url` (namespace declarations aside).
   */
  markup(el: XmlElement, path: string, type: string) {
    if (el.text) this.out.push({ path, message: 'holds text, which FHIR XML allows only in the narrative div' });
    const allowed = type === 'Extension' ? ['id', 'url'] : ['id', 'value'];
    if (Object.keys(el.attrs).some((a) => !allowed.includes(a))) this.out.push({ path, message: 'has an attribute FHIR XML does not allow' });
  }

  primitive(el: XmlElement, def: ElementDef, path: string, type: string) {
    if (type === 'xhtml') return;
    if (el.children.some((c) => !(c.name === 'extension' && isFhir(c)))) this.out.push({ path, message: 'is a primitive and cannot hold elements' });
    const v = el.attrs.value;
    if (v === undefined) {
      if (!el.children.length) this.out.push({ path, message: 'has no value' });
      return;
    }
    if (v.trim() === '') this.out.push({ path, message: 'has an empty value' });
    else if (def.fixed !== undefined && v !== def.fixed) this.out.push({ path, message: `must be ${def.fixed}` });
    else if (FORMATS[type] && !FORMATS[type].test(v)) this.out.push({ path, message: `is not a valid ${type}` });
  }

  /** Bundle.entry.resource and DomainResource.contained hold one resource, checked by its own profile. */
  contained(el: XmlElement, path: string) {
    const inner = el.children.filter(isFhir);
    if (inner.length !== 1 || el.children.length !== 1) return this.out.push({ path, message: 'must hold exactly one resource' });
    this.resource(inner[0]!, path);
  }
}

const valueAt = (el: XmlElement, path: string): string | undefined => {
  let at: XmlElement | undefined = el;
  for (const step of path.split('.')) at = at?.children.find((c) => c.name === step && isFhir(c));
  return at?.attrs.value;
};

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
  if (root.name !== 'Bundle' || !isFhir(root)) return [{ path: 'Bundle', message: 'the root element must be a FHIR Bundle' }];
  const walker = new Walker(loadProfiles(), inferProfiles && PROFILE_FOR[inferProfiles]);
  walker.resource(root, 'Bundle', PROFILE.bundle);
  // A message Bundle starts with its MessageHeader (DSTU2 Bundle, type message).
  const first = root.children.find((c) => c.name === 'entry' && isFhir(c))?.children.find((c) => c.name === 'resource')?.children.find(isFhir);
  if (first && first.name !== 'MessageHeader') walker.out.push({ path: 'Bundle.entry', message: 'the first entry must be a MessageHeader' });
  return walker.out;
}
