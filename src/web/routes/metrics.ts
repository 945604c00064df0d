import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../observability/metrics.ts';

/**
 * Counts every answered request in `metrics`, and serves `/metrics` to a scraper holding `token` (Bearer). Without
 * a token the route does not exist here (a separate listener may serve it: observability/metrics-server.ts).
 * Public by design: the token is its gate, compared in constant time; a wrong or missing one gets 401.
 */
export function registerMetricsRoutes(app: FastifyInstance, deps: { metrics: Metrics; token: string | null }): void {
  const { metrics } = deps;
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('onClose', async () => metrics.close());
  if (deps.token === null) return;
  const expected = createHash('sha256').update(deps.token).digest();
  app.get('/metrics', { config: { access: 'public' } }, async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const given = /^Bearer (\S+)$/i.exec(header)?.[1] ?? '';
    if (!timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"').header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('A metrics token is required.\n');
    }
    const { contentType, body } = await metrics.exposition();
    return reply.header('cache-control', 'no-store').type(contentType).send(body);
  });
}
