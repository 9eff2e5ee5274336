/**
 * @module demo/spine/faults
 * Ways the simulator can misbehave on purpose, so tests and the demo can show how the gateway
 * copes with a slow, broken or confused Spine. Switched on per simulator (`setFault`, or
 * `SPINE_SIM_FAULT` at start) or per test patient (`patients.json`).
 */
import { z } from 'zod';

export const FaultSchema = z.discriminatedUnion('kind', [
  /** Answer normally, but only after `ms` milliseconds. */
  z.object({ kind: z.literal('delay'), ms: z.number().int().min(0).max(600_000) }),
  /** Keep every answer until the fault is changed (setFault): lets a test prove what happened before Spine answered anyone, by order, not by the clock. */
  z.object({ kind: z.literal('hold') }),
  /** Destroy the connection without answering. */
  z.object({ kind: z.literal('drop') }),
  /** HTTP 500 with a plain-text body, as a failing load balancer would. */
  z.object({ kind: z.literal('http-500') }),
  /** HTTP 200 whose body is not XML. */
  z.object({ kind: z.literal('garbage') }),
  /** The normal answer without the FHIR namespace (still valid: Spine's own examples do this). */
  z.object({ kind: z.literal('no-namespace') }),
  /** The normal answer labelled `text/html`. */
  z.object({ kind: z.literal('wrong-content-type') }),
  /** HTTP 200 with a well-formed bundle whose Flag breaks spine-ris-flag-1-0 (status inactive). */
  z.object({ kind: z.literal('invalid-flag') }),
]);
export type Fault = z.infer<typeof FaultSchema>;

/**
 * Reads `SPINE_SIM_FAULT` forms: `delay:5000`, `hold`, `drop`, `http-500`, `garbage`, `no-namespace`,
 * `wrong-content-type`, `invalid-flag`. Throws a one-line error naming the value otherwise.
 */
export function parseFault(text: string): Fault {
  const [kind, arg] = text.trim().split(':');
  const parsed = FaultSchema.safeParse(kind === 'delay' ? { kind, ms: Number(arg) } : { kind });
  if (!parsed.success) throw new Error(`SPINE_SIM_FAULT: "${text}" is not a fault (delay:<ms>, hold, drop, http-500, garbage, no-namespace, wrong-content-type, invalid-flag)`);
  return parsed.data;
}
