// Part of `npm run build`: the files the built gateway reads at run time beside its modules
// (tsc emits only the compiled TypeScript into dist/gateway/), the package.json of its compiled
// copy of the element's shared modules, and the config's JSON Schema, generated from the compiled
// zod schema.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';

for (const path of ['fhir/vocabulary.json', 'fhir/profiles', 'routes/admin-page']) {
  cpSync(new URL(`../gateway/${path}`, import.meta.url), new URL(`../dist/gateway/${path}`, import.meta.url), {
    recursive: true,
  });
}
// The element's own package.json, its exports of the shared TypeScript modules pointed at the
// compiled ones (widget/tsconfig.shared.json): the gateway imports both by package name, so this
// comes before anything below loads a gateway module.
const element = JSON.parse(readFileSync(new URL('../widget/package.json', import.meta.url), 'utf8'));
const shared = Object.fromEntries(
  Object.entries(element.exports).flatMap(([key, target]) =>
    typeof target === 'string' && target.endsWith('.ts') ? [[key, target.replace(/\.ts$/, '.js')]] : [],
  ),
);
const built = {
  name: element.name,
  version: element.version,
  type: element.type,
  exports: { ...shared, './package.json': './package.json' },
};
writeFileSync(
  new URL('../dist/node_modules/@fgm-status/element/package.json', import.meta.url),
  `${JSON.stringify(built, null, 2)}\n`,
);

const { configJsonSchema } = await import('../dist/gateway/config/config-schema.js');
writeFileSync(
  new URL('../dist/gateway/config.schema.json', import.meta.url),
  `${JSON.stringify(configJsonSchema(), null, 2)}\n`,
);

// The profile trees, read from the snapshots once here rather than at every start (fhir/profile-snapshots.ts).
const { readSnapshots, serializeProfiles } = await import('../dist/gateway/fhir/profile-snapshots.js');
writeFileSync(new URL('../dist/gateway/fhir/profiles.json', import.meta.url), serializeProfiles(readSnapshots()));
