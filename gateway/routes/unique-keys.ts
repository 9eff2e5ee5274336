/**
 * @module routes/unique-keys
 * Whether a JSON text names a key twice in one object. JSON.parse keeps the last value, so
 * `{"nhsNumber":"A",…,"nhsNumber":"B"}` would be answered for B while a proxy, a log reader or the
 * EPR's own code may have read A (RFC 8259 §4: with names that are not unique, what a receiver does
 * is unpredictable). The widget API refuses such a body as rejected input (SMSP-0001).
 */

/** A JSON string literal from its opening quote (sticky: matched at `lastIndex`). */
const STRING = /"(?:[^"\\]|\\.)*"/y;

/**
 * True when an object in `text` (valid JSON: call after JSON.parse accepted it) has a key twice.
 * Keys are compared as JSON reads them: `"\u006ehsNumber"` is `"nhsNumber"`.
 * @example hasDuplicateKey('{"a":1,"a":2}') // true
 */
export function hasDuplicateKey(text: string): boolean {
  // One entry per open object (the keys it has so far) or array (null).
  const open: (Set<string> | null)[] = [];
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      STRING.lastIndex = i;
      const literal = STRING.exec(text)![0];
      i += literal.length - 1;
      const keys = open.at(-1);
      if (keyNext && keys) {
        const key = JSON.parse(literal) as string;
        if (keys.has(key)) return true;
        keys.add(key);
        keyNext = false;
      }
    } else if (c === '{') {
      open.push(new Set());
      keyNext = true;
    } else if (c === '[') {
      open.push(null);
    } else if (c === '}' || c === ']') {
      open.pop();
      keyNext = false;
    } else if (c === ',') {
      // After a comma in an object comes a key; in an array, a value.
      keyNext = open.at(-1) instanceof Set;
    }
  }
  return false;
}
