/**
 * The OpenAPI document beside the routes it describes: a valid OpenAPI 3.1 document (checked by an
 * independent validator, not by our own schema code) naming each API route and how it is secured.
 * test/gateway/gateway-openapi.test.ts checks the running gateway's answers against it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { openApiDocument } from './openapi.ts';

describe('routes/openapi', () => {
  it('is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', async () => {
    const result = await new Validator().validate(openApiDocument());
    assert.equal(result.valid, true, JSON.stringify(result.errors));
  });

  it('names the widget API, the SMSP FHIR interface and the CDS service, each behind its own kind of token', () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, { security?: object[] }>> };
    const security = (path: string, method: string) => JSON.stringify(doc.paths[path]?.[method]?.security ?? []);
    assert.match(security('/api/fgm-status', 'post'), /sessionToken/);
    assert.match(security('/fhir/fgm/query', 'post'), /systemToken/);
    assert.match(security('/cds-services/fgm-is', 'post'), /cdsClientJwt/);
  });
});
