/**
 * The OpenAPI 3.1 document of the REST API, built from the operations' zod schemas (zod's own JSON Schema output,
 * draft 2020-12, which OpenAPI 3.1 uses): the routes and their documentation are one definition and cannot drift.
 */
import { z } from 'zod';
import { apiError } from './schemas.ts';
import type { ApiOperation } from './operation.ts';

type JsonSchema = Record<string, unknown>;

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input or cursor (`invalid_input`, `invalid_cursor`).',
  401: 'No valid token (`not_authenticated`): missing, malformed, unknown, expired or revoked.',
  403: 'Forbidden (`forbidden`): the token is read-only, or your role may see this but not do it.',
  404: 'Not found (`not_found`): missing, or hidden from you, alike.',
  409: 'Conflict (`conflict`) with the current state.',
  429: 'Rate limit of the token reached (`too_many_requests`); see Retry-After.',
};

/** A schema as JSON Schema, without the `$schema` key (the document's dialect applies). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function parameters(schema: z.ZodObject<z.ZodRawShape>, where: 'path' | 'query'): JsonSchema[] {
  const json = jsonSchemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || (json.required ?? []).includes(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

export function openApiDocument(operations: readonly ApiOperation[], options: { serverUrl?: string | null } = {}): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const errorSchema = jsonSchemaOf(apiError, 'output');
  for (const op of operations) {
    const responses: Record<string, JsonSchema> = {
      [String(op.status)]: { description: op.status === 201 ? 'Created.' : 'OK.', content: { 'application/json': { schema: jsonSchemaOf(op.response, 'output') } } },
    };
    for (const status of [400, 401, ...op.errors, 429].filter((s, i, all) => all.indexOf(s) === i).sort()) {
      responses[String(status)] = {
        description: ERROR_DESCRIPTIONS[status] ?? 'Error.',
        content: { 'application/json': { schema: errorSchema } },
        ...(status === 429 ? { headers: { 'Retry-After': { description: 'Seconds until the window ends.', schema: { type: 'integer' } } } } : {}),
      };
    }
    (paths[op.path] ??= {})[op.method.toLowerCase()] = {
      operationId: op.id,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      security: [{ token: [op.scope] }],
      'x-token-scope': op.scope,
      parameters: [...parameters(op.params, 'path'), ...parameters(op.query, 'query')],
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(op.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'DocuCommit REST API',
      version: '1',
      description:
        'Personal access tokens as `Authorization: Bearer dcpat_…` (scopes `read`, `write`). The same permission policy as the pages decides: ' +
        'what the token’s owner may not read answers 404. Lists are paged with opaque `cursor`s (`nextCursor`). Errors are JSON with a stable `code`. ' +
        'Rate limited per token (429 with Retry-After).',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: options.serverUrl ? `${options.serverUrl.replace(/\/+$/, '')}/api/v1` : '/api/v1' }],
    components: {
      securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'A personal access token (`dcpat_…`).' } },
    },
    paths,
  };
}
