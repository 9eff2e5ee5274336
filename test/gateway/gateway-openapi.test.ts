/**
 * @module test/gateway/gateway-openapi
 * `GET /openapi.json` over a real socket: a valid OpenAPI 3.1 document by an independent validator
 * (@seriousme/openapi-schema-validator, the OpenAPI Initiative's schemas), naming every path the
 * gateway serves, and describing what the routes really accept and answer (checked with ajv);
 * and the example session token of docs/operating.md works as written.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { PATHS } from '../../gateway/app.ts';
import { LOCAL_MIDWIFE, startTestStack, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
let doc: any;
before(async () => {
  stack = await startTestStack();
  const res = await stack.request('/openapi.json');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  doc = JSON.parse(res.body);
});
after(() => stack?.close());

const BORN = `${new Date().getUTCFullYear() - 10}-01-01`;
const ajv = new Ajv2020({ strict: false });
addFormats.default(ajv);
const schemaOf = (name: string) => ajv.compile({ ...doc.components.schemas[name], components: doc.components });

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document (independent validator)', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    assert.equal(validator.version, '3.1');
  });
  it('describes every path the gateway serves', () => {
    assert.deepEqual(Object.keys(doc.paths).sort(), [...PATHS].sort());
  });
  it('the widget API request schema accepts what the route accepts and refuses what it refuses', async () => {
    const request = schemaOf('FgmStatusRequest');
    const good = { nhsNumber: '9990000018', birthDate: BORN };
    assert.equal(request(good), true);
    assert.equal(
      (await stack.request('/api/fgm-status', { token: stack.signToken(LOCAL_MIDWIFE), json: good })).status,
      200,
    );
    const extra = { ...good, name: 'x' };
    assert.equal(request(extra), false);
    assert.equal(
      (await stack.request('/api/fgm-status', { token: stack.signToken(LOCAL_MIDWIFE), json: extra })).status,
      400,
    );
  });
  it('real answers of the widget API match the StatusBody schema (indicator, no record, refusal)', async () => {
    const body = schemaOf('StatusBody');
    for (const [json, token] of [
      [{ nhsNumber: '9990000018', birthDate: BORN }, stack.signToken(LOCAL_MIDWIFE)],
      [{ nhsNumber: '9990000026', birthDate: BORN }, stack.signToken(LOCAL_MIDWIFE)],
      [{ nhsNumber: '9990000018', birthDate: BORN }, 'not-a-token'],
    ] as const) {
      const res = await stack.request('/api/fgm-status', { token, json });
      assert.equal(body(JSON.parse(res.body)), true, `${res.status} ${res.body} ${ajv.errorsText(body.errors)}`);
    }
  });
  it('a real /healthz answer matches the Health schema', async () => {
    const health = schemaOf('Health');
    const res = await stack.request('/healthz');
    assert.equal(health(JSON.parse(res.body)), true, ajv.errorsText(health.errors));
  });
});

describe('docs/operating.md "Tokens your portal must issue"', () => {
  it('SMSP-FGMRI-006 the example local token is accepted as written, iss/aud/iat/exp aside (CIS2 users bring CIS2 access tokens, no portal token)', async () => {
    const section = readFileSync('docs/operating.md', 'utf8')
      .split('\n## Tokens your portal must issue\n')[1]!
      .split('\n## ')[0]!;
    const examples = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!));
    assert.equal(examples.length, 1, 'one example: the local claims profile');
    const { iss: _i, aud: _a, iat: _t, exp: _e, ...claims } = examples[0];
    const res = await stack.request('/api/fgm-status', {
      token: stack.signToken(claims),
      json: { nhsNumber: '9990000018', birthDate: BORN },
    });
    assert.equal(res.status, 200, res.body);
  });
});
