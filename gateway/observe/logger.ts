/**
 * @module observe/logger
 * Structured one-line JSON logs. The gateway takes a Logger by injection so tests can capture
 * every line; callers pass only fixed phrases, ids and codes — never patient data or tokens.
 */

export type LogFields = Record<string, string | number | boolean | null | undefined>;
export type Logger = (fields: LogFields) => void;

/**
 * A Logger writing one JSON object per line, with a UTC time, to `write` (default stdout).
 * @example const log = jsonLineLogger(); log({ level: 'info', msg: 'listening', url })
 */
export function jsonLineLogger(write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  return (fields) => write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');
}
