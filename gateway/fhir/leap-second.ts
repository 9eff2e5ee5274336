/**
 * @module fhir/leap-second
 * Spine may write a leap second (`…T23:59:60Z`): the safety core reads it, but the DSTU2 instant
 * the gateway must send (its profiles, strict on what we send) and JavaScript's Date both stop at
 * :59. The gateway passes it on as the second before, as the safety core reads it.
 */

/** `v` with a leap second (`:60`, with or without a fraction, before the zone) written as `:59`; any other instant unchanged. */
export const withoutLeapSecond = (v: string): string => v.replace(/:60(?=(\.\d+)?(Z|[+-]\d{2}:\d{2})$)/, ':59');
