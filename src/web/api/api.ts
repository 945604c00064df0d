/**
 * The REST API at `/api/v1/` (docs/api.md). Every request of it authenticates with a personal access token
 * (`Authorization: Bearer dcpat_…`) and nothing else: the session cookie the browser may also send is set aside
 * before the token is checked, so a cookie alone never authorizes an API call (and with no ambient credential
 * there is nothing for CSRF to forge). Each token is rate limited (auth/api-rate-limit.ts) before any handler
 * runs. `/api/v1/openapi.json` is public: the OpenAPI document built from the operations themselves.
 */
import type { FastifyInstance } from 'fastify';
import { ANONYMOUS } from '../../access/actor.ts';
import type { ApiRateLimiter } from '../../auth/api-rate-limit.ts';
import type { Db } from '../../db/connection.ts';
import { NotFoundError, TooManyRequestsError } from '../../errors.ts';
import { authenticateByToken } from '../token-auth.ts';
import { openApiDocument } from './openapi.ts';
import { registerOperation, type ApiOperation } from './operation.ts';

export const API_PREFIX = '/api/v1';

export interface ApiOptions {
  db: Db;
  limiter: ApiRateLimiter;
  operations: readonly ApiOperation[];
  publicUrl: string | null;
}

export async function registerApi(app: FastifyInstance, options: ApiOptions): Promise<void> {
  const document = JSON.stringify(openApiDocument(options.operations, { serverUrl: options.publicUrl }));
  app.get(`${API_PREFIX}/openapi.json`, { config: { access: 'public', csrf: false } }, async (_request, reply) =>
    reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'public, max-age=300').send(document),
  );
  await app.register(
    async (api) => {
      api.addHook('onRequest', async (request, reply) => {
        // a cookie never counts here: only the token below decides who is asking
        request.actor = ANONYMOUS;
        request.session = null;
        const actor = await authenticateByToken(request, options.db);
        request.actor = actor;
        const verdict = await options.limiter.take(actor.via!.tokenId);
        reply.header('x-ratelimit-limit', String(verdict.limit)).header('x-ratelimit-remaining', String(verdict.remaining)).header('x-ratelimit-reset', String(verdict.resetSeconds));
        if (!verdict.allowed) throw new TooManyRequestsError(`The token's rate limit of ${verdict.limit} requests is reached. Try again in ${verdict.resetSeconds} s.`, verdict.resetSeconds);
      });
      for (const op of options.operations) registerOperation(api, op);
      // any other address under /api/v1 is the API's own 404 (JSON), never a reading page's route
      api.route({
        method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
        url: '/*',
        config: { access: 'public', csrf: false },
        handler: async () => {
          throw new NotFoundError();
        },
      });
    },
    { prefix: API_PREFIX },
  );
}
