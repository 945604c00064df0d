/**
 * An operation of the REST API: its method and path, the zod schemas of its path parameters, query, body and
 * response, and a handler that calls one use case and presents its result. The same definition registers the
 * Fastify route (api.ts), parses every request and the response (so only declared fields ever leave), and is
 * turned into the OpenAPI document (openapi.ts): what is documented is what runs.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { UserActor } from '../../access/actor.ts';
import { InvalidInputError, NotAuthenticatedError, NotFoundError } from '../../errors.ts';

export type HttpMethod = 'GET' | 'POST';

/** What a handler gets: the token's owner and the parsed input. */
export interface OperationInput<P, Q, B> {
  request: FastifyRequest;
  reply: FastifyReply;
  actor: UserActor;
  params: P;
  query: Q;
  body: B;
}

type AnyObject = z.ZodObject<z.ZodRawShape>;
const EMPTY = z.object({});

export interface OperationSpec<P extends AnyObject, Q extends AnyObject, B extends z.ZodType, R extends z.ZodType> {
  /** Stable id (OpenAPI operationId). */
  id: string;
  method: HttpMethod;
  /** OpenAPI form, below /api/v1: `/projects/{org}/{project}`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** The token scope the operation needs ('write' for every change). */
  scope: 'read' | 'write';
  params?: P;
  query?: Q;
  body?: B;
  /** The success status (200 unless said). */
  status?: 200 | 201;
  response: R;
  /** The refusals this operation answers with, documented with the one error shape. */
  errors: number[];
  handle(input: OperationInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<z.input<R>>;
}

/** An operation with its types erased, as the registry and the OpenAPI builder hold it. */
export interface ApiOperation {
  id: string;
  method: HttpMethod;
  path: string;
  summary: string;
  description?: string;
  tag: string;
  scope: 'read' | 'write';
  params: AnyObject;
  query: AnyObject;
  body?: z.ZodType;
  status: 200 | 201;
  response: z.ZodType;
  errors: number[];
  handle(input: OperationInput<unknown, unknown, unknown>): Promise<unknown>;
}

/** Define an operation (typed handler in, erased operation out). */
export function operation<P extends AnyObject = typeof EMPTY, Q extends AnyObject = typeof EMPTY, B extends z.ZodType = z.ZodUndefined, R extends z.ZodType = z.ZodType>(
  spec: OperationSpec<P, Q, B, R>,
): ApiOperation {
  return {
    ...spec,
    params: spec.params ?? EMPTY,
    query: spec.query ?? EMPTY,
    status: spec.status ?? 200,
    handle: spec.handle,
  };
}

/** `/projects/{org}` → `/projects/:org` (Fastify's form). */
export const fastifyPath = (path: string): string => path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');

/** Register the operation's route on the API's Fastify scope (prefix /api/v1). */
export function registerOperation(api: FastifyInstance, op: ApiOperation): void {
  api.route({
    method: op.method,
    url: fastifyPath(op.path),
    // gated by the token (api.ts) and by the policy in every handler; no cookies count here, so no CSRF token
    config: { access: 'policy', csrf: false },
    handler: async (request, reply) => {
      const actor = request.actor;
      if (actor.kind !== 'user') throw new NotAuthenticatedError('A personal access token is required.');
      // a path parameter of the wrong shape names nothing: the one 404
      const params = op.params.safeParse(request.params ?? {});
      if (!params.success) throw new NotFoundError();
      const query = parseInput(op.query, request.query ?? {}, 'query');
      const body = op.body ? parseInput(op.body, request.body, 'body') : undefined;
      const result = await op.handle({ request, reply, actor, params: params.data, query, body });
      // the response schema decides what leaves: undeclared fields are dropped, a wrong shape is our bug (500)
      const out = op.response.parse(result);
      reply.header('cache-control', 'no-store');
      return reply.code(op.status).send(out);
    },
  });
}

function parseInput(schema: z.ZodType, value: unknown, where: 'query' | 'body'): unknown {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || where}: ${issue.message}`);
  throw new InvalidInputError(`The ${where === 'query' ? 'query parameters are' : 'request body is'} not valid: ${problems.slice(0, 5).join('; ')}.`, parsed.error.issues);
}
