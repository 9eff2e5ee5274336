/**
 * @module demo/spine/patients
 * The simulator's test patients, loaded from `patients.json` and validated once.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FaultSchema } from './faults.ts';
import { isValidNhsNumber } from '../../widget/rules/nhs-number.ts';
import { isIsoDate } from '../../widget/rules/age.ts';

const date = z.string().refine(isIsoDate, 'must be a date YYYY-MM-DD');

export const PatientSchema = z.object({
  nhsNumber: z.string().refine(isValidNhsNumber, 'must be a valid NHS number'),
  birthDate: date,
  /** The FGM-IS indicator, or null when Spine holds no record. */
  fgm: z.object({ assessmentDate: date }).nullable(),
  fault: FaultSchema.optional(),
});
export type Patient = z.infer<typeof PatientSchema>;

const FileSchema = z.object({ $comment: z.string().optional(), patients: z.array(PatientSchema) });

export function loadPatients(file: string | URL = new URL('./patients.json', import.meta.url)): Map<string, Patient> {
  const parsed = FileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`patients file ${String(file)}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return new Map(parsed.data.patients.map((p) => [p.nhsNumber, p]));
}
