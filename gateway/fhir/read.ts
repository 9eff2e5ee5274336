/**
 * @module fhir/read
 * Small helpers that read FHIR elements from the XML tree while checking the profiles'
 * cardinalities and fixed values. A violation throws `ProfileViolation` naming the element;
 * the codec's entry points catch it and return a typed `CodecResult` — callers never see a throw.
 */
import { isIsoDate } from '@fgm-status/element/rules/age';
import { MAX_IDENTIFIER_LENGTH, overLong } from '../audit/audited-identifier.ts';
import { ASID_PREFIX, EVENT_SYSTEM } from './constants.ts';
import { knownPaths } from './profile-snapshots.ts';
import { validateMessage, type ValidateOptions, type Violation } from './profile-validator.ts';
import { isFhir, type XmlElement } from './xml.ts';
import type { CodecResult } from './types.ts';

/** `refused`: the value itself, when it is the value's own size that is refused (the caller audits what refusedValue keeps of it). */
export class ProfileViolation extends Error {
  constructor(
    readonly element: string,
    message: string,
    readonly refused?: string,
  ) {
    super(`${element}: ${message}`);
  }
}

/** A value format: `test` says whether a value is written in it. */
export interface Format {
  test(value: string): boolean;
}

const DATE_TIME_PARTS = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?/;
const ZONE = /([+-])(\d{2}):(\d{2})$/;

/** True when the date (and time, and zone) written in `v` exist: 2010-09-31 and 25:00 do not (SMSP-VAL-004). */
function isRealDateTime(v: string): boolean {
  const [, date, h = '0', mi = '0', s = '0'] = DATE_TIME_PARTS.exec(v) ?? [];
  const zone = ZONE.exec(v);
  return (
    !!date &&
    isIsoDate(date) &&
    Number(h) < 24 &&
    Number(mi) < 60 &&
    (Number(s) < 60 || (s === '60' && isLeapMinute(Number(h) * 60 + Number(mi), zone))) &&
    (!zone || (Number(zone[2]) <= 14 && Number(zone[3]) < 60))
  );
}

/** A leap second (`:60`, which FHIR's dateTime allows) is inserted only at 23:59 UTC: local `minute` in `zone` must be that. */
function isLeapMinute(minute: number, zone: RegExpExecArray | null): boolean {
  const offset = zone ? (zone[1] === '-' ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3])) : 0;
  return (((minute - offset) % 1440) + 1440) % 1440 === 23 * 60 + 59;
}

/** A date-time format whose values must also be real dates and times, not just look like them. */
const dateTime = (pattern: RegExp): Format => ({ test: (v) => pattern.test(v) && isRealDateTime(v) });

// DSTU2 puts no bound on the digits of a fraction (`(\.[0-9]+)?`): ten are as valid as three (SMSP-VAL-004).
export const INSTANT = dateTime(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
/** A dateTime with at least a full date: the assessment date is shown as D/MM/YYYY. */
export const FULL_DATE_TIME = dateTime(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/);

/** Any DSTU2 dateTime: a full date (and time), or a partial date `YYYY` / `YYYY-MM`. */
export const DATE_TIME: Format = { test: (v) => /^\d{4}(-(0[1-9]|1[0-2]))?$/.test(v) || FULL_DATE_TIME.test(v) };

/** A FHIR `id` (DSTU2): what the SMSP may echo back in MessageHeader.response.identifier. */
export const FHIR_ID: Format = { test: (v) => /^[A-Za-z0-9\-.]{1,64}$/.test(v) };

/** FHIR children of `el` called `name` (elements in a foreign namespace are not FHIR elements). */
export function all(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name && isFhir(c));
}

/** The single child `name`; more than one is a violation, none is one when `required`. */
export function one(el: XmlElement, name: string, path: string, required: true): XmlElement;
export function one(el: XmlElement, name: string, path: string, required?: boolean): XmlElement | undefined;
export function one(el: XmlElement, name: string, path: string, required = false): XmlElement | undefined {
  const found = all(el, name);
  if (found.length > 1) throw new ProfileViolation(path, 'appears more than once (max 1)');
  if (required && found.length === 0) throw new ProfileViolation(path, 'is required');
  return found[0];
}

interface ValueRule {
  required?: boolean;
  fixed?: string;
  pattern?: Format;
  /** An identifier the audit trail records: at most MAX_IDENTIFIER_LENGTH characters (audited-identifier.ts). */
  identifier?: true;
}

/** The `value` attribute of the primitive child `name`, checked against the rule. */
export function value(el: XmlElement, name: string, path: string, rule: ValueRule & { required: true }): string;
export function value(el: XmlElement, name: string, path: string, rule?: ValueRule): string | undefined;
export function value(el: XmlElement, name: string, path: string, rule: ValueRule = {}): string | undefined {
  const child = one(el, name, path, rule.required ?? false);
  if (!child) return undefined;
  const v = child.attrs.value;
  // FHIR forbids empty and all-whitespace values; keep the value as written otherwise.
  if (v === undefined || v.trim() === '') throw new ProfileViolation(path, 'has no value');
  if (rule.fixed !== undefined && v !== rule.fixed) throw new ProfileViolation(path, `must be ${rule.fixed}`);
  if (rule.pattern && !rule.pattern.test(v)) throw new ProfileViolation(path, 'is not in the required format');
  if (rule.identifier && overLong(v))
    throw new ProfileViolation(path, `is longer than ${MAX_IDENTIFIER_LENGTH} characters`, v);
  return v;
}

/** The digits of an endpoint written as `urn:nhs:addressing:asid:<asid>`. */
export function asid(endpoint: string, path: string): string {
  const digits = endpoint.startsWith(ASID_PREFIX) ? endpoint.slice(ASID_PREFIX.length) : '';
  if (!/^\d{1,12}$/.test(digits)) throw new ProfileViolation(path, `must be ${ASID_PREFIX}<ASID>`);
  return digits;
}

export interface MessageBundle {
  id: string;
  header: XmlElement;
  /** Every entry's resource, keyed `Type/id`. */
  resources: Map<string, XmlElement>;
}

/** Checks the spine-message-bundle-1-0 shell and indexes its resources for reference resolution. */
export function readMessageBundle(root: XmlElement): MessageBundle {
  if (root.name !== 'Bundle' || !isFhir(root))
    throw new ProfileViolation('Bundle', 'the root element must be a FHIR Bundle');
  const id = value(root, 'id', 'Bundle.id', { required: true });
  value(root, 'type', 'Bundle.type', { required: true, fixed: 'message' });
  const entries = all(root, 'entry');
  if (entries.length === 0) throw new ProfileViolation('Bundle.entry', 'is required');
  const resources = new Map<string, XmlElement>();
  const list = entries.map((entry) => {
    const holder = one(entry, 'resource', 'Bundle.entry.resource', true);
    const inner = holder.children.filter(isFhir);
    if (inner.length !== 1) throw new ProfileViolation('Bundle.entry.resource', 'must hold exactly one resource');
    const resource = inner[0]!;
    // The element name is the message's: name it only when the profiles know it as a resource.
    const idPath = knownPaths().has(`${resource.name}.id`) ? `${resource.name}.id` : 'Bundle.entry.resource';
    const rid = value(resource, 'id', idPath, { required: true });
    const key = `${resource.name}/${rid}`;
    if (resources.has(key)) throw new ProfileViolation(idPath, 'two entries have the same type and id');
    resources.set(key, resource);
    return resource;
  });
  const header = list[0]!;
  if (header.name !== 'MessageHeader')
    throw new ProfileViolation('Bundle.entry', 'the first entry must be a MessageHeader');
  return { id, header, resources };
}

/** The bundle entry a `Type/id` reference points at; it must exist and be of `type`. */
export function resolve(bundle: MessageBundle, reference: string, path: string, type: string): XmlElement {
  const target = bundle.resources.get(reference);
  if (!reference.startsWith(`${type}/`) || !target)
    throw new ProfileViolation(path, `does not resolve to a ${type} in the bundle`);
  return target;
}

/** The only resource of `type` in the bundle, if there is exactly one. */
export function only(bundle: MessageBundle, type: string, path: string): XmlElement {
  const found = [...bundle.resources.values()].filter((r) => r.name === type);
  if (found.length !== 1)
    throw new ProfileViolation(path, found.length ? `more than one ${type} entry` : `a ${type} entry is required`);
  return found[0]!;
}

/**
 * Runs a reader, turning a ProfileViolation into the typed `invalid` result. `element` reaches
 * logs, so it is always a path the profiles define (the query parameters' names being the only
 * bracketed part), never text from the message: anything else becomes `Bundle`.
 */
export function guard<T>(read: () => T): CodecResult<T> {
  try {
    return { ok: true, value: read() };
  } catch (e) {
    if (!(e instanceof ProfileViolation))
      return { ok: false, error: { kind: 'invalid', element: 'Bundle', message: 'could not read the message' } };
    const known = knownPaths().has(e.element.replace(/\[(RiskIndicator|NHSNumber)\]/g, ''));
    return {
      ok: false,
      error: {
        kind: 'invalid',
        element: known ? e.element : 'Bundle',
        message: e.message,
        ...(e.refused !== undefined && { refused: e.refused }),
      },
    };
  }
}

/**
 * The reader's result, unless the message also breaks a profile snapshot somewhere the reader does
 * not look (e.g. a `max = 0` element): then the first violation (SMSP-VAL-001/004).
 */
export function conforming<T>(
  root: XmlElement,
  result: CodecResult<T>,
  allow: (v: Violation) => boolean = () => false,
  options: ValidateOptions = {},
): CodecResult<T> {
  if (!result.ok) return result;
  const v = validateMessage(root, options).find((x) => !allow(x));
  return v ? { ok: false, error: { kind: 'invalid', element: v.path, message: v.message } } : result;
}

/**
 * What the request and response MessageHeader profiles (2-0) share: id, an instant with zone,
 * the event (fixed system, `eventCode`), and source and destination ASIDs.
 */
export function readHeader(mh: XmlElement, eventCode: string) {
  const messageId = value(mh, 'id', 'MessageHeader.id', { required: true, pattern: FHIR_ID });
  const timestamp = value(mh, 'timestamp', 'MessageHeader.timestamp', { required: true, pattern: INSTANT });
  const event = one(mh, 'event', 'MessageHeader.event', true);
  value(event, 'system', 'MessageHeader.event.system', { required: true, fixed: EVENT_SYSTEM });
  value(event, 'code', 'MessageHeader.event.code', { required: true, fixed: eventCode });
  const source = one(mh, 'source', 'MessageHeader.source', true);
  for (const contact of all(source, 'contact'))
    value(contact, 'system', 'MessageHeader.source.contact.system', { required: true });
  const sourceAsid = asid(
    value(source, 'endpoint', 'MessageHeader.source.endpoint', { required: true }),
    'MessageHeader.source.endpoint',
  );
  const sourceName = value(source, 'name', 'MessageHeader.source.name');
  const destination = one(mh, 'destination', 'MessageHeader.destination', true);
  const destinationAsid = asid(
    value(destination, 'endpoint', 'MessageHeader.destination.endpoint', { required: true }),
    'MessageHeader.destination.endpoint',
  );
  return { messageId, timestamp, sourceAsid, sourceName, destinationAsid };
}
