/**
 * @module test/repo/config-docs
 * The configuration reference (docs/configuration.md) is generated from the config's JSON Schema
 * and the reload rules (KEY_APPLIES), so a key's meaning is written once, in the zod schema's
 * .describe(): this fails when the page is stale, and when a property of the committed
 * config.schema.json has no description (an editor would offer the key unexplained).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { configJsonSchema } from '../../gateway/config/config-schema.ts';
import { KEY_APPLIES } from '../../gateway/server/config-reload.ts';
import { PAGE, render, update } from '../../scripts/config-docs.ts';

const committed = JSON.parse(readFileSync('gateway/config/config.schema.json', 'utf8'));

describe('the configuration reference is generated (issue 24)', () => {
  it('docs/configuration.md is the page generated from the config schema and KEY_APPLIES (run npm run docs)', () => {
    const page = readFileSync(PAGE, 'utf8');
    assert.equal(update(page, render(configJsonSchema())), page, `${PAGE} is stale: run npm run docs`);
  });

  it('every property at every level of gateway/config/config.schema.json has a description', () => {
    // Walked here, not by the generator, so a generator that skipped a branch would not hide one.
    const missing: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}/${i}`));
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.properties && typeof o.properties === 'object')
        for (const [key, child] of Object.entries(o.properties as Record<string, { description?: string }>))
          if (!child.description?.trim()) missing.push(`${at}/${key}`);
      for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
    };
    walk(committed, '');
    assert.deepEqual(missing, [], 'give each a .describe() in gateway/config/config.ts, then npm run config-schema');
  });

  it('the generator refuses a property without a description, naming it', () => {
    const schema = {
      type: 'object',
      properties: { listen: { type: 'object', description: 'x', properties: { port: { type: 'integer' } } } },
    };
    assert.throws(() => render(schema), /no \.describe\(\) for listen\.port\b/);
  });

  it('the page has a row for every key KEY_APPLIES names, saying whether a reload applies it', () => {
    const page = readFileSync(PAGE, 'utf8');
    const row = (key: string) => page.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
    for (const key of Object.keys(KEY_APPLIES)) assert.ok(row(key), `${key} has a row`);
    assert.match(row('listen.port')!, /\| restart to apply \|/);
    assert.match(row('clients[].enabled')!, /\| applies on reload \|/);
    assert.match(row('spine.rateLimit.perSecond')!, /restart to apply when spine\.rateLimit\.redisUrl is set/);
  });
});
