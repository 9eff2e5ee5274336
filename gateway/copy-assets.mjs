// Part of `npm run build`: the files the built gateway reads at run time beside its modules
// (tsc emits only the compiled TypeScript into dist/gateway/).
import { cpSync } from 'node:fs';

for (const path of ['fhir/vocabulary.json', 'fhir/profiles', 'routes/admin-page']) {
  cpSync(new URL(`./${path}`, import.meta.url), new URL(`../dist/gateway/${path}`, import.meta.url), { recursive: true });
}
