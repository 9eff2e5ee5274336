/**
 * @module fhir/bounded-json
 * JSON from outside (a CDS Hooks request, an EPR's FHIR server) parsed only when its structure is
 * bounded. A byte cap alone does not bound memory: 1 MB of `[{},{},…]` is a third of a million
 * objects, tens of MB once parsed, and a few of those at once ran the gateway out of heap (issue 21
 * review). One linear scan counts objects and arrays (outside strings), their depth and the values in them before
 * `JSON.parse` runs.
 */

/** A patient-view request with its prefetched Patient, Practitioner and PractitionerRole holds a few hundred; a Patient fewer. */
export const MAX_JSON_CONTAINERS = 2000;
/** FHIR resources nest a dozen levels at most (a contained resource's extension's coding). */
export const MAX_JSON_DEPTH = 64;
/** Members and elements together (one more than the commas): `{"a":1,"b":1,…}` of 64 KB is ten thousand keys, five times its size parsed (issue 21 review 21b). A patient-view request holds a few hundred. */
export const MAX_JSON_VALUES = 5000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** Why `text` is refused, or undefined when its structure is within the bounds. Malformed JSON is left to `JSON.parse`. */
export function jsonStructureRefusal(
  text: string,
  { maxContainers = MAX_JSON_CONTAINERS, maxDepth = MAX_JSON_DEPTH, maxValues = MAX_JSON_VALUES } = {},
): string | undefined {
  let containers = 0;
  let commas = 0;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++containers > maxContainers) return `more than ${maxContainers} JSON objects and arrays`;
      if (++depth > maxDepth) return `JSON nested deeper than ${maxDepth}`;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
    else if (c === COMMA && ++commas >= maxValues) return `more than ${maxValues} JSON members and elements`;
  }
  return undefined;
}

/** `JSON.parse(text)` when its structure is within the bounds and it is JSON; otherwise undefined. Never throws. */
export function parseBoundedJson(
  text: string,
  bounds?: { maxContainers?: number; maxDepth?: number; maxValues?: number },
): unknown {
  if (jsonStructureRefusal(text, bounds) !== undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
