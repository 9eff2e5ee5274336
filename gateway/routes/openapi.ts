/**
 * @module routes/openapi
 * The OpenAPI 3.1 description of the gateway's HTTP API, served at `GET /openapi.json`. Request
 * bodies and queries are generated from the zod schemas the routes validate with (zod's JSON
 * Schema output is the dialect OpenAPI 3.1 uses), so the description cannot drift from what the
 * gateway accepts; answers are described by schemas checked against the TypeScript types the
 * routes return.
 */
import { z } from 'zod';
import widgetPackage from '@fgm-status/element/package.json' with { type: 'json' };
import type { StatusBody } from '@fgm-status/element/rules/status-body';
import { SearchSchema } from './admin-audit.ts';
import { BodySchema } from './fgm-status.ts';
import { VERSIONED_WIDGET_PATH } from './widget-module.ts';

const schema = (s: z.ZodType) => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(s, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
  });
  return rest;
};

const nullableText = z.string().nullable();
/** The widget API's answer (docs/api.md), every status including refusals. */
const StatusBodySchema = z.strictObject({
  status: z.enum(['indicator', 'no-record', 'error']),
  nhsNumber: nullableText,
  assessmentDate: nullableText,
  checkedAt: nullableText,
  messageId: nullableText,
  code: z.string().describe('Details.Code from the error vocabulary, e.g. SUCCESS, NO_RECORD_FOUND, ACCESS_DENIED'),
  smspCode: z.string(),
  display: z.string(),
}) satisfies z.ZodType<StatusBody>;

const HealthSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  spine: z.enum(['up', 'down', 'probing']),
  audit: z.enum(['up', 'down']).optional(),
  auditReason: z.string().optional(),
  spineBudget: z.enum(['in-process', 'shared', 'local-fallback']).optional(),
  spineBudgetReason: z.string().optional(),
});

const fhirXml = {
  'application/fhir+xml': {
    schema: {
      type: 'string',
      description:
        'A FHIR DSTU2 XML message Bundle (FGMQuery_2_0 in, FGMQueryResponse_2_0 out); application/xml+fhir is accepted too',
    },
  },
};
const json = (s: object) => ({ 'application/json': { schema: s } });
const statusAnswer = (description: string) => ({
  description,
  content: json({ $ref: '#/components/schemas/StatusBody' }),
});
const queryParameters = () => {
  const { properties = {} } = schema(SearchSchema) as { properties?: Record<string, object> };
  return Object.entries(properties).map(([name, s]) => ({ name, in: 'query', required: false, schema: s }));
};

/**
 * The whole OpenAPI document; its version is the release's (the widget package and gateway ship together).
 * @example app.get('/openapi.json', (c) => c.json(openApiDocument()))
 */
export function openApiDocument(): Record<string, unknown> {
  const auditor = {
    security: [{ sessionToken: [] }],
    responses: {
      '401': statusAnswer('No valid session token'),
      '400': statusAnswer('A malformed query parameter: INPUT_MESSAGE_VALIDATION_ERROR (SMSP-0001)'),
      '403': statusAnswer('Not an auditor'),
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'fgm-status gateway',
      version: widgetPackage.version,
      license: { name: 'MIT', identifier: 'MIT' },
      description:
        'FGM-IS Spine Mini Service Provider: the widget API, the SMSP FHIR interface for client systems, CDS Hooks for EPRs, and the IG audit API.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: {
      securitySchemes: {
        sessionToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A portal user session token (clients[].token), or for a claims "cis2" client the user\'s CIS2 access token, confirmed with NHS CIS2 UserInfo (SMSP-AUDIT-002)',
        },
        cdsClientJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "A CDS client's JWT (cdsHooks.clients[]), as the CDS Hooks security section defines",
        },
        systemToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A client system token (clients[].systemToken), over TLS with the client certificate when mtls is configured',
        },
      },
      schemas: {
        StatusBody: schema(StatusBodySchema),
        FgmStatusRequest: schema(BodySchema),
        Health: schema(HealthSchema),
      },
    },
    paths: {
      '/api/fgm-status': {
        post: {
          summary: "A child's FGM-IS indicator, asked of Spine as the signed-in user",
          security: [{ sessionToken: [] }],
          requestBody: { required: true, content: json({ $ref: '#/components/schemas/FgmStatusRequest' }) },
          responses: {
            '200': statusAnswer('An indicator is held'),
            '404': statusAnswer('No indicator is held (status no-record)'),
            default: statusAnswer(
              'Refused or failed (status error): 400 bad input (INPUT_MESSAGE_VALIDATION_ERROR, SMSP-0001, whether the gateway or Spine rejected it: SMSP-ERR-006), 401 credentials, 403 access denied, 413, 429 busy (Retry-After), 5xx Spine or gateway',
            ),
          },
        },
      },
      '/fhir/fgm/query': {
        post: {
          summary: 'The SMSP FHIR interface for client systems (FGM-IS query Bundle in, answer Bundle out)',
          security: [{ systemToken: [] }],
          requestBody: { required: true, content: fhirXml },
          responses: {
            '200': { description: 'The answer Bundle: an indicator (Flag)', content: fhirXml },
            default: {
              description:
                'No record (404), a refusal or a failure: the answer Bundle with an OperationOutcome; rejected input is 400 INPUT_MESSAGE_VALIDATION_ERROR (SMSP-0001) whether the gateway or Spine rejected it (SMSP-ERR-006)',
              content: fhirXml,
            },
          },
        },
      },
      '/widget/fgm-status.js': {
        get: {
          summary: 'The widget module, latest build (revalidated)',
          responses: {
            '200': { description: 'ES module', content: { 'text/javascript': { schema: { type: 'string' } } } },
          },
        },
      },
      [VERSIONED_WIDGET_PATH]: {
        get: {
          summary: 'The widget module at this version (immutable; pin it with Subresource Integrity)',
          responses: {
            '200': { description: 'ES module', content: { 'text/javascript': { schema: { type: 'string' } } } },
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness and the Spine link state',
          responses: {
            '200': { description: 'Serving', content: json({ $ref: '#/components/schemas/Health' }) },
            '503': {
              description: 'The audit store is unreachable: requests fail closed',
              content: json({ $ref: '#/components/schemas/Health' }),
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This description',
          responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } },
        },
      },
      '/admin/audit': {
        get: {
          summary: 'Search the audit trail (IG auditors)',
          parameters: queryParameters(),
          ...auditor,
          responses: {
            ...auditor.responses,
            '200': {
              description: 'Records (JSON, or CSV with format=csv)',
              content: {
                ...json({
                  type: 'object',
                  properties: {
                    records: { type: 'array', items: { type: 'object' } },
                    next: { type: ['integer', 'null'] },
                  },
                }),
                'text/csv': { schema: { type: 'string' } },
              },
            },
          },
        },
      },
      '/admin/audit/verify': {
        get: {
          summary: "Verify the audit trail's hash chain and anchors",
          ...auditor,
          responses: {
            ...auditor.responses,
            '200': { description: 'The verification result', content: json({ type: 'object' }) },
          },
        },
      },
      '/admin/session': {
        get: {
          summary:
            'Who the audit page acts as (MSCA-IG-03): user, role profile or local roles, organisation, client, whether NHS CIS2 confirmed them',
          ...auditor,
          responses: {
            ...auditor.responses,
            '200': {
              description: "The auditor's identity",
              content: json({
                type: 'object',
                required: ['userId', 'roleProfileId', 'localRoles', 'orgCode', 'client', 'confirmedByCis2', 'scope'],
                properties: {
                  userId: { type: 'string' },
                  name: { type: 'string' },
                  roleProfileId: { type: ['string', 'null'] },
                  localRoles: { type: 'array', items: { type: 'string' } },
                  orgCode: { type: 'string' },
                  client: { type: 'string' },
                  confirmedByCis2: { type: 'boolean' },
                  scope: { enum: ['client', 'smsp'] },
                },
              }),
            },
          },
        },
      },
      '/admin/throughput': {
        get: {
          summary: 'Requests per hour for a day',
          ...auditor,
          responses: { ...auditor.responses, '200': { description: 'Counts', content: json({ type: 'object' }) } },
        },
      },
      '/admin/audit.html': {
        get: {
          summary: 'The IG audit page',
          responses: { '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
      '/admin/audit.css': {
        get: {
          summary: "The IG audit page's styles",
          responses: { '200': { description: 'CSS', content: { 'text/css': { schema: { type: 'string' } } } } },
        },
      },
      '/cds-services': {
        get: {
          summary: 'CDS Hooks 2.0 discovery (only when cdsHooks is configured)',
          security: [{ cdsClientJwt: [] }],
          responses: {
            '200': {
              description: 'The one service, fgm-is, on patient-view',
              content: json({
                type: 'object',
                required: ['services'],
                properties: { services: { type: 'array', items: { type: 'object' } } },
              }),
            },
          },
        },
      },
      '/cds-services/fgm-is': {
        post: {
          summary:
            'CDS Hooks patient-view: one warning card when the child has an FGM-IS indicator, no cards when Spine holds none (or the child is 18 or over, or the NHS number fails modulus 11 or is unverified); an HTTP error whenever the check did not happen (only when cdsHooks is configured)',
          security: [{ cdsClientJwt: [] }],
          requestBody: {
            required: true,
            content: json({ type: 'object', required: ['hook', 'hookInstance', 'context'] }),
          },
          responses: {
            '200': {
              description: 'Checked: one card for an indicator, none for no record',
              content: json({
                type: 'object',
                required: ['cards'],
                properties: { cards: { type: 'array', items: { type: 'object' } } },
              }),
            },
            '400': {
              description:
                "Not a patient-view request, or Spine refused the query: INPUT_MESSAGE_VALIDATION_ERROR (SMSP-0001); Spine's answer unusable or unsafe: RESPONSE_MESSAGE_VALIDATION_ERROR (SMSP-0002)",
            },
            '401': { description: 'The CDS client JWT was refused' },
            '403': { description: "Spine refused the gateway's ASID: ASID_CHECK_FAILED" },
            '412': {
              description:
                'No patient data to ask with (prefetch missing and the FHIR server unreachable), or two NHS-number identifiers that differ: PATIENT_DATA_UNAVAILABLE',
            },
            '429': {
              description:
                'The check did not happen (the Spine budget or the caller\'s in-flight bound): SPINE_BUSY with Retry-After; never {"cards": []}. Every error body is {code, smspCode, display}, with no cards key',
            },
            '500': { description: 'Spine unreachable or too slow: COULD_NOT_CONNECT_TO_SPINE (SMSP-0004)' },
          },
        },
      },
      '/admin/audit.js': {
        get: {
          summary: "The IG audit page's script",
          responses: {
            '200': { description: 'Script', content: { 'text/javascript': { schema: { type: 'string' } } } },
          },
        },
      },
    },
  };
}
