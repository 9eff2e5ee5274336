/**
 * @module test/gateway/gateway-config-example
 * The configuration an operator starts from: `gateway/config/config.example.json` starts a gateway as
 * shipped once `npm run example:setup` has made its files; it validates against the JSON Schema
 * generated from the zod schema (checked by ajv, an independent JSON Schema validator), and that
 * schema is committed up to date and ships with the build. Every gateway config example in the
 * docs (a ```json block whose keys are the config's own, often a fragment of one) validates too,
 * merged into the shipped example, so a key a page shows is a key the gateway accepts.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { configJsonSchema } from '../../gateway/config/config-schema.ts';
import { loadConfig } from '../../gateway/config/config.ts';
import { startGateway } from '../../gateway/server/server.ts';
import { setUpExample } from '../../demo/example-setup.ts';

const read = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const example = () => read('gateway/config/config.example.json');
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(read('gateway/config/config.schema.json'));

describe('the config JSON Schema', () => {
  it('gateway/config/config.schema.json is the schema generated from the zod schema (run "npm run config-schema" after changing config.ts)', () => {
    assert.deepEqual(read('gateway/config/config.schema.json'), JSON.parse(JSON.stringify(configJsonSchema())));
  });
  it('ships with the build as dist/gateway/config.schema.json', () => {
    assert.ok(existsSync('dist/gateway/config.schema.json'), 'run "npm run build" first (npm test does)');
    assert.deepEqual(read('dist/gateway/config.schema.json'), read('gateway/config/config.schema.json'));
  });
  it('the example names the schema and validates against it (ajv)', () => {
    const raw = example();
    assert.equal(raw.$schema, 'config.schema.json');
    assert.ok(existsSync(join('gateway', 'config', raw.$schema)), 'the $schema path resolves beside the example');
    assert.equal(validate(raw), true, ajv.errorsText(validate.errors));
  });
  it('every object at every level refuses unknown keys (a typo is named, never ignored)', () => {
    const loose: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}[${i}]`));
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.properties !== undefined && o.additionalProperties !== false) loose.push(at || '(root)');
      for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
    };
    walk(read('gateway/config/config.schema.json'), '');
    assert.deepEqual(loose, []);
  });
  it('the schema refuses an http:// Spine endpoint and a URL of another scheme where the gateway does (an editor flags them)', () => {
    const http = example();
    http.spine.endpoint = 'http://127.0.0.1:9443/fhir/fgm/query';
    const redis = example();
    redis.spine.rateLimit.redisUrl = 'https://redis.example:6379';
    const postgres = example();
    postgres.audit.postgresUrl = 'mysql://db/fgm';
    const origin = example();
    origin.clients[0].origins = ['ftp://portal.example'];
    for (const [label, raw] of Object.entries({ http, redis, postgres, origin }))
      assert.equal(validate(raw), false, label);
  });
  it('the schema refuses what the gateway refuses: an unknown key, a wrong type, a role name with a space', () => {
    const unknown = example();
    unknown.spine.retries = 3;
    const wrongType = example();
    wrongType.spine.timeoutMs = '2000';
    const spacedRole = example();
    spacedRole.clients[0].roleActivities['senior midwife'] = ['B0370'];
    for (const [label, raw] of Object.entries({ unknown, wrongType, spacedRole }))
      assert.equal(validate(raw), false, label);
  });
});

describe('gateway/config/config.example.json starts as shipped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fgm-example-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'after "npm run example:setup", a gateway starts from it and serves HTTPS with the example TLS files',
    { timeout: 60_000 },
    async () => {
      // The same layout as the repository: the example in gateway/config/, its files in .data/ at the root.
      mkdirSync(join(dir, 'gateway', 'config'), { recursive: true });
      copyFileSync('gateway/config/config.example.json', join(dir, 'gateway', 'config', 'config.example.json'));
      copyFileSync('gateway/config/config.schema.json', join(dir, 'gateway', 'config', 'config.schema.json'));
      await setUpExample(join(dir, '.data'));
      const config = loadConfig(join(dir, 'gateway', 'config', 'config.example.json'));
      // Ephemeral ports only, so the test never collides with a gateway already running here.
      const gateway = await startGateway(
        { ...config, listen: { ...config.listen, port: 0 }, metrics: { ...config.metrics, port: 0 } },
        { log: () => {} },
      );
      try {
        const ca = readFileSync(join(dir, '.data', 'pki', 'ca.crt'));
        const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          request(`${gateway.url}/healthz`, { ca, servername: 'localhost' }, (res) => {
            let body = '';
            res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
          })
            .on('error', reject)
            .end();
        });
        assert.equal(status, 200);
        assert.equal(JSON.parse(body).status, 'ok');
        assert.match(gateway.url, /^https:/);
      } finally {
        await gateway.close();
      }
    },
  );
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The ```json blocks of a markdown file, each parsed as written or, for a fragment of keys, inside braces. */
function jsonBlocks(file: string): { file: string; line: number; value: Json }[] {
  const blocks: { file: string; line: number; value: Json }[] = [];
  for (const m of readFileSync(file, 'utf8').matchAll(/^```json\n([\s\S]*?)^```/gm)) {
    const raw = m[1]!;
    const line = readFileSync(file, 'utf8').slice(0, m.index).split('\n').length;
    let value: Json;
    try {
      value = JSON.parse(raw);
    } catch {
      value = JSON.parse(`{${raw}}`); // a fragment such as `"cdsHooks": {…}`; anything else is a broken example
    }
    blocks.push({ file, line, value });
  }
  return blocks;
}

/** A block is a gateway config example when every key it has is one of the config's top-level keys. */
function isConfigExample(value: Json): value is { [key: string]: Json } {
  const keys = Object.keys(read('gateway/config/config.schema.json').properties);
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length > 0 &&
    Object.keys(value).every((k) => keys.includes(k))
  );
}

/** The fragment laid over the shipped example: objects merge key by key, anything else replaces. */
function overExample(base: Json, fragment: Json): Json {
  if (
    typeof base !== 'object' ||
    base === null ||
    Array.isArray(base) ||
    typeof fragment !== 'object' ||
    fragment === null ||
    Array.isArray(fragment)
  )
    return fragment;
  const merged: { [key: string]: Json } = { ...base };
  for (const [k, v] of Object.entries(fragment)) merged[k] = k in base ? overExample(base[k]!, v) : v;
  return merged;
}

function docsMarkdown(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    );
  return ['README.md', 'widget/README.md', ...walk('docs')];
}

describe('the config examples in the docs (issue 24)', () => {
  const examples = docsMarkdown()
    .flatMap(jsonBlocks)
    .filter((b) => isConfigExample(b.value));

  it("the docs' config examples are found: the HA fragment in docs/operating.md and the cdsHooks one in docs/cds-hooks.md", () => {
    const where = examples.map((e) => e.file);
    assert.ok(
      where.includes(join('docs', 'operating.md')) && where.includes(join('docs', 'cds-hooks.md')),
      where.join(', '),
    );
  });

  it('every one validates against gateway/config/config.schema.json (ajv), laid over gateway/config/config.example.json', () => {
    for (const { file, line, value } of examples)
      assert.equal(
        validate(overExample(example(), value)),
        true,
        `${file}:${line}: ${ajv.errorsText(validate.errors)}`,
      );
  });

  it('a docs example with a key the gateway does not know, or a wrong type, is refused the same way', () => {
    const ha = examples.find((e) => e.file === join('docs', 'operating.md'))!.value as {
      spine: { rateLimit: Record<string, Json> };
    };
    const typo = JSON.parse(JSON.stringify(ha).replace('localFallbackShare', 'localFallbackShares'));
    const wrongType = JSON.parse(JSON.stringify(ha).replace('"perSecond":20', '"perSecond":"20"'));
    assert.equal(validate(overExample(example(), typo)), false, 'typo');
    assert.equal(validate(overExample(example(), wrongType)), false, 'wrong type');
  });
});
