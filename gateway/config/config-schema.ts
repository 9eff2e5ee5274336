/**
 * @module config/config-schema
 * The gateway configuration's JSON Schema, generated from the zod schema the gateway itself
 * validates with (so the two cannot drift), for editors (`"$schema"` in the config file) and
 * pipelines. It describes the file as written (zod's input side: defaults optional). Cross-field
 * rules — distinct issuers, spine shares adding up — are checked at start-up only.
 */
import { z } from 'zod';
import { GatewayConfigSchema } from './config.ts';

/** The schema's `$id`: the name the example config uses in its `"$schema"` key. */
export const CONFIG_SCHEMA_FILE = 'config.schema.json';

/**
 * The JSON Schema (draft 2020-12) of a gateway config file.
 * @example writeFileSync('config.schema.json', JSON.stringify(configJsonSchema(), null, 2))
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(GatewayConfigSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return { ...schema, $id: CONFIG_SCHEMA_FILE, title: 'fgm-status gateway configuration' };
}
