// Part of `npm run build`: the files the built gateway reads at run time beside its modules
// (tsc emits only the compiled TypeScript into dist/gateway/), and the config's JSON Schema,
// generated from the compiled zod schema.
import { cpSync, writeFileSync } from 'node:fs';

for (const path of ['fhir/vocabulary.json', 'fhir/profiles', 'routes/admin-page']) {
  cpSync(new URL(`./${path}`, import.meta.url), new URL(`../dist/gateway/${path}`, import.meta.url), { recursive: true });
}
const { configJsonSchema } = await import('../dist/gateway/config-schema.js');
writeFileSync(new URL('../dist/gateway/config.schema.json', import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
