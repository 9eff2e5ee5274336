/**
 * @module fhir/profile-snapshots
 * The FGM-IS StructureDefinitions, read from the snapshots in `profiles/` (copied verbatim from
 * the spec's `profiles/*.xml`) into element trees the validator walks. Nothing here restates a
 * profile's rules: cardinalities, fixed values, element order and slicing all come from the files.
 *
 * The snapshots leave out what every DSTU2 resource or data type has (Resource.id, meta, text…;
 * the children of an unexpanded Reference or Coding): those come from the DSTU2 base definitions
 * below, and only where a snapshot does not define the element itself.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parseXml, type XmlElement } from './xml.ts';

export interface Slicing {
  /** Child paths (relative to the sliced element) whose fixed values tell the slices apart. */
  discriminator: string[];
  ordered: boolean;
  closed: boolean;
}

/** One element definition, with its children in DSTU2 order. */
export interface ElementDef {
  /** The profile's path, e.g. `Practitioner.identifier`; the base's for DSTU2 base elements. */
  path: string;
  /** The XML element name: the path's last step, `value[x]` for a choice. */
  name: string;
  sliceName?: string;
  min: number;
  max: number;
  /** Type codes: `string`, `Identifier`, `Resource`, `BackboneElement`… */
  types: string[];
  fixed?: string;
  slicing?: Slicing;
  slices: ElementDef[];
  /** Children the snapshot defines (base elements not yet merged in). */
  defined: ElementDef[];
  /** nameReference: this element's content is the named element's. */
  contentOf?: string;
  /** The snapshot marks it isModifier: it may change the meaning of the element holding it. */
  isModifier?: true;
  /** The snapshot's defaultValue[x] (a primitive's value): what the element means when absent. */
  defaultValue?: string;
}

export interface Profile {
  url: string;
  /** The resource type the profile constrains, e.g. `Practitioner`. */
  type: string;
  root: ElementDef;
  /** Elements with a `name`, for nameReference. */
  named: Map<string, ElementDef>;
}

type Base = [name: string, type: string, min: number, max: number];
const MANY = Number.POSITIVE_INFINITY;

/** DSTU2 base: what a Resource and a DomainResource hold before their own elements. */
const RESOURCE: Base[] = [
  ['id', 'id', 0, 1],
  ['meta', 'Meta', 0, 1],
  ['implicitRules', 'uri', 0, 1],
  ['language', 'code', 0, 1],
];
const DOMAIN_RESOURCE: Base[] = [
  ...RESOURCE,
  ['text', 'Narrative', 0, 1],
  ['contained', 'Resource', 0, MANY],
  ['extension', 'Extension', 0, MANY],
  ['modifierExtension', 'Extension', 0, MANY],
];
const ELEMENT: Base[] = [['extension', 'Extension', 0, MANY]];
const BACKBONE: Base[] = [...ELEMENT, ['modifierExtension', 'Extension', 0, MANY]];

/** DSTU2 data types the profiles use without expanding them. */
const DATA_TYPES: Record<string, Base[]> = {
  Meta: [
    ['versionId', 'id', 0, 1],
    ['lastUpdated', 'instant', 0, 1],
    ['profile', 'uri', 0, MANY],
    ['security', 'Coding', 0, MANY],
    ['tag', 'Coding', 0, MANY],
  ],
  Reference: [
    ['reference', 'string', 0, 1],
    ['display', 'string', 0, 1],
  ],
  Coding: [
    ['system', 'uri', 0, 1],
    ['version', 'string', 0, 1],
    ['code', 'code', 0, 1],
    ['display', 'string', 0, 1],
    ['userSelected', 'boolean', 0, 1],
  ],
  CodeableConcept: [
    ['coding', 'Coding', 0, MANY],
    ['text', 'string', 0, 1],
  ],
  Identifier: [
    ['use', 'code', 0, 1],
    ['type', 'CodeableConcept', 0, 1],
    ['system', 'uri', 0, 1],
    ['value', 'string', 0, 1],
    ['period', 'Period', 0, 1],
    ['assigner', 'Reference', 0, 1],
  ],
  Period: [
    ['start', 'dateTime', 0, 1],
    ['end', 'dateTime', 0, 1],
  ],
  Narrative: [
    ['status', 'code', 1, 1],
    ['div', 'xhtml', 1, 1],
  ],
};

/** Primitive types are written `<name value="…"/>`; their type codes start in lower case. */
// A code unit compared, not a regular expression: the validator asks for every element it walks (issue 22).
export const isPrimitive = (type: string) => {
  const c = type.charCodeAt(0);
  return c >= 0x61 && c <= 0x7a;
};

const baseDef = (parent: string, [name, type, min, max]: Base): ElementDef => ({
  path: `${parent}.${name}`,
  name,
  min,
  max,
  types: [type],
  slices: [],
  defined: [],
});

const cache = new WeakMap<ElementDef, ElementDef[]>();

/**
 * The element's children in DSTU2 order: the base elements of its kind first (each replaced by
 * the snapshot's own definition where it has one), then the snapshot's children. Element.id is an
 * XML attribute, not a child, so a snapshot's `<type>.id` below resource level is dropped.
 */
export function childrenOf(def: ElementDef, profile: Profile): ElementDef[] {
  const known = cache.get(def);
  if (known) return known;
  const source = def.contentOf ? profile.named.get(def.contentOf)! : def;
  const type = source.types.length === 1 ? source.types[0]! : '';
  const isRoot = def === profile.root;
  const prefix = isRoot
    ? type === 'DomainResource'
      ? DOMAIN_RESOURCE
      : RESOURCE
    : type === 'BackboneElement'
      ? BACKBONE
      : isPrimitive(type)
        ? []
        : ELEMENT;
  const defined = source.defined.filter((c) => isRoot || c.name !== 'id');
  const expanded =
    defined.length || isRoot || type === 'BackboneElement'
      ? defined
      : (DATA_TYPES[type] ?? []).map((b) => baseDef(def.path, b));
  const own = new Map(expanded.map((c) => [c.name, c]));
  const merged = [
    ...prefix.map((b) => own.get(b[0]) ?? baseDef(def.path, b)),
    ...expanded.filter((c) => !prefix.some((b) => b[0] === c.name)),
  ];
  cache.set(def, merged);
  return merged;
}

/** True when the validator knows the element's content: a primitive, a known type, or expanded. */
export function isKnownType(def: ElementDef): boolean {
  const type = def.types.length === 1 ? def.types[0]! : '';
  return (
    def.defined.length > 0 ||
    !!def.contentOf ||
    isPrimitive(type) ||
    type in DATA_TYPES ||
    ['BackboneElement', 'Resource', 'Extension'].includes(type)
  );
}

const attr = (el: XmlElement, name: string) => el.children.find((c) => c.name === name)?.attrs.value;

function readDef(el: XmlElement, where: string): ElementDef {
  const path = attr(el, 'path')!;
  const max = attr(el, 'max') ?? '*';
  const fixed = el.children.filter((c) => c.name.startsWith('fixed') || c.name.startsWith('pattern'));
  // Refuse at load time what the validator would otherwise silently ignore.
  if (fixed.some((f) => f.name.startsWith('pattern') || f.attrs.value === undefined))
    throw new Error(`${where}: ${path} has a pattern or complex fixed value, which the validator does not check`);
  const slicing = el.children.find((c) => c.name === 'slicing');
  const name = attr(el, 'name');
  const defaultValue = el.children.find((c) => c.name.startsWith('defaultValue'))?.attrs.value;
  const def: ElementDef = {
    path,
    name: path.slice(path.lastIndexOf('.') + 1),
    min: Number(attr(el, 'min') ?? 0),
    max: max === '*' ? MANY : Number(max),
    types: el.children.filter((c) => c.name === 'type').map((t) => attr(t, 'code')!),
    slices: [],
    defined: [],
    ...(name !== undefined && { sliceName: name.trim() }),
    ...(fixed[0] && { fixed: fixed[0].attrs.value! }),
    ...(attr(el, 'nameReference') && { contentOf: attr(el, 'nameReference')! }),
    ...(attr(el, 'isModifier') === 'true' && { isModifier: true as const }),
    ...(defaultValue !== undefined && { defaultValue }),
  };
  if (slicing) {
    def.slicing = {
      discriminator: slicing.children.filter((c) => c.name === 'discriminator').map((d) => d.attrs.value!),
      ordered: attr(slicing, 'ordered') === 'true',
      closed: attr(slicing, 'rules') === 'closed',
    };
  }
  return def;
}

/** Reads one StructureDefinition's snapshot into an element tree. */
function readProfile(xml: string, where: string): Profile {
  // Our own copies of the spec's profiles, not a message: the largest holds about 7,000 elements.
  const parsed = parseXml(xml, { maxBytes: 4 * 1024 * 1024, maxElements: 50_000 });
  if (!parsed.ok) throw new Error(`${where}: ${parsed.error.message}`);
  const sd = parsed.value;
  const snapshot = sd.children.find((c) => c.name === 'snapshot');
  const url = attr(sd, 'url');
  if (sd.name !== 'StructureDefinition' || !snapshot || !url)
    throw new Error(`${where}: not a StructureDefinition with a snapshot`);
  const defs = snapshot.children.filter((c) => c.name === 'element').map((e) => readDef(e, where));
  const root = defs[0]!;
  const named = new Map<string, ElementDef>();
  // The element each path currently adds children to: the latest definition at that path, a slice once one starts.
  const holder = new Map<string, ElementDef>([[root.path, root]]);
  for (const def of defs.slice(1)) {
    const parent = holder.get(def.path.slice(0, def.path.lastIndexOf('.')));
    if (!parent) throw new Error(`${where}: ${def.path} comes before its parent`);
    const entry = parent.defined.findLast((c) => c.path === def.path);
    if (def.sliceName !== undefined && !def.slicing && entry?.slicing) entry.slices.push(def);
    else {
      parent.defined.push(def);
      if (def.sliceName !== undefined) named.set(def.sliceName, def);
    }
    holder.set(def.path, def);
    for (const p of holder.keys()) if (p.startsWith(`${def.path}.`)) holder.delete(p);
  }
  for (const def of defs) {
    if (!def.slicing) continue;
    if (def.slices.length && !def.slicing.discriminator.length)
      throw new Error(`${where}: ${def.path} has slices but no discriminator`);
    for (const slice of def.slices)
      for (const d of def.slicing.discriminator)
        if (fixedAt(slice, d) === undefined)
          throw new Error(`${where}: slice ${slice.sliceName} of ${def.path} has no fixed ${d}`);
  }
  return { url, type: root.path, root, named };
}

/** The fixed value a slice sets at a discriminator path such as `system`. */
export function fixedAt(def: ElementDef, path: string): string | undefined {
  let at: ElementDef | undefined = def;
  for (const step of path.split('.')) at = at?.defined.find((c) => c.name === step);
  return at?.fixed;
}

let paths: Set<string> | undefined;

/** Every element path the profiles define, base elements included: the only paths a log may name. */
export function knownPaths(): Set<string> {
  if (paths) return paths;
  const found = new Set<string>();
  const walk = (def: ElementDef, profile: Profile) => {
    if (found.has(`${def.path}\u0000${def.sliceName ?? ''}`)) return;
    found.add(`${def.path}\u0000${def.sliceName ?? ''}`);
    found.add(def.path);
    // An extension holds extensions, a resource is walked from its own profile: stop there.
    if (def !== profile.root && ['Extension', 'Resource'].includes(def.types[0] ?? '')) return;
    for (const c of [...childrenOf(def, profile), ...def.slices]) walk(c, profile);
  };
  for (const p of loadProfiles().values()) walk(p.root, p);
  paths = new Set([...found].filter((p) => !p.includes('\u0000')));
  return paths;
}

let modifiers: Map<string, string | undefined> | undefined;

/**
 * Every path a snapshot marks isModifier (`Patient.active`, `Patient.deceased[x]`…), slices
 * included, with the default value a snapshot gives it (`Patient.active` true), if any.
 */
export function modifierPaths(): ReadonlyMap<string, string | undefined> {
  if (modifiers) return modifiers;
  const found = new Map<string, string | undefined>();
  const walk = (def: ElementDef) => {
    if (def.isModifier) found.set(def.path, found.get(def.path) ?? def.defaultValue);
    for (const c of [...def.defined, ...def.slices]) walk(c);
  };
  for (const p of loadProfiles().values()) walk(p.root);
  modifiers = found;
  return found;
}

let profiles: Map<string, Profile> | undefined;

/**
 * The built gateway's copy of the trees below, written by `npm run build` from the same snapshots
 * (about 100 KB): parsing the 1.2 MB of XML at start leaves some 25 MB of heap the process keeps.
 * Absent from source (tests, demo), where the snapshots are read each time.
 */
const BUILT = new URL('./profiles.json', import.meta.url);

/** Every profile in `profiles/` by canonical URL, read once. */
export function loadProfiles(): Map<string, Profile> {
  profiles ??= existsSync(BUILT) ? reviveProfiles(readFileSync(BUILT, 'utf8')) : readSnapshots();
  return profiles;
}

/** Reads the snapshot files themselves. */
export function readSnapshots(): Map<string, Profile> {
  const dir = new URL('./profiles/', import.meta.url);
  const read = new Map<string, Profile>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.xml'))) {
    const p = readProfile(readFileSync(new URL(file, dir), 'utf8'), file);
    read.set(p.url, p);
  }
  return read;
}

/** The trees as JSON (`max` of many written as "*"; `named` rebuilt on reading, as the same objects). */
export function serializeProfiles(read: Map<string, Profile>): string {
  return JSON.stringify(
    [...read.values()].map(({ named: _, ...p }) => p),
    (k, v: unknown) => (k === 'max' && v === MANY ? '*' : v),
  );
}

/** The inverse of serializeProfiles: `named` holds each non-slice definition with a name, as readProfile files them. */
export function reviveProfiles(json: string): Map<string, Profile> {
  const list = JSON.parse(json, (k, v: unknown) => (k === 'max' && v === '*' ? MANY : v)) as Omit<Profile, 'named'>[];
  return new Map(
    list.map((p) => {
      const named = new Map<string, ElementDef>();
      const walk = (def: ElementDef) => {
        for (const c of def.defined) if (c.sliceName !== undefined) named.set(c.sliceName, c);
        for (const c of [...def.defined, ...def.slices]) walk(c);
      };
      walk(p.root);
      return [p.url, { ...p, named }];
    }),
  );
}
